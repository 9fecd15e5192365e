"""Equality monitoring in the record: the groups the officer perceived of each person
engaged, and the groups each alert's subject was listed with (#27).

The officer's answers are written with their audit entry in one transaction, once: a
recorded answer cannot be changed (a trigger refuses it) and goes with its outcome when
the retention rules delete it. The audit entry names the alert and the codes (the codes
UK forces publish per engagement), never a person.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from console.domain.equality import NOT_RECORDED, EqualityFields
from console.storage.audit import AuditTrail
from console.storage.database import AlreadyDecided, Database, StorageError

RECORDED = "equality monitoring recorded"


@dataclass(frozen=True)
class AlertGroups:
    """One alert's groups: its subject's as listed, the engaged person's as perceived."""

    alert_id: str
    subject: EqualityFields
    perceived: EqualityFields | None  # None: nothing asked or answered for it


class EqualityRecords:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    def record(self, alert_id: str, fields: EqualityFields, officer: str,
               at: datetime) -> None:
        """The officer's answers for an engagement whose outcome is recorded; audited."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO outcome_equality VALUES (?,?,?,?,?,?)",
                    (alert_id, fields.ethnicity_code, fields.sex, fields.age_band, officer,
                     at.isoformat()),
                )
                self.audit.append(conn, officer, RECORDED,
                                  {"alert_id": alert_id, **fields.as_dict()}, at=at)
        except sqlite3.IntegrityError as exc:
            if self.for_alert(alert_id) is not None:
                raise AlreadyDecided(
                    f"equality monitoring for alert {alert_id} is already recorded") from exc
            raise StorageError(
                f"alert {alert_id} has no recorded outcome: equality monitoring is recorded "
                "with an engagement's outcome") from exc

    def for_alert(self, alert_id: str) -> EqualityFields | None:
        rows = self.db.query(
            "SELECT ethnicity_code, sex, age_band FROM outcome_equality WHERE alert_id = ?",
            (alert_id,),
        )
        return EqualityFields(*rows[0]) if rows else None

    def for_deployment(self, reference: str) -> list[AlertGroups]:
        rows = self.db.query(
            """SELECT a.alert_id, s.ethnicity_code, s.sex, s.age_band,
                      e.ethnicity_code, e.sex, e.age_band
               FROM alerts a
               LEFT JOIN alert_subject_groups s USING (alert_id)
               LEFT JOIN outcome_equality e USING (alert_id)
               WHERE a.deployment = ?""",
            (reference,),
        )
        return [
            AlertGroups(r[0], _fields(r[1:4]) or EqualityFields(),
                        _fields(r[4:7]))
            for r in rows
        ]

    def watchlist_groups(self, reference: str) -> list[EqualityFields]:
        """The groups of each subject of the deployment's watchlist while it is held."""
        rows = self.db.query(
            """SELECT COALESCE(json_extract(extra, '$.ethnicity_code'), ?),
                      COALESCE(json_extract(extra, '$.sex'), ?),
                      COALESCE(json_extract(extra, '$.age_band'), ?)
               FROM watchlist_subjects WHERE deployment = ?""",
            (NOT_RECORDED, NOT_RECORDED, NOT_RECORDED, reference),
        )
        out = []
        for r in rows:
            try:
                out.append(EqualityFields(*r))
            except ValueError:  # an older list, imported before its columns were checked
                out.append(EqualityFields())
        return out


def _fields(values: tuple) -> EqualityFields | None:
    if values[0] is None:
        return None
    try:
        return EqualityFields(*values)
    except ValueError:
        return EqualityFields()
