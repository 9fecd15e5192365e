"""One camera feed: read frames, pace them, show them, hand the newest to analysis.

Live cameras (streams, webcams) fail in the street: connections drop, encoders hang,
frames arrive corrupt. A feed survives all of it on its own: a lost stream is reopened
with backoff, a silent one is caught by a watchdog on the event loop, a corrupt frame is
skipped (see VideoSource), and the state on the tile says which of these is happening.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import cv2
import numpy as np

from console.domain.alerts import BBox
from console.domain.sightings import AlertEvent
from console.pipeline import CameraCounters, CameraPipeline
from console.vision.encode_scheduler import OverloadStatus
from console.vision.pool import AnalysisPool
from console.vision.sources import (
    Frame,
    SourceError,
    SourceMissing,
    SourceSpec,
    StreamTimeout,
    VideoSource,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

HEALTH_WINDOW_S = 3600.0  # reconnects and stalls are counted over the last hour
RATE_WINDOW_S = 60.0  # frame rates on the tile: over the last minute
# Analyses a second per camera at most. Beyond this, extra analyses buy little latency
# (a sighting needs two frames a few hundred ms apart anyway) but cost a worker core:
# on a 2-core desk machine two cameras at 3/s keep the console under the CPU of the
# classic every-other-frame recipe (bench/live_pipeline.py).
MAX_ANALYSES_PER_SECOND = 3.0


class FeedState(StrEnum):
    WAITING = "waiting"  # not started: no frame is read or analysed
    CONNECTING = "connecting"
    LIVE = "live"  # frames are arriving
    STALLED = "stalled"  # a live source went silent; a reconnection follows
    RECONNECTING = "reconnecting"
    ENDED = "ended"  # a video file played to its end
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class FeedStatus:
    camera: str
    state: FeedState
    detail: str = ""
    decode_fps: float = 0.0
    analysed_fps: float = 0.0
    dropped: int = 0  # decoded but not analysed (by design: at most a few a second)
    faces_in_view: int = 0
    frames_decoded: int = 0
    bad_frames: int = 0  # undecodable frames skipped by a live source
    reconnects_last_hour: int = 0  # times the stream came back after being lost
    stalls_last_hour: int = 0  # times the stream went silent
    attempt: int = 0  # reconnection attempt under way (0: none)
    # The rates above are over the last minute (RATE_WINDOW_S); counts since the start:
    frames_analysed: int = 0
    # Faces whose check waited for the encoding budget (a crowd): None without a budget.
    overload: OverloadStatus | None = None


@dataclass(frozen=True)
class FacesInView:
    """Boxes to draw on the tile; names only for faces that matched the watchlist.

    ``frame_index`` is the frame they were found on: the tile draws them on that frame
    only (-1: on no frame)."""

    boxes: list[tuple[BBox, str | None]]
    frame_index: int = -1


class FeedListener(Protocol):
    """What a feed tells its presenter; called on the event loop's thread."""

    def feed_frame(
        self, camera: str, preview_rgb: np.ndarray, scale: float, index: int
    ) -> None: ...
    def feed_faces(self, camera: str, faces: FacesInView) -> None: ...
    def feed_status(self, status: FeedStatus) -> None: ...


class RecentEvents:
    """How many times something happened over a sliding window (and in all)."""

    def __init__(self, window_s: float = HEALTH_WINDOW_S) -> None:
        self.window_s = window_s
        self.total = 0
        self._times: deque[float] = deque()
        self._since: float | None = None  # the first event: a young window is shorter

    def add(self) -> None:
        self.total += 1
        now = time.monotonic()
        if self._since is None:
            self._since = now
        self._times.append(now)

    def recent(self) -> int:
        now = time.monotonic()
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        return len(self._times)

    def per_second(self) -> float:
        """Events a second over the window, or over the time since the first event when
        that is shorter (a camera live for ten seconds is not at a sixth of its rate)."""
        count = self.recent()
        if self._since is None:
            return 0.0
        span = min(self.window_s, max(1.0, time.monotonic() - self._since))
        return count / span


class FeedHealth:
    """A camera's connection record, beside the pipeline's frame counters."""

    def __init__(self) -> None:
        self.reconnects = RecentEvents()
        self.stalls = RecentEvents()
        self.outages_s: deque[float] = deque(maxlen=100)  # loss -> frames again, newest last


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))


class _Hung(Exception):
    """A call on the reader thread did not return in time."""


class _Stalled(StreamTimeout):
    """The watchdog saw no new frame for the stall time."""


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _forget(future: asyncio.Future[Any]) -> None:
    """Let an abandoned reader call finish unobserved, without 'exception never retrieved'."""
    future.add_done_callback(lambda f: f.cancelled() or f.exception())


