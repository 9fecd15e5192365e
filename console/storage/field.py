"""The field service in the record: phones paired, checked in and lost, incidents sent and
each step the officers took, images delivered and viewed, pages cleared.

Nothing here has a table of its own: each event is an audit entry (keyed, hash-chained,
append-only, anchored outside the database) and what the console needs back (which phones
hold a live token, what each dispatched incident went through) is read from the trail.
So a phone cannot be un-revoked, nor a step added or removed, by editing the database:
``audit verify`` would say so. Entries name the officer on the ground (the record says
who did what) but never the subject, and a token only by its SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.storage.audit import AuditTrail
from console.storage.database import Database

CODE_ISSUED = "field pairing code issued"
PAIRED = "field phone paired"
PAIRING_REFUSED = "field pairing refused"
PAIRING_LOCKED = "field pairing locked"
TOKEN_REFUSED = "field token refused"
SECOND_DEVICE = "field token presented by a second device"
MESSAGE_REFUSED = "field page message refused"  # e.g. a binary frame from a page
REVOKED = "field phone revoked"
ENDED = "field phones ended at conclusion"
CLEARED = "field page cleared"
CHECKED_IN = "field officer checked in"
LOST = "field phone lost"
SENT = "field incident sent"
STEP = "field step"
IMAGE = "field images delivered again"  # the first delivery is the SENT entry's
WITHDRAWN = "field incident withdrawn"
SERVICE = "field service"  # started (address, certificate fingerprint) or stopped

_DEVICE_EVENTS = (PAIRED, REVOKED, ENDED, CLEARED)


@dataclass(frozen=True)
class PairedPhone:
    """A phone paired to an officer in one deployment, as the trail has it."""

    device: str
    officer: str
    token_sha256: str
    paired_at: datetime
    paired_by: str
    ended_at: datetime | None = None
    ended_why: str = ""
    cleared_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class DispatchLine:
    """One dispatched incident's times, for the figures: no names, no images."""

    incident: str
    engaged_at: datetime
    sent_at: datetime
    seen_at: datetime | None = None
    located_at: datetime | None = None
    not_located_at: datetime | None = None
    outcome_at: datetime | None = None
    outcome_on_phone: bool = False

    @property
    def seconds_to_dispatch(self) -> float | None:
        """Engage to first seen on a phone."""
        return _seconds(self.engaged_at, self.seen_at)

    @property
    def seconds_to_locate(self) -> float | None:
        return _seconds(self.engaged_at, self.located_at)


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


class FieldLog:
    """The field service's entries of the record at *db*; *audit* None reads only (a
    report on a record opened read-only)."""

    def __init__(self, db: Database, audit: AuditTrail | None) -> None:
        self.db = db
        self.audit = audit

    def record(self, actor: str, action: str, reference: str, details: dict | None = None) -> None:
        self.record_many(reference, [(actor, action, details or {})])

    def record_many(self, reference: str, entries: list[tuple[str, str, dict]]) -> None:
        """Several entries in one transaction (one write to disk): twenty phones fetching
        an incident's photos at once are twenty entries, not twenty waits on the disk."""
        assert self.audit is not None, "a read-only FieldLog records nothing"
        with self.db.transaction() as conn:
            for actor, action, details in entries:
                self.audit.append(conn, actor, action, {"reference": reference, **details})

    def _entries(self, reference: str, actions: tuple[str, ...]) -> list[tuple[str, str, dict]]:
        marks = ",".join("?" * len(actions))
        rows = self.db.query(
            f"SELECT at, action, details FROM audit WHERE action IN ({marks}) "
            "AND json_extract(details, '$.reference') = ? ORDER BY seq",
            (*actions, reference),
        )
        return [(at, action, json.loads(details)) for at, action, details in rows]

    def phones(self, reference: str) -> list[PairedPhone]:
        """Every phone paired in the deployment, with when (and why) its token ended and
        when its page was cleared."""
        found: dict[str, dict[str, Any]] = {}
        for at, action, d in self._entries(reference, _DEVICE_EVENTS):
            when = datetime.fromisoformat(at)
            if action == PAIRED:
                found[d["device"]] = {
                    "device": d["device"], "officer": d["officer"],
                    "token_sha256": d["token_sha256"], "paired_at": when,
                    "paired_by": d.get("paired_by", ""),
                }
                continue
            devices = d.get("devices") or [d.get("device")]
            for device in devices:
                phone = found.get(device)
                if phone is None:
                    continue
                if action in (REVOKED, ENDED) and "ended_at" not in phone:
                    phone["ended_at"], phone["ended_why"] = when, d.get("why", action)
                elif action == CLEARED and "cleared_at" not in phone:
                    phone["cleared_at"] = when
        return [PairedPhone(**p) for p in found.values()]

    def dispatches(self, reference: str) -> list[DispatchLine]:
        """Each incident sent to phones, with the times of its first seen, located and
        outcome steps."""
        lines: dict[str, dict[str, Any]] = {}
        for at, action, d in self._entries(reference, (SENT, STEP, WITHDRAWN)):
            when, incident = datetime.fromisoformat(at), d.get("incident", "")
            if action == SENT:
                if incident not in lines:  # a re-send keeps the first engagement's times
                    lines[incident] = {
                        "incident": incident,
                        "engaged_at": datetime.fromisoformat(d["engaged_at"]),
                        "sent_at": when,
                    }
                continue
            line = lines.get(incident)
            if line is None:
                continue
            if action == WITHDRAWN:
                del lines[incident]
                continue
            key = {
                "seen": "seen_at", "located": "located_at", "not located": "not_located_at",
                "outcome": "outcome_at",
            }.get(d.get("step", ""))
            if key and key not in line:
                line[key] = datetime.fromisoformat(d["at"]) if "at" in d else when
                if key == "outcome_at":
                    line["outcome_on_phone"] = True
        return [DispatchLine(**line) for line in lines.values()]

    def steps(self, reference: str) -> list[tuple[datetime, dict[str, Any]]]:
        """Every step entry (and send), oldest first: the desk's view after a restart."""
        return [
            (datetime.fromisoformat(at), {"action": action, **d})
            for at, action, d in self._entries(reference, (SENT, STEP, WITHDRAWN))
        ]
