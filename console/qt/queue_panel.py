"""The adjudication queue at volume: one row per incident, the open incident's card beside
it, and the engagements awaiting their outcome in a list of their own.

The rules (grouping, order, the undo window) are in ``console.domain.incidents``; which
card is open and whether a key may act on it are in ``console.domain.desk``: the
selection is the officer's (an arriving incident is announced by its row, colour, the
chime and the count, never by opening its card), and a key acts only on a card that has
been on screen for the guard time. This module only shows them. The open incident is a
blue row and the card beside it; an overdue incident is marked with a red chip and a
pale red row, never by taking the selection's colour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from PySide6 import QtGui
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Outcome, Urgency
from console.domain.desk import KeyRefused, OnScreen, Selection
from console.domain.incidents import (
    DEFAULT_WINDOW,
    Incident,
    IncidentQueue,
    RecentDecision,
    waiting_text,
)
from console.qt.incident_card import (
    DECISION_KEYS,
    OUTCOME_KEYS,
    PHOTO_SIDE,
    URGENCY_COLOURS,
    IncidentCard,
    SightingRow,
    plural,
    wall_time,
)

__all__ = [
    "DECISION_KEYS",
    "OUTCOME_KEYS",
    "OUTCOME_SHORT",
    "IncidentCard",
    "IncidentPanel",
    "SightingRow",
    "wall_time",
]

OUTCOME_SHORT = {
    Outcome.ARRESTED: "Arrested",
    Outcome.ADVICE: "Advice",
    Outcome.NOT_LOCATED: "Not located",
    Outcome.CONFIRMED_FALSE: "Confirmed false",
}
# A red tint that reads on both themes (translucent over the list's own background).
OVERDUE_ROW = QColor(235, 87, 87, 70)
ID = Qt.ItemDataRole.UserRole
LIST_STYLE = (
    "QListWidget::item { padding: 3px 2px; border-bottom: 1px solid rgba(128,128,128,60); }"
    "QListWidget::item:selected { background: #1a73e8; color: white; }"
)
KEYS_HINT = (
    "Keys: N open the next · ↑/↓ PgUp/PgDn Home/End choose · E engage · D dismiss (reason, "
    "Esc cancels) · F false match · Ctrl+Z undo (5 s) · 1-4 outcome (Shift+↑/↓ choose the "
    "engagement) · V replay · M mute · H history · F1 all keys"
)
# On a short screen (1280x720) the card needs the hint's four lines: one line instead.
KEYS_HINT_SHORT = "Keys: N open · E engage · D dismiss · F false match · F1 all keys"
TALL_PANEL_LINES = 48  # the card at full size with the replay on, and the full hint


def _now() -> datetime:
    return datetime.now(UTC)


def _urgency_icon(urgency: Urgency) -> QIcon:
    pixmap = QPixmap(12, 28)
    pixmap.fill(QColor(URGENCY_COLOURS[urgency]))
    return QIcon(pixmap)


class QueueList(QListWidget):
    """A list that never moves its current row by itself: Qt's type-ahead search would
    jump to a row starting with a typed letter or digit (a keystroke of a note typed into
    nothing would change the officer's selection). Typed text is left to the window."""

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 (Qt's name)
        return

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.text() and event.text().isprintable():
            event.ignore()  # the window's key handling refuses it, with a message
            return
        super().keyPressEvent(event)


class PaintedLabel(QLabel):
    """A label that says when it reached the screen (what the outcome keys act on)."""

    painted = Signal()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        self.painted.emit()


def _retain_size(widget: QWidget) -> None:
    """Hidden, it keeps its room: what is below it never moves when it appears."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)


class IncidentPanel(QWidget):
    """Queue, card, engagements and the undo offer, side by side in the window's right."""

    outcome_clicked = Signal(object)  # Outcome: an outcome button was clicked
    undo_requested = Signal()
    auto_open_changed = Signal(bool)

    def __init__(
        self,
        site: str,
        overdue_after_s: float = 60.0,
        window: timedelta = DEFAULT_WINDOW,
        parent: QWidget | None = None,
        on_screen: OnScreen | None = None,
    ) -> None:
        super().__init__(parent)
        self.overdue_after_s = overdue_after_s
        self.queue = IncidentQueue(window)
        self.on_screen = on_screen or OnScreen()
        self.selection = Selection()
        self._photos: dict[str, np.ndarray | None] = {}  # watchlist photo per subject
        self._stopped_at: datetime | None = None  # when the deployment concluded
        self._busy: set[str] = set()
        self._errors: list[str] = []
        self.recent: RecentDecision | None = None
        self._icons = {u: _urgency_icon(u) for u in Urgency}
        # Called when incidents leave the desk for good (their alerts' clips can go).
        self.on_left: Callable[[Incident], None] = lambda _: None
        # Officers on the ground (console.qt.field_panel): an engaged incident's steps on
        # the phones, and whether it needs the radio; None without a field service.
        self.field_steps: Callable[[str], tuple[str, bool] | None] | None = None

        self.title = QLabel()
        self.title.setObjectName("pendingTitle")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.title.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 4)
        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c1b1b; color:white; padding:6px;")
        self.banner.hide()
        self.auto_open = QCheckBox("Open the next incident by itself")
        self.auto_open.setObjectName("autoOpen")
        self.auto_open.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.auto_open.setToolTip(
            "Off: after a decision the card closes and N opens the next incident. On: the "
            "most urgent opens by itself (a key acts on it only after it has been on "
            "screen for half a second)."
        )
        self.auto_open.toggled.connect(self._auto_open_toggled)

        self.list = QueueList()
        self.list.setObjectName("incidentQueue")
        self.list.setStyleSheet(LIST_STYLE)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.currentItemChanged.connect(self._current_changed)
        # A click on the row already open is a choice too: it keeps it open.
        self.list.itemPressed.connect(lambda item: item is not None and self.select(item.data(ID)))

        self.engaged_title = QLabel()
        self.engaged_title.setWordWrap(True)
        self.engaged_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.engaged_list = QueueList()
        self.engaged_list.setObjectName("engagedList")
        self.engaged_list.setStyleSheet(LIST_STYLE)
        self.engaged_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.engaged_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.engaged_list.setMaximumHeight(120)
        self.engaged_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.engaged_list.currentItemChanged.connect(self._target_changed)
        self.engaged_list.itemPressed.connect(
            lambda item: item is not None and self.choose_target(item.data(ID))
        )
        self.outcome_for = PaintedLabel()
        self.outcome_for.setObjectName("outcomeFor")
        self.outcome_for.setWordWrap(True)
        self.outcome_for.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.outcome_for.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 4)
        self.outcome_buttons: dict[Outcome, QPushButton] = {}
        outcomes = QGridLayout()
        for i, (outcome, key) in enumerate(OUTCOME_KEYS.items()):
            button = QPushButton(f"{OUTCOME_SHORT[outcome]} [{key}]")
            button.setObjectName(f"outcome-{outcome.value}")
            button.setToolTip(outcome.label)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # Never cut: "Confirmed false [4]" must read whole at 1280x720.
            button.setMinimumWidth(button.sizeHint().width())
            button.clicked.connect(lambda _=False, o=outcome: self.outcome_clicked.emit(o))
            outcomes.addWidget(button, i // 2, i % 2)
            self.outcome_buttons[outcome] = button

        self.card = IncidentCard(site)
        # Shown means painted: the guard time counts from the picture, not the choice.
        self.card.painted.connect(
            lambda: self.on_screen.card_painted(
                self.card.incident.incident_id if self.card.incident is not None else None
            )
        )
        self.outcome_for.painted.connect(
            lambda: self.on_screen.target_painted(self.on_screen.target)
        )
        self.undo_button = QPushButton()
        self.undo_button.setObjectName("undo")  # amber: the theme's (resources/style*.qss)
        self.undo_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.clicked.connect(self.undo_requested)
        self.undo_button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        _retain_size(self.undo_button)
        self.undo_button.hide()
        self.keys = QLabel(KEYS_HINT)
        self.keys.setWordWrap(True)
        self.keys.setStyleSheet("color:#8a94a6")
        self.keys.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.title)
        left.addWidget(self.auto_open)
        left.addWidget(self.list, 1)
        left.addWidget(self.engaged_title)
        left.addWidget(self.engaged_list)
        left.addWidget(self.outcome_for)
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
        left_box.setMinimumWidth(
            max(250, 2 * max(b.minimumWidth() for b in self.outcome_buttons.values()) + 12)
        )
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
        """The incident whose card is open (None: no card is open)."""
        return self.queue.get(self.selection.selected)

    @property
    def target(self) -> Incident | None:
        """The engagement the outcome keys act on (None: none chosen)."""
        return self.queue.get(self.on_screen.target)

    def incident(self, incident_id: str) -> Incident | None:
        return self.queue.get(incident_id)

    def show_alert(
        self, alert: Alert, photo: np.ndarray | None, engaged_at: datetime | None = None
    ) -> Incident:
        """File a new, improved or restored alert: a row, never the card (unless the
        officer's visible setting opens the next incident by itself)."""
        self._photos.setdefault(alert.subject_id, photo)
        incident, _ = self.queue.add(alert, engaged=engaged_at is not None)
        if engaged_at is not None and incident.engaged_at is None:
            incident.engaged_at = engaged_at
        head = self.queue.most_urgent()
        self.selection.after_arrival(head.incident_id if head else None)
        self._rebuild()
        return incident

    def mark_engaged(self, incident_id: str, at: datetime | None = None) -> None:
        """The officer engaged it (from its card): it awaits its outcome, and is the
        engagement the outcome keys act on ("E then 1" is for the same person)."""
        self.queue.mark_engaged(incident_id, at or _now())
        self.on_screen.show_target(incident_id, seen_before=True)
        self._after_leaving(incident_id)

    def remove(self, incident_id: str) -> None:
        incident = self.queue.remove(incident_id)
        if self.on_screen.target == incident_id:
            self.on_screen.show_target(None)
        if incident is not None:
            self.on_left(incident)
        self._after_leaving(incident_id)

    def remove_alerts(self, incident_id: str, alert_ids: list[str]) -> None:
        self.queue.remove_alerts(incident_id, alert_ids)
        if self.queue.get(incident_id) is None:
            self._after_leaving(incident_id)
        else:
            self._rebuild()

    def put_back(self, incident: Incident) -> None:
        """An undone decision: the incident is pending again, and open (the officer's
        own undo)."""
        self.queue.put_back(incident)
        if self.on_screen.target == incident.incident_id:
            self.on_screen.show_target(None)
        self.selection.choose(incident.incident_id)
        self.hide_undo()
        self._rebuild()

    def _after_leaving(self, incident_id: str) -> None:
        """An incident left the queue (decided): its card closes, unless the officer's
        setting opens the next by itself."""
        self._busy.discard(incident_id)
        head = self.queue.most_urgent()
        self.selection.after_decision(incident_id, head.incident_id if head else None)
        self.selection.still_there(lambda i: i in {p.incident_id for p in self.pending})
        self._rebuild()

    def set_busy(self, incident_id: str, busy: bool, message: str = "") -> None:
        if busy:
            self._busy.add(incident_id)
        else:
            self._busy.discard(incident_id)
        if incident_id == self.selection.selected:
            self.card.set_busy(busy, message)

    def is_busy(self, incident_id: str) -> bool:
        return incident_id in self._busy

    # -- selection: the officer's keys and clicks only --------------------------------------
    def select(self, incident_id: str | None) -> None:
        if incident_id is not None and self.queue.get(incident_id) is None:
            return
        if self.card.awaiting_reason and incident_id != self.selection.selected:
            self.card.cancel_reason("Dismiss cancelled: another incident was opened")
        self.selection.choose(incident_id)
        self._rebuild()

    def move_selection(self, step: int) -> None:
        ids = [i.incident_id for i in self.pending]
        if not ids:
            return
        current = self.selection.selected
        if current in ids:
            index = ids.index(current) + step
        elif step >= 0:
            index = 0
        else:
            index = len(ids) - 1
        self.select(ids[max(0, min(len(ids) - 1, index))])

    def open_next(self) -> None:
        """N: the most urgent incident, the one waiting longest among equals."""
        head = self.queue.most_urgent()
        if head is not None:
            self.select(head.incident_id)

    def page_step(self) -> int:
        """Rows in one screenful of the queue (PgUp/PgDn)."""
        row = self.list.sizeHintForRow(0) if self.list.count() else 0
        return max(1, self.list.viewport().height() // row - 1) if row > 0 else 1

    def select_first(self) -> None:
        self.move_selection(-len(self.pending))

    def select_last(self) -> None:
        self.move_selection(len(self.pending))

    def _current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        # Only the officer's clicks reach here (rebuilding blocks the signal). The list is
        # not rebuilt under the click (the pressed row would be deleted under Qt).
        if current is None or current.data(ID) == self.selection.selected:
            return
        if self.card.awaiting_reason:
            self.card.cancel_reason("Dismiss cancelled: another incident was opened")
        self.selection.choose(current.data(ID))
        self._show_card()
        self._update_title()

    def _auto_open_toggled(self, on: bool) -> None:
        self.selection.auto_open = on
        if on and self.selection.selected is None:
            self.open_next()
        self.auto_open_changed.emit(on)

    # -- the engagement the outcome keys act on -----------------------------------------------
    def choose_target(self, incident_id: str | None) -> None:
        if incident_id is not None and self.queue.get(incident_id) is None:
            return
        self.on_screen.show_target(incident_id)
        self._rebuild()

    def move_target(self, step: int) -> None:
        ids = [i.incident_id for i in self.engaged]
        if not ids:
            return
        current = self.on_screen.target
        index = ids.index(current) + step if current in ids else (0 if step >= 0 else -1)
        self.choose_target(ids[max(0, min(len(ids) - 1, index))])

    def _target_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and current.data(ID) != self.on_screen.target:
            self.on_screen.show_target(current.data(ID))
            self._show_target()

    # -- what a key may act on (console.domain.desk) -----------------------------------------
    def decision_target(self, what: str = "decide on", at: float | None = None) -> Incident:
        """The open incident, if its card had been on screen for the guard time when the
        key was pressed (*at*)."""
        incident_id = self.on_screen.decision_target(what, at)
        incident = self.queue.get(incident_id)
        if incident is None or incident.engaged:
            raise KeyRefused("That incident has already been decided")
        return incident

    def outcome_target(self, at: float | None = None) -> Incident:
        incident = self.queue.get(self.on_screen.outcome_target(at))
        if incident is None or not incident.engaged:
            raise KeyRefused("That engagement's outcome has already been recorded")
        return incident

    # -- showing ------------------------------------------------------------------------
    def _waiting_clock(self) -> datetime:
        """Now, for how long pending incidents have waited: the conclusion's time once the
        deployment has concluded (their timers stop)."""
        return self._stopped_at or _now()

    def _rebuild(self) -> None:
        """Lay out both lists from the queue, keeping the officer's choices and showing them."""
        now = self._waiting_clock()
        selected = self.selection.selected
        self.list.blockSignals(True)
        self.list.clear()
        current = None
        for incident in self.pending:
            item = QListWidgetItem(self._icons[incident.urgency], "")
            item.setData(ID, incident.incident_id)
            self._describe(item, incident, now)
            self.list.addItem(item)
            if incident.incident_id == selected:
                current = item
        self.list.setCurrentItem(current)  # None: no row is current (no card open)
        if current is None:
            self.list.clearSelection()
        self.list.blockSignals(False)
        if current is not None:
            self.list.scrollToItem(current, QAbstractItemView.ScrollHint.EnsureVisible)
        target = self.on_screen.target
        self.engaged_list.blockSignals(True)
        self.engaged_list.clear()
        chosen = None
        for incident in self.engaged:
            item = QListWidgetItem(self._icons[incident.urgency], "")
            item.setData(ID, incident.incident_id)
            self._describe_engaged(item, incident, _now())
            self.engaged_list.addItem(item)
            if incident.incident_id == target:
                chosen = item
        self.engaged_list.setCurrentItem(chosen)
        if chosen is None:
            self.engaged_list.clearSelection()
        self.engaged_list.blockSignals(False)
        self._show_target()
        self._show_card()
        self._update_title()

    def _show_target(self) -> None:
        target = self.target
        for button in self.outcome_buttons.values():
            button.setEnabled(target is not None)
        if target is not None:
            self.outcome_for.setText(
                f"Outcome keys 1-4 act on <b>{target.subject_name}</b> "
                f"({', '.join(target.cameras)})"
            )
        elif self.engaged:
            self.outcome_for.setText(
                "Choose the engagement for an outcome: click it, or Shift+↑ / Shift+↓"
            )
        else:
            self.outcome_for.setText("")

    def _show_card(self) -> None:
        incident = self.selected
        pending = len(self.pending)
        if self.card.closed_reason:
            self.card.empty_text = "<i>The deployment has concluded</i>"
        elif pending:
            self.card.empty_text = (
                f"<b>No incident is open</b> · {plural(pending, 'incident')} waiting: "
                "<b>N</b> opens the most urgent (or ↑/↓, or click its row)"
            )
        else:
            self.card.empty_text = "<i>No alert awaits a decision</i>"
        photo = self._photos.get(incident.subject_id) if incident else None
        self.card.show_incident(incident, photo)
        # What the officer has in front of them, for the guard time (a hidden panel shows
        # nothing: the whole-window camera view covers it).
        shown = incident.incident_id if incident is not None and self.isVisible() else None
        self.on_screen.show_card(shown)
        busy = incident is not None and incident.incident_id in self._busy
        if busy:
            self.card.set_busy(True, "Recording…")
        elif self.card.busy:
            self.card.set_busy(False, "")
        if not busy and self.card.closed_reason and incident is not None:
            self.card.status.setText(self.card.closed_reason)
        self.card.refresh(self._waiting_clock(), self.overdue_after_s)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._show_card()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().hideEvent(event)
        self.on_screen.show_card(None)  # off screen: the guard starts again when it returns

    def _describe(self, item: QListWidgetItem, incident: Incident, now: datetime) -> None:
        waited = incident.waiting_s(now)
        overdue = waited > self.overdue_after_s and self._stopped_at is None
        n = len(incident.alerts)
        opened = incident.incident_id in self.on_screen.seen or (
            incident.incident_id == self.on_screen.card
        )
        flag = "⚠ OVERDUE " if overdue else ("not adjudicated · " if self._stopped_at else "")
        new = "" if opened or self._stopped_at else "● NEW "
        item.setText(
            self._fit(
                self.list,
                f"{new}{flag}{waiting_text(waited)} · {incident.subject_name}",
                f"{', '.join(incident.cameras)} · {plural(n, 'sighting')} · "
                f"{incident.urgency.label} · {incident.category}",
            )
        )
        # As plain text: a watchlist's name is not the console's markup (Qt would render
        # "<img src=...>" in a name as rich text in a tooltip).
        item.setToolTip(
            QtGui.Qt.convertFromPlainText(f"{incident.subject_name}, {incident.category}")
        )
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
        self._update_title()

    def _update_title(self) -> None:
        pending = self.pending
        alerts = sum(len(i.alerts) for i in pending)
        seen = self.on_screen.seen | {self.on_screen.card}
        new = sum(1 for i in pending if i.incident_id not in seen)
        self.title.setText(
            f"<b>Pending: {plural(len(pending), 'incident')}</b> ({plural(alerts, 'alert')})"
            + (f" · <span style='color:#f2994a'><b>{new} new</b>, not yet opened</span>"
               if new and not self._stopped_at else "")
        )
        engaged = len(self.engaged)
        self.engaged_title.setText(f"<b>Engaged, awaiting outcome: {engaged}</b>")

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_keys_hint()
        self.refresh()  # rows are cut to the new width

    def _fit_keys_hint(self) -> None:
        """The full keys hint on a tall screen, one line on a short one (1280x720): there
        the card needs the room for the photos, the replay and the facts at once, and F1
        lists every key. By the panel's height in lines of text, so a larger desktop
        font counts too (and not by what the card shows now: the hint must not jump)."""
        tall = self.height() >= TALL_PANEL_LINES * self.fontMetrics().lineSpacing()
        self.keys.setText(KEYS_HINT if tall else KEYS_HINT_SHORT)

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
        self.card.cancel_reason("Dismiss cancelled: the deployment has concluded")
        self.card.closed_reason = (
            "Deployment concluded: not adjudicated, and no decision can be taken now."
        )
        self._rebuild()
