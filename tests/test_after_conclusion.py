"""Issue #14, driven as the tester did: a deployment concluded while its cameras were
paused, with incidents left open; an undo beside a new sighting of the same person; the
deployment bar's lines as the rate changes and its notes after a while."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from console.domain.alerts import Decision, Outcome
from console.qt.theme import apply_theme
from console.storage.console_log import CLOSED
from tests.conftest import pause_like_a_person, run_on_loop
from tests.test_console_lifecycle import YES, answer, check_resumed_paused
from tests.test_queue_gui import SUBJECTS, press, raise_alert, rows

ENGAGE_GREEN = QColor("#1e7b34")  # the Engage button's colour while it can be pressed


def shown(panel) -> list[str]:
    """What the queue and the card say about waiting, as the officer reads it."""
    lines = [panel.list.item(r).text() for r in range(panel.list.count())]
    return [*lines, panel.card.waiting.text()]


def ticks(qtbot, panel, n: int = 2) -> None:
    """Let the panel's one-second clock fire *n* times (its waiting times move on)."""
    for _ in range(n):
        with qtbot.waitSignal(panel._clock.timeout, timeout=5_000):
            pass


def background(button) -> QColor:
    """The colour the button is painted with, just inside its border."""
    image = button.grab().toImage()
    return image.pixelColor(QPoint(4, image.height() // 2))


@pytest.fixture
def dark_theme(qapp):
    """The console's own theme (the application sets it at start, the fixture does not)."""
    sheet, palette = qapp.styleSheet(), qapp.palette()
    apply_theme(qapp, "dark")
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


def test_concluding_a_paused_deployment_leaves_nothing_to_decide_and_nothing_ticking(
    qtbot, open_sample, tmp_path, dark_theme
):
    # The tester's console had been closed mid-deployment: it came back paused.
    first = open_sample()
    press(qtbot, first.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    answer(qtbot, first.window.close_box, YES)
    qtbot.waitUntil(first.window.closed.done)
    run_on_loop(qtbot, first.close(CLOSED))
    console = open_sample(start=False)
    window, panel, session = console.window, console.window.alerts, console.session
    bar = window.bar
    check_resumed_paused(qtbot, console, after="close")
    window.resize(1280, 720)
    window.activateWindow()
    qtbot.waitExposed(window)
    assert "2 subjects" in window.deployment_label.text()

    # Three people, six alerts, all waiting past the overdue mark; Keane is engaged.
    for n, (subject, camera) in enumerate([(0, "north"), (1, "north"), (1, "south")]):
        raise_alert(session, n, subject, camera, 300 - n)
    for n in range(3, 6):
        raise_alert(session, n, 2, "south", 300 - n)
    qtbot.waitUntil(lambda: len(panel.pending) == 3)
    qtbot.waitUntil(lambda: not session._saves, timeout=20_000)
    assert panel.selected is None, "an arrival opens no card"
    press(qtbot, window, Qt.Key.Key_N)
    keane = panel.selected
    assert keane.subject_name == SUBJECTS[0][1]
    qtbot.wait(650)  # the officer reads the card
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: keane in panel.engaged, timeout=10_000)
    press(qtbot, window, Qt.Key.Key_N)  # the next incident, left open at the conclusion
    assert all("OVERDUE" in line for line in shown(panel))
    assert background(panel.card.buttons[Decision.ENGAGE]) == ENGAGE_GREEN

    # The question counts people awaiting a decision, and the alerts they hold.
    pause_like_a_person(qtbot)
    qtbot.mouseClick(bar.conclude_button, Qt.MouseButton.LeftButton)
    box = window.conclude_box
    qtbot.waitUntil(box.isVisible)
    assert "2 incidents (5 alerts) are still undecided" in box.informativeText()
    answer(qtbot, box, YES)
    qtbot.waitUntil(lambda: session.deployment.concluded_at is not None, timeout=15_000)
    run_on_loop(qtbot, session.store.call(lambda: None))  # everything queued has been shown
    qtbot.wait(50)

    # No tile waits for officers on the ground any more; no stale operating point, no
    # watchlist size: there is no watchlist.
    states = [t.state_text for t in window.tiles.values()]
    assert all("concluded" in s and "paused" not in s for s in states), states
    said = bar.operating.text() + " " + bar.operating.toolTip()
    assert "1 in" not in said and "concluded" in said
    assert "subjects" not in window.deployment_label.text() + bar.summary.text()
    assert "deleted" in window.deployment_label.text()

    # Nothing waits for a decision now: the clocks stop, nothing is overdue.
    before = shown(panel)
    assert not any("OVERDUE" in line for line in before), before
    ticks(qtbot, panel)
    assert shown(panel) == before

    # Decisions cannot be taken and look it; the outcome of the engagement still can.
    for button in panel.card.buttons.values():
        assert not button.isEnabled()
    assert background(panel.card.buttons[Decision.ENGAGE]) != ENGAGE_GREEN
    assert all(b.isEnabled() for b in panel.outcome_buttons.values())
    decided = rows(tmp_path, "SELECT alert_id, decision FROM decisions")
    for key in (Qt.Key.Key_E, Qt.Key.Key_F, Qt.Key.Key_D):
        press(qtbot, window, key)
        run_on_loop(qtbot, session.store.call(lambda: None))
        assert panel.banner.isHidden(), panel.banner.text()  # no storage-failure banner
        assert not panel.card.awaiting_reason
        assert QApplication.focusWidget() is panel.list
    assert "concluded" in window.statusBar().currentMessage()
    pause_like_a_person(qtbot)
    qtbot.mouseClick(panel.card.buttons[Decision.ENGAGE], Qt.MouseButton.LeftButton)
    run_on_loop(qtbot, session.store.call(lambda: None))
    assert rows(tmp_path, "SELECT alert_id, decision FROM decisions") == decided
    assert len(panel.pending) == 2 and panel.banner.isHidden()

    pause_like_a_person(qtbot)
    qtbot.mouseClick(panel.outcome_buttons[Outcome.ADVICE], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.engaged, timeout=10_000)
    assert rows(tmp_path, "SELECT alert_id, outcome FROM outcomes") == [
        (keane.alert_ids[0], "advice")
    ]
    assert panel.banner.isHidden()


def test_an_undone_decision_takes_the_new_sighting_of_its_subject(qtbot, open_sample, tmp_path):
    console = open_sample(start=False)
    window, panel, session = console.window, console.window.alerts, console.session
    window.activateWindow()
    qtbot.waitExposed(window)
    marsh = raise_alert(session, 0, 1, "north", 30)
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    qtbot.waitUntil(lambda: not session._saves, timeout=20_000)
    press(qtbot, window, Qt.Key.Key_N)
    first = panel.selected
    qtbot.wait(650)

    # A stray F; Marsh walks past the other camera; the officer undoes the F.
    press(qtbot, window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: first not in panel.pending, timeout=10_000)
    again = raise_alert(session, 1, 1, "south", 0)
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: first in panel.pending, timeout=10_000)

    # One person, one row, one decision.
    assert len(panel.pending) == 1 and panel.list.count() == 1
    assert panel.selected is first
    assert first.alert_ids == [marsh.alert_id, again.alert_id]
    assert "2 sightings" in panel.list.item(0).text()
    # A later sighting in the window joins it too.
    later = raise_alert(session, 2, 1, "north", 0)
    qtbot.waitUntil(lambda: later.alert_id in first.alert_ids)
    assert len(panel.pending) == 1
    qtbot.waitUntil(lambda: not session._saves, timeout=20_000)

    qtbot.wait(650)
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: first in panel.engaged, timeout=10_000)
    assert not panel.pending
    engaged = {
        a for (a,) in rows(tmp_path, "SELECT alert_id FROM decisions WHERE decision='engage'")
    }
    corrected = {a for (a,) in rows(tmp_path, "SELECT alert_id FROM corrections")}
    assert engaged | corrected == {marsh.alert_id, again.alert_id, later.alert_id}
    assert panel.banner.isHidden()

    # Ctrl+Z once the undo window has closed says who corrects it now, and how.
    qtbot.waitUntil(panel.undo_button.isHidden, timeout=10_000)
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    message = window.statusBar().currentMessage()
    assert "supervisor" in message and "history" in message and "reason" in message
    assert first in panel.engaged


