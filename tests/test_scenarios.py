"""Scenarios (manifest loading and checks) and the acceptance runner (``console uat``)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.domain.alerts import Alert, Decision, Evidence
from console.training import uat
from console.training.scenarios import (
    CameraRun,
    Expect,
    ScenarioCamera,
    ScenarioError,
    evaluate,
    load_scenario,
)
from tests.conftest import REPO, SAMPLES

SCENARIOS = SAMPLES / "scenarios"
SHIPPED = sorted(p.parent.name for p in SCENARIOS.glob("*/scenario.toml"))


@pytest.fixture(scope="module")
def replayed(process_pool):
    """Each shipped scenario's videos replayed once. A replay is deterministic, so a test
    that only edits a copy's truth reuses the alerts of the unchanged videos (a replay
    takes about as long as the video)."""
    done: dict[str, tuple] = {}

    def get(name: str) -> tuple:
        if name not in done:
            done[name] = uat.replay_scenario(load_scenario(SCENARIOS / name), process_pool)
        return done[name]

    return get


def run_uat(monkeypatch, capsys, folder: Path, replay_result: tuple, *options: str):
    """``console uat FOLDER`` through uat.run, the replay answered by *replay_result*."""
    monkeypatch.setattr(uat, "replay_scenario", lambda scenario, pool: replay_result)
    parser = argparse.ArgumentParser()
    uat.add_arguments(parser)
    code = uat.run(parser.parse_args([str(folder), *options]), pool=object())
    return code, capsys.readouterr().out


def test_three_scenarios_ship():
    assert {"basic", "busy_street", "hard"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_passes(name, replayed, monkeypatch, capsys):
    code, out = run_uat(monkeypatch, capsys, SCENARIOS / name, replayed(name))
    assert code == 0, out
    assert out.splitlines()[-1] == f"scenario {name}: PASSED"
    assert "FAIL:" not in out
    scenario = load_scenario(SCENARIOS / name)
    for a in scenario.appearances:  # every line of the truth is reported on
        assert f"visible {a.span}" in out


def test_runner_fails_naming_a_subject_who_never_appears(tmp_path, replayed, monkeypatch, capsys):
    copy = tmp_path / "basic"
    shutil.copytree(SCENARIOS / "basic", copy)
    # Sam Keane is on the basic watchlist but never walks past: expect him anyway.
    with (copy / "scenario.toml").open("a") as fh:
        fh.write(
            "\n[[appearance]]\n"
            'person = "WL-0002"\nname = "Sam Keane"\ncamera = "south"\n'
            'visible_from = 4.0\nvisible_to = 8.0\nexpect = "alert"\n'
        )
    code, out = run_uat(monkeypatch, capsys, copy, replayed("basic"))
    assert code == 1, out
    fails = [line for line in out.splitlines() if line.startswith("FAIL:")]
    assert fails == ["FAIL: missed: WL-0002 Sam Keane on south (visible 4.00-8.00 s): no alert"]
    assert out.splitlines()[-1] == "scenario basic: FAILED (1 failure(s))"
    assert "MISSED  south  WL-0002 Sam Keane" in out


def test_a_camera_that_breaks_off_is_reported_and_the_others_carry_on(replayed):
    alerts, runs = replayed("hard")
    south = runs["south"]
    assert not south.error and south.stopped_at == pytest.approx(12.0, abs=0.1)
    assert runs["north"].stopped_at == pytest.approx(24.0, abs=0.1)
    assert any(a.camera == "north" and a.t > 12.0 for a in alerts)


def test_a_video_that_cannot_be_read_is_a_failed_camera_not_a_crash(tmp_path, process_pool):
    garbage = tmp_path / "east.mp4"
    garbage.write_bytes(bytes(range(256)) * 64)
    basic = load_scenario(SCENARIOS / "basic")
    scenario = replace(basic, cameras=(ScenarioCamera("east", garbage, 20.0),), appearances=())
    alerts, runs = uat.replay_scenario(scenario, process_pool)
    assert alerts == []
    assert runs["east"].frames_decoded == 0 and "cannot decode video" in runs["east"].error
    report = evaluate(scenario, alerts, runs)
    assert report.failures == [f"camera east: cannot decode video: {garbage}"]


def test_the_lookalike_scores_beyond_the_threshold_and_would_be_a_false_match(replayed):
    scenario = load_scenario(SCENARIOS / "busy_street")
    lookalikes = [a for a in scenario.appearances if a.lookalike_of]
    assert lookalikes and all(a.expect == Expect.NO_ALERT for a in lookalikes)
    assert all(a.decision == Decision.FALSE_MATCH for a in lookalikes)
    alerts, _ = replayed("busy_street")
    for a in lookalikes:
        assert scenario.appearance_for(a.camera, "WL-0001", a.visible_from + 1) == a
        assert not [x for x in alerts if scenario.appearance_for(x.camera, x.subject_id, x.t) == a]


def test_the_console_command_is_registered(tmp_path):
    from console.__main__ import build_parser

    try:
        build_parser().parse_args(["uat", str(tmp_path)])
    except SystemExit:
        pytest.skip("'uat' is not registered in console/__main__.py yet")
    result = subprocess.run(
        [sys.executable, "-m", "console", "uat", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2
    assert "scenario manifest not found" in result.stderr


# ------------------------------------------------------------------- manifest checks

MANIFEST = """\
name = "tiny"
watchlist = "watchlist"

