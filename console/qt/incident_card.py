"""The open incident's card: the best live face beside the watchlist photo, the subject's
watchlist facts, how close the next-nearest subjects came, the instant replay of the
alert moment, every sighting, the note and the decision buttons.

The card only shows; which incident it shows, and whether a key may act on it, are the
panel's and the desk rules' (``console.domain.desk``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision, Outcome, Urgency
from console.domain.incidents import Incident, waiting_text
from console.live.moments import Clip, MomentFrame
from console.qt.images import FacePhoto, mark_face, qimage_from_rgb

PHOTO_SIDE = 150
PHOTO_SMALLEST = 80  # on a short screen the photos give way to here, the words never
THUMB_SIDE = 44
NEW_FOR_S = 15
# The replay on the card: the card's width, in the camera's shape (readable, unlike the
# 300x170 frame it replaces); a click enlarges it.
REPLAY_SIZE = (2 * PHOTO_SIDE + 20, (2 * PHOTO_SIDE + 20) * 9 // 16)
REPLAY_FPS = 8
# A next-nearest subject this close to the threshold is worth the officer's eye.
CLOSE_MARGIN = 0.15
DECISION_KEYS = {Decision.ENGAGE: "E", Decision.DISMISS: "D", Decision.FALSE_MATCH: "F"}
OUTCOME_KEYS = {
    Outcome.ARRESTED: "1",
    Outcome.ADVICE: "2",
    Outcome.NOT_LOCATED: "3",
    Outcome.CONFIRMED_FALSE: "4",
}
URGENCY_COLOURS = {
    Urgency.IMMEDIATE: "#b3261e",
    Urgency.PRIORITY: "#d9822b",
    Urgency.ROUTINE: "#5f6368",
}


def _hms(t: datetime) -> str:
    return t.astimezone().strftime("%H:%M:%S")


def wall_time(alert: Alert) -> str:
    """When an alert was raised, as the officer's clock says."""
    return _hms(alert.raised_at)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


@dataclass(frozen=True)
class SubjectFacts:
    """What the watchlist says about a subject, beyond name and category."""

    date_of_birth: date | None = None
    reason: str = ""  # why they are sought, in the watchlist's words
    warnings: tuple[str, ...] = ()  # warning markers: "violence", "weapons", ...
    notes: str = ""

    def lines(self, today: date) -> list[str]:
        """The facts as the card shows them (HTML-escaped), warnings first."""
        out = []
        if self.warnings:
            shown = ", ".join(html.escape(w) for w in self.warnings)
            out.append(f"<span style='color:#eb5757'><b>⚠ Warning: {shown}</b></span>")
        if self.date_of_birth is not None:
            born = self.date_of_birth
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            out.append(f"Born {born.isoformat()} (age {age})")
        if self.reason:
            out.append(f"Sought for: {html.escape(self.reason)}")
        if self.notes:
            out.append(f"Notes: {html.escape(self.notes)}")
        return out