def choose(qtbot, combo, text: str) -> None:
    """Pick *text* from a drop-down with the mouse: open it, click the row."""
    pause_like_a_person(qtbot)
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    row = view.visualRect(combo.model().index(combo.findText(text), 0))
    pause_like_a_person(qtbot)  # a release just after the popup opened is not a choice
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=row.center())
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentText() == text


def test_the_bar_keeps_to_its_lines_and_its_notes_fade(qtbot, open_sample):
    console = open_sample()  # confirmed and started by clicks, as a supervisor does
    window, bar = console.window, console.window.bar
    window.resize(1280, 720)
    window.activateWindow()
    qtbot.waitExposed(window)
    assert "Deployment started" in bar.message.text()

    def wall_top() -> int:
        return window.tile_grid.mapTo(window, QPoint(0, 0)).y()

    top = wall_top()
    # The confirmation goes after a while, and the wall stays where it was.
    qtbot.waitUntil(
        lambda: "started" not in bar.message.text() or bar.message.isHidden(), timeout=30_000
    )
    assert wall_top() == top

    # A new false-alert rate is previewed and asks for a reason; then it describes itself
    # in the bar in plain words (no distance), in two lines at most, the whole of it in
    # the tooltip, and the camera wall does not move.
    for one_in in ("1 in 100,000", "1 in 1,000"):
        said = bar.operating.toolTip() or bar.operating.text()
        choose(qtbot, bar.rate, one_in)
        pause_like_a_person(qtbot)
        qtbot.mouseClick(bar.rate_button, Qt.MouseButton.LeftButton)
        dialog = bar.rate_dialog
        qtbot.waitUntil(dialog.isVisible)
        assert "Now:" in dialog.preview.text() and "After:" in dialog.preview.text()
        assert not dialog.ok.isEnabled(), "no change without a reason"
        qtbot.keyClicks(dialog.reason, "busy Saturday: too many false alerts")
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda s=said: (bar.operating.toolTip() or bar.operating.text()) != s, timeout=10_000
        )
        assert "Refused" not in bar.message.full_text
        full = bar.operating.toolTip()
        assert full.startswith("Operating point:") and "people walking past" in full
        assert "distance" not in full
        metrics = bar.operating.fontMetrics()
        assert bar.operating.height() <= 2 * metrics.lineSpacing() + 4, "two lines at most"
        assert wall_top() == top
    changes = [
        e.details for e in console.session.store.store.audit.entries()
        if e.action == "false-alert rate changed"
    ]
    assert [c["reason"] for c in changes] == ["busy Saturday: too many false alerts"] * 2

    # A rate the site policy refuses is not offered at all.
    assert bar.rate.findText("1 in 100") == -1
    assert bar.rate.itemText(0) == "1 in 1,000"
