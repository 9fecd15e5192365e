"""The three defects that made a decision land where the officer did not intend, as the
officer met them (issue 28), driven with keys and clicks:

1. the selection moved by itself and "E then 1", meant for Alex Marsh, engaged and
   recorded an arrest for Sam Keane (in the trainer), and keys pressed while alerts
   arrive must never act on a card the officer has not seen;
2. a reason typed after D with nothing to dismiss acted as commands ("seen by PC 4821"
   recorded Confirmed false; an "h" opened the history);
3. no correction after the undo window: a supervisor corrects a decision and an outcome
   in the history, with a reason, and the history shows the decision in force.

These tests use only keys, clicks and what the window and the record show, so that they
also run (and fail) against the console before the fix.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QPushButton, QRadioButton

from console.domain.alerts import Alert, Evidence
from console.storage.database import Database
from tests.conftest import pause_like_a_person
from tests.test_queue_gui import SUBJECTS, raise_alert

GUARD_S = 0.5  # the desk's guard time (console.domain.desk.GUARD_S)
KEANE, MARSH, THIRD = 0, 1, 2


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(Database.path_in(tmp_path))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def decided_incidents(tmp_path: Path) -> dict[str, str]:
    """Each decided alert's incident, as its decision's audit entry names it."""
    found = rows(
        tmp_path,
        "SELECT json_extract(details, '$.alert_id'), json_extract(details, '$.incident') "
        "FROM audit WHERE action = 'alert adjudicated'",
    )
    return dict(found)


def key(qtbot, window, k, text: str = "", pause: bool = True) -> None:
    if pause:
        pause_like_a_person(qtbot)
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, k)


@dataclass
class Shown:
    """What the card showed, and since when (read from the widget, not the desk rules)."""

    incident: str | None
    since: float


class CardWatch:
    """Logs every change of the incident on the card, and what it showed at each key."""

    def __init__(self, panel) -> None:
        self.panel = panel
        self.log: list[tuple[float, str | None]] = [(time.monotonic(), self.now_showing())]
        original = panel.card.show_incident

        def show(incident, photo):
            original(incident, photo)
            current = self.now_showing()
            if current != self.log[-1][1]:
                self.log.append((time.monotonic(), current))

        panel.card.show_incident = show

    def now_showing(self) -> str | None:
        card = self.panel.card
        if not card.isVisible() or card.incident is None:
            return None
        return card.incident.incident_id

    def at(self, t: float) -> Shown:
        since, incident = self.log[0]
        for when, shown in self.log:
            if when > t:
                break
            since, incident = when, shown
        return Shown(incident, since)


# -- 1. the selection is the officer's ------------------------------------------------


def test_e_then_1_meant_for_alex_marsh_stays_with_alex_marsh_when_sam_keane_arrives(
    qtbot, open_sample, tmp_path
):
    """As reported: Alex Marsh's card open, a more urgent Sam Keane arrives, E then 1."""
    console = open_sample(start=False)
    window, panel, session = console.window, console.window.alerts, console.session
    window.activateWindow()
    qtbot.waitExposed(window)
    # A routine incident first; the officer opens it and decides it.
    raise_alert(session, 0, THIRD, "north", 30)
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    key(qtbot, window, Qt.Key.Key_N)  # open the next incident
    qtbot.wait(700)
    key(qtbot, window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: not panel.pending, timeout=10_000)
    # Alex Marsh arrives; the officer opens the card and looks at it.
    raise_alert(session, 1, MARSH, "north", 0)
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    marsh = panel.pending[0]
    key(qtbot, window, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: panel.card.incident is marsh)
    qtbot.wait(700)
    assert "Alex Marsh" in panel.card.heading.text()
    # Sam Keane, more urgent, arrives a moment before the officer's E.
    raise_alert(session, 2, KEANE, "south", 0)
    qtbot.waitUntil(lambda: len(panel.pending) == 2)
    keane = next(i for i in panel.pending if i is not marsh)
    assert panel.card.incident is marsh, "the card stays on Alex Marsh"
    assert "Alex Marsh" in panel.card.heading.text()
    # ...announced by its row, the count and the chime, not by taking the card.
    top = panel.list.item(0).text()
    assert top.startswith("● NEW") and "Sam Keane" in top
    assert "1 new" in panel.title.text()
    key(qtbot, window, Qt.Key.Key_E, pause=False)
    qtbot.waitUntil(lambda: marsh.engaged or keane.engaged, timeout=10_000)
    key(qtbot, window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: bool(rows(tmp_path, "SELECT 1 FROM outcomes")), timeout=10_000)
    engaged = rows(tmp_path, "SELECT alert_id FROM decisions WHERE decision = 'engage'")
    arrested = rows(tmp_path, "SELECT alert_id FROM outcomes WHERE outcome = 'arrested'")
    assert engaged == [(marsh.alert_ids[0],)], "the engagement is Alex Marsh's"
    assert arrested == [(marsh.alert_ids[0],)], "and so is the arrest"
    assert keane in panel.pending and panel.card.incident is None


