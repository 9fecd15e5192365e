"""The officers on the ground, as the live session relies on them.

Under a site policy that ties the cameras to the ground team (``officers_present =
checked_in``) the session composes a ``GroundTeam`` (the field service,
``console.field.service``): the cameras run only while a paired officer's phone is checked
in, and engaged incidents are dispatched to the phones. Under the desk's manual
confirmation (radio-only teams) there is none, and the deployment runs as the desk says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import numpy as np

from console.domain.alerts import Alert, Outcome, OutcomeReport


class GroundHooks(Protocol):
    """What the ground team tells the session (on the event loop)."""

    async def officers_checked_in(self, who: str, details: dict[str, object]) -> None:
        """A paired officer is checked in: the cameras may run (if the deployment is live)."""

    async def officers_gone(self, why: str, details: dict[str, object]) -> None:
        """The last checked-in officer has been silent too long: the cameras pause."""

    async def record_outcome_from_ground(
        self, alert_ids: list[str], outcome: Outcome, officer: str, source: str, note: str
    ) -> list[OutcomeReport]:
        """The outcome an officer recorded on the street: the outcome of record."""


class GroundTeam(Protocol):
    def present(self) -> str | None:
        """Who is checked in now, in words; None when nobody is."""

    def absence(self) -> str:
        """Why the cameras wait for the ground team, as every tile says it."""

    async def open(self, hooks: GroundHooks) -> None: ...

    def prepare_dispatch(
        self, incident_id: str, alerts: list[Alert], watchlist_photo: np.ndarray | None
    ) -> object | None:
        """Take what the phones will need from an incident about to be engaged (its
        camera frame is dropped from memory once it is decided)."""

    async def dispatch(self, prepared: object, engaged_by: str, engaged_at: datetime) -> None:
        """The incident was engaged: send it to the checked-in officers."""

    async def withdraw(self, incident_id: str, why: str) -> None:
        """The engagement was undone at the desk: the phones drop it."""

    async def outcome_at_desk(self, report: OutcomeReport) -> None:
        """The desk recorded an outcome: the phones close the incident."""

    async def conclude(self) -> dict[str, object]:
        """Every open page cleared, every token ended: the receipt."""

    async def close(self) -> None: ...
