"""Adjudication as an officer does it: the keyboard alone, both stages, history, export,
and the open work coming back after the console restarts."""

from __future__ import annotations

import csv
import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.domain.alerts import Urgency
from tests.conftest import pause_like_a_person, run_on_loop


def press(qtbot, window, key) -> None:
    pause_like_a_person(qtbot)
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key)


def test_an_officer_works_the_queue_with_the_keyboard_alone(qtbot, open_sample, tmp_path):
    console = open_sample()
    window, panel = console.window, console.window.alerts
    window.activateWindow()
    qtbot.waitUntil(lambda: len(panel.pending) >= 2, timeout=30_000)
    # Most urgent first: Sam Keane (missing person at risk) before Alex Marsh (wanted).
    keane, marsh = panel.pending[:2]
    assert keane.urgency == Urgency.IMMEDIATE and panel.card.incident is None
    assert marsh.urgency == Urgency.PRIORITY
    assert "[E]" in panel.card.buttons[next(iter(panel.card.buttons))].text()
    # Nothing editable has the focus: the keys act on the queue; N opens the most urgent.
    assert QApplication.focusWidget() is panel.list
    press(qtbot, window, Qt.Key.Key_N)
    assert panel.selected is keane and "NEW" in panel.card.waiting.text()

    press(qtbot, window, Qt.Key.Key_V)  # the replay of the alert moment, from memory
    replay = panel.card.replay
    assert replay.isVisible()
    qtbot.waitUntil(lambda: bool(replay.frames) or not replay._image.isNull(), timeout=5_000)

    press(qtbot, window, Qt.Key.Key_E)  # engage
    qtbot.waitUntil(lambda: keane.engaged, timeout=5_000)
    assert keane in panel.engaged and "awaiting outcome: 1" in panel.engaged_title.text()
    assert panel.selected is None, "the card closes after a decision"
    press(qtbot, window, Qt.Key.Key_1)  # arrested: the outcome keys act on the engagement
    qtbot.waitUntil(lambda: panel.incident(keane.incident_id) is None, timeout=5_000)

    press(qtbot, window, Qt.Key.Key_N)  # the next: Alex Marsh
    assert panel.selected is marsh
    qtbot.wait(650)  # read the card
    press(qtbot, window, Qt.Key.Key_F)  # false match
    qtbot.waitUntil(lambda: panel.incident(marsh.incident_id) is None, timeout=5_000)

    # The next pair arrives at 25 s: dismiss one with a reason, engage the other.
    qtbot.waitUntil(lambda: len(panel.pending) >= 2, timeout=30_000)
    press(qtbot, window, Qt.Key.Key_N)
    first = panel.selected
    qtbot.wait(650)
    press(qtbot, window, Qt.Key.Key_D)
    assert QApplication.focusWidget() is panel.card.note, "D asks for the reason"
    qtbot.keyClicks(panel.card.note, "dealt with earlier today")
    qtbot.keyClick(panel.card.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.incident(first.incident_id) is None, timeout=5_000)
    assert QApplication.focusWidget() is panel.list, "focus is back on the queue"
    press(qtbot, window, Qt.Key.Key_N)
    left = panel.selected
    qtbot.wait(650)
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: left.engaged, timeout=5_000)

    # History: all four, with their decisions; export for the record.
    press(qtbot, window, Qt.Key.Key_H)
    history = window.history
    qtbot.waitUntil(lambda: history.isVisible())
    assert history.table.rowCount() == 4
    rows = {r.alert.alert_id: r for r in history.records}
    assert rows[keane.alert_ids[0]].outcome.outcome.value == "arrested"
    assert rows[marsh.alert_ids[0]].decision.value == "false_match"
    assert rows[first.alert_ids[0]].adjudication.note == "dealt with earlier today"
    history.decision.setCurrentText("Engage")
    assert history.table.rowCount() == 2
    history.decision.setCurrentText("(any)")
    history.images.setChecked(True)
    exported = history.export("csv", tmp_path / "alerts.csv")
    with exported.open() as fh:
        table = list(csv.DictReader(fh))
    assert {r["decision"] for r in table} == {"engage", "false_match", "dismiss"}
    assert (tmp_path / table[0]["live_image"]).is_file()
    data = json.loads(history.export("json", tmp_path / "alerts.json").read_text())
    assert len(data["alerts"]) == 4 and data["alerts"][0]["live_image_jpeg_base64"]
    history.close()

    # The console goes away; on restart the engagement awaiting its outcome comes back.
    run_on_loop(qtbot, console.close())
    window.close()
    again = open_sample(start=False)
    qtbot.waitUntil(lambda: len(again.window.alerts.engaged) == 1, timeout=10_000)
    (incident,) = again.window.alerts.engaged
    assert incident.alert_ids == left.alert_ids
    assert "awaiting outcome: 1" in again.window.alerts.engaged_title.text()
