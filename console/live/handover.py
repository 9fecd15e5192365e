"""Handing the desk over without stopping the cameras, and who held it when.

At a shift change the officer at the desk signs out and the next one signs in; the
cameras, the queue and the record go on. Both steps are in the audit trail ("desk signed
out", "desk signed in"), so the record says who held the desk at any moment: from the
console's opening (its signed-in officer), through each handover, to its close.

Plain Python (no Qt): the window calls these, a test reads ``holders`` back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from console.domain.officers import Officer, Permission
from console.storage.console_log import CLOSED, OPENED, RESUMED, SIGNED_OUT

if TYPE_CHECKING:
    from console.live.session import MonitoringSession
    from console.storage import Store

DESK_SIGNED_OUT = "desk signed out"
DESK_SIGNED_IN = "desk signed in"
# The audit actions that start or end a holding of the desk.
_STARTS = (OPENED, RESUMED, DESK_SIGNED_IN)
_ENDS = (CLOSED, SIGNED_OUT, DESK_SIGNED_OUT)


async def sign_out(session: MonitoringSession, cameras_running: bool, waiting: int) -> None:
    """The officer leaves the desk; the cameras go on. Audited before the desk locks."""
    await session.store.call(
        session.log.record,
        str(session.officer),
        DESK_SIGNED_OUT,
        session.deployment.reference,
        {
            "cameras": "running" if cameras_running else "not running",
            "incidents_waiting": waiting,
        },
    )


async def sign_in(session: MonitoringSession, officer: Officer, previous: str) -> None:
    """The next officer takes the desk: from now on every decision is theirs.

    PermissionDenied for an account that may not adjudicate (a trainer, an admin)."""
    officer.require(Permission.ADJUDICATE)
    await session.store.call(
        session.log.record,
        str(officer),
        DESK_SIGNED_IN,
        session.deployment.reference,
        {"after": previous, "handover": previous != str(officer)},
    )
    session.officer = officer


@dataclass(frozen=True)
class Holding:
    """One officer's time at the desk of a deployment (``until`` None: still there)."""

    officer: str
    since: datetime
    until: datetime | None


def holders(store: Store, reference: str) -> list[Holding]:
    """Who held the desk of *reference* when, from the audit trail, oldest first."""
    out: list[Holding] = []
    current: tuple[str, datetime] | None = None
    for entry in store.audit.entries():
        if entry.details.get("reference") != reference:
            continue
        at = datetime.fromisoformat(entry.at) if isinstance(entry.at, str) else entry.at
        if entry.action in _STARTS:
            if current is not None:  # opened again after a crash: the last holding ended
                out.append(Holding(current[0], current[1], at))
            current = (entry.actor, at)
        elif entry.action in _ENDS and current is not None:
            out.append(Holding(current[0], current[1], at))
            current = None
    if current is not None:
        out.append(Holding(current[0], current[1], None))
    return out
