"""Correcting what was recorded: a decision or an outcome, for every alert of its incident,
with a reason; the originals stay in the record.

A supervisor corrects any decision or outcome, at any time, through the history. The
officer who keyed an outcome may correct it too, if they asked within the undo window
(Ctrl+Z just after the key): an outcome cannot be taken back, only corrected.

Plain Python (no Qt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from console.domain.alerts import Correction, Decision, Outcome
from console.domain.incidents import RecentOutcome
from console.domain.officers import Officer, Permission, PermissionDenied
from console.storage import StorageError
from console.storage.outcome_corrections import OutcomeCorrection, OutcomeCorrections

if TYPE_CHECKING:
    from console.live.session import MonitoringSession


@dataclass(frozen=True)
class Corrected:
    """What a correction wrote: how many alerts, and which ones."""

    alert_ids: list[str]
    what: str  # "decision" or "outcome"
    to: str  # the new value's label


def may_correct(officer: Officer) -> bool:
    return officer.may(Permission.OVERRIDE)


async def correct_decision(
    session: MonitoringSession, alert_ids: list[str], decision: Decision, reason: str
) -> Corrected:
    """Every alert of an incident decided again, as a correction with *reason*."""
    if not reason.strip():
        raise StorageError("a correction needs a reason")
    done: list[Correction] = []
    for alert_id in alert_ids:
        done.append(await session.correct(alert_id, decision, reason.strip()))
    return Corrected([c.alert_id for c in done], "decision", decision.label)


async def correct_outcome(
    session: MonitoringSession,
    alert_ids: list[str],
    outcome: Outcome,
    reason: str,
    was: Outcome | None = None,
    own_recent: RecentOutcome | None = None,
    asked_at: datetime | None = None,
) -> Corrected:
    """Every alert of an engagement given another outcome, with *reason*.

    A supervisor may at any time; the officer who recorded *own_recent* may if they asked
    (*asked_at*) within its undo window. PermissionDenied otherwise."""
    officer = session.officer
    own = (
        own_recent is not None
        and asked_at is not None
        and own_recent.undo_open(asked_at, str(officer))
        and set(alert_ids) <= set(own_recent.incident.alert_ids)
    )
    if not own:
        officer.require(Permission.OVERRIDE)
    elif not officer.may(Permission.ADJUDICATE):
        raise PermissionDenied(f"{officer} may not record outcomes")
    if not reason.strip():
        raise StorageError("a correction needs a reason")
    records = OutcomeCorrections(session.store.store.db, session.store.store.audit)
    done = []
    for alert_id in alert_ids:
        correction = OutcomeCorrection(
            alert_id, outcome, str(officer), session.now(), reason.strip()
        )
        await session.store.call(records.record, correction, was)
        done.append(alert_id)
    return Corrected(done, "outcome", outcome.label)
