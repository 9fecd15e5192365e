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
    qtbot.waitUntil(lambda: len(panel.pending_cards) >= 2, timeout=30_000)
    # Most urgent first: Sam Keane (missing person at risk) before Alex Marsh (wanted).
    keane, marsh = panel.pending_cards[:2]
    assert keane.urgency == Urgency.IMMEDIATE and "Sam Keane" in keane.heading.text()
    assert marsh.urgency == Urgency.PRIORITY
    assert "[E]" in keane.buttons[next(iter(keane.buttons))].text()
    assert panel.selected is keane and "NEW" in keane.waiting.text()

    press(qtbot, window, Qt.Key.Key_V)  # the camera frame at the best match
    assert keane.scene.isVisible() and not keane.scene.image().isNull()

    press(qtbot, window, Qt.Key.Key_E)  # engage
    qtbot.waitUntil(lambda: keane.engaged, timeout=5_000)
    assert keane in panel.engaged_cards and "awaiting outcome: 1" in panel.title.text()
    panel.select(keane.alert_id)
    press(qtbot, window, Qt.Key.Key_1)  # arrested
    qtbot.waitUntil(lambda: panel.card(keane.alert_id) is None, timeout=5_000)

    assert panel.selected is marsh
    press(qtbot, window, Qt.Key.Key_F)  # false match
    qtbot.waitUntil(lambda: panel.card(marsh.alert_id) is None, timeout=5_000)

    # The next pair arrives at 25 s: dismiss one with a reason, engage the other.
    qtbot.waitUntil(lambda: len(panel.pending_cards) >= 2, timeout=30_000)
    first = panel.selected
    press(qtbot, window, Qt.Key.Key_D)
    assert QApplication.focusWidget() is first.note, "D asks for the reason"
    qtbot.keyClicks(first.note, "dealt with earlier today")
    qtbot.keyClick(first.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.card(first.alert_id) is None, timeout=5_000)
    window.activateWindow()
    window.setFocus()
    left = panel.selected
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: left.engaged, timeout=5_000)

    # History: all four, with their decisions; export for the record.
    press(qtbot, window, Qt.Key.Key_H)
    history = window.history
    qtbot.waitUntil(lambda: history.isVisible())
    assert history.table.rowCount() == 4
    rows = {r.alert.alert_id: r for r in history.records}
    assert rows[keane.alert_id].outcome.outcome.value == "arrested"
    assert rows[marsh.alert_id].decision.value == "false_match"
    assert rows[first.alert_id].adjudication.note == "dealt with earlier today"
    history.decision.setCurrentText("engage")
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

    # The console goes away; on restart the engaged card awaiting its outcome comes back.
    run_on_loop(qtbot, console.close())
    window.close()
    again = open_sample(start=False)
    qtbot.waitUntil(lambda: len(again.window.alerts.engaged_cards) == 1, timeout=10_000)
    (card,) = again.window.alerts.engaged_cards
    assert card.alert_id == left.alert_id
    assert "awaiting outcome: 1" in again.window.alerts.title.text()
