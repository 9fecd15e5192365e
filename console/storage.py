"""The console's record on disk: alerts and their adjudications, in SQLite.

A decision must be on disk before the officer is told it was taken: the database runs
in WAL mode with ``synchronous=FULL`` and every write is its own committed
transaction. Decisions are final: the schema refuses a second decision for an alert
and refuses to update or delete one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from console.domain.alerts import Adjudication, Alert, Decision

SCHEMA = """
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
    evidence     TEXT NOT NULL,  -- JSON [[frame, t, distance], ...]: why it fired
    raised_at    TEXT NOT NULL,
    crop_jpeg    BLOB
);
CREATE TABLE IF NOT EXISTS decisions (
    alert_id   TEXT PRIMARY KEY REFERENCES alerts(alert_id),
    decision   TEXT NOT NULL CHECK (decision IN ('engage', 'dismiss', 'false_match')),
    officer    TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS decisions_are_final_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'a recorded decision cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS decisions_are_final_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'a recorded decision cannot be deleted'); END;
"""


class StorageError(Exception):
    """The record could not be written or read; the message is for the officer."""


class AlreadyDecided(StorageError):
    """Another decision was recorded for this alert first."""


@dataclass(frozen=True)
class StoredAlert:
    alert_id: str
    deployment: str
    camera: str
    subject_id: str
    subject_name: str
    category: str
    distance: float
    raised_at: datetime
    decision: Decision | None


class Store:
    """Synchronous access to the database; use from one thread (see AsyncStore)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            with self._db:  # one committed transaction per write
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StorageError(f"could not write to {self.path}: {exc}") from exc

    def save_alert(self, deployment: str, alert: Alert) -> None:
        """Insert an alert, or update it in place when its sighting improves."""
        crop = _jpeg(alert.crop_rgb)
        self._write(
            """INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(alert_id) DO UPDATE SET distance=excluded.distance,
                 bbox=excluded.bbox, frames_seen=excluded.frames_seen,
                 evidence=excluded.evidence, crop_jpeg=excluded.crop_jpeg""",
            (
                alert.alert_id,
                deployment,
                alert.camera,
                alert.subject_id,
                alert.subject_name,
                alert.category,
                alert.distance,
                alert.threshold,
                alert.t,
                alert.frame,
                json.dumps(list(alert.bbox)),
                alert.frames_seen,
                json.dumps([[e.frame, e.t, e.distance] for e in alert.evidence]),
                alert.raised_at.isoformat(),
                crop,
            ),
        )

    def record_decision(self, adjudication: Adjudication) -> None:
        """Write a decision durably; raise AlreadyDecided if one exists."""
        a = adjudication
        try:
            self._write(
                "INSERT INTO decisions VALUES (?,?,?,?,?)",
                (a.alert_id, a.decision.value, a.officer, a.decided_at.isoformat(), a.note),
            )
        except sqlite3.IntegrityError as exc:
            if self.decision_for(a.alert_id) is not None:
                raise AlreadyDecided(f"alert {a.alert_id} has already been adjudicated") from exc
            raise StorageError(f"alert {a.alert_id} is not in the record") from exc

    def decision_for(self, alert_id: str) -> Adjudication | None:
        row = self._db.execute(
            "SELECT alert_id, decision, officer, decided_at, note FROM decisions WHERE alert_id=?",
            (alert_id,),
        ).fetchone()
        if row is None:
            return None
        return Adjudication(
            row[0], Decision(row[1]), row[2], datetime.fromisoformat(row[3]), row[4]
        )

    def alerts(self, deployment: str) -> list[StoredAlert]:
        rows = self._db.execute(
            """SELECT a.alert_id, a.deployment, a.camera, a.subject_id, a.subject_name,
                      a.category, a.distance, a.raised_at, d.decision
               FROM alerts a LEFT JOIN decisions d USING (alert_id)
               WHERE a.deployment=? ORDER BY a.raised_at""",
            (deployment,),
        ).fetchall()
        return [
            StoredAlert(*r[:7], datetime.fromisoformat(r[7]), Decision(r[8]) if r[8] else None)
            for r in rows
        ]


class AsyncStore:
    """The Store for the event loop: each call runs on one storage thread and is awaited.

    The GUI never blocks on the disk, and the officer sees a decision as taken only
    once the awaited write has returned.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage")

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def save_alert(self, deployment: str, alert: Alert) -> None:
        await self._call(self.store.save_alert, deployment, alert)

    async def record_decision(self, adjudication: Adjudication) -> None:
        await self._call(self.store.record_decision, adjudication)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.store.close()


def _jpeg(rgb: np.ndarray | None) -> bytes | None:
    if rgb is None or rgb.size == 0:
        return None
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    return buf.tobytes() if ok else None
