"""Deployment records and evaluations: every figure from known decisions."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from console.domain.alerts import (
    Adjudication,
    Alert,
    Correction,
    Decision,
    Evidence,
    Outcome,
    OutcomeReport,
)
from console.domain.deployments import Deployment, DeploymentState
from console.reports.evaluation import evaluate
from console.reports.export import (
    evaluation_csv,
    evaluation_dict,
    record_csv,
    record_dict,
    record_text,
)
from console.reports.figures import AlertClass, figure_rows
from console.reports.record import KEPT, ReportError, deployment_record, keep_counts
from console.reports.series import alerts_over_time, alerts_per_camera
from console.storage import Store
from tests.conftest import REPO

DAY = datetime(2026, 11, 20, tzinfo=UTC)
E, D, F = Decision.ENGAGE, Decision.DISMISS, Decision.FALSE_MATCH
ARRESTED, ADVICE, NOT_LOCATED, CONFIRMED_FALSE = (
    Outcome.ARRESTED,
    Outcome.ADVICE,
    Outcome.NOT_LOCATED,
    Outcome.CONFIRMED_FALSE,
)


def at(hm: str, day: datetime = DAY) -> datetime:
    h, m, *s = (int(x) for x in hm.split(":"))
    return day.replace(hour=h, minute=m, second=s[0] if s else 0)


# alert id, camera, raised at, decision, seconds to decide, outcome, outcome at,
# corrections [(decision, at)]
SCRIPT = [
    ("a1", "north", "09:10", E, 30, ARRESTED, "09:30", []),
    ("a2", "north", "09:40", E, 45, ADVICE, "09:55", []),
    ("a3", "south", "10:05", E, 60, NOT_LOCATED, "10:15", []),
    ("a4", "south", "10:20", E, 20, CONFIRMED_FALSE, "10:45", []),
    ("a5", "north", "11:00", F, 15, None, None, []),
    ("a6", "south", "11:30", D, 90, None, None, []),
    # rejected, then corrected to Engage on review: engaged, awaiting an outcome
    ("a7", "north", "12:00", F, 40, None, None, [(E, "12:30")]),
    # engaged, corrected away and back again: the latest correction counts
    ("a8", "south", "12:15", E, 25, ARRESTED, "12:45", [(F, "12:20"), (E, "12:25")]),
    # engaged, confirmed false on the ground, then corrected to false match: one false
    # alert, and its outcome set aside (not counted twice)
    ("a9", "north", "12:50", E, 35, CONFIRMED_FALSE, "13:05", [(F, "13:10")]),
    ("a10", "south", "12:55", None, None, None, None, []),
]


def make_alert(alert_id: str, camera: str, raised_at: datetime) -> Alert:
    return Alert(
        alert_id,
        camera,
        f"WL-{alert_id}",
        f"Subject {alert_id}",
        "wanted by the courts",
        0.38,
        0.4,
        12.0,
        300,
        (1, 2, 3, 4),
        raised_at,
        np.full((40, 30, 3), 200, np.uint8),
        [Evidence(295, 11.8, 0.39), Evidence(300, 12.0, 0.38)],
    )


def build_deployment(
    store: Store,
    reference: str = "CR-TEST-01",
    day: datetime = DAY,
    script: list = SCRIPT,
    site: str = "Croydon, North End",
    faces: tuple[int, int] = (12_000, 8_000),
    hours_live: float = 4.0,
    subjects: int = 412,
) -> Deployment:
    """A concluded deployment, 09:00-13:00, two cameras, with the scripted alerts."""
    d = Deployment(
        reference=reference,
        site=site,
        cameras=("north", "south"),
        authorised_by="J. Hart",
        authorised_rank="Superintendent",
        planned_start=at("08:30", day),
        planned_end=at("16:30", day),
        threshold=0.4,
    )
    store.deployments.create(d, "PC 1 Ward")
    store.audit.record(
        "PC 1 Ward",
        "watchlist imported",
        {"reference": reference, "subjects": subjects + 5, "content_sha256": "first"},
    )
    store.audit.record(  # re-imported before the start: this one is used
        "PC 1 Ward",
        "watchlist imported",
        {"reference": reference, "subjects": subjects, "content_sha256": "second"},
    )
    d = replace(d, state=DeploymentState.ACTIVE, started_at=at("09:00", day))
    store.deployments.update(d, "PC 1 Ward", "deployment started")
    # Counts arrive in two instalments (e.g. a restart); live seconds per camera are the
    # session's, so both cameras carry the same live time.
    half = hours_live * 3600 / 2
    for camera, n in zip(("north", "south"), faces, strict=True):
        store.deployments.add_counts(reference, camera, n // 2, 1000, half)
        store.deployments.add_counts(reference, camera, n - n // 2, 1000, half)
    for alert_id, camera, raised, decision, secs, outcome, outcome_at, corrections in script:
        alert_id = f"{reference}-{alert_id}"
        raised_at = at(raised, day)
        store.alerts.save(reference, make_alert(alert_id, camera, raised_at))
        if decision is None:
            continue
        note = "dealt with earlier today" if decision == D else ""
        store.alerts.record_decision(
            Adjudication(
                alert_id, decision, "PC 2 Jones", raised_at + timedelta(seconds=secs), note
            )
        )
        if outcome is not None:
            store.alerts.record_outcome(
                OutcomeReport(alert_id, outcome, "PC 3 Khan", at(outcome_at, day))
            )
        for corrected, when in corrections:
            store.alerts.record_correction(
                Correction(alert_id, corrected, "Sgt 4 Reid", at(when, day), "on review")
            )
    d = replace(d, state=DeploymentState.CONCLUDED, concluded_at=at("13:00", day))
    store.deployments.update(d, "PC 1 Ward", "deployment concluded")
    store.audit.record(
        "PC 1 Ward", "watchlist deleted", {"reference": reference, "subjects_deleted": subjects}
    )
    return d


@pytest.fixture
def store(tmp_path):
    s = Store.in_dir(tmp_path)
    yield s
    s.close()


EXPECTED = {
    "live_minutes": 240.0,
    "camera_minutes": 480.0,
    "watchlist_size": 412,
    "faces_seen": 20_000,
    "alerts": 10,
    "incidents": 10,  # each decided on its own
    "true_alerts": 6,  # a1 a2 a3 a7 a8 engaged, a6 dismissed
    "false_alerts": 2,  # a5, a9 (corrected)
    "confirmed_false_alerts": 1,  # a4
    "undecided": 1,  # a10
    "engagements": 6,  # a1 a2 a3 a4 a7 a8
    "dismissals": 1,
    "arrests": 2,  # a1, a8
    "advice": 1,
    "not_located": 1,
    "awaiting_outcome": 1,  # a7
    "outcomes_set_aside": 1,  # a9
    "corrected": 3,  # a7 a8 a9
    "minutes_per_arrest": 120.0,
    "adjudication_median_s": 35.0,  # 15 20 25 30 [35] 40 45 60 90
    "adjudication_worst_s": 90.0,
    "outcome_median_s": 1200.0,  # 600 900 [1200] 1500 1800
    "outcome_worst_s": 1800.0,
    "false_alert_rate": 0.15,  # (2 + 1) * 1000 / 20,000
    # Officers on the ground (docs/field.md): nothing sent to phones, every outcome typed
    # at the desk (a1 a8 arrested, a3 advice, a2 not located, a4 confirmed false).
    "dispatched": 0,
    "dispatch_median_s": None,
    "dispatch_worst_s": None,
    "locate_median_s": None,
    "locate_worst_s": None,
    "outcomes_on_the_ground": 0,
    "outcomes_at_the_desk": 5,
}


def test_every_figure_of_a_deployment_with_known_decisions(store):
    build_deployment(store)
    record = deployment_record(store, "CR-TEST-01")
    values = {row.key: row.value for row in figure_rows(record.figures)}
    assert values == pytest.approx(EXPECTED)
    assert set(values) == set(EXPECTED)  # every figure is checked
    north, south = record.figures.cameras
    assert (north.camera, north.faces_seen, north.live_seconds) == ("north", 12_000, 14_400)
    assert (north.alerts, north.engaged, north.false_alerts) == (5, 3, 2)
    assert (north.dismissed, north.confirmed_false, north.undecided) == (0, 0, 0)
    assert (south.camera, south.faces_seen, south.alerts) == ("south", 8_000, 5)
    assert (south.engaged, south.dismissed, south.confirmed_false, south.undecided) == (2, 1, 1, 1)
    assert south.false_alerts == 0
    classes = {line.alert_id[-3:].lstrip("-"): line.alert_class for line in record.alerts}
    assert classes["a7"] == AlertClass.ENGAGED and classes["a9"] == AlertClass.FALSE
    assert record.complete and record.facts()[3] == (
        "Authorising officer",
        "Superintendent J. Hart",
    )


def test_one_person_stopped_once_is_one_engagement_and_one_arrest(store):
    """Three sightings of one subject decided together (one incident) and arrested once:
    three alerts, but one engagement and one arrest; a second subject's two sightings,
    not located, are one more; a sighting decided on its own stays an incident of its own.
    """
    build_deployment(store, script=[], hours_live=1.0)
    ref = "CR-TEST-01"
    incidents = {"i1": ["i1", "i1b", "i1c"], "i2": ["i2", "i2b"], "solo": ["solo"]}
    outcomes = {"i1": ARRESTED, "i2": NOT_LOCATED, "solo": ARRESTED}
    for n, (incident, alert_ids) in enumerate(incidents.items()):
        for k, alert_id in enumerate(alert_ids):
            raised = at("09:10") + timedelta(minutes=10 * n, seconds=20 * k)
            store.alerts.save(ref, make_alert(alert_id, "north", raised))
        decided = at("09:10") + timedelta(minutes=10 * n + 2)
        for alert_id in alert_ids:
            store.alerts.record_decision(
                Adjudication(
                    alert_id, E, "PC 2 Jones", decided, incident="" if n == 2 else incident
                )
            )
            store.alerts.record_outcome(
                OutcomeReport(alert_id, outcomes[incident], "PC 3 Khan", decided)
            )
    f = deployment_record(store, ref).figures
    assert (f.alerts, f.incidents, f.engagements) == (6, 3, 3)
    assert (f.arrests, f.not_located, f.awaiting_outcome) == (2, 1, 0)
    assert f.true_alerts == 6  # alerts are still counted one by one
    assert f.minutes_per_arrest == pytest.approx(30.0)  # 60 minutes live, 2 arrests


def test_the_displayed_figures_read_as_a_person_expects(store):
    build_deployment(store)
    text = {
        row.key: row.text for row in figure_rows(deployment_record(store, "CR-TEST-01").figures)
    }
    assert text["faces_seen"] == "20,000"
    assert text["adjudication_median_s"] == "35 s"
    assert text["outcome_worst_s"] == "30 min 00 s"
    assert text["false_alert_rate"] == "0.15 (1 in 6,667)"
    assert text["minutes_per_arrest"] == "120"


def test_no_arrest_means_no_minutes_per_arrest_and_no_faces_no_rate(store):
    build_deployment(store, script=SCRIPT[4:6], faces=(0, 0))
    f = deployment_record(store, "CR-TEST-01").figures
    assert f.minutes_per_arrest is None and f.false_alert_rate is None
    assert f.outcome_median_s is None and f.adjudication_median_s == pytest.approx(52.5)


def test_an_unknown_deployment_is_refused(store):
    with pytest.raises(ReportError, match="no deployment 'NOPE'"):
        deployment_record(store, "NOPE")


def test_the_chart_over_time_stacks_alerts_by_decision(store):
    build_deployment(store)
    chart = alerts_over_time(deployment_record(store, "CR-TEST-01"))
    assert chart.title.endswith("(per 15 min)")  # 09:00-13:00 in at most 16 bars
    assert len(chart.categories) == 16
    assert sum(chart.totals) == 10
    by_key = {s.key: s.values for s in chart.series}
    assert by_key["engaged"][0] == 1  # a1 at 09:10 in the first bar
    assert by_key["false"][15] == 1 and by_key["undecided"][15] == 1  # a9, a10 at 12:45-13:00
    cams = alerts_per_camera(deployment_record(store, "CR-TEST-01"))
    assert cams.categories == ("north", "south") and cams.totals == (5.0, 5.0)


def purge(store: Store) -> int:
    """The retention purge, as the console runs it (the database checks the real clock)."""
    return store.alerts.purge_expired(datetime.now(UTC))


def test_figures_survive_the_retention_purge_as_counts_only(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    build_deployment(store)
    before = deployment_record(store, "CR-TEST-01")  # keeps its figures
    kept = [e for e in store.audit.entries() if e.action == KEPT]
    assert len(kept) == 1
    # Nothing identifying in what is kept: no alert id, subject, name or time of day.
    blob = json.dumps(kept[0].details)
    assert "WL-" not in blob and "Subject" not in blob and "a1" not in blob and "09:" not in blob
    deployment_record(store, "CR-TEST-01")  # unchanged figures are not kept twice
    assert sum(e.action == KEPT for e in store.audit.entries()) == 1

    assert purge(store) == 10
    after = deployment_record(store, "CR-TEST-01")
    assert after.figures == before.figures
    assert after.alerts == () and after.purged_alerts == 10 and not after.complete
    assert any("deleted under the retention rules" in n for n in after.notes)
    assert "CR-TEST-01-a1" not in json.dumps(record_dict(after))
    chart = alerts_over_time(after)
    assert chart.is_empty and "10 alerts deleted" in chart.note
    assert alerts_per_camera(after).totals == (5.0, 5.0)  # per camera counts are kept
    assert store.audit.verify().intact


def test_keep_counts_before_a_purge_keeps_a_record_nobody_opened(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    build_deployment(store)
    assert keep_counts(store) == 1
    assert keep_counts(store) == 0
    assert purge(store) == 10
    assert deployment_record(store, "CR-TEST-01").figures.arrests == 2


def test_the_record_is_recomputed_and_kept_again_when_a_decision_follows(store):
    build_deployment(store)
    assert deployment_record(store, "CR-TEST-01").figures.undecided == 1
    store.alerts.record_decision(Adjudication("CR-TEST-01-a10", F, "PC 2 Jones", at("13:20")))
    f = deployment_record(store, "CR-TEST-01").figures
    assert (f.undecided, f.false_alerts, f.adjudication_worst_s) == (0, 3, 25 * 60)
    assert sum(e.action == KEPT for e in store.audit.entries()) == 2


def test_exports_carry_the_figures_and_no_names(store):
    build_deployment(store)
    record = deployment_record(store, "CR-TEST-01")
    rows = list(csv.DictReader(io.StringIO(record_csv(record))))
    value = {(r["scope"], r["figure"]): r["value"] for r in rows}
    assert value[("deployment", "arrests")] == "2"
    assert value[("deployment", "false_alert_rate")] == "0.15"
    assert value[("camera south", "faces_seen")] == "8000"
    assert value[("deployment", "watchlist_size")] == "412"
    data = record_dict(record)
    assert data["figures"]["outcome_median_s"] == 1200.0
    assert len(data["alerts"]) == 10 and data["alerts"][0]["class"] == "engaged"
    everything = record_csv(record) + json.dumps(data) + record_text(record)
    assert "Subject a1" not in everything and "WL-" not in everything
    assert "PC 2 Jones" not in everything and "dealt with earlier" not in everything


def test_the_evaluation_sums_two_deployments(store):
    build_deployment(store)
    second_day = DAY + timedelta(days=3)
    build_deployment(
        store,
        "CR-TEST-02",
        second_day,
        SCRIPT[:3] + SCRIPT[4:5],  # arrest, advice, not located, false alert
        faces=(3_000, 1_000),
        hours_live=2.0,
        subjects=300,
    )
    build_deployment(store, "OTHER-01", second_day, SCRIPT[:1], site="Cardiff, Queen St")
    ev = evaluate(store, site="croydon")
    assert [r.reference for r in ev.records] == ["CR-TEST-01", "CR-TEST-02"]
    t = ev.total
    assert t.alerts == 14 and t.true_alerts == 9 and t.false_alerts == 3
    assert t.confirmed_false_alerts == 1 and t.undecided == 1 and t.engagements == 9
    assert (t.arrests, t.advice, t.not_located) == (3, 2, 2)
    assert t.faces_seen == 24_000 and t.live_minutes == pytest.approx(360)
    # Watchlists are not summed: the same subjects may be on both (#28).
    assert t.camera_minutes == pytest.approx(720) and t.watchlist_size is None
    assert t.corrected == 3 and t.awaiting_outcome == 1 and t.outcomes_set_aside == 1
    assert t.minutes_per_arrest == pytest.approx(120)
    assert t.false_alert_rate == pytest.approx(4 * 1000 / 24_000)
    # pooled: 9 from the first, 30 45 60 15 from the second
    assert t.adjudication_median_s == pytest.approx(35) and t.adjudication_worst_s == 90
    # pooled: 600 900 1200 1500 1800 and 1200 900 600
    assert t.outcome_median_s == pytest.approx(1050) and t.outcome_worst_s == 1800
    assert t.cameras == ()
    h = ev.headline
    assert (h.deployments, h.arrests) == (2, 3)
    assert h.arrests_per_deployment == pytest.approx(1.5)
    assert h.minutes_per_arrest == pytest.approx(120)
    assert h.false_alert_rate == pytest.approx(4000 / 24_000)


def test_the_evaluation_filters_by_period_and_exports(store):
    build_deployment(store)
    build_deployment(store, "CR-TEST-02", DAY + timedelta(days=3), SCRIPT[:1])
    only_second = evaluate(store, since=date(2026, 11, 21))
    assert [r.reference for r in only_second.records] == ["CR-TEST-02"]
    only_first = evaluate(store, until=date(2026, 11, 20))
    assert [r.reference for r in only_first.records] == ["CR-TEST-01"]
    both = evaluate(store)
    rows = list(csv.DictReader(io.StringIO(evaluation_csv(both))))
    assert [r["reference"] for r in rows] == ["CR-TEST-01", "CR-TEST-02", "TOTAL"]
    assert rows[-1]["arrests"] == "3" and rows[-1]["alerts"] == "11"
    data = evaluation_dict(both)
    assert data["headline"]["deployments"] == 2 and data["total"]["arrests"] == 3


def test_after_a_purge_the_pooled_median_is_unknown_but_counts_still_add(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    build_deployment(store)
    keep_counts(store)
    assert purge(store) == 10
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    build_deployment(store, "CR-TEST-02", today, SCRIPT[:1])  # not expired yet
    ev = evaluate(store)
    assert ev.total.arrests == 3 and ev.total.alerts == 11
    assert ev.total.adjudication_median_s is None and ev.total.adjudication_worst_s == 90
    assert not ev.complete


CLI = """
import argparse, sys
from console.reports import cli
parser = argparse.ArgumentParser(prog="python -m console")
cli.add_arguments(parser.add_subparsers(dest="command", required=True))
sys.exit(cli.run(parser.parse_args(sys.argv[1:])))
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The commands as ``python -m console`` will run them, in a process of their own (a
    PDF starts a Qt application, which must not be the test session's)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, cwd=REPO, env=env
    )


