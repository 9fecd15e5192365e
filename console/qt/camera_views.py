"""Camera views beyond the wall: a camera in a window of its own (a second monitor), one
camera over the whole window with the others listed beside it, and the site's camera map
drawn from the plan.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

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
