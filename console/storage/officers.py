"""Local officer accounts: adding and managing them, and signing in with throttling.

Throttling is per **source** (where the attempts come from: the desk's sign-in window,
a terminal) and per **account**, and it is a delay, never a lockout: after a few wrong
passwords the next attempt from that source must wait (1, 2, 4 ... at most 60 s after
the latest), and after many from anywhere every attempt on the account waits a little
(at most 10 s). Someone guessing from one place therefore slows their own guessing to a
crawl but cannot keep the account's owner out: the owner, from another source, waits at
most 10 s; even at the same desk, at most a minute. Attempts refused while waiting are
not checked and do not count, so hammering does not lengthen the wait.

Refusals are kept per source and account in ``sign_in_failures`` and summarised in the
audit trail once per burst (a burst ends after 15 quiet minutes, or with a sign-in from
that source): one entry with the count, not one per refusal, so guessing cannot grow the
trail without bound. Unknown usernames are throttled alike and cost the same scrypt
work, so neither the answer nor its timing tells which usernames exist.

An admin lists accounts, disables a leaver's, resets a password and clears an
account's throttle, each with a reason, each audited.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.domain.officers import (
    AccountReasonError,
    Officer,
    Permission,
    Role,
    WeakPassword,
    account_reason,
    check_password,
    dummy_hash,
    hash_password,
    verify_against_dummy,
    verify_password,
)
from console.storage.audit import AuditTrail
from console.storage.database import Database, StorageError

# Wrong passwords from one source before each further attempt from it must wait; the
# wait doubles with each failure after that (1, 2, 4 ... SOURCE_MAX_DELAY).
FREE_ATTEMPTS = 3
SOURCE_MAX_DELAY = timedelta(seconds=60)
# Wrong passwords on one account (all sources) before every attempt on it waits; at most
# ACCOUNT_MAX_DELAY after the latest: what an owner at another desk waits, at worst.
ACCOUNT_FREE_ATTEMPTS = 10
ACCOUNT_MAX_DELAY = timedelta(seconds=10)
# A burst of refusals ends after this long without one; its count is then audited and
# forgotten (the throttle starts afresh).
BURST_GAP = timedelta(minutes=15)
# A burst that goes on is audited (and a new one begun) at least this often: an attack
# under way shows in the trail within the hour, at one entry an hour.
LONGEST_BURST = timedelta(hours=1)
MAX_DELAY = SOURCE_MAX_DELAY  # the longest anyone ever waits

REFUSED = "sign-in refused"  # one entry per burst, with its count
LOGGED_IN = "logged in"
THROTTLE_CLEARED = "sign-in throttle cleared"
DISABLED = "account disabled"
ENABLED = "account enabled"
PASSWORD_RESET = "password reset"
WRONG = "wrong password or unknown user"
DESK = "the desk's sign-in window"  # the source of the window's attempts
MAX_NAME = 200  # what is kept of a typed username


class LoginFailed(StorageError):
    """Unknown user or wrong password (deliberately not saying which)."""


class LoginThrottled(LoginFailed):
    """Too many recent failures: the next attempt must wait (bounded: never a lockout)."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def delay_after(failures: int, free: int = FREE_ATTEMPTS, cap: timedelta = MAX_DELAY) -> timedelta:
    """How long after the latest failure the next attempt must wait."""
    if failures < free:
        return timedelta()
    # The exponent is capped before it is raised: a million failures must not overflow.
    return min(timedelta(seconds=2 ** min(failures - free, 30)), cap)


@dataclass(frozen=True)
class AccountLine:
    """One account as ``officer list`` shows it (never its password hash)."""

    officer: Officer
    created_at: str
    disabled: bool
    status_reason: str  # why it was disabled (or enabled again)
    recent_refusals: int  # in bursts still going on
    sources: int  # how many sources those came from