[tolerances]
max_seconds_to_alert = 1.0

[[camera]]
name = "north"
video = "north.mp4"
seconds = 20

[[appearance]]
person = "WL-0001"
name = "Alex Marsh"
camera = "north"
visible_from = 2.0
visible_to = 6.0
expect = "alert"

[[appearance]]
person = "PB-1"
camera = "north"
visible_from = 8.0
visible_to = 12.0
expect = "no_alert"
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A minimal scenario folder: loading checks that files exist, not what is in them."""
    (tmp_path / "watchlist").mkdir()
    (tmp_path / "watchlist" / "WL-0001.jpg").write_bytes(b"")
    (tmp_path / "watchlist" / "watchlist.csv").write_text(
        "subject_id,name,category,image,source\n"
        "WL-0001,Alex Marsh,wanted by the courts,WL-0001.jpg,test\n"
    )
    (tmp_path / "north.mp4").write_bytes(b"")
    (tmp_path / "scenario.toml").write_text(MANIFEST)
    return tmp_path


def refused(folder: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(folder)
    return str(caught.value)


def test_a_minimal_manifest_loads_with_defaults(tiny):
    scenario = load_scenario(tiny / "scenario.toml")
    assert scenario.name == "tiny" and scenario.threshold == pytest.approx(0.40)
    assert scenario.analyses_per_second == 5.0
    assert scenario.tolerances.max_seconds_to_alert == 1.0
    assert scenario.tolerances.allowed_false_alerts == 0
    marsh, passer_by = scenario.appearances
    assert marsh.decision == Decision.ENGAGE and passer_by.decision == Decision.FALSE_MATCH
    assert passer_by.name == "PB-1"
    assert scenario.cameras[0].video == tiny / "north.mp4"


def test_shipped_manifests_load():
    for name in SHIPPED:
        scenario = load_scenario(SCENARIOS / name)
        assert scenario.appearances and scenario.cameras
        assert any(a.expect == Expect.NO_ALERT for a in scenario.appearances)


def test_missing_or_broken_manifest_is_refused_clearly(tmp_path, tiny):
    assert "scenario manifest not found" in refused(tmp_path / "elsewhere")
    (tiny / "scenario.toml").write_text("name = \n")
    assert "is not valid TOML" in refused(tiny)


def test_every_problem_is_listed_at_once(tiny):
    text = MANIFEST.replace("visible_from = 8.0", "visble_from = 8.0")
    text = text.replace(
        'camera = "north"\nvisible_from = 2.0', 'camera = "east"\nvisible_from = 2.0'
    )
    text = text.replace('expect = "no_alert"', 'expect = "maybe"')
    text = text.replace('video = "north.mp4"', 'video = "gone.mp4"')
    text = text.replace("max_seconds_to_alert = 1.0", 'max_seconds_to_alert = "soon"')
    (tiny / "scenario.toml").write_text(text)
    message = refused(tiny)
    assert message.splitlines()[0].endswith("refused: 6 problem(s)")
    for expected in (
        "[tolerances]: 'max_seconds_to_alert' must be a number >= 0, not 'soon'",
        "camera 1: video 'gone.mp4' not found",
        "appearance 1: camera 'east' is not one of north",
        "appearance 2: unknown key 'visble_from'",
        "appearance 2: 'visible_from' is missing",
        "appearance 2: 'expect' must be alert or no_alert, not 'maybe'",
    ):
        assert expected in message, message


PASSER_BY = 'person = "PB-1"\ncamera = "north"\nvisible_from = 8.0'


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            PASSER_BY,
            PASSER_BY + '\ndecision = "dismiss"',
            "appearance 2: 'decision' must be engage or false_match, not 'dismiss'",
        ),
        (
            'expect = "no_alert"',
            'expect = "alert"',
            "appearance 2: expects an alert but 'PB-1' is not on the watchlist",
        ),
        (
            PASSER_BY,
            PASSER_BY + '\nlookalike_of = "WL-0009"',
            "appearance 2: lookalike_of 'WL-0009' is not on the watchlist",
        ),
        (
            'person = "PB-1"',
            'person = "WL-0001"',
            "appearance 2: 'WL-0001' is on the watchlist: expect must be 'alert'",
        ),
        (
            "visible_to = 6.0",
            "visible_to = 1.0",
            "appearance 1: visible_to 1 s is not after visible_from 2 s",
        ),
        (
            "visible_to = 12.0",
            "visible_to = 25.0",
            "appearance 2: visible_to 25 s is after the video ends (north)",
        ),
        (
            "seconds = 20",
            "seconds = 20\nfails_at = 10",
            "appearance 2: visible until 12 s but camera north fails at 10 s",
        ),
        ('name = "tiny"', 'name = "tiny"\nthreshold = 1.5', "'threshold' must be in (0, 1]"),
        (
            "max_seconds_to_alert = 1.0",
            "allowed_misses = 1.5",
            "[tolerances]: 'allowed_misses' must be a whole number, not 1.5",
        ),
    ],
)
def test_a_faulty_manifest_is_refused_with_its_reason(tiny, old, new, reason):
    text = MANIFEST.replace(old, new)
    assert text != MANIFEST
    (tiny / "scenario.toml").write_text(text)
    message = refused(tiny)
    assert message.splitlines()[0].endswith("refused: 1 problem(s)"), message
    assert reason in message, message


def test_the_same_subject_twice_within_the_sighting_cooldown_is_refused(tiny):
    (tiny / "scenario.toml").write_text(
        MANIFEST + '\n[[appearance]]\nperson = "WL-0001"\ncamera = "north"\n'
        'visible_from = 9.0\nvisible_to = 11.0\nexpect = "alert"\n'
    )
    assert "appearance 3: WL-0001 on north again within 10 s of appearance 1" in refused(tiny)


def test_a_faulty_watchlist_is_reported_with_the_scenario(tiny):
    (tiny / "watchlist" / "watchlist.csv").write_text(
        "subject_id,name,category,image,source\nWL-0001,Alex Marsh,shoplifter,WL-0001.jpg,test\n"
    )
    message = refused(tiny)
    assert "watchlist:" in message and "category 'shoplifter' is not allowed" in message


# ------------------------------------------------------------------------ evaluation


def alert(camera: str, subject_id: str, t: float, alert_id: str = "", d: float = 0.3) -> Alert:
    return Alert(
        alert_id=alert_id or f"{camera}-{t:g}",
        camera=camera,
        subject_id=subject_id,
        subject_name="Alex Marsh" if subject_id == "WL-0001" else subject_id,
        category="wanted by the courts",
        distance=d,
        threshold=0.4,
        t=t,
        frame=int(t * 25),
        bbox=(0, 100, 100, 0),
        raised_at=datetime(2026, 11, 27, tzinfo=UTC),
    )


FULL_RUN = {"north": CameraRun("north", 500, 20.0)}


def test_evaluation_passes_a_timely_alert_and_counts_duplicates_and_false_alerts(tiny):
    scenario = load_scenario(tiny)
    report = evaluate(scenario, [alert("north", "WL-0001", 2.2)], FULL_RUN)
    assert report.passed, report.lines()
    assert report.expected[0].delay == pytest.approx(0.2)

    late_and_more = [
        alert("north", "WL-0001", 3.5),
        alert("north", "WL-0001", 5.0),  # the same walk again: a duplicate
        alert("north", "WL-0001", 9.0, d=0.39),  # on the passer-by: a false alert
    ]
    report = evaluate(scenario, late_and_more, FULL_RUN)
    assert not report.passed
    assert report.expected[0].status == "LATE"
    assert report.failures == [
        "late: WL-0001 Alex Marsh on north (visible 2.00-6.00 s): alerted at 3.50 s, +1.50 s "
        "after visible, distance 0.300 [north-3.5]; limit 1 s",
        "false alert: north-9 WL-0001 Alex Marsh on north at 9.00 s (distance 0.390): in view: "
        "PB-1; right decision: false match",
        "duplicate alert: north-5 WL-0001 Alex Marsh on north at 5.00 s (distance 0.300): "
        "again for WL-0001 Alex Marsh",
    ]


def test_tolerances_allow_what_the_manifest_allows(tiny):
    scenario = load_scenario(tiny)
    lenient = replace(
        scenario,
        tolerances=replace(scenario.tolerances, allowed_misses=1, allowed_false_alerts=1),
    )
    report = evaluate(lenient, [alert("north", "WL-0001", 15.0)], FULL_RUN)
    assert report.passed, report.lines()
    assert report.expected[0].status == "MISSED"
    assert report.false_alerts == [
        "north-15 WL-0001 Alex Marsh on north at 15.00 s (distance 0.300): in view: nobody; "
        "right decision: false match"
    ]


def test_camera_failures_are_judged_against_the_truth(tiny):
    scenario = load_scenario(tiny)
    marsh = [alert("north", "WL-0001", 2.2)]
    stopped_early = {"north": CameraRun("north", 250, 10.0)}
    report = evaluate(scenario, marsh, stopped_early)
    assert report.failures == [
        "camera north: its feed stopped at 10.00 s; the video should run 20 s"
    ]
    unreadable = {"north": CameraRun("north", 0, 0.0, error="cannot decode video: north.mp4")}
    report = evaluate(scenario, [], unreadable)
    assert "camera north: cannot decode video: north.mp4" in report.failures

    failing = replace(scenario, cameras=(replace(scenario.cameras[0], fails_at=12.0),))
    assert evaluate(failing, marsh, {"north": CameraRun("north", 300, 12.0)}).passed
    report = evaluate(failing, marsh, FULL_RUN)
    assert report.failures == ["camera north should break off at 12 s; its feed ran to 20.00 s"]


def test_a_lookalike_the_console_should_alert_on_is_matched_through_lookalike_of(tiny):
    text = MANIFEST.replace(
        'expect = "no_alert"',
        'expect = "alert"\nlookalike_of = "WL-0001"\ndecision = "false_match"',
    )
    (tiny / "scenario.toml").write_text(text)
    scenario = load_scenario(tiny)
    report = evaluate(
        scenario, [alert("north", "WL-0001", 2.2), alert("north", "WL-0001", 8.2)], FULL_RUN
    )
    assert report.passed, report.lines()
    assert "as WL-0001; right decision: false match" in report.expected[1].detail


def test_evidence_folded_into_an_earlier_alert_is_reported(tiny):
    # Within the sighting cooldown the console adds a later match to the alert already up:
    # the report says whose frames they were, since no alert of their own was raised.
    (tiny / "scenario.toml").write_text(
        MANIFEST + '\n[[appearance]]\nperson = "WL-0001"\nname = "Alex Marsh"\n'
        'camera = "north"\nvisible_from = 17.0\nvisible_to = 19.5\nexpect = "alert"\n'
    )
    scenario = load_scenario(tiny)
    marsh = alert("north", "WL-0001", 2.2)
    marsh.evidence = [Evidence(55, 2.2, 0.3), Evidence(225, 9.0, 0.39), Evidence(440, 17.6, 0.3)]
    report = evaluate(scenario, [marsh], FULL_RUN)
    assert report.folded == [
        "north-2.2 (WL-0001, raised at 2.20 s) took 1 frame(s) at 9.00-9.00 s from PB-1",
        "north-2.2 (WL-0001, raised at 2.20 s) took 1 frame(s) at 17.60-17.60 s from "
        "WL-0001 Alex Marsh",
    ]
    assert "evidence folded into an earlier alert (no new alert raised)" in report.lines()
    assert report.failures == [
        "missed: WL-0001 Alex Marsh on north (visible 17.00-19.50 s): no alert of its own: "
        "its matches went to north-2.2, raised at 2.20 s (sighting cooldown)"
    ]
