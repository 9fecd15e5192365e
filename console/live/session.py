"""A monitoring session: the feeds of one deployment, its alerts and their adjudication."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from console.config import DeploymentConfig
from console.domain.alerts import Adjudication, Alert, Decision
from console.domain.sightings import AlertEvent
from console.domain.watchlist import Watchlist
from console.live.feed import CameraFeed, FeedListener
from console.pipeline import CameraPipeline
from console.storage import AsyncStore, StorageError
from console.vision.matcher import Matcher
from console.vision.pool import AnalysisPool

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 0.5


class SessionListener(FeedListener, Protocol):
    """What the session tells its presenter, on the event loop's thread."""

    def alert_raised(self, alert: Alert, is_new: bool) -> None: ...
    def storage_failed(self, message: str) -> None: ...


def _new_alert_id(camera: str) -> str:
    return f"{camera}-{uuid.uuid4().hex[:12]}"


class MonitoringSession:
    def __init__(
        self,
        deployment: DeploymentConfig,
        watchlist: Watchlist,
        pool: AnalysisPool,
        store: AsyncStore,
        officer: str,
        listener: SessionListener,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.deployment = deployment
        self.watchlist = watchlist
        self.pool = pool
        self.store = store
        self.officer = officer
        self.listener = listener
        self._clock = clock
        self.matcher = Matcher(watchlist, deployment.threshold)
        self.pending: dict[str, Alert] = {}
        self.feeds = [
            CameraFeed(
                spec,
                CameraPipeline(spec.camera, self.matcher, _new_alert_id),
                pool,
                listener,
                self._on_alert,
            )
            for spec in deployment.cameras
        ]
        self._tasks: list[asyncio.Task] = []
        self._saves: set[asyncio.Task] = set()

    def start(self) -> None:
        """Start every feed; a feed that fails reports it and leaves the others running."""
        self._tasks = [asyncio.create_task(feed.run()) for feed in self.feeds]
        self._tasks.append(asyncio.create_task(self._report_status()))

    async def stop(self) -> None:
        for feed in self.feeds:
            await feed.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._saves:
            await asyncio.gather(*self._saves, return_exceptions=True)

    def feed(self, camera: str) -> CameraFeed:
        return next(f for f in self.feeds if f.spec.camera == camera)

    async def _report_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            for feed in self.feeds:
                self.listener.feed_status(feed.status())

    def _on_alert(self, event: AlertEvent) -> None:
        alert = event.alert
        if event.is_new or alert.alert_id in self.pending:
            self.pending[alert.alert_id] = alert
            self.listener.alert_raised(alert, event.is_new)
        task = asyncio.create_task(self._save(alert))
        self._saves.add(task)
        task.add_done_callback(self._saves.discard)

    async def _save(self, alert: Alert) -> None:
        try:
            await self.store.save_alert(self.deployment.reference, alert)
        except StorageError as exc:
            log.error("alert %s not saved: %s", alert.alert_id, exc)
            self.listener.storage_failed(f"Alert from {alert.camera} could not be saved: {exc}")

    async def adjudicate(self, alert_id: str, decision: Decision, note: str = "") -> Adjudication:
        """Record the officer's decision; return only once it is on disk.

        Raises StorageError (the alert stays pending) if it could not be written.
        """
        adjudication = Adjudication(alert_id, decision, self.officer, self._clock(), note)
        # The alert's own save was queued first on the same storage thread, so it is
        # written before its decision.
        await self.store.record_decision(adjudication)
        self.pending.pop(alert_id, None)
        return adjudication
