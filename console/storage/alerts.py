"""Alerts and their adjudications, kept for the record until their retention ends."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from console.domain.alerts import Adjudication, Alert, Correction, Decision, Outcome, OutcomeReport
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

    def record_outcome(self, report: OutcomeReport) -> None:
        """The ground's report on an engaged alert; final, like decisions."""
        r = report
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO outcomes VALUES (?,?,?,?,?)",
                    (r.alert_id, r.outcome.value, r.officer, r.recorded_at.isoformat(), r.note),
                )
                self.audit.append(
                    conn,
                    r.officer,
                    "outcome recorded",
                    {"alert_id": r.alert_id, "outcome": r.outcome.value, "note": r.note},
                    at=r.recorded_at,
                )
        except sqlite3.IntegrityError as exc:
            if "engaged alert" in str(exc):
                raise StorageError(f"alert {r.alert_id} was not engaged: no outcome") from exc
            raise AlreadyDecided(f"an outcome for alert {r.alert_id} is already recorded") from exc

    def record_correction(self, correction: Correction) -> None:
        """Follow a recorded decision with a corrected one; the original stays."""
        c = correction
        if not c.reason.strip():
            raise StorageError("a correction needs a reason")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO corrections (alert_id, decision, officer, corrected_at, reason) "
                "VALUES (?,?,?,?,?)",
                (c.alert_id, c.decision.value, c.officer, c.corrected_at.isoformat(), c.reason),
            )
            self.audit.append(
                conn,
                c.officer,
                "decision corrected",
                {"alert_id": c.alert_id, "decision": c.decision.value, "reason": c.reason},
                at=c.corrected_at,
            )

    def outcome_for(self, alert_id: str) -> OutcomeReport | None:
        rows = self.db.query(
            "SELECT alert_id, outcome, officer, recorded_at, note FROM outcomes WHERE alert_id=?",
            (alert_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return OutcomeReport(r[0], Outcome(r[1]), r[2], datetime.fromisoformat(r[3]), r[4])

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
            conn.execute(f"DELETE FROM outcomes WHERE alert_id IN ({marks})", expired)
            conn.execute(f"DELETE FROM corrections WHERE alert_id IN ({marks})", expired)
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
