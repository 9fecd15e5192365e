"""A camera tile: the feed's picture, its name, its state and its health."""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.live.feed import FacesInView, FeedState, FeedStatus
from console.live.overlay import DelayedPicture, Shown
from console.qt.images import qimage_from_rgb
from console.qt.labels import ElidedLabel
from console.vision.sources import SourceSpec

# Face checks a second below which a camera is not "Good": a walker is in view for three
# seconds or so, and an alert needs two matching checks a few hundred ms apart; at 1.5 a
# second a walker gets four or five.
ADEQUATE_CHECKS_PER_S = 1.5

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
    """Paints a camera's picture, letterboxed, with boxes round the faces *on that frame*.

    The picture runs a little behind the camera (see console.live.overlay): each frame
    is painted only with the boxes that belong to it, so a box is never left on the spot
    a walker has just left, nor a name on the next person.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self._scale = 1.0
        self.picture = DelayedPicture()
        self.current: Shown | None = None  # the frame on screen and its boxes
        self.message = ""
        # The frame on screen is old (the feed is not live): dimmed, so a frozen street
        # is never taken for a live one.
        self.stale = False
        # Called when the number of faces boxed on the frame on screen changes: the tile's
        # "faces in view" counts the picture the officer sees, not the newest analysis.
        self.faces_changed: Callable[[int], None] | None = None
        self._faces_shown = 0

    @property
    def faces_on_screen(self) -> int:
        return len(self.current.boxes) if self.current is not None else 0

    def show_frame(self, rgb: np.ndarray, scale: float, index: int | None = None) -> None:
        """A new frame from the camera; *index* ties it to its analysis. Without an index
        (a still picture) it is shown at once, with no box."""
        if index is None:
            self.picture.clear()
            shown: Shown | None = Shown(-1, rgb, scale, [])
        else:
            self.picture.add_frame(index, rgb, scale)
            shown = self.picture.frame_to_show()
        if shown is not None:
            self.current = shown
            self.image, self._scale = qimage_from_rgb(shown.rgb), shown.scale
            self.update()
            if len(shown.boxes) != self._faces_shown:
                self._faces_shown = len(shown.boxes)
                if self.faces_changed is not None:
                    self.faces_changed(self._faces_shown)

    def show_faces(self, faces: FacesInView) -> None:
        self.picture.add_analysis(faces.frame_index, faces.boxes)

    def clear(self) -> None:
        """Nothing left on screen or in the buffer (the deployment is concluded)."""
        self.picture.clear()
        self.current, self.image = None, None
        self.update()

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """The camera's own frame size (the picture is a downscaled preview of it)."""
        if self.image is None or self._scale <= 0:
            return None
        return round(self.image.width() / self._scale), round(self.image.height() / self._scale)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000"))
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
        if self.image is None or self.current is None:
            return
        k = self._scale * target.width() / self.image.width()
        draw_boxes(painter, self.current.boxes, k, target.topLeft(), target)


def draw_boxes(
    painter: QPainter, boxes: list, k: float, origin: QPoint, within: QRect | None = None
) -> None:
    """Face boxes scaled by *k* from frame pixels; a name only on the face that matched,
    kept inside the picture (*within*) when the face is at its edge."""
    for (top, right, bottom, left), name in boxes:
        colour = QColor("#ff4d4d") if name else QColor("#e0e0e0")
        painter.setPen(QPen(colour, 3 if name else 1))
        rect = QRect(
            origin.x() + int(left * k),
            origin.y() + int(top * k),
            max(1, int((right - left) * k)),
            max(1, int((bottom - top) * k)),
        )
        painter.drawRect(rect)
        if name:
            label = painter.fontMetrics().boundingRect(name).adjusted(-4, -2, 4, 2)
            label.moveTopLeft(rect.bottomLeft() + QPoint(0, 3))
            if within is not None:
                label.moveRight(min(label.right(), within.right()))
                label.moveLeft(max(label.left(), within.left()))
                if label.bottom() > within.bottom():
                    label.moveBottom(rect.top() - 3)  # above the face instead
            painter.fillRect(label, QColor(0, 0, 0, 180))
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, name)


