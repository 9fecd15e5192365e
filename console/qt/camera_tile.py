"""A camera tile: the feed's picture, its name, its state and its health."""

from __future__ import annotations

import html
import time

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.live.feed import FacesInView, FeedState, FeedStatus
from console.qt.images import qimage_from_rgb
from console.vision.sources import SourceSpec

# Boxes come from the last analysed frame, which may be a few frames old.
BOX_LIFETIME_S = 0.6

STATE_COLOURS = {
    FeedState.WAITING: "#9aa0a6",
    FeedState.CONNECTING: "#f2c94c",
    FeedState.LIVE: "#27ae60",
    FeedState.STALLED: "#e67e22",
    FeedState.RECONNECTING: "#f2994a",
    FeedState.ENDED: "#9aa0a6",
    FeedState.FAILED: "#eb5757",
    FeedState.STOPPED: "#9aa0a6",
}
# States whose picture, if any, is the last frame from before: say so over it.
NOT_LIVE_STATES = frozenset(
    {
        FeedState.WAITING,
        FeedState.CONNECTING,
        FeedState.STALLED,
        FeedState.RECONNECTING,
        FeedState.FAILED,
    }
)


class VideoView(QWidget):
    """Paints the newest frame, letterboxed, with boxes round the faces in view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self._scale = 1.0
        self._faces = FacesInView([])
        self._faces_at = 0.0
        self.message = ""
        # The frame on screen is old (the feed is not live): dimmed, so a frozen street
        # is never taken for a live one.
        self.stale = False

    def show_frame(self, rgb: np.ndarray, scale: float) -> None:
        self.image, self._scale = qimage_from_rgb(rgb), scale
        self.update()

    def show_faces(self, faces: FacesInView) -> None:
        self._faces = faces
        self._faces_at = time.monotonic()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#111"))
        if self.image is not None:
            target = self._fit(self.image.width(), self.image.height())
            painter.drawImage(target, self.image)
            if self.stale:
                painter.fillRect(target, QColor(0, 0, 0, 160))
            else:
                self._draw_faces(painter, target)
        if self.message:
            painter.setPen(QColor("#eee"))
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.message,
            )
        painter.end()

    def _fit(self, width: int, height: int) -> QRect:
        ratio = min(self.width() / width, self.height() / height)
        w, h = int(width * ratio), int(height * ratio)
        return QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)

    def _draw_faces(self, painter: QPainter, target: QRect) -> None:
        assert self.image is not None
        if time.monotonic() - self._faces_at > BOX_LIFETIME_S:
            return  # a box left behind by a walker is worse than no box
        k = self._scale * target.width() / self.image.width()
        for (top, right, bottom, left), name in self._faces.boxes:
            colour = QColor("#eb5757") if name else QColor("#e0e0e0")
            painter.setPen(QPen(colour, 3 if name else 1))
            rect = QRect(
                target.x() + int(left * k),
                target.y() + int(top * k),
                int((right - left) * k),
                int((bottom - top) * k),
            )
            painter.drawRect(rect)
            if name:
                painter.drawText(rect.bottomLeft() + QPoint(0, 16), name)


class CameraTile(QFrame):
    def __init__(self, camera: str, location: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = camera
        self.setObjectName(f"tile-{camera}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Masked here too (it is idempotent): a stream password must never reach the screen,
        # whatever the caller passed.
        shown = html.escape(SourceSpec(camera, location).shown_location)
        self.title = QLabel(
            f"<b>{html.escape(camera.upper())}</b>  <span style='color:#888'>{shown}</span>"
        )
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.health_label = QLabel()
        self.health_label.setObjectName("health")
        # Long lines wrap rather than widen the tile (and the window) past the screen.
        for label in (self.title, self.health_label):
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.video = VideoView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.state_label)
        layout.addWidget(self.health_label)
        self.status = FeedStatus(camera, FeedState.WAITING)
        self.show_status(self.status)

    def show_status(self, status: FeedStatus) -> None:
        self.status = status
        colour = STATE_COLOURS[status.state]
        detail = f": {status.detail}" if status.detail else ""
        self.state_label.setText(
            f"<span style='color:{colour}'>●</span> "
            f"{html.escape(status.state.value.upper() + detail, quote=False)}"
        )
        self.state_label.setToolTip(status.detail)
        self.health_label.setText(health_text(status))
        self.video.message = (
            f"{status.state.value.upper()}{detail}" if status.state in NOT_LIVE_STATES else ""
        )
        self.video.stale = status.state != FeedState.LIVE
        self.video.update()

    @property
    def state_text(self) -> str:
        return self.state_label.text()


def health_text(status: FeedStatus) -> str:
    """Two lines: the picture's rates now, then the link's record (last hour for events)."""
    rates = (
        f"decode {status.decode_fps:.1f} fps · analysed {status.analysed_fps:.1f} fps · "
        f"dropped {status.dropped} · faces {status.faces_in_view}"
    )
    link = (
        f"decoded {status.frames_decoded} · corrupt {status.bad_frames} · "
        f"reconnects {status.reconnects_last_hour} · stalls {status.stalls_last_hour} (last hour)"
    )
    return f"{rates}\n{link}"
