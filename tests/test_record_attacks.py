"""#25: what a report counts is in the chain, and a broken record is never reported as if
it were whole. Each test performs one of the issue's attacks with sqlite3 on the data
folder, as a local user could, and names what main did."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from console.domain.alerts import Decision
from console.reports.export import record_text
from console.reports.integrity import RecordBrokenError
from console.reports.record import checked_record, deployment_record
from console.storage import Store
from console.storage.database import Database, expected_triggers
from console.storage.training import TrainingRecords
from console.storage.verification import verify_folder
from tests.conftest import REPO
from tests.test_reports import build_deployment


def run(*args: str, folder) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", *args, "--data-dir", str(folder)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )


def edit(folder, *statements: str, drop: tuple[str, ...] = ()) -> None:
    """Drop the named triggers, run the statements, put the triggers back as they were."""
    db = sqlite3.connect(Database.path_in(folder))
    for name in drop:
        db.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        db.execute(statement)
    for name in drop:
        db.execute(expected_triggers()[name])
    db.commit()
    db.close()


@pytest.fixture
def concluded(tmp_path):
    store = Store.in_dir(tmp_path)
    build_deployment(store)
    store.close()
    return tmp_path


def test_edited_camera_counts_are_found_and_not_published(concluded):
    """Main: camera_counts edited, a concluded record then read "Minutes live 600 / Faces
    seen 200,000" (the counts were outside the chain)."""
    edit(concluded, "UPDATE camera_counts SET live_seconds = 36000, faces_seen = 100000")
    report = verify_folder(concluded)
    assert report.first_problem.startswith("the camera counts of 'CR-TEST-01' differs from")
    done = run("report", "CR-TEST-01", folder=concluded)
    assert done.returncode == 1 and "failed verification" in done.stderr
    assert "Minutes live" not in done.stdout  # nothing is printed from it
    shown = run("report", "CR-TEST-01", "--even-if-broken", folder=concluded)
    assert shown.returncode == 0
    first = shown.stdout.splitlines()[3]
    assert first.startswith("THIS RECORD FAILED VERIFICATION: the camera counts of")
    assert "200,000" in shown.stdout  # shown as the damaged record holds it, under the banner


def test_a_back_dated_expiry_does_not_let_the_purge_erase_an_engagement(concluded):
    """Main: an alert's expires_at back-dated (triggers dropped) was "purged 1" on the next
    start, verify said intact, and the report showed "Engagements 0"."""
    edit(
        concluded,
        "UPDATE alerts SET expires_at = '2000-01-01T00:00:00' WHERE alert_id = 'CR-TEST-01-a1'",
        drop=("alerts_identity_fixed", "alerts_final_once_decided"),
    )
    store = Store.in_dir(concluded)
    engaged = deployment_record(store, "CR-TEST-01", keep=False).figures.engagements
    assert store.alerts.purge_expired(datetime.now(UTC)) == 0  # the console's next start
    assert store.alerts.decision_for("CR-TEST-01-a1").decision == Decision.ENGAGE
    report = store.audit.verify()
    assert "alerts row 'CR-TEST-01-a1' differs from audit entry" in report.first_problem
    with pytest.raises(RecordBrokenError, match="failed verification"):
        checked_record(store, "CR-TEST-01")
    kept = checked_record(store, "CR-TEST-01", even_if_broken=True)
    assert kept.figures.engagements == engaged and kept.banner
    store.close()


def test_a_purge_entry_forged_with_the_current_key_is_found(concluded):
    """Someone with the current sealing key appends a purge of an alert that has not
    expired: the alert's expiry was sealed with it, long before."""
    store = Store.in_dir(concluded)
    with store.db.transaction() as conn:
        for table in ("outcomes", "decisions", "alerts"):
            for name in expected_triggers():
                if name.startswith(table) and "expiry" in name:
                    conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DELETE FROM outcomes WHERE alert_id = 'CR-TEST-01-a1'")
        conn.execute("DELETE FROM decisions WHERE alert_id = 'CR-TEST-01-a1'")
        conn.execute("DELETE FROM alerts WHERE alert_id = 'CR-TEST-01-a1'")
        store.audit.append(
            conn, "console", "expired alerts purged",
            {"alerts": 1, "before": "2099-01-01T00:00:00"},
            rows=[("alerts", "CR-TEST-01-a1"), ("decisions", "CR-TEST-01-a1"),
                  ("outcomes", "CR-TEST-01-a1")],
        )
        for name, text in expected_triggers().items():
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='trigger' AND name=?", (name,)
            ).fetchone():
                conn.execute(text)
    report = store.audit.verify()
    assert any(
        "purges up to 2099-01-01T00:00:00, after it was sealed" in p
        and "alert 'CR-TEST-01-a1' was purged before its expiry" in p
        for p in report.problems
    ), report.problems
    store.close()


