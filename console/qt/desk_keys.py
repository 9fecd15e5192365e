"""The desk's keyboard, shared by the console's window and the trainer's: selection,
decisions, outcomes, the replay, and typed text that is no command.

Every key that records something asks the desk rules (``console.domain.desk``) first:
a decision acts only on the card that has been on screen for the guard time, an outcome
only on the engagement chosen for it, and letters typed while no text field is open are
refused (with the command keys that follow them, until the typing stops) rather than
taken as commands. A refusal is said on the card and in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication, QInputEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from console.domain.alerts import Decision, Outcome
from console.domain.desk import InputClock, KeyRefused, TypingGuard
from console.qt.incident_card import DECISION_KEYS, OUTCOME_KEYS, ReplayWindow
from console.qt.keys import install_shortcuts
from console.qt.queue_panel import IncidentPanel

# The desk's own keys, for Help → Keys (each window adds its own).
DESK_KEYS = [
    ("N", "Open the next incident (the most urgent, then the one waiting longest)"),
    ("Up / Down, PgUp / PgDown, Home / End", "Open another incident in the queue"),
    ("E", "Engage the open incident (officers approach)"),
    ("D", "Dismiss it: type the reason, then Return"),
    ("F", "False match: the person is not the subject"),
    ("1 / 2 / 3 / 4", "Outcome of the chosen engagement: arrested / advice / not located / "
     "confirmed false"),
    ("Shift+Up / Shift+Down", "Choose the engagement the outcome keys act on"),
    ("V", "Show or hide the replay of the alert moment on the card"),
    ("Shift+V", "Enlarge the replay"),
    ("Escape", "Cancel a dismissal waiting for its reason; back to every camera"),
    ("F1 or ?", "This list of keys"),
]
GUARD_NOTE = (
    "A decision key acts only on a card that has been on screen for half a second; letters "
    "typed while no text field is open are ignored, and so are the keys typed with them."
)
_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
# The events whose stamp says when the officer acted (a shortcut's key arrives first as a
# ShortcutOverride; a button is clicked on the release).
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.ShortcutOverride,
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
    }
)
VERBS = {Decision.ENGAGE: "engage", Decision.DISMISS: "dismiss",
         Decision.FALSE_MATCH: "call a false match"}


class DeskWindow(Protocol):
    """What the keys need from the window they serve."""

    alerts: IncidentPanel

    def decide(self, incident_id: str, decision: Decision, note: str) -> None: ...
    def report_outcome(self, incident_id: str, outcome: Outcome) -> None: ...
    def show_message(self, text: str, seconds: float = ...) -> None: ...
    def focus_queue(self) -> None: ...
    def decisions_closed(self) -> str: ...
    def escape(self) -> None: ...


def is_text_input(widget: QWidget | None) -> bool:
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, _TEXT_INPUTS)


class DeskKeys(QObject):
    """Installs the desk's keys on *window*, with *extra* keys of the window's own."""

    def __init__(
        self, window: QMainWindow, extra: dict[str, Callable[[], object]] | None = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self.desk: DeskWindow = window  # type: ignore[assignment]
        self.typing = TypingGuard()
        # The window system's own stamps (X11, Wayland) say when a key went down; other
        # platforms (offscreen tests) have no such clock: the handling time stands.
        real = QGuiApplication.platformName() in ("xcb", "wayland")
        self.input_clock = InputClock() if real else None
        # When the key (or click) being handled was pressed: the rules judge it then.
        self.pressed_at: float | None = None
        self.enabled = True
        self.replay_window: ReplayWindow | None = None
        panel = self.desk.alerts
        free: dict[str, Callable[[], object]] = {
            "Up": lambda: panel.move_selection(-1),
            "Down": lambda: panel.move_selection(1),
            "PgUp": lambda: panel.move_selection(-panel.page_step()),
            "PgDown": lambda: panel.move_selection(panel.page_step()),
            "Home": panel.select_first,
            "End": panel.select_last,
            "Shift+Up": lambda: panel.move_target(-1),
            "Shift+Down": lambda: panel.move_target(1),
            "Escape": self.escape,
        }
        commands: dict[str, Callable[[], object]] = {
            "N": panel.open_next,
            "V": panel.card.toggle_replay,
            "Shift+V": self.enlarge_replay,
        }
        for decision, key in DECISION_KEYS.items():
            commands[key] = lambda d=decision: self.decision_key(d)
        for outcome, key in OUTCOME_KEYS.items():
            commands[key] = lambda o=outcome: self.outcome_key(o)
        for key, action in (extra or {}).items():
            # Keys with Ctrl or function keys are never typed text; letters and digits
            # may be, and wait for the typing to stop.
            (free if key.startswith(("Ctrl+", "F")) and len(key) > 1 else commands)[key] = action
        bindings = dict(free)
        for key, action in commands.items():
            bindings[key] = self._guarded(action)
        self.keys = set(bindings)
        self.shortcuts = install_shortcuts(window, bindings)
        panel.card.decided.connect(self.decision_key)  # the card's buttons, clicked
        panel.card.reason_entered.connect(self._reason_entered)
        panel.outcome_clicked.connect(self.outcome_key)
        panel.card.replay_enlarge.connect(self.enlarge_replay)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        window.destroyed.connect(lambda *_: self._uninstall())

    def set_enabled(self, enabled: bool) -> None:
        """Off while the desk is signed out: no key acts for nobody."""
        self.enabled = enabled
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    def _uninstall(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _guarded(self, action: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                self.typing.check_command(self.pressed_at)
            except KeyRefused as refused:
                self.refuse(str(refused))
                return
            action()

        return run

    def refuse(self, text: str) -> None:
        """Said where the officer looks (the card) and in the status bar."""
        self.desk.alerts.card.status.setText(text)
        self.desk.show_message(text)

    # -- typed text that is no command ---------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind not in INPUT_EVENTS or not isinstance(watched, QWidget):
            return False
        if watched.window() is not self.window:
            return False
        if isinstance(event, QInputEvent) and self.input_clock is not None:
            # A shortcut's key, a click: when it was pressed, for the rules to judge.
            self.pressed_at = self.input_clock.event_time(event.timestamp())
        if kind != QEvent.Type.KeyPress or not self.window.isActiveWindow():
            return False
        if not self.enabled:
            return False
        key = event if isinstance(event, QKeyEvent) else None
        if key is None or is_text_input(QApplication.focusWidget()):
            return False
        text = key.text()
        modifiers = key.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
        if not text or not text.isprintable() or modifiers != Qt.KeyboardModifier.NoModifier:
            return False
        # A letter that is not a command, typed while no text field is open: text typed
        # into nothing. Refused, and the commands typed with it too.
        self.typing.text_typed(self.pressed_at)
        self.refuse(
            "Typing ignored: no text field is open (a reason opens with D on an open card). "
            "Keys typed with it are ignored until you stop or press Esc"
        )
        return True

    # -- decisions and outcomes ------------------------------------------------------------
    def decision_key(self, decision: Decision) -> None:
        """E, D or F (or the card's button): on the open card, once it has been seen."""
        panel = self.desk.alerts
        closed = self.desk.decisions_closed()
        try:
            if closed:
                raise KeyRefused(closed)
            incident = panel.decision_target(VERBS[decision], self.pressed_at)
        except KeyRefused as refused:
            if decision == Decision.DISMISS:
                self.typing.text_typed(self.pressed_at)  # the reason after D goes nowhere
            self.refuse(str(refused))
            return
        if panel.is_busy(incident.incident_id):
            return  # already being recorded: a second press adds nothing
        note = panel.card.note.text().strip()
        if decision == Decision.DISMISS and not note:
            panel.card.ask_reason()  # the reason field opens: there is something to dismiss
            return
        self.desk.decide(incident.incident_id, decision, note)

    def _reason_entered(self) -> None:
        panel = self.desk.alerts
        incident = panel.selected
        if incident is None or panel.card.incident is not incident:
            self.refuse("Dismiss cancelled: the incident is no longer open")
            return
        self.desk.decide(incident.incident_id, Decision.DISMISS, panel.card.note.text().strip())

    def outcome_key(self, outcome: Outcome) -> None:
        panel = self.desk.alerts
        try:
            incident = panel.outcome_target(self.pressed_at)
        except KeyRefused as refused:
            self.refuse(str(refused))
            return
        if not panel.is_busy(incident.incident_id):
            self.desk.report_outcome(incident.incident_id, outcome)

    # -- the rest -------------------------------------------------------------------------
    def escape(self) -> None:
        self.typing.stop()
        self.desk.escape()

    def enlarge_replay(self) -> None:
        card = self.desk.alerts.card
        if card.incident is None:
            self.refuse("No incident is open: no replay to enlarge")
            return
        if self.replay_window is not None:
            self.replay_window.close()
        self.replay_window = ReplayWindow(
            card.incident.subject_name, card.replay_source(), self.window
        )
        self.replay_window.finished.connect(lambda _: self.desk.focus_queue())
        self.replay_window.fit_screen()
        self.replay_window.open()
