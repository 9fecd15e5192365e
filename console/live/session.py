"""A monitoring session: one deployment's feeds, safeguards, alerts and adjudication.

Cameras are only read while the deployment is active and officers on the ground have
been confirmed; until then (and after conclusion) the feeds wait and say why.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from console.domain.alerts import (
    Adjudication,
    Alert,
    Correction,
    Decision,
    Outcome,
    OutcomeReport,
)
from console.domain.deployments import Deployment, SafeguardError
from console.domain.officers import Officer, Permission
from console.domain.sightings import AlertEvent
from console.domain.watchlist import Watchlist
from console.live.feed import CameraFeed, FeedListener, FeedState
from console.pipeline import CameraPipeline
from console.reports.record import deployment_record
from console.storage import AsyncStore, StorageError
from console.vision.matcher import Matcher
from console.vision.pool import AnalysisPool
from console.vision.sources import SourceSpec

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 0.5


class SessionListener(FeedListener, Protocol):
    """What the session tells its presenter, on the event loop's thread."""

    def alert_raised(self, alert: Alert, is_new: bool) -> None: ...
    def storage_failed(self, message: str) -> None: ...
    def alert_restored(self, alert: Alert, adjudication: Adjudication | None) -> None: ...
    def deployment_changed(self, deployment: Deployment) -> None: ...


def _new_alert_id(camera: str) -> str:
    return f"{camera}-{uuid.uuid4().hex[:12]}"