def _reason(text: str) -> str:
    try:
        return account_reason(text)
    except AccountReasonError as exc:
        raise StorageError(str(exc)) from exc


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


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

    # -- accounts -----------------------------------------------------------------------
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

    def accounts(self, admin: Officer) -> list[AccountLine]:
        """Every account, for an admin: role, when added, disabled or not, and any
        refusals still counting against it."""
        admin.require(Permission.MANAGE_ACCOUNTS)
        self.close_bursts()
        rows = self.db.query(
            """SELECT o.username, o.display_name, o.role, o.created_at,
                      COALESCE(s.disabled, 0), COALESCE(s.reason, ''),
                      (SELECT COALESCE(SUM(refusals), 0) FROM sign_in_failures f
                        WHERE f.username = o.username),
                      (SELECT COUNT(*) FROM sign_in_failures f WHERE f.username = o.username)
               FROM officers o LEFT JOIN officer_status s USING (username)
               ORDER BY o.username"""
        )
        return [
            AccountLine(Officer(u, n, Role(r)), c, bool(d), why, refused, sources)
            for u, n, r, c, d, why, refused, sources in rows
        ]

    def set_disabled(self, admin: Officer, username: str, disabled: bool, reason: str) -> None:
        """Disable a leaver's account (or enable it again): audited with the reason. A
        disabled account cannot sign in; its decisions stay attributed to it."""
        admin.require(Permission.MANAGE_ACCOUNTS)
        reason = _reason(reason)
        self._require_account(username)
        if disabled and username == admin.username:
            raise StorageError("an admin cannot disable their own account")
        if disabled and self._is_admin(username) and self._enabled_admins() <= 1:
            raise StorageError(f"{username} is the last admin who can sign in: add another first")
        now = self.clock()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO officer_status VALUES (?,?,?,?,?)",
                (username, int(disabled), _iso(now), str(admin), reason),
            )
            self.audit.append(
                conn,
                str(admin),
                DISABLED if disabled else ENABLED,
                {"username": username, "reason": reason},
                rows=[("officer_status", username)],
            )

    def reset_password(self, admin: Officer, username: str, password: str, reason: str) -> None:
        """An admin sets a new password (the officer forgot theirs): audited with the
        reason; the account's throttle is cleared with it."""
        admin.require(Permission.MANAGE_ACCOUNTS)
        reason = _reason(reason)
        self._require_account(username)
        try:
            check_password(password, username)
        except WeakPassword as exc:
            raise StorageError(str(exc)) from exc
        stored = hash_password(password)
        self.close_bursts(username=username)
        with self.db.transaction() as conn:
            conn.execute("UPDATE officers SET password=? WHERE username=?", (stored, username))
            conn.execute("DELETE FROM sign_in_failures WHERE username=?", (username,))
            self.audit.append(
                conn,
                str(admin),
                PASSWORD_RESET,
                {"username": username, "reason": reason},
                rows=[("officers", username)],
            )

    def clear_throttle(self, admin: Officer, username: str, reason: str) -> int:
        """An admin lets an account sign in again at once (after a burst of guesses):
        audited with the reason; returns the refusals cleared."""
        admin.require(Permission.MANAGE_ACCOUNTS)
        reason = _reason(reason)
        self._require_account(username)
        cleared = self.db.query(
            "SELECT COALESCE(SUM(refusals), 0) FROM sign_in_failures WHERE username=?",
            (username,),
        )[0][0]
        self.close_bursts(username=username)  # each burst audited with its count
        with self.db.transaction() as conn:
            self.audit.append(
                conn,
                str(admin),
                THROTTLE_CLEARED,
                {"username": username, "reason": reason, "refusals_cleared": cleared},
            )
        return cleared

    def _require_account(self, username: str) -> None:
        if not self.db.query("SELECT 1 FROM officers WHERE username=?", (username,)):
            raise StorageError(f"there is no account {username!r}")

    def _is_admin(self, username: str) -> bool:
        rows = self.db.query("SELECT role FROM officers WHERE username=?", (username,))
        return bool(rows) and rows[0][0] == Role.ADMIN.value

    def _enabled_admins(self) -> int:
        return self.db.query(
            "SELECT COUNT(*) FROM officers o LEFT JOIN officer_status s USING (username) "
            "WHERE o.role = ? AND COALESCE(s.disabled, 0) = 0",
            (Role.ADMIN.value,),
        )[0][0]

    # -- signing in ---------------------------------------------------------------------
    def authenticate(self, username: str, password: str, source: str = DESK) -> Officer:
        """The officer, if the password is right and no wait is due; LoginThrottled (with
        when to try again) or LoginFailed otherwise. *source* says where the attempt
        comes from (the desk's window, a terminal): each is throttled on its own."""
        now = self.clock()
        dummy_hash()  # made once per process, before any timing could depend on it
        name = username[:MAX_NAME]
        self.close_bursts(now)
        retry_at = self._retry_at(name, source)
        if retry_at is not None and now < retry_at:
            self._refused(source, name, now, checked=False)
            seconds = max(1, round((retry_at - now).total_seconds()))
            raise LoginThrottled(
                f"too many failed sign-ins: wait {seconds} s before trying again", retry_at
            )
        rows = self.db.query(
            "SELECT o.display_name, o.role, o.password, COALESCE(s.disabled, 0) "
            "FROM officers o LEFT JOIN officer_status s USING (username) WHERE o.username=?",
            (username,),
        )
        # An unknown username does the same scrypt work as a known one.
        good = verify_password(password, rows[0][2]) if rows else verify_against_dummy(password)
        if not good or rows[0][3]:
            # A disabled account answers like a wrong password: a leaver's username is
            # not confirmed to whoever tries it.
            self._refused(source, name, now, checked=True)
            raise LoginFailed("unknown user or wrong password")
        officer = Officer(username, rows[0][0], Role(rows[0][1]))
        self.close_bursts(now, username=name, source=source, ended="signed in")
        with self.db.transaction() as conn:
            self.audit.append(
                conn, str(officer), LOGGED_IN, {"username": username, "source": source}, at=now
            )
        return officer

    def _retry_at(self, username: str, source: str) -> datetime | None:
        """When the next attempt may be checked: the later of the source's wait and the
        account's (each bounded)."""
        rows = self.db.query(
            "SELECT source, failures, last_failure_at FROM sign_in_failures "
            "WHERE username=? AND last_failure_at IS NOT NULL",
            (username,),
        )
        waits = []
        total, latest = 0, None
        for where, failures, last in rows:
            when = datetime.fromisoformat(last)
            total += failures
            latest = max(latest or when, when)
            if where == source:
                waits.append(when + delay_after(failures))
        if latest is not None:
            waits.append(latest + delay_after(total, ACCOUNT_FREE_ATTEMPTS, ACCOUNT_MAX_DELAY))
        return max(waits) if waits else None

    def failures(self, username: str, source: str = DESK) -> int:
        """Wrong passwords counting against *username* from *source* (this burst)."""
        rows = self.db.query(
            "SELECT failures FROM sign_in_failures WHERE username=? AND source=?",
            (username, source),
        )
        return rows[0][0] if rows else 0

    def _refused(self, source: str, username: str, now: datetime, checked: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                """INSERT INTO sign_in_failures
                       (source, username, failures, refusals, first_at, last_failure_at, last_at)
                   VALUES (?,?,?,1,?,?,?)
                   ON CONFLICT(source, username) DO UPDATE SET
                     failures = failures + excluded.failures,
                     refusals = refusals + 1,
                     last_failure_at = COALESCE(excluded.last_failure_at, last_failure_at),
                     last_at = excluded.last_at""",
                (source, username, int(checked), _iso(now), _iso(now) if checked else None,
                 _iso(now)),
            )

    def close_bursts(
        self,
        now: datetime | None = None,
        *,
        username: str | None = None,
        source: str | None = None,
        ended: str = "quiet",
    ) -> int:
        """Audit bursts of refusals, one entry each with its count: those quiet for
        BURST_GAP (then forgotten), those going on for LONGEST_BURST (audited so far; the
        throttle keeps counting), or (with *username*, and *source*) those now."""
        now = now or self.clock()
        quiet = _iso(now - BURST_GAP)
        if username is None:
            where = "last_at <= ? OR first_at <= ?"
            params: tuple[str, ...] = (quiet, _iso(now - LONGEST_BURST))
        elif source is None:
            where, params = "username = ?", (username,)  # an admin acts on the account
            ended = "cleared by an admin"
        else:
            where, params = "username = ? AND source = ?", (username, source)
        with self.db.transaction() as conn:
            bursts = conn.execute(
                "SELECT source, username, failures, refusals, first_at, last_at "
                f"FROM sign_in_failures WHERE {where}",
                params,
            ).fetchall()
            for where_from, who, failures, refusals, first, last in bursts:
                over = username is not None or last <= quiet
                self.audit.append(
                    conn,
                    who or "?",
                    REFUSED,
                    {
                        "username": who,
                        "source": where_from,
                        "refusals": refusals,
                        "wrong_passwords": failures,
                        "first": first,
                        "last": last,
                        "ended": ended if over else "still going on",
                    },
                    at=now,
                )
                if over:
                    conn.execute(
                        "DELETE FROM sign_in_failures WHERE source=? AND username=?",
                        (where_from, who),
                    )
                else:  # reported so far; its wait still stands
                    conn.execute(
                        "UPDATE sign_in_failures SET refusals=0, first_at=? "
                        "WHERE source=? AND username=?",
                        (_iso(now), where_from, who),
                    )
        return len(bursts)

    def count(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM officers")[0][0]

    def admins(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM officers WHERE role = ?", (Role.ADMIN.value,))[
            0
        ][0]
