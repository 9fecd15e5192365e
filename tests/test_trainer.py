"""Trainer mode: a scenario in sync at 2x, adjudicated, scored as the trainee did it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from console.storage.training import TrainingRecords
from console.training.scenarios import load_scenario
from console.training.trainer import expectations, open_trainer
from tests.conftest import SAMPLES, pause_like_a_person, run_on_loop

BASIC = SAMPLES / "scenarios" / "basic"


def test_a_trainee_adjudicates_a_scenario_and_gets_a_score_sheet_that_matches(
    qtbot, qloop, process_pool, tmp_path
):
    scenario = load_scenario(BASIC)
    engage_expected = [e for e in expectations(scenario) if e.right_decision.value == "engage"]
    assert len(engage_expected) == 2
    records = TrainingRecords(tmp_path)
    window = run_on_loop(
        qtbot, open_trainer(scenario, process_pool, records, "PC 77 Trainee", 2.0), 120_000
    )
    player, panel = window.player, window.alerts
    qtbot.waitUntil(lambda: player.duration > 0, timeout=10_000)
    assert set(window.tiles) == {c.name for c in scenario.cameras}

    # Pause, step a frame, seek: one clock for every camera.
    player.seek(1.0)
    qtbot.waitUntil(lambda: abs(player.position - 1.0) < 0.01, timeout=5_000)
    before = player.position
    qtbot.mouseClick(window.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: player.position > before, timeout=5_000)
    assert player.position - before < 0.05  # one frame
    player.seek(0.0)

    qtbot.mouseClick(window.play_button, Qt.MouseButton.LeftButton)
    assert player.playing and player.speed == 2.0
    qtbot.waitUntil(lambda: len(panel.pending_cards) >= 1, timeout=20_000)
    first = panel.pending_cards[0]
    assert first.alert.camera == "north" and first.alert.subject_id == "WL-0001"
    pause_like_a_person(qtbot)
    qtbot.mouseClick(first.buttons[first.buttons.__iter__().__next__()], Qt.MouseButton.LeftButton)
    # The second sighting, on south, is wrongly called a false match.
    qtbot.waitUntil(
        lambda: any(c.alert.camera == "south" for c in panel.pending_cards), timeout=20_000
    )
    second = next(c for c in panel.pending_cards if c.alert.camera == "south")
    pause_like_a_person(qtbot)
    from console.domain.alerts import Decision

    qtbot.mouseClick(second.buttons[Decision.FALSE_MATCH], Qt.MouseButton.LeftButton)
    assert [d.decision for d in window.decisions] == [Decision.ENGAGE, Decision.FALSE_MATCH]

    sheet = window.finish()
    assert sheet.correctly_engaged == [f"WL-0001 on north at {engage_expected[0].start_s:.0f} s"]
    assert len(sheet.wrongly_dismissed) == 1 and sheet.wrong_engagements == []
    assert sheet.mean_time_s is not None and sheet.worst_time_s >= sheet.mean_time_s
    runs = records.runs("basic")
    assert runs[0]["trainee"] == "PC 77 Trainee" and runs[0]["correctly_engaged"] == 1
    assert window.score_dialog.runs.rowCount() == 1
    run_on_loop(qtbot, player.close())
    window.close()