class SightingRow(QWidget):
    """One alert of an incident: its best face, camera, time, distance."""

    def __init__(
        self,
        alert: Alert,
        parent: QWidget | None = None,
        time_text: Callable[[Alert], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.alert_id = alert.alert_id
        self.time_text = time_text or wall_time
        self.face = FacePhoto(THUMB_SIDE, THUMB_SIDE)
        self.text = QLabel()
        self.text.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 1, 0, 1)
        row.addWidget(self.face)
        row.addWidget(self.text, 1)
        self.show_alert(alert)

    def show_alert(self, alert: Alert) -> None:
        """The sighting as it stands: its face, distance and frames improve while it goes
        on, and the row must say what the record holds."""
        self.face.set_rgb(alert.crop_rgb)
        self.text.setText(
            f"<b>{html.escape(alert.camera)}</b> {html.escape(self.time_text(alert))}<br>"
            f"distance {alert.distance:.3f} · {plural(alert.frames_seen, 'frame')}"
        )


class FactsView(QScrollArea):
    """The card's facts: whole wherever the card has room for them; on a short screen
    they scroll (the scroll bar shows there is more) rather than run under the photos or
    the note field. The layout asks it, like a label, for its height at a width."""

    def __init__(self, label: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay the queue's
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.viewport().setAutoFillBackground(False)
        label.setAutoFillBackground(False)
        self.setStyleSheet("QScrollArea { background: transparent; }")

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        # Measured as if the scroll bar took its width: the lines wrapped that narrow fit
        # whether or not it shows (else the bar, once shown, makes them one line too many).
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return self.label.heightForWidth(max(1, width - bar))

    def sizeHint(self) -> QSize:
        width = max(1, self.width())
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        # Whole up to seven lines, so the photos and the replay give way first; past that
        # (a long watchlist note on a short screen) the rest scrolls.
        lines = self.fontMetrics().lineSpacing()
        return QSize(0, min(self.heightForWidth(max(1, self.width())), 7 * lines))

    def whole(self) -> bool:
        """Every line of the facts is in view without scrolling."""
        return self.viewport().height() >= self.label.heightForWidth(self.viewport().width())


class ReplayView(QWidget):
    """Plays a clip of the alert moment in a loop; the best match is boxed and held.

    The frames are the clip's (memory only). A click asks for the enlarged view."""

    clicked = Signal()

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Gives way to 60% on a short screen (the card at 1280x720), in the camera's shape.
        self._hint = QSize(width, height)
        self.setMinimumSize(width * 3 // 5, height * 3 // 5)
        self.setMaximumSize(width, height)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(
            "The seconds around the best match, kept in memory only (never on disk). "
            "Click to enlarge (Shift+V)."
        )
        self.clip: Clip | None = None
        self.frame_width: Callable[[str], int | None] | None = None
        self.frames: list[MomentFrame] = []
        self.position = 0
        self.text = ""
        self._image = QImage()
        self._frame: MomentFrame | None = None
        self._best = False
        self._final = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.advance)
        self._hold = 0  # ticks left on the best match

    def play(
        self, clip: Clip | None, fallback_text: str = "", still: np.ndarray | None = None
    ) -> None:
        """Play *clip*; without one, show *still* (the frame at the best match) or say
        why there is nothing."""
        self.clip, self._final = clip, False
        self.frames, self.position, self.text = [], 0, fallback_text
        self._image = QImage() if still is None else qimage_from_rgb(still)
        self._frame = None
        if clip is not None:
            self._load()
            self._timer.start(1000 // REPLAY_FPS)
        self.update()

    def stop(self) -> None:
        self._timer.stop()
        self.clip, self.frames, self._image = None, [], QImage()

    def _load(self) -> None:
        """The clip grows until a moment after the match, then is compressed: read it
        again until it is final (raw frames are references, cheap to list)."""
        if self.clip is None or self._final:
            return
        self._final = self.clip.compressed
        self.frames = self.clip.frames()
        self.position = min(self.position, max(0, len(self.frames) - 1))

    def advance(self) -> None:
        self._load()
        if not self.frames:
            self._image = QImage()
            self.update()
            return
        best = self.clip.best_position(self.frames) if self.clip else -1
        if self._hold > 0:
            self._hold -= 1
        else:
            self.position = (self.position + 1) % len(self.frames)
            if self.position == best:
                self._hold = REPLAY_FPS  # a second on the best match
        self._show(self.frames[self.position], self.position == best)

    def _show(self, frame: MomentFrame, best: bool) -> None:
        rgb = frame.rgb
        if best and self.clip is not None:
            # The matched face, boxed and named, on the frame it was matched on.
            full = round(rgb.shape[1] / frame.scale) if frame.scale > 0 else None
            rgb = mark_face(rgb, self.clip.bbox, self.clip.subject_name, full)
        self._image = qimage_from_rgb(rgb)
        self._frame = frame
        self._best = best
        self.update()

    def current_label(self) -> str:
        if not self.frames or self.clip is None:
            return ""
        fps = max(1.0, len(self.frames) / 4.0)
        offset = (self.position - self.clip.best_position(self.frames)) / fps
        return "best match" if abs(offset) < 1e-6 else f"{offset:+.1f} s"

    def sizeHint(self) -> QSize:
        return self._hint

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self.clicked.emit()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000"))
        if not self._image.isNull():
            w, h = self._image.width(), self._image.height()
            k = min(self.width() / w, self.height() / h)
            box = QRect(0, 0, int(w * k), int(h * k))
            box.moveCenter(self.rect().center())
            painter.drawImage(box, self._image)
            frame = self._frame
            if frame is not None and not self._best:
                painter.setPen(QPen(QColor("#ff4d4d"), 2))
                for (top, right, bottom, left), _name in frame.boxes:
                    s = frame.scale * k
                    painter.drawRect(
                        QRect(
                            box.left() + int(left * s),
                            box.top() + int(top * s),
                            int((right - left) * s),
                            int((bottom - top) * s),
                        )
                    )
            painter.fillRect(QRect(0, 0, self.width(), 18), QColor(0, 0, 0, 150))
            painter.setPen(QColor("#fff"))
            what = (
                f"Replay · {self.current_label()}"
                if self.clip is not None
                else "Frame at the best match"
            )
            painter.drawText(
                QRect(4, 0, self.width() - 8, 18),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                what,
            )
            # Where both do not fit, the position in the clip wins (the tooltip says the rest).
            metrics = painter.fontMetrics()
            room = self.width() - 8 - metrics.horizontalAdvance(what) - 12
            aside = metrics.elidedText(
                "memory only · click: enlarge", Qt.TextElideMode.ElideRight, max(0, room)
            )
            if room > metrics.horizontalAdvance("memory only…"):
                painter.drawText(
                    QRect(4, 0, self.width() - 8, 18),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    aside,
                )
        else:
            painter.setPen(QColor("#ddd"))
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.text or "Collecting the seconds around the match…",
            )
        painter.end()


class ReplayWindow(QDialog):
    """The alert moment enlarged: the same clip at the size of a camera tile or more."""

    def __init__(
        self,
        title: str,
        source: tuple[Clip | None, str, np.ndarray | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Replay · {title}")
        self.view = ReplayView(960, 540)
        self.view.setCursor(Qt.CursorShape.ArrowCursor)
        self.view.play(*source)
        note = QLabel(
            "The seconds around the best match, kept in memory only (never on disk). "
            "Esc closes."
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(note)

    def fit_screen(self) -> None:
        """At 1280x720 the 960x540 view and its caption must still fit."""
        screen = self.screen()
        if screen is None:
            return
        room = screen.availableGeometry()
        if room.height() < 640 or room.width() < 1000:
            w = min(960, room.width() - 60)
            h = min(w * 9 // 16, room.height() - 140)
            self.view.setFixedSize(h * 16 // 9, h)

    def done(self, result: int) -> None:
        self.view.stop()
        super().done(result)


class IncidentCard(QFrame):
    """The open incident in full: best live face beside the watchlist photo, the facts,
    the replay, every sighting, the note and the decisions."""

    decided = Signal(object)  # Decision: a button was clicked
    reason_entered = Signal()  # Return in the reason field while a dismissal waits for it
    replay_enlarge = Signal()
    painted = Signal()  # the card reached the screen (the guard time counts from here)

    def __init__(self, site: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.site = site
        self.incident: Incident | None = None
        self.awaiting_reason = False  # D was pressed without a reason: Return dismisses
        self.busy = False
        self.closed_reason = ""  # set when no decision may be taken any more
        self.empty_text = "<i>No alert awaits a decision</i>"
        # The camera's full frame width, to place the matched face on the scene frame
        # (the scene is a downscaled copy); set by the window from its tiles.
        self.frame_width: Callable[[str], int | None] | None = None
        # How a sighting's time is shown: the clock (live) or the scenario's (trainer).
        self.time_text: Callable[[Alert], str] = wall_time
        # The subject's watchlist facts and the alert moment's clip, from the window.
        self.subject_facts: Callable[[str], SubjectFacts | None] = lambda _: None
        self.clip_of: Callable[[str], Clip | None] = lambda _: None
        self.today: Callable[[], date] = date.today
        self.setObjectName("incidentCard")
        # Its border and background are the theme's (resources/style*.qss).
        self.badge = QLabel()
        self.heading = QLabel()
        self.heading.setWordWrap(True)  # a long name must not widen the card past the panel
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.waiting = QLabel()
        self.live_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE, smallest=PHOTO_SMALLEST)
        self.watchlist_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE, smallest=PHOTO_SMALLEST)
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setWordWrap(True)
        self.facts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.replay = ReplayView(*REPLAY_SIZE)
        self.replay.clicked.connect(self.replay_enlarge)
        self.replay.hide()
        self.sightings_box = QWidget()
        self.sightings_layout = QVBoxLayout(self.sightings_box)
        self.sightings_layout.setContentsMargins(0, 0, 0, 0)
        self.sightings_layout.setSpacing(0)
        self.sightings = QScrollArea()
        self.sightings.setWidgetResizable(True)
        self.sightings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sightings.setWidget(self.sightings_box)
        self.sightings.setMinimumHeight(THUMB_SIDE + 8)
        self.sightings.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.note = QLineEdit()
        self.note.setObjectName("note")
        self.note.setPlaceholderText("Note (a reason is required to dismiss)")
        self.note.returnPressed.connect(self._note_entered)
        self.status = QLabel()
        self.status.setObjectName("cardStatus")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        # Two lines, always: a message that wraps must not move the buttons above it.
        self.status.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 4)
        self.buttons: dict[Decision, QPushButton] = {}
        decisions = QHBoxLayout()
        for decision, key in DECISION_KEYS.items():
            button = QPushButton(f"{decision.label} [{key}]")
            button.setObjectName(f"decide-{decision.value}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the queue, not here
            button.clicked.connect(lambda _=False, d=decision: self.decided.emit(d))
            decisions.addWidget(button)
            self.buttons[decision] = button

        # The urgency and the wait on one line, the subject on the whole width below: beside
        # them the name was squeezed into a column of four lines, the height a 720-pixel
        # screen needs for the photos and the facts.
        top = QHBoxLayout()
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(self.waiting)
        photos = QGridLayout()
        photos.addWidget(self.live_photo, 0, 0)
        photos.addWidget(self.watchlist_photo, 0, 1)
        photos.addWidget(_caption("Live (best sighting)"), 1, 0)
        photos.addWidget(_caption("Watchlist"), 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)  # tight: the card must fit a 720-pixel-high screen
        layout.addLayout(top)
        layout.addWidget(self.heading)
        layout.addLayout(photos)
        layout.addWidget(self.replay, 0, Qt.AlignmentFlag.AlignHCenter)
        self.facts_view = FactsView(self.facts)
        layout.addWidget(self.facts_view)
        self.sightings_caption = _caption("Sightings (newest first)")
        layout.addWidget(self.sightings_caption)
        layout.addWidget(self.sightings, 1)
        layout.addWidget(self.note)
        layout.addLayout(decisions)
        layout.addWidget(self.status)
        self.show_incident(None, None)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        self.painted.emit()

    # -- what the card shows --------------------------------------------------------------
    def show_incident(self, incident: Incident | None, photo: np.ndarray | None) -> None:
        """Fill the card from *incident* (None: no incident is open)."""
        changed = (
            incident is None
            or self.incident is None
            or (incident.incident_id != self.incident.incident_id)
        )
        self.incident = incident
        self._enable()
        if changed:
            self.note.clear()
            self.awaiting_reason = False
            self.status.setText(self.closed_reason)  # a message about another card goes
            if self.replay.isVisible():
                self._play_replay()
        if incident is None:
            self.badge.setText("")
            self.badge.setStyleSheet("")
            self.heading.setText(self.empty_text)
            self.waiting.setText("")
            self.live_photo.set_rgb(None)
            self.watchlist_photo.set_rgb(None)
            self.facts.setText("")
            self.facts_view.updateGeometry()
            self._show_sightings([])
            return
        best = incident.best
        u = incident.urgency
        self.badge.setText(f" {u.label.upper()} ")
        self.badge.setStyleSheet(
            f"background:{URGENCY_COLOURS[u]}; color:white; font-weight:bold; padding:2px"
        )
        self.heading.setText(
            f"<b>{html.escape(incident.subject_name)}</b> · {html.escape(incident.category)}"
        )
        self.live_photo.set_rgb(best.crop_rgb)
        if photo is None and self.closed_reason:
            self.watchlist_photo.set_text("Watchlist deleted")
        else:
            self.watchlist_photo.set_rgb(photo)
        self.facts.setText(self._facts_html(incident))
        self.facts_view.updateGeometry()  # its height follows the lines
        self._show_sightings(sorted(incident.alerts, key=lambda a: a.raised_at, reverse=True))

    def _facts_html(self, incident: Incident) -> str:
        best = incident.best
        first = min(incident.alerts, key=lambda a: a.raised_at)
        last = max(incident.alerts, key=lambda a: a.raised_at)
        lines = [
            f"Cameras <b>{html.escape(', '.join(incident.cameras))}</b> · "
            f"{html.escape(self.site)}",
            f"First {html.escape(self.time_text(first))} · last "
            f"{html.escape(self.time_text(last))} · "
            f"<b>{plural(len(incident.alerts), 'sighting')}</b>",
            f"Best distance <b>{best.distance:.3f}</b> (alerts at {best.threshold:.2f} or "
            f"less; lower is closer) on {html.escape(best.camera)}",
        ]
        close = [
            (name, d) for _, name, d in best.runners_up if d <= best.threshold + CLOSE_MARGIN
        ]
        if close:
            shown = ", ".join(f"{html.escape(n)} {d:.3f}" for n, d in close)
            lines.append(f"<span style='color:#f2994a'>Also close: {shown}</span>")
        elif best.runners_up:
            lines.append(f"Next nearest on the watchlist: {best.runners_up[0][2]:.3f} (not close)")
        facts = self.subject_facts(incident.subject_id)
        if facts is not None:
            lines += facts.lines(self.today())
        return "<br>".join(lines)

    def _show_sightings(self, alerts: list[Alert]) -> None:
        shown = [
            w
            for i in range(self.sightings_layout.count())
            if isinstance(w := self.sightings_layout.itemAt(i).widget(), SightingRow)
        ]
        if [w.alert_id for w in shown] == [a.alert_id for a in alerts]:
            for row, alert in zip(shown, alerts, strict=True):
                row.show_alert(alert)  # a sighting improves while it goes on
            return
        for w in shown:
            self.sightings_layout.removeWidget(w)
            w.deleteLater()
        while self.sightings_layout.count():
            self.sightings_layout.takeAt(0)
        for alert in alerts:
            self.sightings_layout.addWidget(SightingRow(alert, time_text=self.time_text))
        self.sightings_layout.addStretch(1)

    def refresh(self, now: datetime, overdue_after_s: float) -> None:
        incident = self.incident
        if incident is None:
            return
        waited = incident.waiting_s(now)
        if self.closed_reason:
            self.waiting.setText("not adjudicated")
            self.waiting.setStyleSheet("")
        elif waited > overdue_after_s:
            self.waiting.setText(f" OVERDUE {waiting_text(waited)} ")
            self.waiting.setStyleSheet("background:#b3261e; color:white; font-weight:bold")
        else:
            new = "NEW · " if waited < NEW_FOR_S else ""
            self.waiting.setText(f"{new}waiting {waiting_text(waited)}")
            self.waiting.setStyleSheet("")

    # -- the replay -----------------------------------------------------------------------
    def toggle_replay(self) -> None:
        """V: the replay in the sightings' place (a 720-pixel screen has room for one of
        them beside the photos and the facts); V again brings the sightings back."""
        showing = not self.replay.isVisible() and self.incident is not None
        if not showing:
            self.replay.stop()
        self.replay.setVisible(showing)
        self.sightings_caption.setVisible(not showing)
        self.sightings.setVisible(not showing)
        if showing:
            self._play_replay()

    def _play_replay(self) -> None:
        self.replay.play(*self.replay_source())

    def replay_source(self) -> tuple[Clip | None, str, np.ndarray | None]:
        """The open incident's clip of its best sighting; without one, the camera frame at
        the best match, or why there is neither."""
        if self.incident is None:
            return None, "No incident is open.", None
        clip = self.clip_of(self.incident.best.alert_id)
        if clip is None:
            for alert in sorted(self.incident.alerts, key=lambda a: a.distance):
                if (clip := self.clip_of(alert.alert_id)) is not None:
                    break
        if clip is not None:
            return clip, "", None
        best = self.incident.best
        if best.scene_rgb is not None:
            width = self.frame_width(best.camera) if self.frame_width else None
            return None, "", mark_face(best.scene_rgb, best.bbox, best.subject_name, width)
        return None, (
            "The seconds around the match are kept in memory only, while the incident is on "
            "the desk: there are none after a restart."
        ), None

    # -- decisions ------------------------------------------------------------------------
    def ask_reason(self) -> None:
        """D on an open card without a reason: the reason field opens, and only then."""
        self.awaiting_reason = True
        self.status.setText(
            "A reason is needed to dismiss: type it, then press Return (Esc cancels)"
        )
        self.note.setEnabled(True)
        self.note.setFocus()

    def cancel_reason(self, message: str = "Dismiss cancelled") -> None:
        if self.awaiting_reason:
            self.awaiting_reason = False
            self.note.clear()
            self.status.setText(message)

    def _note_entered(self) -> None:
        if self.awaiting_reason and self.note.text().strip():
            self.awaiting_reason = False
            self.reason_entered.emit()

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        self._enable()
        self.status.setText(message)

    def _enable(self) -> None:
        open_card = self.incident is not None and not self.closed_reason
        for button in self.buttons.values():
            button.setEnabled(open_card and not self.busy)
        # The note takes text only while a card is open: typing goes nowhere else.
        self.note.setEnabled(open_card)


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #8a94a6")
    return label
