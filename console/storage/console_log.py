"""The console's own comings and goings, in the audit trail: opened, resumed, closed,
signed out; and decisions undone by their officer within the undo window.

Nothing here has a table of its own: each event is an audit entry (hash-chained,
append-only), and the questions asked about them (did the last console close cleanly?
which decisions were undone and not yet decided again?) are read back from it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from console.storage.audit import AuditTrail
from console.storage.database import Database

OPENED = "console opened"
RESUMED = "console resumed"
CLOSED = "console closed"
SIGNED_OUT = "signed out"
UNDONE = "decision undone"
_SESSION_EVENTS = (OPENED, RESUMED, CLOSED, SIGNED_OUT)


class ConsoleLog:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    def record(self, actor: str, action: str, reference: str, details: dict | None = None) -> None:
        with self.db.transaction() as conn:
            self.audit.append(conn, actor, action, {"reference": reference, **(details or {})})

    def last_session_event(self, reference: str) -> tuple[str, dict[str, Any]] | None:
        """The latest opened / resumed / closed / signed-out entry of a deployment: if it
        is not a close or sign-out, the console before this one did not end cleanly."""
        marks = ",".join("?" * len(_SESSION_EVENTS))
        rows = self.db.query(
            f"SELECT action, details FROM audit WHERE action IN ({marks}) "
            "AND json_extract(details, '$.reference') = ? ORDER BY seq DESC LIMIT 1",
            (*_SESSION_EVENTS, reference),
        )
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def undone(self, reference: str) -> dict[str, datetime]:
        """Alerts whose decision was undone, with when (an alert may be undone twice)."""
        rows = self.db.query(
            "SELECT at, details FROM audit WHERE action = ? "
            "AND json_extract(details, '$.reference') = ? ORDER BY seq",
            (UNDONE, reference),
        )
        found: dict[str, datetime] = {}
        for at, details in rows:
            for alert_id in json.loads(details).get("alert_ids", []):
                found[alert_id] = datetime.fromisoformat(at)
        return found
