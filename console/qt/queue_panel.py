"""The adjudication queue at volume: one row per incident, the selected incident's card
beside it, and the engagements awaiting their outcome in a list of their own.

The rules (grouping, order, what is selected after a decision, the undo window) are in
``console.domain.incidents``; this module only shows them. The selection is a blue row
and the card beside it; an overdue incident is marked with a red chip and a pale red
row, never by taking the selection's colour.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision, Outcome, Urgency
from console.domain.incidents import (
    DEFAULT_WINDOW,
    Incident,
    IncidentQueue,
    RecentDecision,
    waiting_text,
)
from console.qt.images import FacePhoto, mark_face

PHOTO_SIDE = 150
THUMB_SIDE = 44
NEW_FOR_S = 15
DECISION_KEYS = {Decision.ENGAGE: "E", Decision.DISMISS: "D", Decision.FALSE_MATCH: "F"}
OUTCOME_KEYS = {
    Outcome.ARRESTED: "1",
    Outcome.ADVICE: "2",
    Outcome.NOT_LOCATED: "3",
    Outcome.CONFIRMED_FALSE: "4",
}
OUTCOME_SHORT = {
    Outcome.ARRESTED: "Arrested",
    Outcome.ADVICE: "Advice",
    Outcome.NOT_LOCATED: "Not located",
    Outcome.CONFIRMED_FALSE: "Confirmed false",
}
URGENCY_COLOURS = {
    Urgency.IMMEDIATE: "#b3261e",
    Urgency.PRIORITY: "#d9822b",
    Urgency.ROUTINE: "#5f6368",
}
# A red tint that reads on both themes (translucent over the list's own background).
OVERDUE_ROW = QColor(235, 87, 87, 70)
ID = Qt.ItemDataRole.UserRole
LIST_STYLE = (
    "QListWidget::item { padding: 3px 2px; border-bottom: 1px solid rgba(128,128,128,60); }"
    "QListWidget::item:selected { background: #1a73e8; color: white; }"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _hms(t: datetime) -> str:
    return t.astimezone().strftime("%H:%M:%S")


def _raised(alert: Alert) -> datetime:
    return alert.raised_at


def wall_time(alert: Alert) -> str:
    """When an alert was raised, as the officer's clock says."""
    return _hms(alert.raised_at)


def _urgency_icon(urgency: Urgency) -> QIcon:
    pixmap = QPixmap(12, 28)
    pixmap.fill(QColor(URGENCY_COLOURS[urgency]))
    return QIcon(pixmap)


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
            f"distance {alert.distance:.3f} · {alert.frames_seen} frame(s)"
        )


