"""Alert cards and the queue that holds them until adjudication and outcome.

The queue is keyboard first: Up/Down move through the cards, E/D/F decide the selected
pending card, 1-4 record the outcome of a selected engaged card, V shows the camera
frame. Cards queue by urgency, then by time (oldest first, so nothing is forgotten);
a new card says NEW, and one that waits too long turns red.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision, Outcome, Urgency
from console.domain.watchlist import WatchlistSubject
from console.qt.images import FacePhoto

PHOTO_SIDE = 170
NEW_FOR_S = 15
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


class AlertCard(QFrame):
    """One alert: live crop beside the watchlist photo, the facts, and the decisions."""

    decided = Signal(str, object)  # alert_id, Decision
    outcome_reported = Signal(str, object)  # alert_id, Outcome

    def __init__(
        self,
        alert: Alert,
        subject: WatchlistSubject | None,
        site: str,
        watchlist_photo=None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.alert = alert
        self.alert_id = alert.alert_id
        self.site = site
        self.engaged = False
        self.selected = False
        self.awaiting_reason = False  # D was pressed without a reason: Return dismisses
        self.overdue = False
        self.setObjectName("alertCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.live_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE)
        self.watchlist_photo = FacePhoto(PHOTO_SIDE, PHOTO_SIDE)
        self.watchlist_photo.set_rgb(subject.photo_rgb if subject is not None else watchlist_photo)
        self.notes = subject.entry.notes if subject is not None else ""
        self.badge = QLabel()
        self.heading = QLabel()
        self.heading.setObjectName("alertHeading")
        self.heading.setWordWrap(True)  # a long name must not widen the card past the panel
        self.waiting = QLabel()
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setWordWrap(True)
        self.scene = FacePhoto(PHOTO_SIDE * 2, PHOTO_SIDE * 2 * 9 // 16)
        self.scene.hide()
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (a reason is required to dismiss)")
        self.note.returnPressed.connect(self._note_entered)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons: dict[Decision, QPushButton] = {}
        self.outcome_buttons: dict[Outcome, QPushButton] = {}
        decisions = QHBoxLayout()
        for decision, key in DECISION_KEYS.items():
            button = QPushButton(f"{decision.label} [{key}]")
            button.setObjectName(f"decide-{decision.value}")
            button.clicked.connect(lambda _=False, d=decision: self.decided.emit(self.alert_id, d))
            decisions.addWidget(button)
            self.buttons[decision] = button
        outcomes = QHBoxLayout()
        for outcome, key in OUTCOME_KEYS.items():
            button = QPushButton(f"{outcome.label} [{key}]")
            button.setObjectName(f"outcome-{outcome.value}")
            button.clicked.connect(
                lambda _=False, o=outcome: self.outcome_reported.emit(self.alert_id, o)
            )
            button.hide()
            outcomes.addWidget(button)
            self.outcome_buttons[outcome] = button

        top = QHBoxLayout()
        top.addWidget(self.badge)
        top.addWidget(self.heading, 1)
        top.addWidget(self.waiting)
        grid = QGridLayout(self)
        grid.addLayout(top, 0, 0, 1, 2)
        grid.addWidget(self.live_photo, 1, 0)
        grid.addWidget(self.watchlist_photo, 1, 1)
        grid.addWidget(_caption("Live (best of sighting)"), 2, 0)
        grid.addWidget(_caption("Watchlist"), 2, 1)
        grid.addWidget(self.scene, 3, 0, 1, 2)
        grid.addWidget(self.facts, 4, 0, 1, 2)
        grid.addWidget(self.note, 5, 0, 1, 2)
        grid.addLayout(decisions, 6, 0, 1, 2)
        grid.addLayout(outcomes, 7, 0, 1, 2)
        grid.addWidget(self.status, 8, 0, 1, 2)
        self.show_alert(alert)

    @property
    def urgency(self) -> Urgency:
        return self.alert.urgency

    def queue_key(self) -> tuple:
        """Pending before engaged, then most urgent, then longest waiting."""
        return (self.engaged, -int(self.urgency), self.alert.raised_at)

    def show_alert(self, alert: Alert) -> None:
        """Show the alert's current best evidence (it improves while the sighting lasts)."""
        self.alert = alert
        u = alert.urgency
        self.badge.setText(f" {u.label.upper()} ")
        self.badge.setStyleSheet(
            f"background:{URGENCY_COLOURS[u]}; color:white; font-weight:bold; padding:2px"
        )
        self.heading.setText(f"<b>{alert.subject_name}</b> · {alert.category}")
        self.live_photo.set_rgb(alert.crop_rgb)
        raised = alert.raised_at.astimezone().strftime("%H:%M:%S")
        notes = f"<br>Notes: {self.notes}" if self.notes else ""
        self.facts.setText(
            f"Camera <b>{alert.camera}</b> · {self.site} · raised {raised}<br>"
            f"Distance <b>{alert.distance:.3f}</b> (threshold {alert.threshold:.2f}) · "
            f"{alert.frames_seen} frame(s) matched{notes}"
        )
        if self.scene.isVisible():
            self._show_scene()

    def toggle_scene(self) -> None:
        if self.scene.isVisible():
            self.scene.hide()
        else:
            self._show_scene()
            self.scene.show()

    def _show_scene(self) -> None:
        if self.alert.scene_rgb is None:
            self.scene.set_text("The camera frame is kept in memory only: not after a restart.")
        else:
            self.scene.set_rgb(self.alert.scene_rgb)

    def _note_entered(self) -> None:
        if self.awaiting_reason and self.note.text().strip():
            self.awaiting_reason = False
            self.decided.emit(self.alert_id, Decision.DISMISS)

    def mark_engaged(self) -> None:
        """Engaged: the card waits for the outcome from the ground."""
        self.engaged = True
        self.note.clear()
        self.note.setPlaceholderText("Note on the outcome (optional)")
        for button in self.buttons.values():
            button.hide()
        for button in self.outcome_buttons.values():
            button.show()
        self.status.setText("Engaged: awaiting the outcome from officers on the ground")
        self.refresh()

    def set_busy(self, busy: bool, message: str = "") -> None:
        for button in (*self.buttons.values(), *self.outcome_buttons.values()):
            button.setEnabled(not busy)
        self.status.setText(message)

    def refresh(self, now: datetime | None = None, overdue_after_s: float = 60.0) -> None:
        """Update the waiting time and the highlight; called every second."""
        now = now or datetime.now(UTC)
        waited = (now - self.alert.raised_at).total_seconds()
        self.overdue = not self.engaged and waited > overdue_after_s
        new = not self.engaged and waited < NEW_FOR_S
        self.waiting.setText(("NEW · " if new else "") + f"waiting {int(waited)} s")
        border = "#b3261e" if self.overdue else ("#1a73e8" if self.selected else "#d9822b")
        width = 4 if (self.selected or self.overdue) else 2
        background = "#fdecea" if self.overdue else ("#eef4fd" if self.engaged else "#fff8f0")
        self.setStyleSheet(
            f"QFrame#alertCard {{ border: {width}px solid {border}; border-radius: 6px;"
            f" background: {background}; }}"
        )


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #888")
    return label


