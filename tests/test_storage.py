"""The record on disk: decisions are durable, final and attributed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from console.domain.alerts import Adjudication, Alert, Decision, Evidence
from console.storage import AlreadyDecided, StorageError, Store


def alert(alert_id="north-1", distance=0.4) -> Alert:
    return Alert(
        alert_id,
        "north",
        "WL-1",
        "Ann",
        "wanted",
        distance,
        0.5,
        7.2,
        180,
        (1, 2, 3, 4),
        datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        np.full((40, 30, 3), 200, np.uint8),
        [Evidence(175, 7.0, 0.45), Evidence(180, 7.2, distance)],
    )


def decide(alert_id="north-1", decision=Decision.ENGAGE, officer="PC 123 Smith"):
    return Adjudication(alert_id, decision, officer, datetime(2026, 11, 27, 9, 1, tzinfo=UTC))


def test_decision_is_on_disk_for_a_second_connection(tmp_path):
    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert())
    store.alerts.record_decision(decide())
    other = sqlite3.connect(tmp_path / "console.db")
    row = other.execute("SELECT decision, officer, decided_at FROM decisions").fetchone()
    assert row == ("engage", "PC 123 Smith", "2026-11-27T09:01:00+00:00")
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_second_decision_is_refused_and_the_first_kept(tmp_path):
    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert())
    store.alerts.record_decision(decide())
    with pytest.raises(AlreadyDecided):
        store.alerts.record_decision(decide(decision=Decision.FALSE_MATCH, officer="PC 9 Jones"))
    assert store.alerts.decision_for("north-1").decision == Decision.ENGAGE


def test_recorded_decisions_cannot_be_rewritten_even_in_sql(tmp_path):
    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert())
    store.alerts.record_decision(decide())
    db = sqlite3.connect(tmp_path / "console.db")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.execute("UPDATE decisions SET decision='dismiss'")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        db.execute("DELETE FROM decisions")


def test_decision_for_an_unknown_alert_is_refused(tmp_path):
    store = Store.in_dir(tmp_path)
    with pytest.raises(StorageError, match="not in the record"):
        store.alerts.record_decision(decide("nope"))


def test_alert_updates_in_place_and_keeps_its_crop(tmp_path):
    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert(distance=0.45))
    store.alerts.save("DEP-1", alert(distance=0.30))
    (stored,) = store.alerts.for_deployment("DEP-1")
    assert stored.distance == 0.30 and stored.decision is None
    evidence = (
        sqlite3.connect(tmp_path / "console.db").execute("SELECT evidence FROM alerts").fetchone()
    )
    assert evidence == ("[[175, 7.0, 0.45], [180, 7.2, 0.3]]",)
    crop = (
        sqlite3.connect(tmp_path / "console.db")
        .execute("SELECT crop_jpeg FROM alerts")
        .fetchone()[0]
    )
    assert crop[:2] == b"\xff\xd8"  # a JPEG


def test_a_read_only_database_is_reported(tmp_path):
    store = Store.in_dir(tmp_path)
    store.db.conn.execute("PRAGMA query_only=ON")  # as if the disk had gone read-only
    with pytest.raises(StorageError, match="could not write"):
        store.alerts.save("DEP-1", alert())


def test_an_unopenable_database_is_reported(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot open"):
        Store.in_dir(tmp_path / "file")


def test_expired_alerts_and_their_decisions_are_purged_and_the_purge_audited(tmp_path):
    store = Store.in_dir(tmp_path)
    old, recent = alert("old-1"), alert("recent-1")
    old.raised_at = datetime.now(UTC) - timedelta(days=40)
    recent.raised_at = datetime.now(UTC) - timedelta(days=2)
    for a in (old, recent):
        store.alerts.save("DEP-1", a)
        store.alerts.record_decision(decide(a.alert_id))
    db = sqlite3.connect(tmp_path / "console.db")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        db.execute("DELETE FROM decisions WHERE alert_id='recent-1'")  # not yet expired
    db.rollback()
    db.close()
    assert store.alerts.purge_expired(datetime.now(UTC)) == 1
    assert [a.alert_id for a in store.alerts.for_deployment("DEP-1")] == ["recent-1"]
    assert store.alerts.decision_for("old-1") is None
    purge = store.audit.entries()[-1]
    assert purge.action == "expired alerts purged" and purge.details["alerts"] == 1
    assert store.audit.verify().intact


def test_retention_period_is_configurable(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    a = alert("a-1")
    a.raised_at = datetime.now(UTC) - timedelta(days=2)
    store.alerts.save("DEP-1", a)
    assert store.alerts.purge_expired(datetime.now(UTC)) == 1


def test_outcomes_follow_engagements_only_and_are_final(tmp_path):
    from console.domain.alerts import Correction, Outcome, OutcomeReport

    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert("a-1"))
    store.alerts.save("DEP-1", alert("a-2"))
    store.alerts.record_decision(decide("a-1", Decision.ENGAGE))
    store.alerts.record_decision(decide("a-2", Decision.FALSE_MATCH))
    at = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    with pytest.raises(StorageError, match="not engaged"):
        store.alerts.record_outcome(OutcomeReport("a-2", Outcome.ARRESTED, "PC 1", at))
    store.alerts.record_outcome(OutcomeReport("a-1", Outcome.ARRESTED, "PC 1", at, "custody"))
    with pytest.raises(AlreadyDecided):
        store.alerts.record_outcome(OutcomeReport("a-1", Outcome.NOT_LOCATED, "PC 2", at))
    assert store.alerts.outcome_for("a-1").outcome == Outcome.ARRESTED
    store.alerts.record_correction(Correction("a-2", Decision.DISMISS, "Sgt 2", at, "misclick"))
    assert store.alerts.decision_for("a-2").decision == Decision.FALSE_MATCH  # never overwritten
    assert [e.action for e in store.audit.entries()][-2:] == [
        "outcome recorded",
        "decision corrected",
    ]


def test_an_alert_corrected_to_engage_can_get_its_outcome(tmp_path):
    from console.domain.alerts import Correction, Outcome, OutcomeReport

    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert("a-1"))
    store.alerts.record_decision(decide("a-1", Decision.FALSE_MATCH))
    at = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    with pytest.raises(StorageError, match="not engaged"):
        store.alerts.record_outcome(OutcomeReport("a-1", Outcome.ARRESTED, "PC 1", at))
    store.alerts.record_correction(Correction("a-1", Decision.ENGAGE, "Sgt 2", at, "misread"))
    store.alerts.record_outcome(OutcomeReport("a-1", Outcome.ARRESTED, "PC 1", at))
    assert store.alerts.outcome_for("a-1").outcome == Outcome.ARRESTED
