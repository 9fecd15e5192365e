"""One deployment's record as the live session writes it.

Every write is awaited on the storage thread (``AsyncStore``): the session says a thing is
done only once it is on disk. Writes nobody waits for (an alert's save, an audit entry
about the cameras) are kept in ``pending`` until they land, so closing waits for them and
a failure reaches the officer. Reads at opening (the open alerts, the last session event)
run directly: nothing else runs yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from console.domain.alerts import Adjudication, Correction, OutcomeReport
from console.domain.deployments import Deployment
from console.reports.record import deployment_record
from console.storage import AsyncStore, StorageError
from console.storage.alerts import AlertRecord
from console.storage.console_log import ConsoleLog

log = logging.getLogger(__name__)

T = TypeVar("T")


class AuditLater(Protocol):
    """Add an audit entry without waiting for it (a failure is told to the officer)."""

    def __call__(self, actor: str, action: str, details: dict[str, object]) -> None: ...


class SessionRecord:
    def __init__(
        self, store: AsyncStore, reference: str, on_failure: Callable[[str], None]
    ) -> None:
        self.store = store
        self.reference = reference
        self.log = ConsoleLog(store.store.db, store.store.audit)
        self.on_failure = on_failure
        self.pending: set[asyncio.Task] = set()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.store.call(fn, *args)

    def later(self, write: Awaitable[object], failure: str) -> None:
        """A write nobody waits for: kept until it lands; *failure* prefixes its error."""

        async def guarded() -> None:
            try:
                await write
            except StorageError as exc:
                log.error("%s: %s", failure, exc)
                self.on_failure(f"{failure}: {exc}")

        task = asyncio.create_task(guarded())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def drain(self) -> None:
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)

    # -- the audit trail --------------------------------------------------------------
    async def audit(self, actor: str, action: str, details: dict | None = None) -> None:
        await self.call(self.log.record, actor, action, self.reference, details)

    def audit_later(self, actor: str, action: str, details: dict[str, object]) -> None:
        self.later(self.audit(actor, action, details), f"'{action}' was not recorded")

    # -- the deployment ---------------------------------------------------------------
    async def save_deployment(
        self, updated: Deployment, by: str, action: str, details: dict | None = None
    ) -> None:
        await self.call(self.store.store.deployments.update, updated, by, action, details)

    async def add_counts(
        self, camera: str, faces: int, frames: int, seconds: float,
        state: str | None = None, detail: str = "",
    ) -> None:
        """Counts only, never who; the camera's state kept with them (a failed camera is in
        the record with when and why)."""
        await self.call(
            self.store.store.deployments.add_counts, self.reference, camera, faces, frames,
            seconds, state, detail,
        )

    async def conclude(self, updated: Deployment, by: str) -> dict[str, object]:
        """The deployment concluded, its watchlist deleted (what was deleted comes back),
        and its record produced (its counts kept for after the alerts' retention)."""
        await self.save_deployment(updated, by, "deployment concluded")
        summary = await self.call(self.store.store.deployments.purge_watchlist, self.reference, by)
        await self.call(deployment_record, self.store.store, self.reference)
        return summary

    # -- alerts and what was decided about them ---------------------------------------
    async def save_alert(self, alert: Any, watchlist_photo: Any) -> None:
        await self.call(self.store.store.alerts.save, self.reference, alert, watchlist_photo)

    async def decision(self, adjudication: Adjudication) -> None:
        await self.call(self.store.store.alerts.record_decision, adjudication)

    async def correction(self, correction: Correction) -> None:
        await self.call(self.store.store.alerts.record_correction, correction)

    async def outcome(self, report: OutcomeReport) -> None:
        await self.call(self.store.store.alerts.record_outcome, report)

    # -- at opening (nothing else runs yet) --------------------------------------------
    def history(self) -> list[AlertRecord]:
        return self.store.store.alerts.history(self.reference)

    def undone(self) -> dict:
        return self.log.undone(self.reference)

    def last_session_event(self) -> tuple[str, dict[str, Any]] | None:
        return self.log.last_session_event(self.reference)

    def audit_now(self, actor: str, action: str, details: dict | None = None) -> None:
        self.log.record(actor, action, self.reference, details)

    def save_deployment_now(
        self, updated: Deployment, by: str, action: str, details: dict | None = None
    ) -> None:
        self.store.store.deployments.update(updated, by, action, details)
