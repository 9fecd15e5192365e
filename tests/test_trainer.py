"""Trainer mode as a trainer and trainee use it: preparation with a progress bar, the
console's wall (first frame before Play, boxes on faces, PAUSED not LIVE) and queue (cards
on scenario time, engage then the outcome step), one incident scored once, a score sheet
with names, title, pass mark, PDF export, Escape to close; closing without a traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.domain.alerts import Decision, Outcome
from console.storage.training import TrainingRecords
from console.training.scenarios import load_scenario
from console.training.trainer import expectations, open_trainer
from tests.conftest import SAMPLES, pause_like_a_person, run_on_loop

BASIC = SAMPLES / "scenarios" / "basic"


def key(qtbot, window, k) -> None:
    pause_like_a_person(qtbot)
    qtbot.keyClick(window.alerts.list, k)


def test_a_trainee_works_a_scenario_on_the_consoles_wall_and_queue_and_is_scored_once(
    qtbot, qloop, process_pool, tmp_path, monkeypatch
):
    from console.qt import trainer_window

    seen_progress: list[tuple[str, int, int]] = []
    original = trainer_window.PreparationDialog.show_progress

    def spy(self, stage, done, total):
        seen_progress.append((stage, done, total))
        original(self, stage, done, total)

    monkeypatch.setattr(trainer_window.PreparationDialog, "show_progress", spy)
    scenario = load_scenario(BASIC)
    assert len([e for e in expectations(scenario) if e.right_decision == Decision.ENGAGE]) == 2
    records = TrainingRecords(tmp_path)
    window = run_on_loop(
        qtbot, open_trainer(scenario, process_pool, records, "PC 77 Trainee", 2.0), 240_000
    )
    # Preparation showed its progress: the watchlist, then every frame replayed.
    stages = {stage for stage, _, _ in seen_progress}
    assert stages == {"Enrolling the watchlist", "Working out the alerts"}
    last = [p for p in seen_progress if p[0] == "Working out the alerts"][-1]
    assert last[1] == last[2] > 0

    player, panel = window.player, window.alerts
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    # Before Play: the street is on every tile, and the tile says PAUSED, not LIVE.
    qtbot.waitUntil(lambda: all(t.video.current is not None for t in window.tiles.values()))
    north = window.tiles["north"]
    qtbot.waitUntil(lambda: "PAUSED" in north.state_text)
    assert "LIVE" not in north.state_text

    boxed = []
    original_frame = window.feed_frame

    def watch(camera, preview, scale, index=None):
        original_frame(camera, preview, scale, index)
        current = window.tiles[camera].video.current
        if current is not None and current.boxes:
            boxed.append((camera, current.index, current.boxes))

    player.listener = window
    window.feed_frame = watch
    key(qtbot, window, Qt.Key.Key_Space)
    assert player.playing and player.speed == 2.0
    qtbot.waitUntil(lambda: len(panel.pending) >= 1, timeout=30_000)
    # The trainee looks at the named box on the face before pausing (a box is drawn only
    # on the frame it was found on, which may be shown a moment after the card arrives).
    qtbot.waitUntil(
        lambda: any(
            camera == "north" and name == "Alex Marsh"
            for camera, _, boxes in boxed
            for _, name in boxes
        ),
        timeout=30_000,  # a loaded machine shows fewer of the replayed frames
    )
    key(qtbot, window, Qt.Key.Key_Space)  # pause to decide
    assert not player.playing
    incident = panel.pending[0]
    assert incident.subject_name == "Alex Marsh" and incident.cameras == ["north"]
    key(qtbot, window, Qt.Key.Key_N)  # open it: nothing opens a card by itself
    # The card shows the scenario's time, not the wall clock.
    assert "in the scenario" in panel.card.facts.text()
    qtbot.wait(650)  # read it: a key on a card shown for under half a second is refused
    key(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: [i.subject_name for i in panel.engaged] == ["Alex Marsh"])
    key(qtbot, window, Qt.Key.Key_1)  # arrested
    qtbot.waitUntil(lambda: panel.engaged == [])
    assert set(window.outcomes.values()) == {Outcome.ARRESTED}

    # The same man on south, after he was engaged: dismissed as already dealt with.
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: any(i.cameras == ["south"] for i in panel.pending), timeout=30_000)
    key(qtbot, window, Qt.Key.Key_N)
    qtbot.wait(650)
    key(qtbot, window, Qt.Key.Key_D)
    assert panel.card.awaiting_reason
    qtbot.keyClicks(panel.card.note, "already engaged on north")
    qtbot.keyClick(panel.card.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not any(i.cameras == ["south"] for i in panel.pending))
    assert [d.decision for d in window.decisions][-1] == Decision.DISMISS

    sheet = window.finish()
    assert len(sheet.correctly_engaged) == 1 and sheet.correctly_engaged[0].startswith(
        "Alex Marsh on north"
    )
    assert sheet.wrongly_dismissed == [] and sheet.missed == []
    dialog = window.score_dialog
    qtbot.waitUntil(dialog.isVisible)
    sheet_html = dialog.to_html()
    assert scenario.title in sheet_html and "PC 77 Trainee" in sheet_html
    assert "pass mark 80 %" in sheet_html and "Alex Marsh" in sheet_html and "PASS" in sheet_html
    assert "Engagements with their outcome reported" in sheet_html
    pdf = dialog.export_pdf(tmp_path / "sheet.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    headers = [dialog.runs.horizontalHeaderItem(c).text() for c in range(dialog.runs.columnCount())]
    assert "Correctly engaged" in headers and not any("_" in h for h in headers)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    runs = records.runs("basic")
    assert runs[0]["trainee"] == "PC 77 Trainee" and runs[0]["correctly_engaged"] == 1

    # Closing: the player stops, nothing reaches the closed window, no traceback.
    window.close()
    assert window.closed.done()
    run_on_loop(qtbot, player.close())