class CameraFeed:
    """Plays one camera on the event loop.

    Frames are read on a thread of the feed's own (a hung camera blocks nobody else),
    paced to the video's clock for files, and shown. Analysis takes only the newest
    frame: while the pool works on this camera's previous frame, new frames are shown
    but not queued, and counted as dropped, so no backlog can build up.

    For live sources a watchdog bounds every wait on the reader thread: no new frame
    for ``spec.stall_s`` and the feed says STALLED, abandons that thread (its blocked
    read ends at the read timeout and the capture is released there) and reconnects on
    a fresh one. An analysis under way when a stream drops still completes, and alerts
    already raised are the session's: a reconnection touches neither.
    """

    def __init__(
        self,
        spec: SourceSpec,
        pipeline: CameraPipeline,
        pool: AnalysisPool,
        listener: FeedListener,
        on_alert: Callable[[AlertEvent], None],
        *,
        preview_width: int = 640,
        backoff: Backoff | None = None,
        max_analyses_per_second: float = MAX_ANALYSES_PER_SECOND,
        encode_every_face: bool = False,
    ) -> None:
        """*encode_every_face*: the engine before crowds (every face of every analysed
        frame encoded), for comparison; by default the cameras share the pool's budget
        of encodings and encode the faces that can change an outcome."""
        self.spec = spec
        self.pipeline = pipeline
        budget = getattr(pool, "budget", None)  # a stand-in pool may have none
        if not encode_every_face and pipeline.scheduler is None and budget is not None:
            pipeline.use_budget(budget)
        self.pool = pool
        self.listener = listener
        self.on_alert = on_alert
        self.preview_width = preview_width
        self._min_analysis_gap = 1.0 / max_analyses_per_second
        self._last_analysis = 0.0
        # x1.5 rather than x2: a camera back after a short outage is picked up within
        # about a second (the 10-minute soak with x2 took 4 s after each restart).
        self.backoff = backoff or Backoff(spec.retry_s, 1.5, spec.retry_max_s)
        self.state = FeedState.WAITING
        self.detail = ""
        self.attempt = 0  # reconnection attempts since frames last flowed
        self.health = FeedHealth()
        self._reader = self._new_reader()
        self._source: VideoSource | None = None
        self._analysis: asyncio.Task | None = None
        # Frame rates on the tile: over the last minute, steadier to read than a second's.
        self._decoded = RecentEvents(RATE_WINDOW_S)
        self._analysed = RecentEvents(RATE_WINDOW_S)
        self._stopping = False
        self._lost_at: float | None = None  # monotonic time the stream was lost
        self._has_been_live = False  # frames have flowed at least once
        self._last_frame_at = 0.0  # loop time of the newest frame (the watchdog's reference)
        # A live camera's clock and frame count run on across reconnections: the face and
        # sighting trackers downstream must never see time go backwards.
        self._clock_origin: float | None = None
        self._next_index = 0
        self._bad_frames_closed = 0  # bad frames of connections already closed
        # Wall-clock time (time.time()) at which video time 0 was due on screen, for files:
        # lets benchmarks turn a frame's video time into the moment it was shown.
        self.wall_origin: float | None = None
        # Counts already written to the record (the session saves only the increments).
        self.saved_faces = 0
        self.saved_frames = 0

    @property
    def counters(self) -> CameraCounters:
        return self.pipeline.counters

    @property
    def bad_frames(self) -> int:
        current = self._source.bad_frames if self._source is not None else 0
        return self._bad_frames_closed + current

    def status(self) -> FeedStatus:
        c = self.pipeline.counters
        return FeedStatus(
            self.spec.camera,
            self.state,
            self.detail,
            self._decoded.per_second(),
            self._analysed.per_second(),
            c.frames_skipped,
            c.faces_in_view if self.state == FeedState.LIVE else 0,
            frames_decoded=c.frames_decoded,
            bad_frames=self.bad_frames,
            reconnects_last_hour=self.health.reconnects.recent(),
            stalls_last_hour=self.health.stalls.recent(),
            attempt=self.attempt if self.state == FeedState.RECONNECTING else 0,
            frames_analysed=c.frames_analysed,
            overload=self.pipeline.overload() if self.state == FeedState.LIVE else None,
        )

    def _set_state(self, state: FeedState, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.listener.feed_status(self.status())

    def wait(self, reason: str, for_good: bool = False) -> None:
        """Show that the camera is off, and why (the deployment is not live); *for_good*:
        it will not run again (the deployment has concluded)."""
        self._set_state(FeedState.STOPPED if for_good else FeedState.WAITING, reason)

    # -- the connection loop ----------------------------------------------------------
    async def run(self) -> None:
        self._stopping = False
        self._reader = self._new_reader()
        self.attempt = 0
        self._lost_at = None
        if self._clock_origin is None:
            self._clock_origin = time.monotonic()
        while not self._stopping:
            try:
                ended = await self._connection()
            except SourceError as exc:
                if not await self._after_loss(exc):
                    return
                continue
            except Exception as exc:  # a bug or a library surprise must not kill the feed
                log.exception("camera %s: unexpected error", self.spec.camera)
                if not await self._after_loss(SourceError(f"unexpected error: {exc}")):
                    return
                continue
            if ended:
                self._set_state(FeedState.ENDED, "end of video")
                return

    async def _connection(self) -> bool:
        """Open the source and play it: True when a file ended, False when stopped.

        Raises SourceError when the source is lost or cannot be opened.
        """
        source = VideoSource(
            self.spec, first_index=self._next_index, clock_origin=self._clock_origin
        )
        reader = self._reader  # the thread that owns this capture, even once abandoned
        self._source = source
        if self.attempt == 0 and self._lost_at is None:
            self._set_state(FeedState.CONNECTING)
        else:
            self._set_state(FeedState.RECONNECTING, f"attempt {self.attempt}")
        try:
            await self._open(source)
            return False if self._stopping else await self._play(source)
        finally:
            self._bad_frames_closed += source.bad_frames
            self._source = None
            with suppress(RuntimeError):  # an abandoned reader already has the close queued
                reader.submit(source.close)

    async def _open(self, source: VideoSource) -> None:
        # OpenCV's own open timeout ends a connection attempt; this limit only catches
        # a backend that ignores it (the reader thread is then given up).
        limit = 2 * source.timeout_s if self.spec.is_live else None
        try:
            await self._on_reader(source.open, timeout=limit)
        except _Hung:
            self._abandon_reader(source)
            raise SourceError(
                f"no answer within {_seconds(limit or 0)} s: {self.spec.shown_location}"
            ) from None

    async def _after_loss(self, exc: SourceError) -> bool:
        """Show why the source was lost and wait before retrying; False: give up."""
        if self._stopping:
            return False
        # A broken file will not mend itself, nor will a webcam that has no device and
        # never had one (a wrong index in the plan). A webcam unplugged after frames
        # flowed is retried: its cable may be plugged back in.
        missing = isinstance(exc, SourceMissing) and not self._has_been_live
        if not self.spec.is_live or missing:
            log.warning("camera %s: %s", self.spec.camera, exc)
            self._set_state(FeedState.FAILED, str(exc))
            return False
        first = self._lost_at is None
        if first:
            self._lost_at = time.monotonic()
        stalled = isinstance(exc, StreamTimeout)
        if stalled:
            self.health.stalls.add()
        self.attempt += 1
        delay = self.backoff.delay(self.attempt)
        # Every failure of a long outage would flood the log: the first one is a warning.
        log.log(
            logging.WARNING if first or stalled else logging.INFO,
            "camera %s: %s (%s); reconnecting in %s s, attempt %d",
            self.spec.camera,
            "stalled" if stalled else "lost",
            exc,
            _seconds(delay),
            self.attempt,
        )
        if stalled:
            self._set_state(FeedState.STALLED, f"{exc}; reconnecting in {_seconds(delay)} s")
        else:
            self._set_state(
                FeedState.RECONNECTING, f"attempt {self.attempt} in {_seconds(delay)} s: {exc}"
            )
        await asyncio.sleep(delay)
        return not self._stopping

    # -- playing ----------------------------------------------------------------------
    async def _play(self, source: VideoSource) -> bool:
        """Show frames until the source ends (True) or the feed is stopped (False)."""
        loop = asyncio.get_running_loop()
        clock_start: float | None = None
        first_t = 0.0
        self._last_frame_at = loop.time()
        while not self._stopping:
            item = await self._next_frame(source)
            if item is None:
                return True
            if self._stopping:
                break
            frame, preview, scale = item
            if source.is_file:
                # Play files at their own frame rate, as a live camera would deliver them.
                if clock_start is None:
                    clock_start, first_t = loop.time(), frame.t
                    self.wall_origin = time.time() - frame.t
                delay = clock_start + (frame.t - first_t) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._show(frame, preview, scale)
        return False

    async def _next_frame(self, source: VideoSource) -> tuple[Frame, np.ndarray, float] | None:
        """The next frame from the reader thread, within the watchdog's limit."""
        if not self.spec.is_live:
            return await self._on_reader(self._read_with_preview, source)
        loop = asyncio.get_running_loop()
        left = self._last_frame_at + self.spec.stall_s - loop.time()
        try:
            return await self._on_reader(self._read_with_preview, source, timeout=left)
        except _Hung:
            # The read may stay blocked up to the read timeout: leave it to its thread.
            self._abandon_reader(source)
            raise _Stalled(f"no frame for {_seconds(self.spec.stall_s)} s") from None

    def _show(self, frame: Frame, preview: np.ndarray, scale: float) -> None:
        self._last_frame_at = asyncio.get_running_loop().time()
        self._next_index = frame.index + 1
        if self.state != FeedState.LIVE:
            self._went_live()
        self._decoded.add()
        self.pipeline.counters.frames_decoded += 1
        self.listener.feed_frame(self.spec.camera, preview, scale, frame.index)
        idle = self._analysis is None or self._analysis.done()
        due = time.monotonic() - self._last_analysis >= self._min_analysis_gap
        if idle and due:
            self._last_analysis = time.monotonic()
            self._analysis = asyncio.create_task(self._analyse(frame))
        else:
            self.pipeline.counters.frames_skipped += 1

    def _went_live(self) -> None:
        """Frames flow (again): LIVE, the backoff starts over, an outage is recorded."""
        if self._lost_at is not None:
            outage = time.monotonic() - self._lost_at
            self._lost_at = None
            self.health.reconnects.add()
            self.health.outages_s.append(outage)
            log.info(
                "camera %s: live again after %.1f s (%d attempt(s)): %s",
                self.spec.camera,
                outage,
                self.attempt,
                self.spec.shown_location,
            )
        self.attempt = 0
        self._has_been_live = True
        self._set_state(FeedState.LIVE)

    def _read_with_preview(self, source: VideoSource) -> tuple[Frame, np.ndarray, float] | None:
        frame = source.read()
        if frame is None:
            return None
        height, width = frame.image.shape[:2]
        scale = min(1.0, self.preview_width / width)
        small = cv2.resize(frame.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return frame, cv2.cvtColor(small, cv2.COLOR_BGR2RGB), scale

    async def _analyse(self, frame: Frame) -> None:
        try:
            if self.pipeline.scheduler is not None:
                events = await self._detect_then_encode(frame)
                if events is None:
                    return
            else:
                faces = await asyncio.wrap_future(self.pool.analyse(frame.image))
                if self._stopping:
                    return
                events = self.pipeline.process(frame, faces)
        except Exception as exc:  # a worker crash must not end the feed
            log.error("camera %s: analysis failed: %s", self.spec.camera, exc)
            return
        self._analysed.add()
        self.listener.feed_faces(
            self.spec.camera, FacesInView(self.pipeline.last_view, frame.index)
        )
        for event in events:
            self.on_alert(event)

    async def _detect_then_encode(self, frame: Frame) -> list[AlertEvent] | None:
        """The crowd engine: detect where faces can be, follow them, encode only the
        faces the scheduler chose (within the shared budget), then judge. None: stopped."""
        regions = self.pipeline.detection_regions(frame)
        detections = await asyncio.wrap_future(self.pool.detect(frame.image, regions))
        if self._stopping:
            return None
        chosen = self.pipeline.choose(frame, detections)
        encodings = []
        if chosen.to_encode:
            encodings = await asyncio.wrap_future(self.pool.encode(frame.image, chosen.boxes))
            if self._stopping:
                return None
        # Faces near the threshold: their second descriptor on the pool, not this thread.
        seconds, wanted = None, self.pipeline.wants_second(encodings)
        if wanted and hasattr(self.pool, "describe"):
            boxes = [chosen.boxes[i] for i in wanted]
            described = await asyncio.wrap_future(self.pool.describe(frame.image, boxes))
            seconds = dict(zip(wanted, described, strict=True))
        return self.pipeline.settle(frame, chosen, encodings, seconds)

    # -- the reader thread ------------------------------------------------------------
    def _new_reader(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix=f"feed-{self.spec.camera}")

    async def _on_reader(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn`` on the reader thread; raise _Hung if it takes over ``timeout`` s.

        Never cancels the call (a thread cannot be interrupted): a hung call is left to
        finish on its own, and the caller decides whether to abandon the thread.
        """
        future = asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)
        try:
            done, _ = await asyncio.wait({future}, timeout=timeout)
        except asyncio.CancelledError:
            _forget(future)
            raise
        if not done:
            _forget(future)
            raise _Hung
        return future.result()

    def _abandon_reader(self, source: VideoSource | None) -> None:
        """Give the reader thread up to a blocked call, and read on a fresh one.

        The source is closed on its old thread once the blocked call returns (OpenCV's
        read timeout bounds that), so a capture is never used by two threads at once.
        """
        old, self._reader = self._reader, self._new_reader()
        if source is not None:
            with suppress(RuntimeError):
                old.submit(source.close)
        old.shutdown(wait=False)

    async def stop(self) -> None:
        self._stopping = True
        if self._analysis is not None and not self._analysis.done():
            self._analysis.cancel()
        self._abandon_reader(self._source)
        self._set_state(FeedState.STOPPED)
