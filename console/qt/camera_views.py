"""Camera views beyond the wall: a camera in a window of its own (a second monitor), one
camera over the whole window with the others listed beside it, and the site's camera map
drawn from the plan.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.config import CameraPosition
from console.live.feed import FeedState
from console.qt.camera_tile import STATE_COLOURS, CameraTile

if TYPE_CHECKING:
    from console.qt.main_window import MainWindow


class CameraWindow(QWidget):
    """One camera in a window of its own; closing it puts the camera back on the wall."""

    closed = Signal(object)  # the CameraTile

    def __init__(self, tile: CameraTile, title: str) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.tile = tile
        self.setWindowTitle(f"{tile.camera} · {title}")
        self.setObjectName(f"cameraWindow-{tile.camera}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        tile.setParent(self)
        layout.addWidget(tile, 1)
        tile.show()
        self.resize(960, 600)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.layout().removeWidget(self.tile)
        self.closed.emit(self.tile)
        super().closeEvent(event)


class CameraMap(QWidget):
    """Where each camera is, from the plan's ``position`` and ``facing``: a dot in its
    state's colour, its name, and a short arrow the way it looks."""

    def __init__(
        self,
        positions: dict[str, CameraPosition],
        cameras: list[str],
        state: Callable[[str], FeedState],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.positions = positions
        self.cameras = cameras
        self.state = state
        self.highlight: str | None = None
        self.setObjectName("cameraMap")
        self.setMinimumSize(160, 140)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        missing = [c for c in cameras if c not in positions]
        self.setToolTip(
            "From the deployment plan: position = [east_m, north_m], facing = degrees."
            + (f" Not placed: {', '.join(missing)}." if missing else "")
        )

    def placed(self, width: float, height: float, margin: float = 28) -> dict[str, QPointF]:
        """Each placed camera's point in a *width* x *height* box, north up, one scale."""
        where = {c: self.positions[c] for c in self.cameras if c in self.positions}
        if not where:
            return {}
        xs = [p.east_m for p in where.values()]
        ys = [p.north_m for p in where.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
        k = min(width - 2 * margin, height - 2 * margin) / span
        cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        return {
            c: QPointF(width / 2 + (p.east_m - cx) * k, height / 2 - (p.north_m - cy) * k)
            for c, p in where.items()
        }

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#10151f"))
        points = self.placed(self.width(), self.height())
        painter.setPen(QColor("#8a94a6"))
        if not points:
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "No camera positions in the plan (position = [east_m, north_m] per camera)",
            )
            painter.end()
            return
        painter.drawText(QRectF(4, 2, 40, 16), Qt.AlignmentFlag.AlignLeft, "N ↑")
        for camera, point in points.items():
            colour = QColor(STATE_COLOURS.get(self.state(camera), "#9aa0a6"))
            facing = self.positions[camera].facing
            if facing is not None:
                angle = math.radians(facing)
                tip = QPointF(point.x() + 22 * math.sin(angle), point.y() - 22 * math.cos(angle))
                painter.setPen(QPen(colour, 2))
                path = QPainterPath(point)
                path.lineTo(tip)
                painter.drawPath(path)
            radius = 8 if camera == self.highlight else 6
            painter.setPen(QPen(QColor("#ffffff"), 2 if camera == self.highlight else 1))
            painter.setBrush(colour)
            painter.drawEllipse(point, radius, radius)
            # The name on the side the camera does not look to, clear of its arrow.
            painter.setPen(QColor("#e8eaed"))
            width = painter.fontMetrics().horizontalAdvance(camera)
            looks_east = facing is not None and math.sin(math.radians(facing)) > 0.3
            x = point.x() - 12 - width if looks_east else point.x() + 12
            painter.drawText(QPointF(max(2, x), point.y() + 4), camera)
        painter.end()


class CameraList(QWidget):
    """Beside an enlarged camera (or under the wall while some are in their own windows):
    every camera not in view, its state, and a click to show it."""

    show_camera = Signal(str)  # enlarge this one
    bring_back = Signal(str)  # its own window closes, it returns to the wall
    back_to_desk = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraList")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(2)
        self.buttons: dict[str, QPushButton] = {}
        self.back = QPushButton("Back to the desk [Esc]")
        self.back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back.clicked.connect(self.back_to_desk)
        self.map_box = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addLayout(self.rows)
        layout.addStretch(1)
        layout.addLayout(self.map_box)
        layout.addWidget(self.back)
        self.setFixedWidth(210)

    def show_cameras(
        self,
        tiles: list[CameraTile],
        enlarged: CameraTile | None,
        away: set[str],
        pending: int,
    ) -> None:
        """Updated in place (twice a second, with the cameras' states): a button is never
        rebuilt under the officer's click."""
        waiting = f"{pending} incident{'s' if pending != 1 else ''} waiting"
        if enlarged is not None:
            self.heading.setText(
                f"<b>{html.escape(enlarged.camera.upper())}</b> enlarged · {waiting}<br>"
                "The other cameras:"
            )
        else:
            self.heading.setText("<b>Cameras in windows of their own</b>")
        self.back.setVisible(enlarged is not None)
        for tile in tiles:
            button = self.buttons.get(tile.camera)
            if button is None:
                button = QPushButton()
                button.setObjectName(f"other-{tile.camera}")
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                button.clicked.connect(lambda _=False, c=tile.camera: self._clicked(c))
                self.buttons[tile.camera] = button
                self.rows.addWidget(button)
            state = tile.status.state.value.upper()
            if tile is enlarged or (enlarged is None and tile.camera not in away):
                button.hide()
                continue
            own = tile.camera in away
            button.setText(f"{tile.camera} · {state}" + (" · own window (bring back)" if own
                                                          else ""))
            button.setProperty("away", own)
            button.setStyleSheet(
                f"text-align:left; border-left: 6px solid "
                f"{STATE_COLOURS.get(tile.status.state, '#9aa0a6')}"
            )
            button.show()

    def _clicked(self, camera: str) -> None:
        button = self.buttons[camera]
        if button.property("away"):
            self.bring_back.emit(camera)
        else:
            self.show_camera.emit(camera)

    def set_map(self, widget: QWidget | None) -> None:
        while self.map_box.count():
            item = self.map_box.takeAt(0)
            if item.widget() is not None:
                item.widget().setParent(None)
        if widget is not None:
            self.map_box.addWidget(widget)
            widget.show()


class WallPane(QWidget):
    """The wall and, when a camera is enlarged or some are in windows of their own, the
    list of the others beside it."""

    def __init__(self, grid: QWidget, side: CameraList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(grid, 1)
        row.addWidget(side)
        side.hide()


class CameraViews:
    """The window's camera views beyond the wall: one camera over the whole window (the
    queue behind it, the others listed), cameras in windows of their own, the map."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        grid = window.tile_grid
        grid.enlarged_changed.connect(self._enlarged)
        grid.away_changed.connect(self.show_camera_list)
        self.camera_list = CameraList()
        self.camera_list.show_camera.connect(lambda c: grid.enlarge(window.tiles[c]))
        self.camera_list.bring_back.connect(self.bring_back)
        self.camera_list.back_to_desk.connect(grid.restore)
        self.wall = WallPane(grid, self.camera_list)
        self.popped: dict[str, CameraWindow] = {}
        self.camera_map: CameraMap | None = None  # View → Camera map
        self.side_map: CameraMap | None = None  # beside an enlarged camera

    def _enlarged(self, tile: CameraTile | None) -> None:
        """One camera over the whole window, the others listed; Escape brings the desk back."""
        self.window.alerts.setVisible(tile is None)
        self.show_camera_list()
        if tile is None:
            self.window.focus_queue()

    def status_changed(self) -> None:
        """A camera's state changed: the list and the maps say so."""
        if self.camera_list.isVisible():
            self.show_camera_list()
        if self.camera_map is not None:
            self.camera_map.update()

    def show_camera_list(self) -> None:
        w, grid = self.window, self.window.tile_grid
        show = grid.enlarged is not None or bool(grid.away)
        self.camera_list.setVisible(show)
        if not show:
            return
        self.camera_list.show_cameras(grid.tiles, grid.enlarged, grid.away, len(w.alerts.pending))
        if self.side_map is None and w.plan.positions:
            self.side_map = CameraMap(w.plan.positions, list(w.tiles), self.state)
            self.side_map.setFixedHeight(170)
            self.camera_list.set_map(self.side_map)
        if self.side_map is not None:
            self.side_map.setVisible(grid.enlarged is not None)
            self.side_map.highlight = grid.enlarged.camera if grid.enlarged else None
            self.side_map.update()

    def state(self, camera: str) -> FeedState:
        tile = self.window.tiles.get(camera)
        return tile.status.state if tile is not None else FeedState.WAITING

    def pop_out(self, tile: CameraTile) -> CameraWindow | None:
        """*tile* in a window of its own (to drag to a second monitor); closing it, or
        the same key again, puts the camera back on the wall."""
        if tile.camera in self.popped:
            self.bring_back(tile.camera)
            return None
        self.window.tile_grid.take(tile)
        popped = CameraWindow(tile, self.window.deployment.reference)
        popped.closed.connect(self._popped_closed)
        self.popped[tile.camera] = popped
        popped.show()
        return popped

    def bring_back(self, camera: str) -> None:
        popped = self.popped.get(camera)
        if popped is not None:
            popped.close()

    def _popped_closed(self, tile: CameraTile) -> None:
        self.popped.pop(tile.camera, None)
        self.window.tile_grid.give_back(tile)

    def show_map(self) -> None:
        """View → Camera map: where each camera is, drawn from the plan."""
        w = self.window
        if self.camera_map is None:
            self.camera_map = CameraMap(w.plan.positions, list(w.tiles), self.state)
            self.camera_map.setParent(w, Qt.WindowType.Tool)
            self.camera_map.setWindowTitle(f"Cameras · {w.deployment.site}")
            self.camera_map.resize(320, 320)
        self.camera_map.show()
        self.camera_map.raise_()

    def close(self) -> None:
        for popped in list(self.popped.values()):
            popped.close()
        if self.camera_map is not None:
            self.camera_map.close()
