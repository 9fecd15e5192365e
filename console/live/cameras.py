"""A deployment's cameras as the live session drives them: one interface, either engine.

The session never asks which engine runs its cameras. It asks them to ``start`` (once every
check for the cameras to run has passed: what the audit trail should say of it comes
back), to ``run`` (frames flow to the session), to ``stop`` (what was freed elsewhere
comes back, for the audit trail and the conclusion's summary), to change their
``threshold`` or ``watchlist``, and to ``close``. Each feed has the surface a tile and the
record use (spec, state, detail, counters, status, wait, the counts already saved).

- ``LocalCameras``: the feeds here, analysed by the console's own pool.
- ``RayCameras`` (``console.engine.ray_live``): each camera an actor on a Ray cluster,
  started only when the cameras may run, killed and its watchlist freed when they stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from console.domain.deployments import SafeguardError
from console.domain.sightings import AlertEvent
from console.domain.watchlist import Watchlist
from console.engine import EngineSettings
from console.live.feed import CameraFeed, FeedListener, FeedState, FeedStatus
from console.pipeline import CameraCounters, CameraPipeline
from console.vision.matcher import Matcher
from console.vision.pool import AnalysisPool
from console.vision.sources import SourceSpec

if TYPE_CHECKING:
    from console.live.record import AuditLater


class CamerasUnavailable(SafeguardError):
    """The engine cannot run the cameras (the Ray cluster is unreachable, refused the
    console's token, or has no room for them): said to the officer as a refusal."""


class Feed(Protocol):
    """One camera's tile, whichever engine runs it."""

    spec: SourceSpec
    state: FeedState
    detail: str
    saved_faces: int
    saved_frames: int

    @property
    def counters(self) -> CameraCounters: ...
    def status(self) -> FeedStatus: ...
    def wait(self, reason: str, for_good: bool = False) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class CamerasStarted:
    """What the audit trail says of a start: ``details`` go on the deployment's start entry;
    ``action`` (if any) is an entry of its own when the cameras start again later."""

    details: dict[str, object]
    action: str | None = None
    actor: str = ""


@dataclass(frozen=True)
class CamerasStopped:
    """What stopping the cameras freed elsewhere: audit entries (actor, action, details)
    and what the conclusion's summary adds (a cluster's purge receipt)."""

    entries: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)


class Cameras(Protocol):
    kind: str
    feeds: Sequence[Feed]

    @property
    def running(self) -> bool: ...
    async def start(self, watchlist: Watchlist, threshold: float) -> CamerasStarted: ...
    def run(self) -> None: ...
    async def stop(self, why: str) -> CamerasStopped: ...
    async def set_threshold(self, threshold: float) -> None: ...
    def use_watchlist(self, watchlist: Watchlist) -> None: ...
    async def close(self) -> None: ...


class LocalCameras:
    """The feeds here: each camera read on its own thread and analysed by the console's
    pool, matched against the session's matcher."""

    kind = "local"

    def __init__(
        self,
        sources: list[SourceSpec],
        matcher: Matcher,
        pool: AnalysisPool,
        listener: FeedListener,
        on_alert: Callable[[AlertEvent], None],
        new_alert_id: Callable[[str], str],
    ) -> None:
        self.matcher = matcher
        self.feeds: list[CameraFeed] = [
            CameraFeed(
                spec, CameraPipeline(spec.camera, matcher, new_alert_id), pool, listener, on_alert
            )
            for spec in sources
        ]
        self._tasks: list[asyncio.Task] = []
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    async def start(self, watchlist: Watchlist, threshold: float) -> CamerasStarted:
        """Nothing to bring up: the pool is the console's, the matcher the session's."""
        return CamerasStarted({"engine": self.kind})

    def run(self) -> None:
        self._running = True
        self._tasks = [asyncio.create_task(feed.run()) for feed in self.feeds]

    async def stop(self, why: str) -> CamerasStopped:
        for feed in self.feeds:
            await feed.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks, self._running = [], False
        return CamerasStopped()

    async def set_threshold(self, threshold: float) -> None:
        self.matcher.threshold = threshold
        for feed in self.feeds:
            feed.pipeline.set_threshold(threshold)

    def use_watchlist(self, watchlist: Watchlist) -> None:
        self.matcher.use(watchlist)

    async def close(self) -> None:
        """The pool belongs to the console, which shuts it down."""


def open_cameras(
    engine: EngineSettings,
    sources: list[SourceSpec],
    matcher: Matcher,
    pool: AnalysisPool,
    listener: FeedListener,
    on_alert: Callable[[AlertEvent], None],
    new_alert_id: Callable[[str], str],
    audit_later: AuditLater,
) -> Cameras:
    """The cameras on the engine the plan names (Ray is imported only when named)."""
    if engine.kind == "ray":
        from console.engine.ray_live import RayCameras

        return RayCameras(engine, sources, listener, on_alert, audit_later=audit_later)
    return LocalCameras(sources, matcher, pool, listener, on_alert, new_alert_id)