class StubPlayer:
    """A scenario player without video: the trainer's window on its own."""

    def __init__(self, cameras: list[str]) -> None:
        from console.vision.sources import SourceSpec

        self.specs = [SourceSpec(c, f"{c}.mp4") for c in cameras]
        self.speed, self.playing, self.position, self.duration = 1.0, True, 0.0, 60.0
        self.listener = None

    def set_speed(self, speed: float) -> None:
        self.speed = speed

    def play(self) -> None:
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def step(self) -> None: ...
    def seek(self, t: float) -> None: ...


def scenario_alert(subject: int, camera: str, t: float) -> Alert:
    subject_id, name, category = SUBJECTS[subject]
    crop = np.full((60, 60, 3), (40 * subject + 60, 90, 120), np.uint8)
    return Alert(
        f"{camera}-{uuid.uuid4().hex[:12]}", camera, subject_id, name, category, 0.31, 0.40,
        t, int(t * 25), (10, 70, 70, 10), datetime.now(UTC), crop,
        [Evidence(int(t * 25), t, 0.31)],
    )


def test_in_the_trainer_e_then_1_for_alex_marsh_never_arrests_sam_keane(qtbot, qloop, tmp_path):
    """The reported wrong-person arrest happened in the trainer, which reuses the queue."""
    from console.domain.watchlist import Watchlist
    from console.qt.trainer_window import TrainerWindow
    from console.storage.training import TrainingRecords

    records = TrainingRecords(tmp_path)
    window = TrainerWindow(
        "basic", StubPlayer(["north", "south"]), Watchlist(Path("."), []), [], records, "PC 77"
    )
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    panel = window.alerts
    window.alert_revealed(scenario_alert(MARSH, "north", 12.0))
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    marsh = panel.pending[0]
    key(qtbot, window, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: panel.card.incident is marsh)
    qtbot.wait(700)  # the trainee reads Alex Marsh's card
    window.alert_revealed(scenario_alert(KEANE, "south", 13.0))
    qtbot.waitUntil(lambda: len(panel.pending) == 2)
    key(qtbot, window, Qt.Key.Key_E, pause=False)
    key(qtbot, window, Qt.Key.Key_1)
    engaged = [d.subject_id for d in window.decisions if d.decision.value == "engage"]
    assert engaged == [SUBJECTS[MARSH][0]], "E engaged Alex Marsh"
    assert set(window.outcomes) == set(marsh.alert_ids), "1 recorded Alex Marsh's arrest"
    assert [i.subject_name for i in panel.pending] == ["Sam Keane"]
    window.close()
    records.close()


