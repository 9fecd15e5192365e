"""The video wall: camera tiles sized to their camera's shape, one camera enlarged on demand.

Not a QGridLayout: a grid layout stretches tiles to the cell (16:9 video letterboxed in
tall portrait tiles) and passes its children's minimum widths up to the window. Here the
wall places its tiles itself, in the arrangement that gives the pictures the most area
for the room it is given, and never asks for more room than a small minimum.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSize, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from console.qt.camera_tile import CameraTile

GAP = 4


def best_columns(count: int, width: int, height: int, aspect: float, chrome: int) -> int:
    """How many columns give each picture the most area (pictures keep *aspect*)."""
    best, best_area = 1, -1.0
    for columns in range(1, max(1, count) + 1):
        rows = math.ceil(count / columns)
        cell_w = (width - GAP * (columns - 1)) / columns - 12
        cell_h = (height - GAP * (rows - 1)) / rows - chrome
        if cell_w <= 0 or cell_h <= 0:
            continue
        picture_w = min(cell_w, cell_h * aspect)
        area = picture_w * picture_w / aspect
        if area > best_area + 1:  # fewer columns on a tie: wider rows read better
            best, best_area = columns, area
    return best


class TileGrid(QWidget):
    """Lays out the tiles; double-click or Enter on a tile enlarges it, Escape returns.

    A tile popped out to its own window (``take``) is not placed here until it comes back
    (``give_back``)."""

    enlarged_changed = Signal(object)  # the enlarged CameraTile, or None
    away_changed = Signal()  # a tile went to its own window, or came back

    def __init__(self, tiles: list[CameraTile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wall")
        self.tiles = tiles
        self.enlarged: CameraTile | None = None
        self.columns = 1
        self.away: set[str] = set()  # cameras shown in windows of their own
        self._aspects: dict[str, float] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        for tile in tiles:
            tile.setParent(self)
            tile.activated.connect(lambda t=tile: self.toggle(t))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(240, 200)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(800, 500)

    # -- enlarging ----------------------------------------------------------------------------
    def toggle(self, tile: CameraTile) -> None:
        self.enlarge(None if self.enlarged is tile else tile)

    def enlarge(self, tile: CameraTile | None) -> None:
        """Show *tile* alone, the whole wall's size (None: every camera again)."""
        if tile is self.enlarged:
            return
        self.enlarged = tile
        self.place()
        if tile is not None:
            tile.setFocus()
        self.enlarged_changed.emit(tile)

    def restore(self) -> bool:
        """Escape: back to every camera. True if a camera was enlarged."""
        if self.enlarged is None:
            return False
        self.enlarge(None)
        return True

    # -- tiles in windows of their own ------------------------------------------------------
    @property
    def on_wall(self) -> list[CameraTile]:
        return [t for t in self.tiles if t.camera not in self.away]

    def take(self, tile: CameraTile) -> None:
        """*tile* leaves the wall for a window of its own (the caller reparents it)."""
        if self.enlarged is tile:
            self.enlarge(None)
        self.away.add(tile.camera)
        self.place()
        self.away_changed.emit()

    def give_back(self, tile: CameraTile) -> None:
        """*tile*'s own window closed: back on the wall, where it was."""
        if tile.camera not in self.away:
            return
        self.away.discard(tile.camera)
        tile.setParent(self)
        tile.show()
        self.place()
        self.away_changed.emit()

    # -- placing ------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.place()

    def place(self) -> None:
        shown = [self.enlarged] if self.enlarged is not None else self.on_wall
        for tile in self.on_wall:
            tile.setVisible(tile in shown)
        if not shown:
            return
        width, height = self.width(), self.height()
        aspect = shown[0].aspect
        chrome = max(t.chrome_height(width // 2) for t in shown)
        self.columns = best_columns(len(shown), width, height, aspect, chrome)
        rows = math.ceil(len(shown) / self.columns)
        cell_w = (width - GAP * (self.columns - 1)) // self.columns
        cell_h = (height - GAP * (rows - 1)) // rows
        sizes = []
        for tile in shown:
            # The tile hugs its picture: the camera's shape, as large as the cell allows.
            # Twice: the text lines wrap differently once the tile's width is known.
            tile_w = cell_w
            for _ in range(2):
                chrome = tile.chrome_height(tile_w)
                picture_w = max(1, min(cell_w - 12, int((cell_h - chrome) * tile.aspect)))
                tile_w = picture_w + 12
            sizes.append(
                QSize(
                    max(tile.minimumWidth(), min(cell_w, picture_w + 12)),
                    max(tile.minimumHeight(), min(cell_h, round(picture_w / tile.aspect) + chrome)),
                )
            )
        # Rows stacked without gaps and the block centred: no strip of empty wall between
        # rows, nor under the cameras only.
        row_heights = [
            max(size.height() for size in sizes[r * self.columns : (r + 1) * self.columns])
            for r in range(rows)
        ]
        top = max(0, (height - sum(row_heights) - GAP * (rows - 1)) // 2)
        for i, (tile, size) in enumerate(zip(shown, sizes, strict=True)):
            row, column = divmod(i, self.columns)
            y = top + sum(row_heights[:row]) + GAP * row
            x = column * (cell_w + GAP) + (cell_w - size.width()) // 2
            tile.setGeometry(QRect(x, y, size.width(), size.height()))

    def frame_shown(self, tile: CameraTile) -> None:
        """A tile showed a frame: lay the wall out again once its camera's shape is known."""
        aspect = round(tile.aspect, 3)
        if self._aspects.get(tile.camera) != aspect:
            self._aspects[tile.camera] = aspect
            self.place()