def test_an_inserted_training_run_is_found_and_never_listed(tmp_path):
    """Main: training_runs rows could be inserted freely and showed as scores."""
    from console.domain.training import ScoreSheet

    training = TrainingRecords(tmp_path)
    run_id = training.start_run("PC 77 Smith", "basic")
    sheet = ScoreSheet(correctly_engaged=["WL-1"], decision_times=[4.0])
    training.finish(run_id, sheet)
    assert [r["run_id"] for r in training.runs("basic")] == [run_id]
    training.close()
    db = sqlite3.connect(tmp_path / "training.db")
    db.execute(
        "INSERT INTO training_runs SELECT 'run-forged', 'PC 99 Best', scenario, started_at, "
        "finished_at, score FROM training_runs"
    )
    db.commit()
    db.close()
    training = TrainingRecords(tmp_path)
    assert [r["run_id"] for r in training.runs("basic")] == [run_id]
    training.close()
    report = verify_folder(tmp_path) if (tmp_path / "console.db").exists() else None
    if report is None:
        Store.in_dir(tmp_path).close()  # the record beside it: verify reads both chains
        report = verify_folder(tmp_path)
    assert "training runs: training_runs row 'run-forged' has no audit entry" in report.problems


def test_a_report_on_a_broken_record_refuses_or_says_so_on_every_page(concluded, tmp_path):
    """Main: `report` printed a false-alert rate of 1 in 4 from a record that fails
    verify, with no warning."""
    edit(
        concluded,
        "UPDATE decisions SET decision = 'false_match' WHERE alert_id = 'CR-TEST-01-a2'",
        drop=("decisions_are_final",),
    )
    for command in (["report", "CR-TEST-01"], ["evaluate"]):
        done = run(*command, folder=concluded)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "the record failed verification: decisions row 'CR-TEST-01-a2' differs" in (
            done.stderr
        )
        assert "False alerts" not in done.stdout
    out = tmp_path / "out"
    out.mkdir()
    shown = run(
        "report", "CR-TEST-01", "--even-if-broken", "--csv", str(out / "r.csv"),
        "--json", str(out / "r.json"), "--pdf", str(out / "r.pdf"), folder=concluded,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("THIS RECORD FAILED VERIFICATION") == 2  # top and bottom
    assert "THIS RECORD FAILED VERIFICATION" in (out / "r.csv").read_text()
    integrity = json.loads((out / "r.json").read_text())["integrity"]
    assert integrity["verified"] is False and integrity["problems"]
    evaluated = run("evaluate", "--even-if-broken", folder=concluded)
    assert evaluated.returncode == 0 and "THIS RECORD FAILED VERIFICATION" in evaluated.stdout


def test_an_intact_record_says_what_was_checked(concluded):
    done = run("report", "CR-TEST-01", folder=concluded)
    assert done.returncode == 0, done.stderr
    assert "The record verified at" in done.stdout
    assert "need the verification key" in done.stdout


def test_the_record_window_refuses_a_broken_record(qtbot, concluded):
    from console.qt.record_view import RecordView

    edit(concluded, "UPDATE camera_counts SET faces_seen = 100000")
    store = Store.in_dir(concluded)
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    view.show()
    assert "failed verification" in view.heading.text()
    assert "the camera counts of 'CR-TEST-01' differs" in view.notes.text()
    assert view.figures.rowCount() == 0 and view.record is None
    store.close()


def test_a_name_shown_in_the_queue_tooltip_is_plain_text(qtbot):
    """#25: HTML in a watchlist name rendered as rich text in the queue's tooltip."""
    from PySide6 import QtGui

    from console.qt.queue_panel import IncidentPanel
    from tests.test_record_integrity import make_alert

    name = '<img src="file:///etc/passwd"><b>Alex</b> Marsh'
    alert = make_alert("north-1", datetime.now(UTC) - timedelta(seconds=5))
    alert.subject_name = name
    panel = IncidentPanel("Croydon")
    qtbot.addWidget(panel)
    panel.show_alert(alert, None)
    item = panel.list.item(0)
    tip = item.toolTip()
    doc = QtGui.QTextDocument()
    if QtGui.Qt.mightBeRichText(tip):  # as QToolTip decides
        doc.setHtml(tip)
    else:
        doc.setPlainText(tip)
    assert doc.toPlainText() == f"{name}, wanted by the courts"


def test_a_report_of_an_active_deployment_says_how_stale_its_counts_may_be(tmp_path):
    from dataclasses import replace

    from console.domain.deployments import Deployment, DeploymentState

    store = Store.in_dir(tmp_path)
    now = datetime.now(UTC)
    d = Deployment("CR-LIVE", "Croydon", ("north",), "J. Hart", "Supt", now,
                   now + timedelta(hours=2), 0.4)
    store.deployments.create(d, "PC 1")
    store.deployments.update(replace(d, state=DeploymentState.ACTIVE, started_at=now), "PC 1",
                             "deployment started")
    store.deployments.add_counts("CR-LIVE", "north", 3, 10, 1.0, "live")  # sealed at once
    store.deployments.add_counts("CR-LIVE", "north", 2, 10, 1.0, "live")  # this epoch: not yet
    record = deployment_record(store, "CR-LIVE", keep=False)
    assert record.figures.faces_seen == 3
    assert store.deployments.unsealed_seconds("CR-LIVE") == 1.0
    assert "up to a minute behind" in record_text(record)
    store.close()
    reopened = Store.in_dir(tmp_path)  # a console killed within the epoch: sealed as found
    assert deployment_record(reopened, "CR-LIVE", keep=False).figures.faces_seen == 5
    assert reopened.audit.entries()[-1].action == "camera counts sealed after a restart"
    assert reopened.audit.verify().intact
    reopened.close()
