"""Corrections of recorded outcomes: an outcome keyed by mistake ("4", confirmed false, for
an arrest) is followed by a correction with a reason; the original stays.

Its table and triggers are part of the record's schema (console.storage.database), final
like the other corrections (no update; no delete before the alert's retention ends; removed with
its alert by the retention purge), each written with an audit entry in one transaction.
The audit entry keeps a digest of the reason, not the reason (it outlives the alert).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from console.domain.alerts import Correction, Decision, Outcome
from console.storage.audit import AuditTrail
from console.storage.database import Database, StorageError

OUTCOME_CORRECTED = "outcome corrected"


@dataclass(frozen=True)
class OutcomeCorrection:
    alert_id: str
    outcome: Outcome
    officer: str
    corrected_at: datetime
    reason: str


class OutcomeCorrections:
    """The outcome corrections of the record at *db*."""

    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    def record(self, correction: OutcomeCorrection, was: Outcome | None = None) -> None:
        """Follow a recorded outcome with a corrected one, audited; the original stays."""
        c = correction
        if not c.reason.strip():
            raise StorageError("a correction needs a reason")
        details = {
            "alert_id": c.alert_id,
            "outcome": c.outcome.value,
            "was": was.value if was else None,
            "reason_sha256": hashlib.sha256(c.reason.encode()).hexdigest(),
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO outcome_corrections "
                    "(alert_id, outcome, officer, corrected_at, reason) VALUES (?,?,?,?,?)",
                    (c.alert_id, c.outcome.value, c.officer, c.corrected_at.isoformat(), c.reason),
                )
                self.audit.append(conn, c.officer, OUTCOME_CORRECTED, details, at=c.corrected_at)
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"outcome of alert {c.alert_id} not corrected: {exc}") from exc

    def history(self, alert_ids: list[str]) -> dict[str, list[OutcomeCorrection]]:
        """Every correction of each alert's outcome, oldest first (the last is in force)."""
        return _by_alert(self.db, "outcome_corrections", "outcome", alert_ids, Outcome,
                         OutcomeCorrection)

    def in_force(self, alert_ids: list[str]) -> dict[str, Outcome]:
        """The corrected outcome of each alert that has one (others: the original)."""
        return {a: c[-1].outcome for a, c in self.history(alert_ids).items()}


def decision_corrections(db: Database, alert_ids: list[str]) -> dict[str, list[Correction]]:
    """Every correction of each alert's decision, oldest first (the record's own view
    keeps only the latest): the history shows who corrected what, and why."""
    return _by_alert(db, "corrections", "decision", alert_ids, Decision, Correction)


def _by_alert(db: Database, table: str, column: str, alert_ids: list[str], value, make) -> dict:
    """The rows of a corrections table for *alert_ids*, per alert, oldest first."""
    if not alert_ids:
        return {}
    marks = ",".join("?" * len(alert_ids))
    rows = db.query(
        f"SELECT alert_id, {column}, officer, corrected_at, reason FROM {table} "
        f"WHERE alert_id IN ({marks}) ORDER BY seq",
        tuple(alert_ids),
    )
    out: dict[str, list] = {}
    for alert_id, v, officer, at, reason in rows:
        out.setdefault(alert_id, []).append(
            make(alert_id, value(v), officer, datetime.fromisoformat(at), reason)
        )
    return out
