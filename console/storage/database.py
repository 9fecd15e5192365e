"""The SQLite file behind the record: connection settings, schema, transactions.

Every write is its own committed transaction in WAL mode with ``synchronous=FULL``, so
once a call returns its data survives a crash or power cut. ``secure_delete`` zeroes
deleted content, so purged watchlist data does not linger in free pages.

The data directory is created 0700 and every file in it 0600: it holds biometric data
and password hashes. Triggers refuse changes to what is final (alerts once raised,
decisions, outcomes, corrections, the audit trail); a file whose triggers were removed is
not opened for writing (the verifier names the missing one).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

SCHEMA = """
CREATE TABLE IF NOT EXISTS officers (
    username     TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    password     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    reference       TEXT PRIMARY KEY,
    site            TEXT NOT NULL,
    cameras         TEXT NOT NULL,              -- JSON list of camera names
    authorised_by   TEXT NOT NULL,
    authorised_rank TEXT NOT NULL,
    planned_start   TEXT NOT NULL,
    planned_end     TEXT NOT NULL,
    threshold       REAL NOT NULL,
    state           TEXT NOT NULL,
    watchlist_created_at TEXT,
    watchlist_size  INTEGER NOT NULL DEFAULT 0,
    officers_present_confirmed_by TEXT,
    started_at      TEXT,
    concluded_at    TEXT
);
CREATE TABLE IF NOT EXISTS watchlist_subjects (
    deployment  TEXT NOT NULL REFERENCES deployments(reference),
    subject_id  TEXT NOT NULL,
    row         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    extra       TEXT NOT NULL,                  -- JSON: provenance, date of birth, notes...
    encoding    BLOB NOT NULL,                  -- 128 float64
    photo_jpeg  BLOB NOT NULL,                  -- the face, for alert cards
    image_jpeg  BLOB NOT NULL,                  -- the whole image
    PRIMARY KEY (deployment, subject_id)
);
-- Beside each subject (issue 24): the second descriptor's template and the enrolment
-- photo's quality. Deleted with the watchlist.
CREATE TABLE IF NOT EXISTS watchlist_seconds (
    deployment  TEXT NOT NULL REFERENCES deployments(reference),
    subject_id  TEXT NOT NULL,
    second      BLOB,                           -- 1,024 float64, or NULL
    quality     TEXT NOT NULL,                  -- JSON: EnrolmentQuality, or {}
    PRIMARY KEY (deployment, subject_id)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id     TEXT PRIMARY KEY,
    deployment   TEXT NOT NULL,
    camera       TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    category     TEXT NOT NULL,
    distance     REAL NOT NULL,
    threshold    REAL NOT NULL,
    video_t      REAL NOT NULL,
    frame        INTEGER NOT NULL,
    bbox         TEXT NOT NULL,
    frames_seen  INTEGER NOT NULL,
    evidence     TEXT NOT NULL,                 -- JSON [[frame, t, distance], ...]
    raised_at    TEXT NOT NULL,
    expires_at   TEXT NOT NULL,                 -- UTC, after which retention purges it
    crop_jpeg    BLOB,
    watchlist_photo_jpeg BLOB                   -- kept with the alert for the record
);
CREATE TABLE IF NOT EXISTS decisions (
    alert_id   TEXT PRIMARY KEY REFERENCES alerts(alert_id),
    decision   TEXT NOT NULL CHECK (decision IN ('engage', 'dismiss', 'false_match')),
    officer    TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
-- An alert's identity, times and expiry are fixed when it is raised; only its evidence
-- (distance, box, frames, crop) improves while it is pending, and nothing once decided.
-- Back-dating the expiry would let its decision be purged before its time.
CREATE TRIGGER IF NOT EXISTS alerts_identity_fixed BEFORE UPDATE ON alerts
WHEN NEW.alert_id IS NOT OLD.alert_id OR NEW.deployment IS NOT OLD.deployment
  OR NEW.camera IS NOT OLD.camera OR NEW.subject_id IS NOT OLD.subject_id
  OR NEW.subject_name IS NOT OLD.subject_name OR NEW.category IS NOT OLD.category
  OR NEW.threshold IS NOT OLD.threshold OR NEW.video_t IS NOT OLD.video_t
  OR NEW.frame IS NOT OLD.frame OR NEW.raised_at IS NOT OLD.raised_at
  OR NEW.expires_at IS NOT OLD.expires_at
  OR NEW.watchlist_photo_jpeg IS NOT OLD.watchlist_photo_jpeg
BEGIN SELECT RAISE(ABORT, 'a recorded alert cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS alerts_final_once_decided BEFORE UPDATE ON alerts
WHEN EXISTS (SELECT 1 FROM decisions WHERE alert_id = OLD.alert_id)
BEGIN SELECT RAISE(ABORT, 'a decided alert cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS alerts_kept_until_expiry BEFORE DELETE ON alerts
WHEN OLD.expires_at > strftime('%Y-%m-%dT%H:%M:%S', 'now')
BEGIN SELECT RAISE(ABORT, 'a recorded alert cannot be deleted'); END;
CREATE TRIGGER IF NOT EXISTS decisions_are_final BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'a recorded decision cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS decisions_kept_until_expiry BEFORE DELETE ON decisions
WHEN (SELECT expires_at FROM alerts WHERE alert_id = OLD.alert_id)
     > strftime('%Y-%m-%dT%H:%M:%S', 'now')
BEGIN SELECT RAISE(ABORT, 'a recorded decision cannot be deleted'); END;
CREATE TABLE IF NOT EXISTS outcomes (
    alert_id    TEXT PRIMARY KEY REFERENCES decisions(alert_id),
    outcome     TEXT NOT NULL
                CHECK (outcome IN ('arrested', 'advice', 'not_located', 'confirmed_false')),
    officer     TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS outcomes_are_final BEFORE UPDATE ON outcomes
BEGIN SELECT RAISE(ABORT, 'a recorded outcome cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS outcomes_kept_until_expiry BEFORE DELETE ON outcomes
WHEN (SELECT expires_at FROM alerts WHERE alert_id = OLD.alert_id)
     > strftime('%Y-%m-%dT%H:%M:%S', 'now')
BEGIN SELECT RAISE(ABORT, 'a recorded outcome cannot be deleted'); END;
-- the decision in force: the latest correction, else the original decision
CREATE TRIGGER IF NOT EXISTS outcomes_need_engagement BEFORE INSERT ON outcomes
WHEN COALESCE(
    (SELECT decision FROM corrections WHERE alert_id = NEW.alert_id ORDER BY seq DESC LIMIT 1),
    (SELECT decision FROM decisions WHERE alert_id = NEW.alert_id)) IS NOT 'engage'
BEGIN SELECT RAISE(ABORT, 'an outcome is recorded only for an engaged alert'); END;
CREATE TABLE IF NOT EXISTS corrections (
    seq          INTEGER PRIMARY KEY,
    alert_id     TEXT NOT NULL REFERENCES decisions(alert_id),
    decision     TEXT NOT NULL CHECK (decision IN ('engage', 'dismiss', 'false_match')),
    officer      TEXT NOT NULL,
    corrected_at TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (length(reason) > 0)
);
CREATE TRIGGER IF NOT EXISTS corrections_are_final BEFORE UPDATE ON corrections
BEGIN SELECT RAISE(ABORT, 'a recorded correction cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS corrections_kept_until_expiry BEFORE DELETE ON corrections
WHEN (SELECT expires_at FROM alerts WHERE alert_id = OLD.alert_id)
     > strftime('%Y-%m-%dT%H:%M:%S', 'now')
BEGIN SELECT RAISE(ABORT, 'a recorded correction cannot be deleted'); END;
CREATE TABLE IF NOT EXISTS site_policy (       -- one row: the safeguards an admin set
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT NOT NULL,                  -- JSON, console.domain.policy.SitePolicy
    set_by      TEXT NOT NULL,
    set_at      TEXT NOT NULL
);
-- What each camera counted (never who): sealed into the chain once an epoch, from the
-- second-by-second counts below (camera_counts_unsealed), which no report reads.
CREATE TABLE IF NOT EXISTS camera_counts (
    deployment      TEXT NOT NULL,
    camera          TEXT NOT NULL,
    faces_seen      INTEGER NOT NULL DEFAULT 0,
    frames_analysed INTEGER NOT NULL DEFAULT 0,
    live_seconds    REAL NOT NULL DEFAULT 0,        -- only while the camera was LIVE
    state           TEXT,                           -- its last state (live, failed, ...)
    failed_at       TEXT,                           -- when it was first seen FAILED
    failure         TEXT,                           -- why
    PRIMARY KEY (deployment, camera)
);
CREATE TABLE IF NOT EXISTS camera_counts_unsealed (
    deployment      TEXT NOT NULL,
    camera          TEXT NOT NULL,
    faces_seen      INTEGER NOT NULL DEFAULT 0,
    frames_analysed INTEGER NOT NULL DEFAULT 0,
    live_seconds    REAL NOT NULL DEFAULT 0,
    state           TEXT,
    failed_at       TEXT,
    failure         TEXT,
    PRIMARY KEY (deployment, camera)
);
-- An account's standing beyond its row: disabled (a leaver), when, by whom, why.
CREATE TABLE IF NOT EXISTS officer_status (
    username    TEXT PRIMARY KEY REFERENCES officers(username),
    disabled    INTEGER NOT NULL DEFAULT 0,
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    reason      TEXT NOT NULL
);
-- Sign-in refusals, per source (where the attempts come from) and account: the throttle's
-- memory, and the burst the audit trail summarises in one entry when it ends.
CREATE TABLE IF NOT EXISTS sign_in_failures (
    source          TEXT NOT NULL,
    username        TEXT NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,     -- wrong passwords (checked) in the burst
    refusals        INTEGER NOT NULL DEFAULT 0,     -- every refusal, throttled ones included
    first_at        TEXT NOT NULL,
    last_failure_at TEXT,
    last_at         TEXT NOT NULL,
    PRIMARY KEY (source, username)
);
CREATE TABLE IF NOT EXISTS training_runs (
    run_id      TEXT PRIMARY KEY,
    trainee     TEXT NOT NULL,
    scenario    TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    score       TEXT                            -- JSON summary and details
);
CREATE TABLE IF NOT EXISTS training_decisions (
    run_id      TEXT NOT NULL REFERENCES training_runs(run_id),
    alert_id    TEXT NOT NULL,
    camera      TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    t           REAL NOT NULL,
    decision    TEXT NOT NULL,
    seconds_to_decide REAL NOT NULL,
    PRIMARY KEY (run_id, alert_id)
);
-- Equality monitoring (#27, console.storage.equality): what the officer recording an
-- engagement's outcome perceived of the person engaged (each may be 'not recorded'),
-- final once written and deleted with the outcome under the retention rules; and each
-- alert's subject's groups as the watchlist gave them (copied when the alert is
-- raised: the watchlist itself is deleted when the deployment concludes).
CREATE TABLE IF NOT EXISTS outcome_equality (
    alert_id       TEXT PRIMARY KEY REFERENCES outcomes(alert_id) ON DELETE CASCADE,
    ethnicity_code TEXT NOT NULL,
    sex            TEXT NOT NULL,
    age_band       TEXT NOT NULL,
    officer        TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS outcome_equality_is_final BEFORE UPDATE ON outcome_equality
BEGIN SELECT RAISE(ABORT, 'recorded equality monitoring cannot be changed'); END;
CREATE TABLE IF NOT EXISTS alert_subject_groups (
    alert_id       TEXT PRIMARY KEY REFERENCES alerts(alert_id) ON DELETE CASCADE,
    ethnicity_code TEXT NOT NULL,
    sex            TEXT NOT NULL,
    age_band       TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS alert_subject_groups_noted AFTER INSERT ON alerts
BEGIN
    INSERT OR IGNORE INTO alert_subject_groups
    SELECT NEW.alert_id,
           COALESCE(json_extract(w.extra, '$.ethnicity_code'), 'not recorded'),
           COALESCE(json_extract(w.extra, '$.sex'), 'not recorded'),
           COALESCE(json_extract(w.extra, '$.age_band'), 'not recorded')
    FROM watchlist_subjects w
    WHERE w.deployment = NEW.deployment AND w.subject_id = NEW.subject_id;
END;
-- Corrections of recorded outcomes (#28, console.storage.outcome_corrections): the
-- original outcome stays; final; deleted with its alert once the retention ends.
CREATE TABLE IF NOT EXISTS outcome_corrections (
    seq          INTEGER PRIMARY KEY,
    alert_id     TEXT NOT NULL REFERENCES alerts(alert_id) ON DELETE CASCADE,
    outcome      TEXT NOT NULL
                 CHECK (outcome IN ('arrested', 'advice', 'not_located', 'confirmed_false')),
    officer      TEXT NOT NULL,
    corrected_at TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (length(reason) > 0)
);
CREATE TRIGGER IF NOT EXISTS outcome_corrections_follow_an_outcome
BEFORE INSERT ON outcome_corrections
WHEN NOT EXISTS (SELECT 1 FROM outcomes WHERE alert_id = NEW.alert_id)
BEGIN SELECT RAISE(ABORT, 'only a recorded outcome can be corrected'); END;
CREATE TRIGGER IF NOT EXISTS outcome_corrections_are_final BEFORE UPDATE ON outcome_corrections
BEGIN SELECT RAISE(ABORT, 'a recorded correction cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS outcome_corrections_kept_until_expiry
BEFORE DELETE ON outcome_corrections
WHEN (SELECT expires_at FROM alerts WHERE alert_id = OLD.alert_id)
     > strftime('%Y-%m-%dT%H:%M:%S', 'now')
BEGIN SELECT RAISE(ABORT, 'a recorded correction cannot be deleted'); END;
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    details   TEXT NOT NULL,                    -- canonical JSON
    bound     TEXT NOT NULL DEFAULT '{}',       -- JSON {table: {key: row digest or null}}
    prev_hash TEXT NOT NULL,                    -- the previous entry's MAC
    hash      TEXT NOT NULL,                    -- its seal, HMAC-SHA256 (see audit.py)
    epoch     INTEGER                           -- the sealing key's epoch; NULL: before sealing
);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class StorageError(Exception):
    """The record could not be written or read; the message is for the officer."""


class AlreadyDecided(StorageError):
    """Another decision was recorded for this alert first."""


DB_NAME = "console.db"
# Bumped when the schema gains a safeguard; an older file is brought up to date once.
# 3: sealing, counts and failed cameras; 4: equality monitoring's tables and triggers (#27);
# 5: outcome corrections (#28)
SCHEMA_VERSION = 5
TRIGGERS_SINCE = 2
# Safeguard triggers that came after TRIGGERS_SINCE, by the version that brought them: a
# file of an earlier version lacks them because it is older, not because of an attack.
TRIGGERS_ADDED = {
    "outcome_equality_is_final": 4,
    "alert_subject_groups_noted": 4,
    "outcome_corrections_follow_an_outcome": 5,
    "outcome_corrections_are_final": 5,
    "outcome_corrections_kept_until_expiry": 5,
}


def make_private_dir(folder: Path) -> Path:
    """Create *folder* (and any missing parents) readable by this user only (0700).

    The record holds biometric data and password hashes. A folder that already exists is
    left as it is (it may be shared, like /tmp); the files the console puts in it are
    0600 whatever the folder.
    """
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for part in reversed(missing):
        part.mkdir(mode=0o700, exist_ok=True)
        os.chmod(part, 0o700)  # mkdir's mode is masked by the umask
    return folder


def private_file(path: Path) -> None:
    """Create *path* empty with 0600 if it is missing, else set 0600 on it."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def expected_triggers() -> dict[str, str]:
    """The safeguard triggers the schema declares, by name, as SQLite stores them."""
    global _EXPECTED_TRIGGERS
    if _EXPECTED_TRIGGERS is None:
        mem = sqlite3.connect(":memory:")
        mem.executescript(SCHEMA)
        _EXPECTED_TRIGGERS = triggers_in(mem)
        mem.close()
    return dict(_EXPECTED_TRIGGERS)


_EXPECTED_TRIGGERS: dict[str, str] | None = None


def triggers_in(conn: sqlite3.Connection) -> dict[str, str]:
    """The triggers in a database, by name, with their SQL (whitespace folded)."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    return {name: " ".join(sql.split()) for name, sql in rows}


def missing_triggers(conn: sqlite3.Connection) -> list[str]:
    """Safeguard triggers that are absent or not as the schema declares them (those the
    file's schema version already had)."""
    present = triggers_in(conn)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return [
        name
        for name, sql in expected_triggers().items()
        if present.get(name) != sql and TRIGGERS_ADDED.get(name, 0) <= version
    ]


def open_existing(path: Path) -> sqlite3.Connection:
    """Open a record that must already exist, for reading it as it is: no file is created
    and the schema is not touched (a removed trigger stays removed, for the verifier).

    On a read-only folder or medium (where SQLite cannot make the shared-memory file a
    WAL database needs) it is read as immutable, provided no writes are left in its WAL:
    otherwise they would be missed, and the message says to verify a writable copy.
    """
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"no record at {path.parent}")
    uri = f"file:{quote(str(path))}"
    try:
        conn = sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=5.0)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error as exc:
        first = exc
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StorageError(
            f"cannot read {path} where it is ({first}): its folder cannot be written and the "
            f"record has writes not yet folded into it ({wal.name}). Copy the whole folder to "
            "a writable place and check the copy"
        )
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the database {path}: {exc}") from exc


class Database:
    """One connection, used under a lock, so any thread may call in turn."""

    @staticmethod
    def path_in(data_dir: Path) -> Path:
        return Path(data_dir) / DB_NAME

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        # Run after the current transaction commits (e.g. writing the audit head outside
        # the database), by name, so a transaction with several entries writes it once.
        self._after_commit: dict[str, Callable[[], None]] = {}
        self._after_rollback: dict[str, Callable[[], None]] = {}
        try:
            make_private_dir(self.path.parent)
            new = not self.path.exists()
            # SQLite gives the -wal and -shm files the database file's permissions.
            private_file(self.path)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.chmod(side, 0o600)
            # A reader elsewhere (the audit verify command) may hold the file briefly.
            self.conn = sqlite3.connect(
                self.path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            for pragma in (
                "journal_mode=WAL",
                "synchronous=FULL",
                "foreign_keys=ON",
                "secure_delete=ON",
            ):
                self.conn.execute(f"PRAGMA {pragma}")
            self._schema(new)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc

    def _schema(self, new: bool) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        # Version 2 brought the triggers there are now: from it on, a missing one was removed.
        if not new and version >= TRIGGERS_SINCE and (gone := missing_triggers(self.conn)):
            # Someone removed a safeguard from the file. Putting it back silently would
            # hide that from `audit verify`; the record is not used until it is checked.
            raise StorageError(
                f"the record's safeguard {gone[0]!r} has been removed or altered: "
                "run `python -m console audit verify` and report it"
            )
        if version < SCHEMA_VERSION and not new:
            for table, column, kind in (
                ("audit", "bound", "TEXT NOT NULL DEFAULT '{}'"),
                ("audit", "epoch", "INTEGER"),
                ("camera_counts", "state", "TEXT"),
                ("camera_counts", "failed_at", "TEXT"),
                ("camera_counts", "failure", "TEXT"),
            ):
                columns = [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]
                if columns and column not in columns:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self.conn.executescript(SCHEMA)
        if version < SCHEMA_VERSION:
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def after_commit(self, name: str, action: Callable[[], None]) -> None:
        """Run *action* once the current transaction has committed (not if it rolls back)."""
        self._after_commit[name] = action

    def after_rollback(self, name: str, action: Callable[[], None]) -> None:
        """Run *action* if the current transaction rolls back (not if it commits)."""
        self._after_rollback[name] = action

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A committed-or-nothing write; sqlite errors become StorageError for the officer.

        IntegrityError passes through unchanged: callers turn it into a domain error.
        """
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"could not write to {self.path}: {exc}") from exc
            self._after_commit.clear()
            self._after_rollback.clear()
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                self._after_commit.clear()
                undo = list(self._after_rollback.values())
                self._after_rollback.clear()
                for action in undo:
                    action()
                # SQLite has already rolled back after some errors (a full disk, SQLITE_FULL):
                # a second ROLLBACK would raise and hide the real error.
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"could not write to {self.path}: {exc}") from exc
                raise
            actions = list(self._after_commit.values())
            self._after_commit.clear()
            self._after_rollback.clear()
            for action in actions:
                action()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"could not read {self.path}: {exc}") from exc

    def checkpoint(self) -> None:
        """Fold the WAL into the database file and empty it (after a purge)."""
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self.lock:
            self.conn.close()