class MonitoringSession:
    def __init__(
        self,
        deployment: Deployment,
        sources: list[SourceSpec],
        watchlist: Watchlist,
        pool: AnalysisPool,
        store: AsyncStore,
        officer: Officer,
        listener: SessionListener,
        *,
        loosest_threshold: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.deployment = deployment
        self.watchlist = watchlist
        self.pool = pool
        self.store = store
        self.officer = officer
        self.listener = listener
        self.loosest_threshold = loosest_threshold
        self._clock = clock
        self.matcher = Matcher(watchlist, deployment.threshold)
        self.pending: dict[str, Alert] = {}
        self.engaged: dict[str, Alert] = {}  # engaged, awaiting the ground's outcome
        self.feeds = [
            CameraFeed(
                spec,
                CameraPipeline(spec.camera, self.matcher, _new_alert_id),
                pool,
                listener,
                self._on_alert,
            )
            for spec in sources
        ]
        self._feed_tasks: list[asyncio.Task] = []
        self._tasks: list[asyncio.Task] = []
        self._saves: set[asyncio.Task] = set()
        self._live_since: float | None = None

    # -- lifecycle --------------------------------------------------------------------
    def open(self) -> None:
        """Bring back the open alerts, watch the clock, start the feeds if live."""
        self._restore()
        self._tasks.append(asyncio.create_task(self._tick()))
        if self.deployment.cameras_off_reason() is None:
            self._start_feeds()
        else:
            self._show_cameras_off()

    async def close(self) -> None:
        """Stop everything (the console is closing); the deployment's state is kept."""
        await self._stop_feeds()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._saves:
            await asyncio.gather(*self._saves, return_exceptions=True)

    def _start_feeds(self) -> None:
        self._live_since = time.monotonic()
        self._feed_tasks = [asyncio.create_task(feed.run()) for feed in self.feeds]

    async def _stop_feeds(self) -> None:
        for feed in self.feeds:
            await feed.stop()
        for task in self._feed_tasks:
            task.cancel()
        await asyncio.gather(*self._feed_tasks, return_exceptions=True)
        self._feed_tasks = []
        await self._save_counts()

    def _show_cameras_off(self) -> None:
        reason = self.deployment.cameras_off_reason() or ""
        for feed in self.feeds:
            feed.wait(reason)

    async def _save_counts(self) -> None:
        """Keep only counts of the faces seen (never who they were)."""
        live = time.monotonic() - self._live_since if self._live_since else 0.0
        self._live_since = None
        for feed in self.feeds:
            c = feed.counters
            faces, frames = (
                c.faces_detected - feed.saved_faces,
                c.frames_analysed - feed.saved_frames,
            )
            feed.saved_faces, feed.saved_frames = c.faces_detected, c.frames_analysed
            try:
                await self.store.call(
                    self.store.store.deployments.add_counts,
                    self.deployment.reference,
                    feed.spec.camera,
                    faces,
                    frames,
                    live,
                )
            except StorageError as exc:
                self.listener.storage_failed(f"Counts for {feed.spec.camera} not saved: {exc}")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            for feed in self.feeds:
                if feed.state != FeedState.WAITING:
                    self.listener.feed_status(feed.status())
            if self.deployment.is_past_planned_end(self._clock()):
                await self._conclude("console: planned end reached")

    # -- safeguarded actions ----------------------------------------------------------
    async def _save_deployment(self, updated: Deployment, action: str, details=None) -> None:
        await self.store.call(
            self.store.store.deployments.update, updated, str(self.officer), action, details
        )
        self.deployment = updated
        self.listener.deployment_changed(updated)

    async def confirm_officers_present(self) -> None:
        updated = self.deployment.confirm_officers_present(str(self.officer))
        await self._save_deployment(updated, "officers on the ground confirmed")
        if updated.is_active and not self._feed_tasks:
            self._start_feeds()

    async def start(self) -> None:
        """Start the deployment: SafeguardError says which rule refused."""
        self.officer.require(Permission.START_DEPLOYMENT)
        updated = self.deployment.start(self._clock())
        await self._save_deployment(updated, "deployment started")
        self._start_feeds()

    async def conclude(self) -> dict[str, object]:
        self.officer.require(Permission.CONCLUDE_DEPLOYMENT)
        return await self._conclude(str(self.officer))

    async def _conclude(self, by: str) -> dict[str, object]:
        """Stop every feed, then delete the watchlist; return what was deleted."""
        if self.deployment.state.value == "concluded":
            return {}
        await self._stop_feeds()
        updated = self.deployment.conclude(self._clock())
        await self.store.call(
            self.store.store.deployments.update, updated, by, "deployment concluded", None
        )
        summary = await self.store.call(
            self.store.store.deployments.purge_watchlist, updated.reference, by
        )
        # The deployment record is produced at conclusion (and its counts kept for
        # publication after the alerts' retention ends).
        await self.store.call(deployment_record, self.store.store, updated.reference)
        self.watchlist = Watchlist(self.watchlist.folder, [])
        self.matcher.use(self.watchlist)  # the encodings leave memory as well as disk
        self.deployment = updated
        self._show_cameras_off()
        self.listener.deployment_changed(updated)
        return summary

    def use_watchlist(self, deployment: Deployment, watchlist: Watchlist) -> None:
        """A freshly imported watchlist (before the start): match against it from now on."""
        self.deployment = deployment
        self.watchlist = watchlist
        self.matcher.use(watchlist)
        self.listener.deployment_changed(deployment)

    async def change_threshold(self, value: float) -> None:
        self.officer.require(Permission.CHANGE_THRESHOLD)
        self.deployment.check_threshold(value, self.loosest_threshold)
        old = self.deployment.threshold
        await self._save_deployment(
            replace(self.deployment, threshold=value),
            "threshold changed",
            {"old": old, "new": value},
        )
        self.matcher.threshold = value
        for feed in self.feeds:
            feed.pipeline.sightings.threshold = value

    # -- alerts -----------------------------------------------------------------------
    def _restore(self) -> None:
        """After a restart (or crash), the officer's open work comes back from disk."""
        for record in self.store.store.alerts.open_alerts(self.deployment.reference):
            alert = record.alert
            if record.adjudication is None:
                self.pending[alert.alert_id] = alert
            else:
                self.engaged[alert.alert_id] = alert
            self.listener.alert_restored(alert, record.adjudication)

    def feed(self, camera: str) -> CameraFeed:
        return next(f for f in self.feeds if f.spec.camera == camera)

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
            subject = self.watchlist.subject(alert.subject_id)
        except KeyError:
            subject = None
        try:
            await self.store.call(
                self.store.store.alerts.save,
                self.deployment.reference,
                alert,
                subject.photo_rgb if subject else None,
            )
        except StorageError as exc:
            log.error("alert %s not saved: %s", alert.alert_id, exc)
            self.listener.storage_failed(f"Alert from {alert.camera} could not be saved: {exc}")

    async def adjudicate(self, alert_id: str, decision: Decision, note: str = "") -> Adjudication:
        """Record the officer's decision; return only once it is on disk.

        Raises StorageError (the alert stays pending) if it could not be written.
        """
        self.officer.require(Permission.ADJUDICATE)
        adjudication = Adjudication(alert_id, decision, str(self.officer), self._clock(), note)
        # The alert's own save was queued first on the same storage thread, so it is
        # written before its decision.
        await self.store.call(self.store.store.alerts.record_decision, adjudication)
        alert = self.pending.pop(alert_id, None)
        if alert is not None:
            # The camera frame shows passers-by: keep it no longer than it is needed.
            alert.scene_rgb = None
        if decision == Decision.ENGAGE and alert is not None:
            self.engaged[alert_id] = alert
        return adjudication

    async def record_outcome(
        self, alert_id: str, outcome: Outcome, note: str = ""
    ) -> OutcomeReport:
        """The second stage: what officers on the ground found. On disk before it returns."""
        self.officer.require(Permission.ADJUDICATE)
        report = OutcomeReport(alert_id, outcome, str(self.officer), self._clock(), note)
        await self.store.call(self.store.store.alerts.record_outcome, report)
        self.engaged.pop(alert_id, None)
        return report

    async def correct(self, alert_id: str, decision: Decision, reason: str) -> Correction:
        """A supervisor corrects a recorded decision; the original stays in the record."""
        self.officer.require(Permission.OVERRIDE)
        correction = Correction(alert_id, decision, str(self.officer), self._clock(), reason)
        await self.store.call(self.store.store.alerts.record_correction, correction)
        return correction


__all__ = ["MonitoringSession", "SafeguardError", "SessionListener"]