class IncidentCard(QFrame):
    """The selected incident in full: best live face beside the watchlist photo, the
    facts, every sighting, the note and the decisions."""

    decided = Signal(object)  # Decision

    def __init__(self, site: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.site = site
        self.incident: Incident | None = None
        self.awaiting_reason = False  # D was pressed without a reason: Return dismisses
        self.busy = False
        self.closed_reason = ""  # set when no decision may be taken any more
        # The camera's full frame width, to place the matched face on the scene frame
        # (the scene is a downscaled copy); set by the window from its tiles.
        self.frame_width: Callable[[str], int | None] | None = None
        # How a sighting's time is shown: the clock (live) or the scenario's (trainer).
        self.time_text: Callable[[Alert], str] = wall_time
        self.setObjectName("incidentCard")
        # Its border and background are the theme's (resources/style*.qss).
        self.badge = QLabel()
        self.heading = QLabel()
        self.heading.setWordWrap(True)  # a long name must not widen the card past the panel
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.waiting = QLabel()
        self.live_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE)
        self.watchlist_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE)
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setWordWrap(True)
        self.facts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.scene = FacePhoto(PHOTO_SIDE * 2, PHOTO_SIDE * 2 * 9 // 16)
        self.scene.hide()
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
        self.note.setPlaceholderText("Note (a reason is required to dismiss)")
        self.note.returnPressed.connect(self._note_entered)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.buttons: dict[Decision, QPushButton] = {}
        decisions = QHBoxLayout()
        for decision, key in DECISION_KEYS.items():
            button = QPushButton(f"{decision.label} [{key}]")
            button.setObjectName(f"decide-{decision.value}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the queue, not here
            button.clicked.connect(lambda _=False, d=decision: self.decided.emit(d))
            decisions.addWidget(button)
            self.buttons[decision] = button

        top = QHBoxLayout()
        top.addWidget(self.badge)
        top.addWidget(self.heading, 1)
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
        layout.addLayout(photos)
        layout.addWidget(self.scene, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.facts)
        layout.addWidget(_caption("Sightings (newest first)"))
        layout.addWidget(self.sightings, 1)
        layout.addWidget(self.note)
        layout.addLayout(decisions)
        layout.addWidget(self.status)
        self.show_incident(None, None)

    def show_incident(self, incident: Incident | None, photo: np.ndarray | None) -> None:
        """Fill the card from *incident* (None: an empty queue)."""
        changed = (
            incident is None
            or self.incident is None
            or (incident.incident_id != self.incident.incident_id)
        )
        self.incident = incident
        for button in self.buttons.values():
            button.setEnabled(incident is not None and not self.busy and not self.closed_reason)
        if changed:
            self.note.clear()
            self.awaiting_reason = False
            self.scene.hide()
            self.status.setText(self.closed_reason)
        if incident is None:
            self.badge.setText("")
            self.badge.setStyleSheet("")
            self.heading.setText("<i>No alert awaits a decision</i>")
            self.waiting.setText("")
            self.live_photo.set_rgb(None)
            self.watchlist_photo.set_rgb(None)
            self.facts.setText("")
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
        n = len(incident.alerts)
        self.facts.setText(
            f"Cameras <b>{html.escape(', '.join(incident.cameras))}</b> · "
            f"{html.escape(self.site)}<br>"
            f"First {html.escape(self.time_text(min(incident.alerts, key=_raised)))} · "
            f"last {html.escape(self.time_text(max(incident.alerts, key=_raised)))} · "
            f"<b>{n}</b> sighting{'s' if n != 1 else ''}<br>"
            f"Best distance <b>{best.distance:.3f}</b> (threshold {best.threshold:.2f}) "
            f"on {html.escape(best.camera)}"
        )
        self._show_sightings(sorted(incident.alerts, key=lambda a: a.raised_at, reverse=True))
        if self.scene.isVisible():
            self._show_scene()

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

    def toggle_scene(self) -> None:
        if self.scene.isVisible():
            self.scene.hide()
        elif self.incident is not None:
            self._show_scene()
            self.scene.show()

    def _show_scene(self) -> None:
        best = self.incident.best if self.incident else None
        if best is None or best.scene_rgb is None:
            self.scene.set_text("The camera frame is kept in memory only: not after a restart.")
        else:
            width = self.frame_width(best.camera) if self.frame_width else None
            self.scene.set_rgb(mark_face(best.scene_rgb, best.bbox, best.subject_name, width))

    def _note_entered(self) -> None:
        if self.awaiting_reason and self.note.text().strip():
            self.awaiting_reason = False
            self.decided.emit(Decision.DISMISS)

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        for button in self.buttons.values():
            button.setEnabled(not busy and self.incident is not None and not self.closed_reason)
        self.status.setText(message)


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #8a94a6")
    return label


class IncidentPanel(QWidget):
    """Queue, card, engagements and the undo offer, side by side in the window's right."""

    decide_requested = Signal(str, object)  # incident id, Decision
    outcome_requested = Signal(str, object)  # incident id, Outcome
    undo_requested = Signal()

    def __init__(
        self,
        site: str,
        overdue_after_s: float = 60.0,
        window: timedelta = DEFAULT_WINDOW,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.overdue_after_s = overdue_after_s
        self.queue = IncidentQueue(window)
        self._photos: dict[str, np.ndarray | None] = {}  # watchlist photo per subject
        self._stopped_at: datetime | None = None  # when the deployment concluded
        self._selected: str | None = None
        # Whether the officer chose the selection (a key or a click): then it stays on its
        # incident when others arrive. Until then it follows the head of the queue.
        self._chosen = False
        self._busy: set[str] = set()
        self._errors: list[str] = []
        self.recent: RecentDecision | None = None
        self._icons = {u: _urgency_icon(u) for u in Urgency}
        # Officers on the ground (console.qt.field_panel): an engaged incident's steps on
        # the phones, and whether it needs the radio; None without a field service.
        self.field_steps: Callable[[str], tuple[str, bool] | None] | None = None

        self.title = QLabel()
        self.title.setObjectName("pendingTitle")
        self.title.setWordWrap(True)
        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c1b1b; color:white; padding:6px;")
        self.banner.hide()

        self.list = QListWidget()
        self.list.setObjectName("incidentQueue")
        self.list.setStyleSheet(LIST_STYLE)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.currentItemChanged.connect(self._current_changed)
        # A click on the row already selected is a choice too: it keeps the selection.
        self.list.itemPressed.connect(lambda item: self.select(item.data(ID)))

        self.engaged_title = QLabel()
        self.engaged_title.setWordWrap(True)
        self.engaged_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.engaged_list = QListWidget()
        self.engaged_list.setObjectName("engagedList")
        self.engaged_list.setStyleSheet(LIST_STYLE)
        self.engaged_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.engaged_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.engaged_list.setMaximumHeight(120)
        self.outcome_buttons: dict[Outcome, QPushButton] = {}
        outcomes = QGridLayout()
        for i, (outcome, key) in enumerate(OUTCOME_KEYS.items()):
            button = QPushButton(f"{OUTCOME_SHORT[outcome]} [{key}]")
            button.setObjectName(f"outcome-{outcome.value}")
            button.setToolTip(outcome.label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, o=outcome: self._outcome_clicked(o))
            outcomes.addWidget(button, i // 2, i % 2)
            self.outcome_buttons[outcome] = button

        self.card = IncidentCard(site)
        self.undo_button = QPushButton()
        self.undo_button.setObjectName("undo")
        self.undo_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.setObjectName("undo")  # amber: the theme's (resources/style*.qss)
        self.undo_button.clicked.connect(self.undo_requested)
        self.undo_button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.undo_button.hide()
        self.keys = QLabel(
            "Keys: ↑/↓ PgUp/PgDn Home/End select · E engage · D dismiss (reason, Esc cancels) · "
            "F false match · Ctrl+Z undo (5 s) · 1-4 outcome · V camera frame · M mute · "
            "H history · Ctrl+Q quit"
        )
        self.keys.setWordWrap(True)
        self.keys.setStyleSheet("color:#8a94a6")
        self.keys.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.title)
        left.addWidget(self.list, 1)
        left.addWidget(self.engaged_title)
        left.addWidget(self.engaged_list)
        left.addLayout(outcomes)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.card, 1)
        right.addWidget(self.undo_button)
        right.addWidget(self.keys)
        columns = QHBoxLayout()
        columns.setContentsMargins(0, 0, 0, 0)
        left_box, right_box = QWidget(), QWidget()
        left_box.setLayout(left)
        right_box.setLayout(right)
        left_box.setMinimumWidth(250)
        # Two photos, the card's border and margins: the card never needs more.
        right_box.setMinimumWidth(2 * PHOTO_SIDE + 50)
        columns.addWidget(left_box, 5)
        columns.addWidget(right_box, 6)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.banner)
        outer.addLayout(columns, 1)

        self._clock = QTimer(self)
        self._clock.timeout.connect(self.refresh)
        self._clock.start(1000)
        self._undo_clock = QTimer(self)
        self._undo_clock.timeout.connect(self._refresh_undo)
        self._undo_clock.start(250)
        self._rebuild()

    # -- contents ---------------------------------------------------------------------
    @property
    def pending(self) -> list[Incident]:
        """Pending incidents in the order shown, top first."""
        return self.queue.pending

    @property
    def engaged(self) -> list[Incident]:
        return self.queue.engaged

    @property
    def selected(self) -> Incident | None:
        return self.queue.get(self._selected)

    def incident(self, incident_id: str) -> Incident | None:
        return self.queue.get(incident_id)

    def show_alert(
        self, alert: Alert, photo: np.ndarray | None, engaged_at: datetime | None = None
    ) -> Incident:
        """File a new, improved or restored alert; the selection stays where it is."""
        self._photos.setdefault(alert.subject_id, photo)
        incident, _ = self.queue.add(alert, engaged=engaged_at is not None)
        if engaged_at is not None and incident.engaged_at is None:
            incident.engaged_at = engaged_at
        if not self._chosen or self.queue.get(self._selected) is None:
            head = self.queue.most_urgent()
            self._selected = head.incident_id if head else None
        self._rebuild()
        return incident

    def mark_engaged(self, incident_id: str, at: datetime | None = None) -> None:
        self.queue.mark_engaged(incident_id, at or _now())
        self._after_leaving(incident_id)

    def remove(self, incident_id: str) -> None:
        self.queue.remove(incident_id)
        self._after_leaving(incident_id)

    def remove_alerts(self, incident_id: str, alert_ids: list[str]) -> None:
        self.queue.remove_alerts(incident_id, alert_ids)
        if self.queue.get(incident_id) is None:
            self._after_leaving(incident_id)
        else:
            self._rebuild()

    def put_back(self, incident: Incident) -> None:
        """An undone decision: the incident is pending again, and selected."""
        self.queue.put_back(incident)
        self._selected, self._chosen = incident.incident_id, True
        self.hide_undo()
        self._rebuild()

    def _after_leaving(self, incident_id: str) -> None:
        """An incident left the queue (decided): select the most urgent one remaining."""
        self._busy.discard(incident_id)
        if self._selected == incident_id or self.queue.get(self._selected) is None:
            head = self.queue.most_urgent()
            self._selected, self._chosen = (head.incident_id if head else None), False
        self._rebuild()

    def set_busy(self, incident_id: str, busy: bool, message: str = "") -> None:
        if busy:
            self._busy.add(incident_id)
        else:
            self._busy.discard(incident_id)
        if incident_id == self._selected:
            self.card.set_busy(busy, message)

    # -- selection (the keyboard's cursor) -----------------------------------------------
    def select(self, incident_id: str | None) -> None:
        if incident_id is not None and self.queue.get(incident_id) is None:
            return
        self._selected, self._chosen = incident_id, incident_id is not None
        self._rebuild()

    def move_selection(self, step: int) -> None:
        ids = [i.incident_id for i in self.pending]
        if not ids:
            return
        index = ids.index(self._selected) + step if self._selected in ids else 0
        self.select(ids[max(0, min(len(ids) - 1, index))])

    def page_step(self) -> int:
        """Rows in one screenful of the queue (PgUp/PgDn)."""
        row = self.list.sizeHintForRow(0) if self.list.count() else 0
        return max(1, self.list.viewport().height() // row - 1) if row > 0 else 1

    def select_first(self) -> None:
        self.move_selection(-len(self.pending))

    def select_last(self) -> None:
        self.move_selection(len(self.pending))

    def _current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and current.data(ID) != self._selected:
            self._selected, self._chosen = current.data(ID), True
            self._show_card()

    def selected_engaged(self) -> Incident | None:
        """The engagement the outcome keys act on: the chosen row, else the oldest."""
        item = self.engaged_list.currentItem()
        if item is not None and (found := self.queue.get(item.data(ID))) is not None:
            return found
        engaged = self.engaged
        return engaged[0] if engaged else None

    def _outcome_clicked(self, outcome: Outcome) -> None:
        target = self.selected_engaged()
        if target is not None:
            self.outcome_requested.emit(target.incident_id, outcome)

    # -- showing ------------------------------------------------------------------------
    def _waiting_clock(self) -> datetime:
        """Now, for how long pending incidents have waited: the conclusion's time once the
        deployment has concluded (their timers stop)."""
        return self._stopped_at or _now()

    def _rebuild(self) -> None:
        """Lay out both lists from the queue, keeping the selection and showing it."""
        now = self._waiting_clock()
        self.list.blockSignals(True)
        self.list.clear()
        current = None
        for incident in self.pending:
            item = QListWidgetItem(self._icons[incident.urgency], "")
            item.setData(ID, incident.incident_id)
            self._describe(item, incident, now)
            self.list.addItem(item)
            if incident.incident_id == self._selected:
                current = item
        if current is not None:
            self.list.setCurrentItem(current)
        self.list.blockSignals(False)
        if current is not None:
            self.list.scrollToItem(current, QAbstractItemView.ScrollHint.EnsureVisible)
        chosen = self.engaged_list.currentItem()
        chosen_id = chosen.data(ID) if chosen is not None else None
        self.engaged_list.blockSignals(True)
        self.engaged_list.clear()
        for incident in self.engaged:
            item = QListWidgetItem(self._icons[incident.urgency], "")
            item.setData(ID, incident.incident_id)
            self._describe_engaged(item, incident, _now())
            self.engaged_list.addItem(item)
            if incident.incident_id == chosen_id:
                self.engaged_list.setCurrentItem(item)
        if self.engaged_list.currentItem() is None and self.engaged_list.count():
            self.engaged_list.setCurrentRow(0)
        self.engaged_list.blockSignals(False)
        for button in self.outcome_buttons.values():
            button.setEnabled(bool(self.engaged))
        self._show_card()
        self._update_title()

    def _show_card(self) -> None:
        incident = self.selected
        photo = self._photos.get(incident.subject_id) if incident else None
        self.card.show_incident(incident, photo)
        self.card.set_busy(
            incident is not None and incident.incident_id in self._busy,
            "Recording…" if incident is not None and incident.incident_id in self._busy else "",
        )
        if not self.card.busy and self.card.closed_reason:
            self.card.status.setText(self.card.closed_reason)
        self.card.refresh(self._waiting_clock(), self.overdue_after_s)

    def _describe(self, item: QListWidgetItem, incident: Incident, now: datetime) -> None:
        waited = incident.waiting_s(now)
        overdue = waited > self.overdue_after_s and self._stopped_at is None
        n = len(incident.alerts)
        flag = "⚠ OVERDUE " if overdue else ("not adjudicated · " if self._stopped_at else "")
        item.setText(
            self._fit(
                self.list,
                f"{flag}{waiting_text(waited)} · {incident.subject_name}",
                f"{', '.join(incident.cameras)} · {n} sighting{'s' if n != 1 else ''} · "
                f"{incident.urgency.label} · {incident.category}",
            )
        )
        item.setToolTip(f"{incident.subject_name}, {incident.category}")
        item.setBackground(OVERDUE_ROW if overdue else QColor(0, 0, 0, 0))

    def _describe_engaged(self, item: QListWidgetItem, incident: Incident, now: datetime) -> None:
        since = (now - (incident.engaged_at or incident.opened_at)).total_seconds()
        lines = [
            f"{incident.subject_name} · {', '.join(incident.cameras)}",
            f"engaged {waiting_text(since)} ago · awaiting the outcome",
        ]
        steps = self.field_steps(incident.incident_id) if self.field_steps else None
        if steps is not None:
            lines.append(steps[0])
            item.setToolTip(steps[0])
            item.setBackground(OVERDUE_ROW if steps[1] else QColor(0, 0, 0, 0))
        item.setText(self._fit(self.engaged_list, *lines))

    @staticmethod
    def _fit(view: QListWidget, *lines: str) -> str:
        """Lines cut to the list's width with an ellipsis: a row never runs past the panel
        (the card beside it shows everything in full)."""
        metrics = view.fontMetrics()
        room = max(40, view.viewport().width() - view.iconSize().width() - 40)
        return "\n".join(
            metrics.elidedText(line, Qt.TextElideMode.ElideRight, room) for line in lines
        )

    def refresh(self) -> None:
        """Every second: waiting times and overdue marks (the order does not change)."""
        waiting_now, now = self._waiting_clock(), _now()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if (incident := self.queue.get(item.data(ID))) is not None:
                self._describe(item, incident, waiting_now)
        for row in range(self.engaged_list.count()):
            item = self.engaged_list.item(row)
            if (incident := self.queue.get(item.data(ID))) is not None:
                self._describe_engaged(item, incident, now)
        self.card.refresh(waiting_now, self.overdue_after_s)

    def _update_title(self) -> None:
        pending = self.pending
        alerts = sum(len(i.alerts) for i in pending)
        self.title.setText(
            f"<b>Pending: {len(pending)} incident{'s' if len(pending) != 1 else ''}</b> "
            f"({alerts} alert{'s' if alerts != 1 else ''})"
        )
        engaged = len(self.engaged)
        self.engaged_title.setText(
            f"<b>Engaged, awaiting outcome: {engaged}</b>"
            + ("<br>Keys 1-4 record the outcome of the highlighted one" if engaged else "")
        )

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.refresh()  # rows are cut to the new width

    # -- undo -----------------------------------------------------------------------------
    def offer_undo(self, recent: RecentDecision) -> None:
        self.recent = recent
        self._refresh_undo()

    def hide_undo(self) -> None:
        self.recent = None
        self.undo_button.hide()

    def _refresh_undo(self) -> None:
        recent = self.recent
        if recent is None:
            return
        left = recent.seconds_left(_now())
        if left <= 0:
            self.hide_undo()
            return
        self.undo_button.setText(
            f"Undo {recent.decision.label} for {recent.incident.subject_name} "
            f"[Ctrl+Z] · {left:.0f} s"
        )
        self.undo_button.show()

    # -- status -------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Keep the last few errors, newest first: a later one must not hide an earlier one."""
        if message in self._errors:
            return  # already shown: a repeat must not push another error off the banner
        self._errors = [message, *self._errors][:4]
        self.banner.setText("\n".join(self._errors))
        self.banner.show()

    def deployment_concluded(self, at: datetime | None = None) -> None:
        """The watchlist is deleted: its photos leave the screen, no new decision is
        taken on what is left open (outcomes of engagements still are), and the waiting
        times of what is left stop at the conclusion: nothing waits for a decision now."""
        self._photos = {}
        self._stopped_at = at or _now()
        self.hide_undo()
        self.card.closed_reason = (
            "Deployment concluded: not adjudicated, and no decision can be taken now."
        )
        self._rebuild()
