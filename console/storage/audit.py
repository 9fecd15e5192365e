"""The audit trail: append-only, each entry chained to the one before by a hash.

Entry n stores ``hash = sha256(prev_hash | seq | at | actor | action | details)``.
Altering, removing or re-ordering any entry breaks the chain from that point on, and
``verify`` names the first entry that no longer fits. The database also refuses
UPDATE and DELETE on the table, so tampering needs deliberate work outside the console.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from console.storage.database import Database

GENESIS = "0" * 64


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, details: str) -> str:
    text = "|".join([prev_hash, str(seq), at, actor, action, details])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditReport:
    entries: int
    first_problem: str | None  # None: the chain is intact

    @property
    def intact(self) -> bool:
        return self.first_problem is None


class AuditTrail:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(
        self,
        conn: sqlite3.Connection,
        actor: str,
        action: str,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Add an entry inside the caller's transaction, so the change and its audit
        entry are written together or not at all."""
        last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        stamp = (at or datetime.now(UTC)).isoformat()
        body = canonical(details or {})
        conn.execute(
            "INSERT INTO audit VALUES (?,?,?,?,?,?,?)",
            (
                seq,
                stamp,
                actor,
                action,
                body,
                prev,
                entry_hash(prev, seq, stamp, actor, action, body),
            ),
        )

    def record(self, actor: str, action: str, details: dict[str, Any] | None = None) -> None:
        """Add an entry in a transaction of its own."""
        with self.db.transaction() as conn:
            self.append(conn, actor, action, details)

    def entries(self) -> list[AuditEntry]:
        rows = self.db.query("SELECT seq, at, actor, action, details FROM audit ORDER BY seq")
        return [AuditEntry(s, at, a, act, json.loads(d)) for s, at, a, act, d in rows]

    def verify(self) -> AuditReport:
        rows = self.db.query(
            "SELECT seq, at, actor, action, details, prev_hash, hash FROM audit ORDER BY seq"
        )
        prev, expected_seq = GENESIS, 1
        for seq, at, actor, action, details, prev_hash, stored in rows:
            if seq != expected_seq:
                return AuditReport(len(rows), f"entry {expected_seq} is missing")
            if prev_hash != prev:
                return AuditReport(len(rows), f"entry {seq} does not follow entry {seq - 1}")
            if entry_hash(prev, seq, at, actor, action, details) != stored:
                return AuditReport(len(rows), f"entry {seq} ({action}) has been altered")
            prev, expected_seq = stored, seq + 1
        return AuditReport(len(rows), None)