class CameraTile(QFrame):
    """One camera: its name, its picture, its state and its health in plain words.

    Double-click (or Enter once clicked) asks the wall to enlarge it."""

    activated = Signal()

    def __init__(self, camera: str, location: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera = camera
        self.setObjectName(f"tile-{camera}")
        self.setProperty("role", "tile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Masked here too (it is idempotent): a stream password must never reach the screen,
        # whatever the caller passed.
        shown = html.escape(SourceSpec(camera, location).shown_location)
        self.title = QLabel(
            f"<b>{html.escape(camera.upper())}</b>  <span style='color:#8a94a6'>{shown}</span>"
        )
        self.title.setObjectName("tileTitle")
        # The title wraps (it never changes); the state and health lines are one line
        # each, cut with an ellipsis and whole in their tooltips: a longer message never
        # takes height from the picture.
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state_label = ElidedLabel()
        self.state_label.setTextFormat(Qt.TextFormat.RichText)
        self.health_label = ElidedLabel()
        self.health_label.setObjectName("health")
        self.video = VideoView()
        self.video.faces_changed = lambda _: self._show_health()
        self.setMinimumSize(180, 160)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.state_label)
        layout.addWidget(self.health_label)
        self.status = FeedStatus(camera, FeedState.WAITING)
        self.show_status(self.status)

    @property
    def aspect(self) -> float:
        """The camera's width over height (16:9 until its first frame says otherwise)."""
        size = self.video.frame_size
        return size[0] / size[1] if size and size[1] else 16 / 9

    def chrome_height(self, width: int | None = None) -> int:
        """The tile's height besides the picture (title, state and health lines) when
        the tile is *width* wide (its current width if not given): the lines wrap."""
        layout = self.layout()
        m = layout.contentsMargins()
        inner = (width or self.width()) - m.left() - m.right()
        lines = 0
        for label in (self.title, self.state_label, self.health_label):
            h = label.heightForWidth(inner) if inner > 0 else -1
            lines += h if h > 0 else label.sizeHint().height()
        return lines + m.top() + m.bottom() + 3 * layout.spacing()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self.activated.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit()
        else:
            super().keyPressEvent(event)

    def show_status(self, status: FeedStatus) -> None:
        self.status = status
        colour = STATE_COLOURS[status.state]
        detail = f": {status.detail}" if status.detail else ""
        self.state_label.set_rich(
            f"<span style='color:{colour}'>●</span> ",
            status.state.value.upper() + detail,
        )
        self._show_health()
        self.video.message = (
            f"{status.state.value.upper()}{detail}" if status.state in NOT_LIVE_STATES else ""
        )
        self.video.stale = status.state != FeedState.LIVE
        self.video.update()

    def _show_health(self) -> None:
        text, details = health_text(self.status, self.video.faces_on_screen)
        self.health_label.set_full_text(text)
        self.health_label.setToolTip(details)

    @property
    def state_text(self) -> str:
        return self.state_label.full_text

    @property
    def health_text(self) -> str:
        return self.health_label.full_text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def health_word(status: FeedStatus) -> str:
    """The camera's health in one plain word or two, as an officer would say it."""
    if status.state != FeedState.LIVE:
        return "No picture"
    if status.reconnects_last_hour or status.stalls_last_hour:
        return "Unsteady link"
    if status.decode_fps >= 1 and status.analysed_fps < ADEQUATE_CHECKS_PER_S:
        return "Face checks behind"
    return "Good"


def health_text(status: FeedStatus, faces_on_screen: int | None = None) -> tuple[str, str]:
    """One short line for the tile (rates over the last minute) and the full record for
    its tooltip. Cumulative counts live in the tooltip only: "dropped 11049" on the tile
    read as a fault, when most frames are skipped by design (a few checks a second).

    *faces_on_screen*: the faces boxed on the picture the tile shows (which runs a little
    behind the camera); the line counts those, so it agrees with the boxes drawn."""
    faces = status.faces_in_view if faces_on_screen is None else faces_on_screen
    if status.state == FeedState.LIVE:
        line = (
            f"{health_word(status)} · picture {status.decode_fps:.0f} fps · faces checked "
            f"{status.analysed_fps:.1f}/s · {_plural(faces, 'face')} in view"
        )
    else:
        line = health_word(status)
    events = []
    if status.reconnects_last_hour:
        events.append(_plural(status.reconnects_last_hour, "reconnection"))
    if status.stalls_last_hour:
        events.append(_plural(status.stalls_last_hour, "stall"))
    if events:
        line += f" · {' and '.join(events)} in the last hour"
    crowded, crowd_detail = status.overload.describe() if status.overload else ("", "")
    if crowded:
        line += f" · {crowded}"
    details = (
        "Rates are over the last minute. "
        f"Good needs at least {ADEQUATE_CHECKS_PER_S:g} face checks a second.\n"
        f"Since the start: {status.frames_decoded} frames shown, {status.frames_analysed} "
        f"checked for faces, {status.dropped} not checked (only a few a second are, by "
        f"design), {status.bad_frames} corrupt frames skipped.\n"
        f"Last hour: reconnects {status.reconnects_last_hour} · "
        f"stalls {status.stalls_last_hour}"
    )
    if crowd_detail:
        details += f"\n{crowd_detail}"
    return line, details