def test_the_report_command_prints_and_writes_the_record(tmp_path):
    store = Store.in_dir(tmp_path / "data")
    build_deployment(store)
    store.close()
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(
        "report", "CR-TEST-01", "--data-dir", str(tmp_path / "data"),
        "--pdf", str(out / "r.pdf"), "--csv", str(out / "r.csv"), "--json", str(out / "r.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Arrests" in done.stdout and "0.15 (1 in 6,667)" in done.stdout
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((out / "r.json").read_text())["figures"]["arrests"] == 2
    assert "false_alert_rate" in (out / "r.csv").read_text()


def test_the_evaluate_command_filters_and_an_unknown_reference_is_an_error(tmp_path):
    store = Store.in_dir(tmp_path)
    build_deployment(store)
    build_deployment(store, "CR-TEST-02", DAY + timedelta(days=3), SCRIPT[:1])
    store.close()
    done = run_cli("evaluate", "--since", "2026-11-21", "--data-dir", str(tmp_path),
                   "--csv", str(tmp_path / "e.csv"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "e.csv").open()))
    assert [r["reference"] for r in rows] == ["CR-TEST-02", "TOTAL"]
    missing = run_cli("report", "NOPE", "--data-dir", str(tmp_path))
    assert missing.returncode == 2 and "no deployment 'NOPE'" in missing.stderr
    bad = run_cli("evaluate", "--since", "27/11/2026", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_the_report_command_finds_the_sample_record_and_creates_no_empty_one(tmp_path):
    """The sample deployment's record is in DATA/sample; reading DATA says so instead of
    making an empty record there and reporting 'no deployment'."""
    store = Store.in_dir(tmp_path / "data" / "sample")
    build_deployment(store)
    store.close()
    missed = run_cli("report", "CR-TEST-01", "--data-dir", str(tmp_path / "data"))
    assert missed.returncode == 2 and "add --sample" in missed.stderr
    assert not (tmp_path / "data" / "console.db").exists()
    found = run_cli("report", "CR-TEST-01", "--data-dir", str(tmp_path / "data"), "--sample")
    assert found.returncode == 0, found.stderr
    assert "CR-TEST-01" in found.stdout
