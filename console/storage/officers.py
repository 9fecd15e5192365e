"""Local officer accounts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from console.domain.officers import Officer, Role, hash_password, verify_password
from console.storage.audit import AuditTrail
from console.storage.database import Database, StorageError


class LoginFailed(StorageError):
    """Unknown user or wrong password (deliberately not saying which)."""


class OfficerRecords:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    def add(self, username: str, display_name: str, role: Role, password: str, by: str) -> Officer:
        if len(password) < 8:
            raise StorageError("a password needs at least 8 characters")
        stored = hash_password(password)
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO officers VALUES (?,?,?,?,?)",
                    (username, display_name, role.value, stored, datetime.now(UTC).isoformat()),
                )
                self.audit.append(
                    conn, by, "officer added", {"username": username, "role": role.value}
                )
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"an account {username!r} already exists") from exc
        return Officer(username, display_name, role)

    def authenticate(self, username: str, password: str) -> Officer:
        rows = self.db.query(
            "SELECT display_name, role, password FROM officers WHERE username=?", (username,)
        )
        if not rows or not verify_password(password, rows[0][2]):
            self.audit.record(username or "?", "login refused", {})
            raise LoginFailed("unknown user or wrong password")
        officer = Officer(username, rows[0][0], Role(rows[0][1]))
        self.audit.record(str(officer), "logged in", {})
        return officer

    def count(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM officers")[0][0]