class AlertPanel(QWidget):
    """The queue: pending cards, then engaged cards awaiting their outcome."""

    decided = Signal(str, object)
    outcome_reported = Signal(str, object)

    def __init__(self, overdue_after_s: float = 60.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overdue_after_s = overdue_after_s
        # Two photos side by side, the card's margins and the scroll bar: the card must
        # fit, as the panel never scrolls sideways.
        self.setMinimumWidth(PHOTO_SIDE * 2 + 150)
        self.title = QLabel()
        self.title.setObjectName("pendingTitle")
        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c1b1b; color:white; padding:6px;")
        self.banner.hide()
        self.keys = QLabel(
            "Keys: ↑/↓ select · E engage · D dismiss (reason) · F false match · "
            "1-4 outcome · V camera frame · M mute · H history"
        )
        self.keys.setWordWrap(True)
        self.keys.setStyleSheet("color:#666")
        self._cards: dict[str, AlertCard] = {}
        self._errors: list[str] = []
        self._selected: str | None = None
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        holder = QWidget()
        holder.setLayout(self._list)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.banner)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.keys)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self.refresh)
        self._clock.start(1000)
        self._update_title()

    # -- contents ---------------------------------------------------------------------
    @property
    def cards(self) -> list[AlertCard]:
        """Cards in the order shown, top first."""
        return [
            w
            for i in range(self._list.count())
            if isinstance(w := self._list.itemAt(i).widget(), AlertCard)
        ]

    @property
    def pending_cards(self) -> list[AlertCard]:
        return [c for c in self.cards if not c.engaged]

    @property
    def engaged_cards(self) -> list[AlertCard]:
        return [c for c in self.cards if c.engaged]

    def card(self, alert_id: str) -> AlertCard | None:
        return self._cards.get(alert_id)

    def show_alert(
        self, alert: Alert, subject: WatchlistSubject | None, site: str, photo=None
    ) -> AlertCard:
        card = self._cards.get(alert.alert_id)
        if card is not None:
            card.show_alert(alert)
            return card
        card = AlertCard(alert, subject, site, photo)
        card.decided.connect(self.decided)
        card.outcome_reported.connect(self.outcome_reported)
        self._cards[alert.alert_id] = card
        self._place(card)
        if self._selected is None:
            self.select(alert.alert_id)
        self._update_title()
        return card

    def mark_engaged(self, alert_id: str) -> None:
        card = self._cards.get(alert_id)
        if card is not None:
            card.mark_engaged()
            self._place(card)
            self._update_title()

    def remove(self, alert_id: str) -> None:
        order = [c.alert_id for c in self.cards]
        card = self._cards.pop(alert_id, None)
        if card is not None:
            self._list.removeWidget(card)
            card.deleteLater()
        if self._selected == alert_id:
            self._selected = None
            rest = [a for a in order if a != alert_id]
            if rest:
                index = min(order.index(alert_id), len(rest) - 1)
                self.select(rest[index])
        self._update_title()

    def _place(self, card: AlertCard) -> None:
        """Insert or move a card to its place in the queue."""
        self._list.removeWidget(card)
        others = [c for c in self.cards if c is not card]
        index = sum(1 for c in others if c.queue_key() <= card.queue_key())
        self._list.insertWidget(index, card)
        card.refresh(overdue_after_s=self.overdue_after_s)

    # -- selection (the keyboard's cursor) -----------------------------------------------
    @property
    def selected(self) -> AlertCard | None:
        return self._cards.get(self._selected) if self._selected else None

    def select(self, alert_id: str | None) -> None:
        for card in self._cards.values():
            card.selected = card.alert_id == alert_id
            card.refresh(overdue_after_s=self.overdue_after_s)
        self._selected = alert_id
        card = self.selected
        if card is not None:
            self.scroll.ensureWidgetVisible(card)

    def move_selection(self, step: int) -> None:
        cards = self.cards
        if not cards:
            return
        ids = [c.alert_id for c in cards]
        index = ids.index(self._selected) + step if self._selected in ids else 0
        self.select(ids[max(0, min(len(ids) - 1, index))])

    # -- status -------------------------------------------------------------------------
    def refresh(self) -> None:
        for card in self._cards.values():
            card.refresh(overdue_after_s=self.overdue_after_s)

    def show_error(self, message: str) -> None:
        """Keep the last few errors, newest first: a later one must not hide an earlier one."""
        self._errors = [message, *[e for e in self._errors if e != message]][:4]
        self.banner.setText("\n".join(self._errors))
        self.banner.show()

    def _update_title(self) -> None:
        pending, engaged = len(self.pending_cards), len(self.engaged_cards)
        self.title.setText(
            f"<h3>Pending alerts: {pending}</h3>Engaged, awaiting outcome: {engaged}"
        )
