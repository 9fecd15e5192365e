"""The SQLite file behind the record: connection settings, schema, transactions.

Every write is its own committed transaction in WAL mode with ``synchronous=FULL``, so
once a call returns its data survives a crash or power cut. ``secure_delete`` zeroes
deleted content, so purged watchlist data does not linger in free pages.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS camera_counts (
    deployment      TEXT NOT NULL,
    camera          TEXT NOT NULL,
    faces_seen      INTEGER NOT NULL DEFAULT 0,
    frames_analysed INTEGER NOT NULL DEFAULT 0,
    live_seconds    REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment, camera)
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
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    details   TEXT NOT NULL,                    -- canonical JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
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


class Database:
    """One connection, used under a lock, so any thread may call in turn."""

    @staticmethod
    def path_in(data_dir: Path) -> Path:
        return Path(data_dir) / DB_NAME

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
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
            self.conn.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc

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
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite has already rolled back after some errors (a full disk, SQLITE_FULL):
                # a second ROLLBACK would raise and hide the real error.
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"could not write to {self.path}: {exc}") from exc
                raise

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
