"""The live console on the Ray engine: each camera's tile fed by its actor on a cluster.

``RayCameras`` is what the monitoring session drives in place of its local feeds when the
plan (or ``run --engine ray``) names the Ray engine. Its ``feeds`` have the surface the
session and the window use of a local ``CameraFeed`` (spec, state, detail, counters,
status, wait, the counts already saved), so alerts, counts and health go through the same
session and record as the desk's: the same alert cards, the same audit.

One thread talks to the cluster (``RayEngine`` is not shared between threads): it starts
the actors, polls them, and concludes them. What it hears is handed to the event loop:
previews (JPEG decoded here, at most 960 px and 10 a second), the faces' boxes, alerts
with their images, counts, and each camera's state, including RECONNECTING with the reason
when its node is lost and LIVE again once Ray has restarted its actor on another node.
Each node that serves a camera is audited (``audit_later``), and so is every purge.

``RayCameras`` is the session's ``Cameras`` (``console.live.cameras``) on this engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from console.domain.alerts import Alert, BBox
from console.domain.sightings import AlertEvent
from console.domain.watchlist import Watchlist
from console.engine import EngineError, EngineSettings
from console.engine.ray_backend import POLL_WAIT_S, PurgeReceipt, RayEngine
from console.live.cameras import CamerasStarted, CamerasStopped, CamerasUnavailable
from console.live.feed import (
    MAX_ANALYSES_PER_SECOND,
    RATE_WINDOW_S,
    FacesInView,
    FeedHealth,
    FeedListener,
    FeedState,
    FeedStatus,
)
from console.pipeline import CameraCounters
from console.vision.sources import SourceSpec

log = logging.getLogger(__name__)

# Audit actions of the Ray engine (the deployment started entry says which engine ran).
CAMERAS_ON_CLUSTER = "cameras started on the Ray cluster"
CAMERA_NODE = "camera served by a Ray node"
CLUSTER_PURGED = "deployment purged from the Ray cluster"
ENGINE_ACTOR = "console: Ray engine"

# The actor's states, as the tile shows them.
_STATES = {
    "waiting": FeedState.CONNECTING,
    "live": FeedState.LIVE,
    "reconnecting": FeedState.RECONNECTING,
    "ended": FeedState.ENDED,
    "failed": FeedState.FAILED,
}


@dataclass
class CameraNews:
    """What one poll brought of one camera, ready for the event loop."""

    camera: str
    state: str
    reason: str
    nodes: list[str]
    counters: CameraCounters
    preview: tuple[np.ndarray, float, int] | None = None  # RGB, scale, frame number
    boxes: tuple[list[tuple[BBox, str | None]], int] | None = None  # boxes, frame number
    alerts: list[tuple[Alert, bool]] = field(default_factory=list)  # alert, is new
    node_labels: dict[str, str] = field(default_factory=dict)  # when its nodes changed


class _Rate:
    """A count's rate over the last minute, from the totals the camera reports."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, total: int) -> None:
        now = time.monotonic()
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def per_second(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / max(1.0, t1 - t0)


class RayCameraFeed:
    """One camera's tile on the Ray engine, with the surface of a local ``CameraFeed``
    that the session uses."""

    def __init__(self, spec: SourceSpec, listener: FeedListener) -> None:
        self.spec = spec
        self.listener = listener
        self.state = FeedState.WAITING
        self.detail = ""
        self.counters = CameraCounters()
        self.health = FeedHealth()
        self.nodes: list[str] = []  # every node that served this camera, in order
        # Counts already written to the record (the session saves only the increments).
        self.saved_faces = 0
        self.saved_frames = 0
        self._decoded = _Rate()
        self._analysed = _Rate()
        self._boxes_index = -1
        self._lost_at: float | None = None

    def status(self) -> FeedStatus:
        c = self.counters
        return FeedStatus(
            self.spec.camera,
            self.state,
            self.detail,
            self._decoded.per_second(),
            self._analysed.per_second(),
            c.frames_skipped,
            c.faces_in_view if self.state == FeedState.LIVE else 0,
            frames_decoded=c.frames_decoded,
            reconnects_last_hour=self.health.reconnects.recent(),
            frames_analysed=c.frames_analysed,
        )

    def set_state(self, state: FeedState, detail: str = "") -> None:
        if state == FeedState.RECONNECTING and self._lost_at is None:
            self._lost_at = time.monotonic()
        elif state == FeedState.LIVE and self._lost_at is not None:
            self.health.reconnects.add()
            self.health.outages_s.append(time.monotonic() - self._lost_at)
            self._lost_at = None
        changed = (state, detail) != (self.state, self.detail)
        self.state, self.detail = state, detail
        if changed:
            self.listener.feed_status(self.status())

    def wait(self, reason: str, for_good: bool = False) -> None:
        """Show that the camera is off, and why (the deployment is not live); *for_good*:
        it will not run again (the deployment has concluded)."""
        self.set_state(FeedState.STOPPED if for_good else FeedState.WAITING, reason)

    async def stop(self) -> None:
        self.set_state(FeedState.STOPPED)

    def heard(self, news: CameraNews) -> None:
        """Show what the camera's actor sent."""
        self.counters = news.counters
        self._decoded.add(news.counters.frames_decoded)
        self._analysed.add(news.counters.frames_analysed)
        self.nodes = news.nodes
        if news.preview is not None:
            rgb, scale, index = news.preview
            self.listener.feed_frame(self.spec.camera, rgb, scale, index)
        if news.boxes is not None and news.boxes[1] != self._boxes_index:
            self._boxes_index = news.boxes[1]
            self.listener.feed_faces(self.spec.camera, FacesInView(*news.boxes))
        self.set_state(_STATES.get(news.state, FeedState.FAILED), news.reason)


def _decode_preview(jpeg: bytes) -> np.ndarray | None:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class RayCameras:
    """A deployment's cameras as actors on a Ray cluster, for the live session:
    ``start`` (when the cameras may run), ``run`` (the news, until stopped), ``stop``
    (actors killed, watchlist freed: the purge receipt, audited), ``close``."""

    kind = "ray"

    def __init__(
        self,
        settings: EngineSettings,
        sources: list[SourceSpec],
        listener: FeedListener,
        on_alert: Callable[[AlertEvent], None],
        on_node: Callable[[str, str, str, str], None] | None = None,
        analyses_per_second: float = MAX_ANALYSES_PER_SECOND,
        audit_later: Callable[[str, str, dict[str, object]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.address = settings.address or ""
        self.sources = sources
        self.feeds = [RayCameraFeed(spec, listener) for spec in sources]
        self._by_name = {f.spec.camera: f for f in self.feeds}
        self.on_alert = on_alert
        # (camera, node id, node label, why): a node began serving a camera.
        self.on_node = on_node or self._audit_node
        self.audit_later = audit_later
        self._listening: asyncio.Task | None = None
        self.analyses_per_second = analyses_per_second
        self.engine: RayEngine | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ray-engine")
        self._stopping = False
        self._known_nodes: dict[str, list[str]] = {}
        self.labels: dict[str, str] = {}  # node id -> its lfr-node label

    async def _on_thread(self, fn: Callable, *args: object):  # noqa: ANN202
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    @property
    def running(self) -> bool:
        return self._listening is not None

    def use_watchlist(self, watchlist: Watchlist) -> None:
        """The watchlist goes to the cluster with each start; nothing runs before."""

    # -- start -----------------------------------------------------------------------
    async def start(self, watchlist: Watchlist, threshold: float) -> CamerasStarted:
        """Connect (once) and start one actor per camera; what the audit records of it:
        the engine, the cluster's address and the node serving each camera. Raises
        CamerasUnavailable, saying why, when the cluster cannot run them (nothing is left
        running then)."""
        self._stopping = False
        for feed in self.feeds:
            feed.set_state(FeedState.CONNECTING, f"starting on the Ray cluster at {self.address}")
        try:
            await self._on_thread(self._start, watchlist, threshold)
        except EngineError as exc:
            for feed in self.feeds:
                feed.set_state(FeedState.FAILED, str(exc))
            raise CamerasUnavailable(f"the cameras cannot run on the Ray cluster: {exc}") from exc
        return CamerasStarted(self.audit_details(), CAMERAS_ON_CLUSTER, ENGINE_ACTOR)

    def _start(self, watchlist: Watchlist, threshold: float) -> None:
        try:
            if self.engine is None:
                self.engine = RayEngine(self.settings)
            self.engine.start(
                self.sources, watchlist, threshold, self.analyses_per_second,
                realtime=True, unique_alert_ids=True,
            )
            self.labels = self.engine.node_labels()
        except Exception as exc:
            if self.engine is not None and self.engine.cameras:
                self.engine.conclude()  # no actor outlives a start that failed
            if isinstance(exc, EngineError):
                raise
            raise EngineError(f"the Ray cluster at {self.address} could not start the "
                              f"cameras: {type(exc).__name__}: {str(exc)[:300]}") from exc
        for name, run in self.engine.cameras.items():
            self._known_nodes[name] = list(run.nodes)
            feed = self._by_name[name]
            feed.nodes = list(run.nodes)

    def audit_details(self) -> dict[str, object]:
        return {
            "engine": "ray",
            "ray_address": self.address,
            "camera_nodes": {
                f.spec.camera: [{"node": n, "label": self.labels.get(n, "")} for n in f.nodes]
                for f in self.feeds
            },
        }

    # -- running ---------------------------------------------------------------------
    def run(self) -> None:
        """The actors are running: hear from them (until stopped)."""
        self._listening = asyncio.create_task(self.listen())

    async def listen(self) -> None:
        """Poll the cameras and show what they send, until stopped or every camera ended."""
        while not self._stopping:
            try:
                news = await self._on_thread(self._poll)
            except Exception:  # a surprise from the cluster must not end the deployment
                log.exception("polling the Ray cluster")
                await asyncio.sleep(1.0)
                continue
            if self._stopping:
                return
            for item in news:
                self._deliver(item)
            if not any(not f.done for f in self._runs()):
                return

    def _runs(self) -> list:
        return list(self.engine.cameras.values()) if self.engine is not None else []

    def _poll(self) -> list[CameraNews]:
        engine = self.engine
        if engine is None or not engine.cameras:
            return []
        reports = engine.poll(POLL_WAIT_S)
        news: list[CameraNews] = []
        for name, run in engine.cameras.items():
            item = CameraNews(name, run.state, run.reason, list(run.nodes), run.counters())
            seen: dict[str, bool] = {}
            for report in (r for r in reports if r.camera == name):
                if report.preview_jpeg:
                    rgb = _decode_preview(report.preview_jpeg)
                    if rgb is not None:
                        item.preview = (rgb, report.preview_scale, report.preview_index)
                if report.boxes_index >= 0:
                    item.boxes = (list(report.boxes), report.boxes_index)
                for wired in report.alerts:
                    alert_id = wired.alert.alert_id
                    seen[alert_id] = seen.get(alert_id, False) or wired.is_new
            # The newest version of each alert, images restored (RayEngine keeps it).
            item.alerts = [(engine.alerts[a], new) for a, new in seen.items()]
            if item.nodes != self._known_nodes.get(name):
                self.labels = engine.node_labels()
                item.node_labels = dict(self.labels)
            news.append(item)
        return news

    def _deliver(self, news: CameraNews) -> None:
        feed = self._by_name[news.camera]
        known = self._known_nodes.get(news.camera, [])
        moved_from = known[-1] if known else ""
        reason = feed.detail if feed.state == FeedState.RECONNECTING else ""
        feed.heard(news)
        for alert, is_new in news.alerts:
            # A copy: the session and the window may change theirs (the scene is dropped
            # at the decision); the engine's stays as the camera last sent it.
            self.on_alert(AlertEvent(replace(alert), is_new))
        if news.nodes != known:
            for node in news.nodes[len(known):]:
                why = f"moved from node {moved_from}: {reason}" if moved_from else "started"
                if self.on_node is not None:
                    self.on_node(news.camera, node, news.node_labels.get(node, ""), why)
            self._known_nodes[news.camera] = list(news.nodes)

    def _audit_node(self, camera: str, node: str, label: str, why: str) -> None:
        """A node began serving a camera (a move after a node was lost, or a restart)."""
        if why == "started" or self.audit_later is None:
            return  # recorded with the start itself (camera_nodes)
        self.audit_later(
            ENGINE_ACTOR,
            CAMERA_NODE,
            {"camera": camera, "node": node, "label": label, "why": why,
             "ray_address": self.settings.address},
        )

    async def set_threshold(self, threshold: float) -> None:
        if self.engine is not None and self.engine.cameras:
            await self._on_thread(self.engine.set_threshold, threshold)

    # -- the end ---------------------------------------------------------------------
    async def stop(self, why: str = "cameras stopped") -> CamerasStopped:
        """Kill every camera's actor and free the watchlist on the cluster (after the
        poll in flight): the receipt names the nodes purged, for the audit trail and the
        conclusion's summary; nothing when nothing ran."""
        receipt = await self.stop_actors()
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
        if receipt is None:
            return CamerasStopped()
        details: dict[str, object] = {
            "why": why,
            "ray_address": receipt.address,
            "nodes": {n: receipt.node_labels.get(n, "") for n in receipt.nodes},
            "actors_killed": receipt.actors_killed,
            "watchlist_object": receipt.watchlist_object,
        }
        return CamerasStopped(
            [(ENGINE_ACTOR, CLUSTER_PURGED, details)], {"ray_purge": receipt.lines()}
        )

    async def stop_actors(self) -> PurgeReceipt | None:
        """Kill every camera's actor and free the watchlist; None if nothing ran."""
        self._stopping = True
        for feed in self.feeds:
            feed.set_state(FeedState.STOPPED)
        if self.engine is None or not self.engine.cameras:
            return None  # nothing runs (and after close the thread is gone)
        return await self._on_thread(self._conclude)

    def _conclude(self) -> PurgeReceipt | None:
        if self.engine is None or not self.engine.cameras:
            return None
        return self.engine.conclude()

    async def close(self) -> None:
        """Leave the cluster (after ``stop``: a running deployment is concluded first)."""
        if self.engine is not None:
            await self._on_thread(self.engine.close)
            self.engine = None
        self._thread.shutdown(wait=False)
