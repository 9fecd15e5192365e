"""Local officer accounts: adding them, and signing in with throttling and lockout.

Failed sign-ins are counted from the audit trail itself (the "login refused" entries of a
username since its last sign-in), so the throttle cannot be reset by restarting the
console and needs no table an attacker could quietly edit. Unknown usernames are
throttled alike and cost the same scrypt work, so neither the answer nor its timing tells
which usernames exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from console.domain.officers import (
    Officer,
    Role,
    WeakPassword,
    check_password,
    dummy_hash,
    hash_password,
    verify_against_dummy,
    verify_password,
)
from console.storage.audit import AuditTrail
from console.storage.database import Database, StorageError

# Failures allowed before each attempt must wait; the wait doubles with every failure
# after that (1, 2, 4 ... 60 s); after LOCKOUT_AFTER failures the account is locked for
# LOCKOUT, right password or not. Failures older than the lockout period are forgotten.
FREE_ATTEMPTS = 3
MAX_DELAY = timedelta(seconds=60)
LOCKOUT_AFTER = 10
LOCKOUT = timedelta(minutes=15)

REFUSED = "login refused"
LOCKED = "account locked"
LOGGED_IN = "logged in"
WRONG = "wrong password or unknown user"


class LoginFailed(StorageError):
    """Unknown user or wrong password (deliberately not saying which)."""


class LoginThrottled(LoginFailed):
    """Too many recent failures: the next attempt must wait (or the account is locked)."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def delay_after(failures: int) -> timedelta:
    """How long after the latest failure the next attempt must wait."""
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT
    if failures < FREE_ATTEMPTS:
        return timedelta()
    return min(timedelta(seconds=2 ** (failures - FREE_ATTEMPTS)), MAX_DELAY)


class OfficerRecords:
    def __init__(
        self,
        db: Database,
        audit: AuditTrail,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def add(self, username: str, display_name: str, role: Role, password: str, by: str) -> Officer:
        if not username.strip() or username != username.strip():
            raise StorageError("a username may not be empty or start or end with a space")
        try:
            check_password(password, username)
        except WeakPassword as exc:
            raise StorageError(str(exc)) from exc
        stored = hash_password(password)
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO officers VALUES (?,?,?,?,?)",
                    (username, display_name, role.value, stored, datetime.now(UTC).isoformat()),
                )
                self.audit.append(
                    conn,
                    by,
                    "officer added",
                    {"username": username, "role": role.value},
                    rows=[("officers", username)],
                )
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"an account {username!r} already exists") from exc
        return Officer(username, display_name, role)

    def failures(self, username: str, now: datetime) -> tuple[int, datetime | None]:
        """Checked failures of *username* since its last sign-in (within the lockout
        period), and when the latest was."""
        # Attempts refused unchecked (throttled, locked) do not count, nor push real
        # failures out of the window.
        rows = self.db.query(
            "SELECT at, action FROM audit WHERE json_extract(details, '$.username') = ? "
            "AND (action = ? OR (action = ? AND json_extract(details, '$.reason') = ?)) "
            "ORDER BY seq DESC LIMIT ?",
            (username, LOGGED_IN, REFUSED, WRONG, LOCKOUT_AFTER),
        )
        count, latest = 0, None
        for at, action in rows:
            when = datetime.fromisoformat(at)
            if action == LOGGED_IN or now - when > LOCKOUT:
                break
            count += 1
            latest = latest or when
        return count, latest

    def authenticate(self, username: str, password: str) -> Officer:
        now = self.clock()
        dummy_hash()  # made once per process, before any timing could depend on it
        failures, latest = self.failures(username, now)
        if latest is not None and now < latest + delay_after(failures):
            retry_at = latest + delay_after(failures)
            locked = failures >= LOCKOUT_AFTER
            self._refused(username, now, "locked" if locked else "throttled")
            if locked:
                raise LoginThrottled(
                    f"too many failed sign-ins: this account is locked until "
                    f"{retry_at.astimezone(UTC):%H:%M:%S} UTC",
                    retry_at,
                )
            seconds = max(1, round((retry_at - now).total_seconds()))
            raise LoginThrottled(
                f"too many failed sign-ins: wait {seconds} s before trying again", retry_at
            )
        rows = self.db.query(
            "SELECT display_name, role, password FROM officers WHERE username=?", (username,)
        )
        # An unknown username does the same scrypt work as a known one.
        good = verify_password(password, rows[0][2]) if rows else verify_against_dummy(password)
        if not good:
            self._refused(username, now, WRONG)
            if failures + 1 >= LOCKOUT_AFTER:
                until = (now + LOCKOUT).isoformat()
                self._entry("console", LOCKED, {"username": username, "until": until}, now)
            raise LoginFailed("unknown user or wrong password")
        officer = Officer(username, rows[0][0], Role(rows[0][1]))
        self._entry(str(officer), LOGGED_IN, {"username": username}, now)
        return officer

    def _refused(self, username: str, now: datetime, reason: str) -> None:
        self._entry(username or "?", REFUSED, {"username": username, "reason": reason}, now)

    def _entry(self, actor: str, action: str, details: dict, now: datetime) -> None:
        with self.db.transaction() as conn:
            self.audit.append(conn, actor, action, details, at=now)

    def count(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM officers")[0][0]

    def admins(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM officers WHERE role = ?", (Role.ADMIN.value,))[
            0
        ][0]
