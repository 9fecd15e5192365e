"""Deployments and the safeguards that bound them.

The rules come from published UK police LFR policy (the Met's and South Wales Police's
documents, College of Policing guidance): a deployment is authorised, time-boxed and
runs only with officers on the ground; its watchlist is built for it no more than 24
hours before it starts and is deleted as soon as it concludes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

WATCHLIST_MAX_AGE = timedelta(hours=24)


class DeploymentState(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CONCLUDED = "concluded"


class SafeguardError(Exception):
    """A safeguard refused the action; the message tells the officer why and what to do."""


@dataclass(frozen=True)
class Deployment:
    reference: str
    site: str
    cameras: tuple[str, ...]
    authorised_by: str  # the authorising officer's name
    authorised_rank: str
    planned_start: datetime
    planned_end: datetime
    threshold: float
    state: DeploymentState = DeploymentState.PLANNED
    watchlist_created_at: datetime | None = None
    officers_present_confirmed_by: str | None = None
    started_at: datetime | None = None
    concluded_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.planned_end <= self.planned_start:
            raise SafeguardError(f"deployment {self.reference}: planned end is not after start")
        if not self.authorised_by.strip() or not self.authorised_rank.strip():
            raise SafeguardError(
                f"deployment {self.reference} needs an authorising officer (name and rank)"
            )

    @property
    def is_active(self) -> bool:
        return self.state == DeploymentState.ACTIVE

    def cameras_off_reason(self) -> str | None:
        """Why no frame may be analysed now, or None when cameras may run."""
        if self.state == DeploymentState.PLANNED:
            return "deployment not started: cameras are off"
        if self.state == DeploymentState.CONCLUDED:
            return "deployment concluded: cameras are off"
        if self.officers_present_confirmed_by is None:
            return "officers on the ground not confirmed: cameras are off"
        return None

    def confirm_officers_present(self, by: str) -> Deployment:
        if self.state == DeploymentState.CONCLUDED:
            raise SafeguardError(f"deployment {self.reference} has concluded")
        return replace(self, officers_present_confirmed_by=by)

    def check_can_start(self, now: datetime) -> None:
        """Raise SafeguardError unless every rule for starting is met at *now*."""
        ref = self.reference
        if self.state != DeploymentState.PLANNED:
            raise SafeguardError(f"deployment {ref} is {self.state.value}, not planned")
        if now < self.planned_start:
            raise SafeguardError(
                f"deployment {ref} is planned to start at {_hm(self.planned_start)}; "
                "it cannot start earlier"
            )
        if now >= self.planned_end:
            raise SafeguardError(
                f"deployment {ref} was planned to end at {_hm(self.planned_end)}; "
                "plan a new deployment"
            )
        if self.watchlist_created_at is None:
            raise SafeguardError(f"deployment {ref} has no watchlist: import one first")
        age = now - self.watchlist_created_at
        if age > WATCHLIST_MAX_AGE:
            hours = age.total_seconds() / 3600
            raise SafeguardError(
                f"the watchlist for {ref} was built {hours:.1f} hours ago; a watchlist must "
                "be built no more than 24 hours before the deployment: import a fresh one"
            )
        if self.officers_present_confirmed_by is None:
            raise SafeguardError(
                f"confirm that officers are present on the ground before starting {ref}"
            )

    def start(self, now: datetime) -> Deployment:
        self.check_can_start(now)
        return replace(self, state=DeploymentState.ACTIVE, started_at=now)

    def conclude(self, now: datetime) -> Deployment:
        if self.state == DeploymentState.CONCLUDED:
            raise SafeguardError(f"deployment {self.reference} has already concluded")
        return replace(self, state=DeploymentState.CONCLUDED, concluded_at=now)

    def is_past_planned_end(self, now: datetime) -> bool:
        return self.state == DeploymentState.ACTIVE and now >= self.planned_end


def _hm(t: datetime) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M")
