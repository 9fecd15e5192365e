"""Alerts and their adjudications, kept for the record until their retention ends."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from console.domain.alerts import (
    Adjudication,
    Alert,
    Correction,
    Decision,
    Evidence,
    Outcome,
    OutcomeReport,
)
from console.storage.audit import AuditTrail
from console.storage.bound import row_digest
from console.storage.database import AlreadyDecided, Database, StorageError

DEFAULT_RETENTION = timedelta(days=31)
log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class AlertRecord:
    """An alert with everything decided about it so far, as the record holds it."""

    alert: Alert
    adjudication: Adjudication | None
    outcome: OutcomeReport | None
    correction: Correction | None  # the latest, if the decision was corrected
    watchlist_photo_rgb: np.ndarray | None

    @property
    def decision(self) -> Decision | None:
        """The decision in force: a correction supersedes the original."""
        if self.correction is not None:
            return self.correction.decision
        return self.adjudication.decision if self.adjudication else None

    @property
    def awaiting_outcome(self) -> bool:
        return self.decision == Decision.ENGAGE and self.outcome is None


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
        """Insert an alert, or update it in place while it is pending and its sighting
        improves; audited either way, with the row's digest. Once decided, an alert stays
        as the officer saw it when deciding (later frames of the sighting change nothing).
        """
        expires = (alert.raised_at + self.retention).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        bbox = json.dumps(list(alert.bbox))
        evidence = json.dumps([[e.frame, e.t, e.distance] for e in alert.evidence])
        with self.db.transaction() as conn:
            exists, decided = conn.execute(
                "SELECT EXISTS(SELECT 1 FROM alerts WHERE alert_id = ?), "
                "EXISTS(SELECT 1 FROM decisions WHERE alert_id = ?)",
                (alert.alert_id, alert.alert_id),
            ).fetchone()
            if decided:
                return
            if exists:
                conn.execute(
                    "UPDATE alerts SET distance=?, bbox=?, frames_seen=?, evidence=?, "
                    "crop_jpeg=? WHERE alert_id=?",
                    (
                        alert.distance,
                        bbox,
                        alert.frames_seen,
                        evidence,
                        jpeg(alert.crop_rgb),
                        alert.alert_id,
                    ),
                )
            else:
                conn.execute(
                    "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                        bbox,
                        alert.frames_seen,
                        evidence,
                        alert.raised_at.isoformat(),
                        expires,
                        jpeg(alert.crop_rgb),
                        jpeg(watchlist_photo),
                    ),
                )
            # Ids and times only: the trail outlives the alert, and must name nobody.
            self.audit.append(
                conn,
                "console",
                "alert updated" if exists else "alert raised",
                {"alert_id": alert.alert_id, "reference": deployment, "expires_at": expires},
                rows=[("alerts", alert.alert_id)],
            )

    def _insert_audited(
        self,
        sql: str,
        row: tuple,
        actor: str,
        action: str,
        details: dict,
        at: datetime,
        table: str,
    ) -> None:
        """Insert one row and its audit entry, bound to the row's content, in one
        transaction: both or neither."""
        with self.db.transaction() as conn:
            cursor = conn.execute(sql, row)
            key = cursor.lastrowid if table == "corrections" else row[0]
            self.audit.append(conn, actor, action, details, at=at, rows=[(table, str(key))])

    def record_decision(self, adjudication: Adjudication) -> None:
        """Write a decision durably, with its audit entry; AlreadyDecided if one exists."""
        a = adjudication
        try:
            self._insert_audited(
                "INSERT INTO decisions VALUES (?,?,?,?,?)",
                (a.alert_id, a.decision.value, a.officer, a.decided_at.isoformat(), a.note),
                a.officer,
                "alert adjudicated",
                {
                    "alert_id": a.alert_id,
                    "decision": a.decision.value,
                    "incident": a.incident or a.alert_id,
                    **_digest(a.note),
                },
                a.decided_at,
                "decisions",
            )
        except sqlite3.IntegrityError as exc:
            if self.decision_for(a.alert_id) is not None:
                raise AlreadyDecided(f"alert {a.alert_id} has already been adjudicated") from exc
            raise StorageError(f"alert {a.alert_id} is not in the record") from exc

    def record_outcome(self, report: OutcomeReport) -> None:
        """The ground's report on an engaged alert; final, like decisions."""
        r = report
        try:
            self._insert_audited(
                "INSERT INTO outcomes VALUES (?,?,?,?,?)",
                (r.alert_id, r.outcome.value, r.officer, r.recorded_at.isoformat(), r.note),
                r.officer,
                "outcome recorded",
                {
                    "alert_id": r.alert_id,
                    "outcome": r.outcome.value,
                    **_digest(r.note),
                    **({"recorded_on": r.source} if r.source else {}),
                },
                r.recorded_at,
                "outcomes",
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
        self._insert_audited(
            "INSERT INTO corrections (alert_id, decision, officer, corrected_at, reason) "
            "VALUES (?,?,?,?,?)",
            (c.alert_id, c.decision.value, c.officer, c.corrected_at.isoformat(), c.reason),
            c.officer,
            "decision corrected",
            {"alert_id": c.alert_id, "decision": c.decision.value, **_digest(c.reason)},
            c.corrected_at,
            "corrections",
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

    def history(self, deployment: str) -> list[AlertRecord]:
        """Every alert of a deployment with its decision, outcome and last correction."""
        rows = self.db.query(
            """SELECT a.alert_id, a.camera, a.subject_id, a.subject_name, a.category,
                      a.distance, a.threshold, a.video_t, a.frame, a.bbox, a.evidence,
                      a.raised_at, a.crop_jpeg, a.watchlist_photo_jpeg,
                      d.decision, d.officer, d.decided_at, d.note,
                      o.outcome, o.officer, o.recorded_at, o.note,
                      c.decision, c.officer, c.corrected_at, c.reason
               FROM alerts a
               LEFT JOIN decisions d USING (alert_id)
               LEFT JOIN outcomes o USING (alert_id)
               LEFT JOIN corrections c ON c.seq = (
                   SELECT MAX(seq) FROM corrections WHERE alert_id = a.alert_id)
               WHERE a.deployment=? ORDER BY a.raised_at""",
            (deployment,),
        )
        return [_record(r) for r in rows]

    def open_alerts(self, deployment: str) -> list[AlertRecord]:
        """What an officer still has to act on: pending, or engaged awaiting an outcome."""
        return [r for r in self.history(deployment) if r.adjudication is None or r.awaiting_outcome]

    def purge_expired(self, now: datetime, actor: str = "console") -> int:
        """Delete alerts (crops, decisions) whose retention has ended; audit what went.

        An alert is due when the expiry *sealed with it* has passed (not the table's
        column alone: that could be back-dated behind the console's back), and it goes
        only if its row is still the one its audit entry bound; an altered one stays, is
        reported, and is left to ``audit verify``. The purge's entry names every row it
        deletes, with the cutoff, so the verifier checks each absence against it.
        """
        cutoff = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        with self.db.transaction() as conn:
            candidates = [
                r[0]
                for r in conn.execute(
                    "SELECT alert_id FROM alerts WHERE expires_at <= ?", (cutoff,)
                )
            ]
            if not candidates:
                return 0
            sealed = _sealed_alerts(conn)
            expired, altered = [], []
            for alert_id in candidates:
                expiry, digest = sealed.get(alert_id, (None, None))
                if expiry is None or expiry > cutoff or digest != row_digest(
                    conn, "alerts", alert_id
                ):
                    altered.append(alert_id)
                else:
                    expired.append(alert_id)
            if altered:
                log.error(
                    "%d alert(s) look expired but are not as their audit entries sealed them "
                    "(expiry or content changed): not purged; run `python -m console audit "
                    "verify`",
                    len(altered),
                )
            if not expired:
                return 0
            marks = ",".join("?" * len(expired))
            # Every row deleted is named in the purge's entry: the verifier then knows
            # each absence is the retention rule's, not someone's deletion.
            gone: list[tuple[str, str]] = [("alerts", a) for a in expired]
            for table, column in (
                ("decisions", "alert_id"),
                ("outcomes", "alert_id"),
                ("corrections", "seq"),
            ):
                found = conn.execute(
                    f"SELECT {column} FROM {table} WHERE alert_id IN ({marks})", expired
                )
                gone += [(table, str(k)) for (k,) in found]
            conn.execute(f"DELETE FROM outcomes WHERE alert_id IN ({marks})", expired)
            conn.execute(f"DELETE FROM corrections WHERE alert_id IN ({marks})", expired)
            conn.execute(f"DELETE FROM decisions WHERE alert_id IN ({marks})", expired)
            conn.execute(f"DELETE FROM alerts WHERE alert_id IN ({marks})", expired)
            self.audit.append(
                conn,
                actor,
                "expired alerts purged",
                {"alerts": len(expired), "before": cutoff},
                rows=gone,
            )
        return len(expired)


def _sealed_alerts(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """Each alert's expiry and row digest as its latest audit entry sealed them."""
    found: dict[str, tuple[str | None, str | None]] = {}
    rows = conn.execute(
        "SELECT j.key, j.value, json_extract(a.details, '$.expires_at') "
        "FROM audit a, json_each(a.bound, '$.alerts') j ORDER BY a.seq"
    )
    for alert_id, digest, expiry in rows:
        found[str(alert_id)] = (expiry, digest)
    return found


def jpeg(rgb: np.ndarray | None) -> bytes | None:
    if rgb is None or rgb.size == 0:
        return None
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    return buf.tobytes() if ok else None


def _digest(text: str) -> dict[str, str]:
    """Free text may name people who were not subjects, and the audit trail outlives the
    alerts' retention: it keeps a hash of the note (proof of what was written), not the note.
    """
    return {"note_sha256": hashlib.sha256(text.encode()).hexdigest()} if text else {}


def rgb_from_jpeg(data: bytes | None) -> np.ndarray | None:
    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _record(r: tuple) -> AlertRecord:
    alert = Alert(
        alert_id=r[0],
        camera=r[1],
        subject_id=r[2],
        subject_name=r[3],
        category=r[4],
        distance=r[5],
        threshold=r[6],
        t=r[7],
        frame=r[8],
        bbox=tuple(json.loads(r[9])),
        raised_at=datetime.fromisoformat(r[11]),
        crop_rgb=rgb_from_jpeg(r[12]),
        evidence=[Evidence(*e) for e in json.loads(r[10])],
    )
    adjudication = (
        Adjudication(r[0], Decision(r[14]), r[15], datetime.fromisoformat(r[16]), r[17])
        if r[14]
        else None
    )
    outcome = (
        OutcomeReport(r[0], Outcome(r[18]), r[19], datetime.fromisoformat(r[20]), r[21])
        if r[18]
        else None
    )
    correction = (
        Correction(r[0], Decision(r[22]), r[23], datetime.fromisoformat(r[24]), r[25])
        if r[22]
        else None
    )
    return AlertRecord(alert, adjudication, outcome, correction, rgb_from_jpeg(r[13]))