def test_keys_pressed_while_three_subjects_alert_never_act_on_a_card_not_seen(
    qtbot, open_sample, tmp_path
):
    """Alerts for three subjects arrive while the officer works the queue with the keys,
    sometimes faster than they could read a card. Every decision recorded names an
    incident whose card was on screen for the guard time when its key was pressed, and
    the card changed only when the officer pressed a key."""
    console = open_sample(start=False)
    window, panel, session = console.window, console.window.alerts, console.session
    window.resize(1280, 720)
    window.activateWindow()
    qtbot.waitExposed(window)
    watch = CardWatch(panel)
    rng = random.Random(28)
    presses: list[tuple[float, str, Shown]] = []
    arrivals: list[float] = []
    n = 0

    def arrive() -> None:
        nonlocal n
        for _ in range(rng.choice((1, 1, 2))):
            n += 1
            raise_alert(session, n, rng.randrange(3), rng.choice(("north", "south")), 0)
            arrivals.append(time.monotonic())

    def press(k, name: str, wait_ms: int) -> None:
        qtbot.wait(wait_ms)
        presses.append((time.monotonic(), name, watch.at(time.monotonic())))
        qtbot.keyClick(QApplication.focusWidget() or window, k)

    arrive()
    qtbot.waitUntil(lambda: bool(panel.pending))
    for _ in range(40):
        if rng.random() < 0.45:
            arrive()
        move = rng.choice(("open", "open", "decide", "decide", "quick", "outcome", "move"))
        if move == "open":
            press(Qt.Key.Key_N, "N", rng.choice((100, 300, 700)))
        elif move == "move":
            press(rng.choice((Qt.Key.Key_Down, Qt.Key.Key_Up)), "arrow", 200)
        elif move in ("decide", "quick"):
            # "quick": a key right after the card may have changed (a decision, an arrival)
            wait = 120 if move == "quick" else rng.choice((300, 650, 900))
            k = rng.choice((Qt.Key.Key_E, Qt.Key.Key_F, Qt.Key.Key_F))
            press(k, "E" if k == Qt.Key.Key_E else "F", wait)
        else:
            press(rng.choice((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3)), "outcome", 300)
    qtbot.wait(300)
    qtbot.waitUntil(lambda: not session._saves and not window._tasks, timeout=20_000)

    incident_of = decided_incidents(tmp_path)
    decided = {incident_of[a] for (a,) in rows(tmp_path, "SELECT alert_id FROM decisions")}
    assert len(decided) >= 5, "the officer decided incidents"
    for incident in decided:
        seen = [
            (t, name)
            for t, name, shown in presses
            if name in ("E", "F")
            and shown.incident == incident
            and t - shown.since >= GUARD_S
        ]
        assert seen, f"incident {incident} was decided without its card having been seen"
    # Outcomes only for engagements made from a card the officer had seen.
    for (alert_id,) in rows(tmp_path, "SELECT alert_id FROM outcomes"):
        assert incident_of[alert_id] in decided
    # The card changed only just after one of the officer's keys, never on an arrival.
    key_times = [t for t, _, _ in presses]
    for when, _shown in watch.log[1:]:
        assert any(0 <= when - t < 1.0 for t in key_times), (
            f"the card changed {when - watch.log[0][0]:.1f} s in with no key pressed"
        )


# -- 2. text entry and commands never mix ---------------------------------------------


def test_a_reason_typed_after_d_with_nothing_to_dismiss_records_nothing(
    qtbot, open_sample, tmp_path
):
    console = open_sample(start=False)
    window, panel, session = console.window, console.window.alerts, console.session
    window.activateWindow()
    qtbot.waitExposed(window)
    raise_alert(session, 1, MARSH, "north", 5)
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    marsh = panel.pending[0]
    key(qtbot, window, Qt.Key.Key_N)
    qtbot.wait(700)
    key(qtbot, window, Qt.Key.Key_E)  # engaged: awaiting its outcome, nothing pending now
    qtbot.waitUntil(lambda: marsh.engaged, timeout=10_000)
    before = rows(tmp_path, "SELECT COUNT(*) FROM decisions")[0][0]
    # D with nothing to dismiss, then the reason the officer meant for it.
    key(qtbot, window, Qt.Key.Key_D)
    qtbot.keyClicks(QApplication.focusWidget() or window, "seen by PC 4821 h")
    qtbot.wait(300)
    qtbot.waitUntil(lambda: not session._saves, timeout=10_000)
    qtbot.wait(300)
    assert rows(tmp_path, "SELECT COUNT(*) FROM outcomes")[0][0] == 0, "no outcome from the 4"
    assert rows(tmp_path, "SELECT COUNT(*) FROM decisions")[0][0] == before
    history = getattr(window, "history", None)
    assert history is None or not history.isVisible(), "the h did not open the history"
    assert marsh.engaged and panel.incident(marsh.incident_id) is marsh
    assert "Typing ignored" in window.statusBar().currentMessage()
    # After a pause the keys are commands again: 1 records the arrest.
    qtbot.wait(1600)
    key(qtbot, window, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: bool(rows(tmp_path, "SELECT 1 FROM outcomes")), timeout=10_000)
    assert rows(tmp_path, "SELECT outcome FROM outcomes") == [("arrested",)]


# -- 3. corrections in the window -----------------------------------------------------


