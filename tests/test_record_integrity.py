"""The record cannot be quietly rewritten: every row that matters is bound into the keyed
audit chain, `audit verify` checks the tables against the chain both ways, the database
refuses changes to alerts and decisions, and the data directory is private.

Each attack is what a local user with the files (not the console) could do: open
console.db with sqlite3, drop a trigger, edit, and put the trigger back."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from console.domain.alerts import Adjudication, Alert, Decision, Evidence
from console.domain.deployments import Deployment
from console.domain.officers import Role
from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject
from console.storage import StorageError, Store
from console.storage.audit import HEAD_NAME, verify_folder
from console.storage.database import Database, expected_triggers
from console.storage.sealing import SEAL_NAME
from console.storage.training import TrainingRecords

NOW = datetime.now(UTC)


def make_alert(alert_id: str = "north-1", raised_at: datetime = NOW) -> Alert:
    return Alert(
        alert_id,
        "north",
        "WL-1",
        "Ann",
        "wanted by the courts",
        0.35,
        0.4,
        7.2,
        180,
        (1, 2, 3, 4),
        raised_at,
        np.full((40, 30, 3), 200, np.uint8),
        [Evidence(175, 7.0, 0.38), Evidence(180, 7.2, 0.35)],
    )


def watchlist(n: int = 2) -> Watchlist:
    subjects = [
        WatchlistSubject(
            WatchlistEntry(i + 1, f"WL-{i}", f"Subject {i}", "wanted by the courts", Path()),
            np.full(128, i / 10, np.float64),
            np.full((30, 20, 3), 100 + i, np.uint8),
            b"\xff\xd8 image %d" % i,
        )
        for i in range(n)
    ]
    return Watchlist(Path("wl"), subjects, NOW)


def recorded(tmp_path) -> Store:
    """A record with an officer, a deployment with a watchlist, alerts and a decision."""
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PC 4821 Ward", Role.SUPERVISOR, "correct horse", by="admin")
    d = Deployment(
        "CR-1", "Croydon", ("north",), "J. Hart", "Superintendent", NOW, NOW + timedelta(hours=8),
        0.4,
    )
    store.deployments.create(d, "PC 1")
    store.deployments.store_watchlist(d, watchlist(), "PC 1")
    store.alerts.save("CR-1", make_alert("north-1"))
    store.alerts.save("CR-1", make_alert("north-2"))
    store.alerts.record_decision(Adjudication("north-1", Decision.ENGAGE, "PC 1", NOW))
    assert store.audit.verify().intact
    return store


def sql(tmp_path, *statements: str, drop: tuple[str, ...] = ()) -> None:
    """Edit console.db as a local user could: drop the named triggers, run the statements,
    then put the triggers back exactly as they were."""
    db = sqlite3.connect(Database.path_in(tmp_path))
    saved = [
        db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        for name in drop
    ]
    for name in drop:
        db.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        db.execute(statement)
    for trigger in saved:
        db.execute(trigger)
    db.commit()
    db.close()


# -- no column of a stored alert or decision changes ------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        "expires_at = '2000-01-01T00:00:00'",  # back-dated: its decision could then be purged
        "subject_name = 'someone else'",
        "raised_at = '2026-01-01T00:00:00+00:00'",
        "camera = 'south'",
    ],
)
def test_the_database_refuses_to_change_a_stored_alert(tmp_path, change):
    recorded(tmp_path).close()
    db = sqlite3.connect(Database.path_in(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.execute(f"UPDATE alerts SET {change} WHERE alert_id = 'north-2'")


def test_a_decided_alert_is_frozen_and_an_alert_is_kept_until_it_expires(tmp_path):
    store = recorded(tmp_path)
    db = sqlite3.connect(Database.path_in(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match="decided alert cannot be changed"):
        db.execute("UPDATE alerts SET distance = 0.1 WHERE alert_id = 'north-1'")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        db.execute("DELETE FROM alerts WHERE alert_id = 'north-2'")
    db.close()
    # The sighting goes on after the decision: the record keeps what the officer saw.
    later = make_alert("north-1")
    later.distance = 0.2
    store.alerts.save("CR-1", later)
    (row,) = store.db.query("SELECT distance FROM alerts WHERE alert_id = 'north-1'")
    assert row == (0.35,)
    assert store.audit.verify().intact


def test_back_dating_an_expiry_to_replace_a_decision_is_found(tmp_path):
    """The found attack: back-date the alert's expiry (trigger dropped and put back), delete
    its decision, let the console decide it again the other way."""
    recorded(tmp_path).close()
    sql(
        tmp_path,
        "UPDATE alerts SET expires_at = '2000-01-01T00:00:00' WHERE alert_id = 'north-1'",
        "DELETE FROM decisions WHERE alert_id = 'north-1'",
        drop=("alerts_identity_fixed", "alerts_final_once_decided"),
    )
    store = Store.in_dir(tmp_path)  # triggers are back: the console opens it
    assert store.alerts.decision_for("north-1") is None  # pending again
    store.alerts.record_decision(Adjudication("north-1", Decision.FALSE_MATCH, "PC 9", NOW))
    report = store.audit.verify()
    assert not report.intact
    assert report.first_problem == "decisions row 'north-1' was written twice (entries 7 and 8)"
    assert "alerts row 'north-1' differs from audit entry 5" in report.problems


def test_a_decision_edited_with_its_trigger_dropped_is_found(tmp_path):
    recorded(tmp_path).close()
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.execute("DROP TRIGGER decisions_are_final")
    db.execute("UPDATE decisions SET decision = 'false_match' WHERE alert_id = 'north-1'")
    db.commit()
    db.close()
    report = verify_folder(tmp_path)
    assert report.first_problem == "the safeguard trigger decisions_are_final has been removed"
    assert any(p.startswith("decisions row 'north-1' differs") for p in report.problems)
    with pytest.raises(StorageError, match="decisions_are_final"):
        Store.in_dir(tmp_path)  # not silently re-armed (that would hide it from verify)
    # Put back as it was, the edit is still found.
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.executescript(
        "CREATE TRIGGER decisions_are_final BEFORE UPDATE ON decisions\n"
        "BEGIN SELECT RAISE(ABORT, 'a recorded decision cannot be changed'); END;"
    )
    db.close()
    assert verify_folder(tmp_path).first_problem.startswith("decisions row 'north-1' differs")


def test_a_trigger_replaced_by_a_harmless_one_is_found(tmp_path):
    recorded(tmp_path).close()
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.executescript(
        "DROP TRIGGER alerts_kept_until_expiry;"
        "CREATE TRIGGER alerts_kept_until_expiry BEFORE DELETE ON alerts WHEN 0 "
        "BEGIN SELECT RAISE(ABORT, 'x'); END;"
    )
    db.close()
    report = verify_folder(tmp_path)
    assert report.first_problem == "the safeguard trigger alerts_kept_until_expiry has been altered"


@pytest.mark.parametrize(
    ("statements", "drop", "problem"),
    [
        # an officer made an admin
        (["UPDATE officers SET role = 'admin' WHERE username = 'ward'"], (),
         "officers row 'ward' differs from audit entry 2"),
        # an account slipped in without the console
        (["INSERT INTO officers SELECT 'eve', 'Eve', 'admin', password, created_at "
          "FROM officers WHERE username = 'ward'"], (),
         "officers row 'eve' has no audit entry"),
        # a deployment's settings loosened
        (["UPDATE deployments SET threshold = 0.9"], (),
         "deployments row 'CR-1' differs from audit entry"),
        # an alert the officer never saw, and one that vanished
        (["INSERT INTO alerts SELECT 'north-9', deployment, camera, subject_id, subject_name,"
          " category, distance, threshold, video_t, frame, bbox, frames_seen, evidence,"
          " raised_at, expires_at, crop_jpeg, watchlist_photo_jpeg FROM alerts"
          " WHERE alert_id = 'north-2'"], (),
         "alerts row 'north-9' has no audit entry"),
        (["DELETE FROM alerts WHERE alert_id = 'north-2'"], ("alerts_kept_until_expiry",),
         "alerts row 'north-2' (audit entry"),
        # a decision written straight into the table
        (["INSERT INTO decisions VALUES ('north-2', 'dismiss', 'PC 9', '2026-11-27', '')"], (),
         "decisions row 'north-2' has no audit entry"),
        # a watchlist subject swapped after the import
        (["UPDATE watchlist_subjects SET name = 'someone else' WHERE subject_id = 'WL-1'"], (),
         "the watchlist of 'CR-1' differs from audit entry"),
    ],
)
def test_every_row_is_checked_against_the_chain_both_ways(tmp_path, statements, drop, problem):
    recorded(tmp_path).close()
    sql(tmp_path, *statements, drop=drop)
    report = verify_folder(tmp_path)
    assert not report.intact
    assert report.first_problem.startswith(problem), report.problems


def test_the_retention_purge_is_the_one_way_rows_leave(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    store.alerts.save("CR-1", make_alert("old-1", NOW - timedelta(days=3)))
    store.alerts.record_decision(Adjudication("old-1", Decision.ENGAGE, "PC 1", NOW))
    store.alerts.save("CR-1", make_alert("new-1"))
    assert store.alerts.purge_expired(datetime.now(UTC)) == 1
    report = store.audit.verify()
    assert report.intact, report.problems
    purge = store.audit.entries()[-1]
    assert purge.action == "expired alerts purged"


def test_conclusion_deletes_the_watchlist_with_its_audit_entry(tmp_path):
    store = recorded(tmp_path)
    store.deployments.purge_watchlist("CR-1", "PC 1")
    assert store.deployments.watchlist_size("CR-1") == 0
    assert store.audit.verify().intact


# -- files --------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_is_private_and_every_file_in_it_0600(tmp_path):
    """Main created the folder and its files with the umask's modes (0755/0644): biometric
    data and password hashes were readable by every local user."""
    old = os.umask(0o022)
    try:
        folder = tmp_path / "lfr" / "data"
        store = recorded(folder)
        training = TrainingRecords(folder)
        training.start_run("PC 77 Smith", "basic")
        names = {p.name for p in folder.iterdir()}
        assert {"console.db", "console.db-wal", "console.db-shm", SEAL_NAME, HEAD_NAME} <= names
        assert "training.head" in names
        assert "training.db" in names
        assert mode(folder) == 0o700 and mode(folder.parent) == 0o700
        for path in folder.iterdir():
            assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
        training.close()
        store.close()
    finally:
        os.umask(old)


def test_a_record_left_readable_is_made_private_when_opened(tmp_path):
    recorded(tmp_path).close()
    os.chmod(Database.path_in(tmp_path), 0o644)
    Store.in_dir(tmp_path).close()
    assert mode(Database.path_in(tmp_path)) == 0o600


def test_the_schema_declares_the_safeguard_triggers():
    assert {
        "alerts_identity_fixed",
        "alerts_final_once_decided",
        "alerts_kept_until_expiry",
        "decisions_are_final",
        "decisions_kept_until_expiry",
        "outcomes_are_final",
        "corrections_are_final",
        "audit_append_only_update",
        "audit_append_only_delete",
    } <= set(expected_triggers())


# -- the head at conclusion, on the deployment record ---------------------------------------
def test_the_record_prints_the_audit_head_at_conclusion(tmp_path):
    """The anchor a supervisor keeps: printed on the record (its PDF is printed from the
    same HTML), and it verifies the record it came from."""
    from dataclasses import replace

    from console.reports.export import record_csv, record_text
    from console.reports.html import record_html
    from console.reports.record import anchor_text, deployment_record
    from console.storage.audit import Head

    store = recorded(tmp_path)
    d = store.deployments.get("CR-1")
    assert "Audit head at conclusion" not in dict(deployment_record(store, "CR-1").facts())
    d = replace(d, officers_present_confirmed_by="PC 1").start(NOW)
    store.deployments.update(d, "PC 1", "deployment started")
    store.deployments.update(d.conclude(NOW), "PC 1", "deployment concluded")
    concluded = store.audit.last()
    store.deployments.purge_watchlist("CR-1", "PC 1")
    record = deployment_record(store, "CR-1")
    printed = dict(record.facts())["Audit head at conclusion"]
    assert printed == anchor_text(concluded.seq, concluded.mac)
    assert printed in record_html(record, (600, 200))
    assert printed in record_csv(record) and printed in record_text(record)
    assert Head.parse(printed) == concluded
    store.close()
    assert verify_folder(tmp_path, [Head.parse(printed)]).intact
    forged = replace(concluded, mac="0" * 64)
    assert not verify_folder(tmp_path, [forged]).intact
