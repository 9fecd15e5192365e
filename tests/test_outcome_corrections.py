"""Outcome corrections in the record: final like the other corrections, the original
stays, an outcome must exist first, audited with a digest of the reason, purged with
their alert at the end of its retention."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from console.domain.alerts import Adjudication, Alert, Decision, Outcome, OutcomeReport
from console.storage import StorageError, Store
from console.storage.outcome_corrections import (
    OUTCOME_CORRECTED,
    OutcomeCorrection,
    OutcomeCorrections,
)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def alert(alert_id: str, raised: datetime = T0) -> Alert:
    return Alert(alert_id, "north", "WL-0001", "Alex Marsh", "wanted by the courts", 0.3, 0.4,
                 1.0, 25, (0, 10, 10, 0), raised)


def engaged(store: Store, alert_id: str, outcome: Outcome | None = Outcome.CONFIRMED_FALSE,
            raised: datetime = T0) -> None:
    store.alerts.save("DEP-1", alert(alert_id, raised))
    store.alerts.record_decision(Adjudication(alert_id, Decision.ENGAGE, "PC A", raised))
    if outcome is not None:
        store.alerts.record_outcome(OutcomeReport(alert_id, outcome, "PC A", raised))


def test_an_outcome_is_corrected_with_a_reason_and_the_original_stays(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=31))
    engaged(store, "a1")
    records = OutcomeCorrections(store.db, store.audit)
    fix = OutcomeCorrection("a1", Outcome.ARRESTED, "Sgt B", T0 + timedelta(minutes=3),
                            "4 keyed by mistake")
    records.record(fix, Outcome.CONFIRMED_FALSE)
    assert records.in_force(["a1"]) == {"a1": Outcome.ARRESTED}
    assert store.alerts.outcome_for("a1").outcome == Outcome.CONFIRMED_FALSE
    (entry,) = [e for e in store.audit.entries() if e.action == OUTCOME_CORRECTED]
    assert entry.actor == "Sgt B" and entry.details["was"] == "confirmed_false"
    assert "4 keyed" not in str(entry.details) and entry.details["reason_sha256"]
    assert store.audit.verify().intact
    # A second correction follows the first; the history keeps both, in order.
    records.record(OutcomeCorrection("a1", Outcome.ADVICE, "Sgt B", T0 + timedelta(minutes=4),
                                     "advice, not an arrest"), Outcome.ARRESTED)
    assert [c.outcome for c in records.history(["a1"])["a1"]] == [Outcome.ARRESTED, Outcome.ADVICE]
    # A correction without a reason, or of an outcome never recorded, is refused.
    with pytest.raises(StorageError, match="reason"):
        records.record(OutcomeCorrection("a1", Outcome.ARRESTED, "Sgt B", T0, " "))
    engaged(store, "a2", outcome=None)
    with pytest.raises(StorageError, match="only a recorded outcome"):
        records.record(OutcomeCorrection("a2", Outcome.ARRESTED, "Sgt B", T0, "why"))
    store.close()


def test_a_recorded_outcome_correction_cannot_be_changed_or_deleted(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=31))
    engaged(store, "a1", raised=datetime.now(UTC))
    OutcomeCorrections(store.db, store.audit).record(
        OutcomeCorrection("a1", Outcome.ARRESTED, "Sgt B", datetime.now(UTC), "slip")
    )
    store.close()
    db = sqlite3.connect(tmp_path / "console.db")
    for sql in (
        "UPDATE outcome_corrections SET outcome = 'advice'",
        "DELETE FROM outcome_corrections",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="cannot be"):
            db.execute(sql)
    db.close()


def test_the_retention_purge_takes_outcome_corrections_with_their_alert(tmp_path):
    store = Store.in_dir(tmp_path, retention=timedelta(days=1))
    old = datetime.now(UTC) - timedelta(days=3)
    engaged(store, "old", raised=old)
    OutcomeCorrections(store.db, store.audit).record(
        OutcomeCorrection("old", Outcome.ARRESTED, "Sgt B", old, "slip")
    )
    assert store.alerts.purge_expired(datetime.now(UTC)) == 1
    assert OutcomeCorrections(store.db, store.audit).history(["old"]) == {}
    store.close()


def test_the_published_figures_count_the_outcome_in_force(tmp_path):
    from console.reports.record import alert_lines

    store = Store.in_dir(tmp_path, retention=timedelta(days=31))
    engaged(store, "a1")  # "4", confirmed false, keyed for an arrest
    engaged(store, "a2", outcome=Outcome.ADVICE)
    OutcomeCorrections(store.db, store.audit).record(
        OutcomeCorrection("a1", Outcome.ARRESTED, "Sgt B", T0, "4 keyed by mistake"),
        Outcome.CONFIRMED_FALSE,
    )
    lines = {line.alert_id: line for line in alert_lines(store, "DEP-1")}
    assert lines["a1"].counted_outcome == Outcome.ARRESTED
    assert lines["a1"].outcome == Outcome.CONFIRMED_FALSE  # the original stays
    assert lines["a2"].counted_outcome == Outcome.ADVICE
    store.close()


def test_a_removed_outcome_correction_safeguard_stops_the_record_opening(tmp_path):
    Store.in_dir(tmp_path).close()
    db = sqlite3.connect(tmp_path / "console.db")
    db.execute("DROP TRIGGER outcome_corrections_are_final")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="outcome_corrections_are_final"):
        Store.in_dir(tmp_path)
