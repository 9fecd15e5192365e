"""Alerts and their adjudications, kept for the record until their retention ends."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from console.domain.alerts import Adjudication, Alert, Decision
from console.storage.audit import AuditTrail
from console.storage.database import AlreadyDecided, Database, StorageError

DEFAULT_RETENTION = timedelta(days=31)


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


class AlertRecords:
    def __init__(
        self, db: Database, audit: AuditTrail, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self.db = db
        self.audit = audit
        self.retention = retention

    def save(
        self, deployment: str, alert: Alert, watchlist_photo: np.ndarray | None = None
    ) -> None:
        """Insert an alert, or update it in place when its sighting improves."""
        expires = (alert.raised_at + self.retention).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        with self.db.transaction() as conn:
            conn.execute(
                """INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
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
                    expires,
                    jpeg(alert.crop_rgb),
                    jpeg(watchlist_photo),
                ),
            )

    def record_decision(self, adjudication: Adjudication) -> None:
        """Write a decision durably, with its audit entry; AlreadyDecided if one exists."""
        a = adjudication
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO decisions VALUES (?,?,?,?,?)",
                    (a.alert_id, a.decision.value, a.officer, a.decided_at.isoformat(), a.note),
                )
                self.audit.append(
                    conn,
                    a.officer,
                    "alert adjudicated",
                    {"alert_id": a.alert_id, "decision": a.decision.value, "note": a.note},
                    at=a.decided_at,
                )
        except sqlite3.IntegrityError as exc:
            if self.decision_for(a.alert_id) is not None:
                raise AlreadyDecided(f"alert {a.alert_id} has already been adjudicated") from exc
            raise StorageError(f"alert {a.alert_id} is not in the record") from exc

    def decision_for(self, alert_id: str) -> Adjudication | None:
        rows = self.db.query(
            "SELECT alert_id, decision, officer, decided_at, note FROM decisions WHERE alert_id=?",
            (alert_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return Adjudication(r[0], Decision(r[1]), r[2], datetime.fromisoformat(r[3]), r[4])

    def for_deployment(self, deployment: str) -> list[StoredAlert]:
        rows = self.db.query(
            """SELECT a.alert_id, a.deployment, a.camera, a.subject_id, a.subject_name,
                      a.category, a.distance, a.raised_at, d.decision
               FROM alerts a LEFT JOIN decisions d USING (alert_id)
               WHERE a.deployment=? ORDER BY a.raised_at""",
            (deployment,),
        )
        return [
            StoredAlert(*r[:7], datetime.fromisoformat(r[7]), Decision(r[8]) if r[8] else None)
            for r in rows
        ]

    def purge_expired(self, now: datetime, actor: str = "console") -> int:
        """Delete alerts (crops, decisions) whose retention has ended; audit the count."""
        cutoff = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        with self.db.transaction() as conn:
            expired = [
                r[0]
                for r in conn.execute(
                    "SELECT alert_id FROM alerts WHERE expires_at <= ?", (cutoff,)
                )
            ]
            if not expired:
                return 0
            marks = ",".join("?" * len(expired))
            conn.execute(f"DELETE FROM decisions WHERE alert_id IN ({marks})", expired)
            conn.execute(f"DELETE FROM alerts WHERE alert_id IN ({marks})", expired)
            self.audit.append(
                conn, actor, "expired alerts purged", {"alerts": len(expired), "before": cutoff}
            )
        return len(expired)


def jpeg(rgb: np.ndarray | None) -> bytes | None:
    if rgb is None or rgb.size == 0:
        return None
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    return buf.tobytes() if ok else None