def click_option(qtbot, button) -> None:
    """A click on a radio button's circle (its text may end well before its width)."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))
    assert button.isChecked()


def test_a_supervisor_corrects_a_decision_and_an_outcome_in_the_history(
    qtbot, open_sample, tmp_path
):
    console = open_sample(start=False)  # signed in as a supervisor
    window, panel, session = console.window, console.window.alerts, console.session
    window.resize(1920, 1080)
    window.activateWindow()
    qtbot.waitExposed(window)
    raise_alert(session, 1, MARSH, "north", 5)
    raise_alert(session, 2, THIRD, "south", 4)
    qtbot.waitUntil(lambda: len(panel.pending) == 2)
    marsh, third = panel.pending
    # Alex Marsh engaged, then "4" keyed for his outcome by mistake (it was an arrest).
    panel.select(marsh.incident_id)
    qtbot.wait(700)
    key(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: marsh.engaged, timeout=10_000)
    key(qtbot, window, Qt.Key.Key_4)
    qtbot.waitUntil(lambda: bool(rows(tmp_path, "SELECT 1 FROM outcomes")), timeout=10_000)
    # Rob Third called a false match; the officer meant to dismiss him.
    panel.select(third.incident_id)
    qtbot.wait(700)
    key(qtbot, window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: third not in panel.pending, timeout=10_000)
    qtbot.wait(5200)  # the undo window has closed

    key(qtbot, window, Qt.Key.Key_H)
    history = window.history
    qtbot.waitUntil(history.isVisible)
    # The history opens over the camera wall, not over the queue.
    queue_left = panel.mapToGlobal(panel.rect().topLeft()).x()
    assert history.frameGeometry().right() <= queue_left + 8
    correct_decision = next(
        (
            b
            for b in history.findChildren(QPushButton)
            if b.text().replace("&", "").startswith("Correct decision")
        ),
        None,
    )
    assert correct_decision is not None, "the history offers a correction"

    def choose_row(name: str) -> None:
        table = history.table
        for r in range(table.rowCount()):
            if any(
                table.item(r, c) is not None and table.item(r, c).text() == name
                for c in range(table.columnCount())
            ):
                rect = table.visualRect(table.model().index(r, 3))
                qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
                return
        raise AssertionError(f"no row for {name}")

    # The decision: Rob Third's false match corrected to a dismissal, with a reason.
    choose_row("Rob Third")
    qtbot.mouseClick(correct_decision, Qt.MouseButton.LeftButton)
    dialog = history.correction_dialog
    qtbot.waitUntil(dialog.isVisible)
    dismiss = dialog.findChild(QRadioButton, "correct-dismiss")
    click_option(qtbot, dismiss)
    qtbot.keyClicks(dialog.reason, "keyed F for D: known to officers, dealt with")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: bool(rows(tmp_path, "SELECT 1 FROM corrections WHERE decision='dismiss'")),
        timeout=10_000,
    )
    corrected = rows(tmp_path, "SELECT alert_id, officer, reason FROM corrections")
    assert {a for a, _, _ in corrected} == set(third.alert_ids)
    assert all("dealt with" in reason for *_, reason in corrected)
    # The history shows the decision in force, in view, and the original a click away.
    qtbot.waitUntil(lambda: any(
        history.table.item(r, c) is not None and history.table.item(r, c).text() == "Dismiss ✎"
        for r in range(history.table.rowCount()) for c in range(history.table.columnCount())
    ), timeout=5_000)
    choose_row("Rob Third")
    details = history.details.text()
    assert "Decision in force: <b>Dismiss</b>" in details
    assert "Original: False match" in details and "Corrected to Dismiss by" in details
    header = history.table.horizontalHeader()
    decision_column = next(
        c for c in range(history.table.columnCount())
        if history.table.horizontalHeaderItem(c).text().startswith("Decision")
    )
    assert header.sectionViewportPosition(decision_column) < history.table.viewport().width()

    # The outcome: Alex Marsh's "confirmed false" corrected to arrested.
    choose_row("Alex Marsh")
    history.correct_outcome.click()
    dialog = history.correction_dialog
    qtbot.waitUntil(dialog.isVisible)
    arrested_option = dialog.findChild(QRadioButton, "correct-arrested")
    click_option(qtbot, arrested_option)
    qtbot.keyClicks(dialog.reason, "4 keyed by mistake: arrested, custody ref CR/123")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: bool(rows(tmp_path, "SELECT 1 FROM outcome_corrections")), timeout=10_000
    )
    assert rows(tmp_path, "SELECT outcome FROM outcomes") == [("confirmed_false",)], (
        "the original stays"
    )
    assert rows(tmp_path, "SELECT outcome, officer FROM outcome_corrections")[0][0] == "arrested"
    audit = rows(tmp_path, "SELECT actor FROM audit WHERE action = 'outcome corrected'")
    assert len(audit) == len(marsh.alert_ids)
    qtbot.waitUntil(lambda: "Arrested ✎" in [
        history.table.item(r, c).text()
        for r in range(history.table.rowCount()) for c in range(history.table.columnCount())
        if history.table.item(r, c) is not None
    ], timeout=5_000)
    # Closing the history gives the keys back to the desk.
    history.close()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.list, timeout=5_000)
