"""One camera feed: read frames, pace them, show them, hand the newest to analysis."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import cv2
import numpy as np

from console.domain.alerts import BBox
from console.domain.sightings import AlertEvent
from console.pipeline import CameraPipeline
from console.vision.pool import AnalysisPool
from console.vision.sources import Frame, SourceError, SourceSpec, VideoSource

log = logging.getLogger(__name__)


class FeedState(StrEnum):
    WAITING = "waiting"  # not started: no frame is read or analysed
    CONNECTING = "connecting"
    LIVE = "live"
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
    dropped: int = 0
    faces_in_view: int = 0


@dataclass(frozen=True)
class FacesInView:
    """Boxes to draw on the tile; names only for faces that matched the watchlist."""

    boxes: list[tuple[BBox, str | None]]


class FeedListener(Protocol):
    """What a feed tells its presenter; called on the event loop's thread."""

    def feed_frame(self, camera: str, preview_rgb: np.ndarray, scale: float) -> None: ...
    def feed_faces(self, camera: str, faces: FacesInView) -> None: ...
    def feed_status(self, status: FeedStatus) -> None: ...


class _Rate:
    """Events per second over the last few seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self) -> None:
        self._times.append(time.monotonic())

    def per_second(self) -> float:
        now = time.monotonic()
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        return len(self._times) / self.window_s


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))


class CameraFeed:
    """Plays one camera on the event loop.

    Frames are read on a thread of the feed's own (a hung camera blocks nobody else),
    paced to the video's clock for files, and shown. Analysis takes only the newest
    frame: while the pool works on this camera's previous frame, new frames are shown
    but not queued, and counted as dropped, so no backlog can build up.
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
    ) -> None:
        self.spec = spec
        self.pipeline = pipeline
        self.pool = pool
        self.listener = listener
        self.on_alert = on_alert
        self.preview_width = preview_width
        self.backoff = backoff or Backoff()
        self.state = FeedState.WAITING
        self.detail = ""
        self._reader = ThreadPoolExecutor(1, thread_name_prefix=f"feed-{spec.camera}")
        self._analysis: asyncio.Task | None = None
        self._decoded = _Rate()
        self._analysed = _Rate()
        self._stopping = False
        # Wall-clock time (time.time()) at which video time 0 was due on screen, for files:
        # lets benchmarks turn a frame's video time into the moment it was shown.
        self.wall_origin: float | None = None
        # Counts already written to the record (the session saves only the increments).
        self.saved_faces = 0
        self.saved_frames = 0

    @property
    def counters(self):
        return self.pipeline.counters

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
        )

    def _set_state(self, state: FeedState, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.listener.feed_status(self.status())

    def wait(self, reason: str) -> None:
        """Show that the camera is off, and why (the deployment is not live)."""
        self._set_state(FeedState.WAITING, reason)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        self._stopping = False
        self._reader = ThreadPoolExecutor(1, thread_name_prefix=f"feed-{self.spec.camera}")
        while not self._stopping:
            source = VideoSource(self.spec)
            self._set_state(
                FeedState.CONNECTING if attempt == 0 else FeedState.RECONNECTING,
                f"attempt {attempt}" if attempt else "",
            )
            try:
                await loop.run_in_executor(self._reader, source.open)
                attempt = 0
                self._set_state(FeedState.LIVE)
                ended = await self._play(source)
            except SourceError as exc:
                log.warning("camera %s: %s", self.spec.camera, exc)
                if source.is_file:  # a broken file will not mend itself
                    self._set_state(FeedState.FAILED, str(exc))
                    return
                attempt += 1
                delay = self.backoff.delay(attempt)
                self._set_state(
                    FeedState.RECONNECTING, f"attempt {attempt} in {delay:.0f} s: {exc}"
                )
                await asyncio.sleep(delay)
                continue
            finally:
                await loop.run_in_executor(self._reader, source.close)
            if ended:
                self._set_state(FeedState.ENDED, "end of video")
                return

    async def _play(self, source: VideoSource) -> bool:
        """Show frames until the source ends (True) or the feed is stopped (False)."""
        loop = asyncio.get_running_loop()
        clock_start: float | None = None
        first_t = 0.0
        while not self._stopping:
            item = await loop.run_in_executor(self._reader, self._read_with_preview, source)
            if item is None:
                return True
            frame, preview, scale = item
            if source.is_file:
                # Play files at their own frame rate, as a live camera would deliver them.
                if clock_start is None:
                    clock_start, first_t = loop.time(), frame.t
                    self.wall_origin = time.time() - frame.t
                delay = clock_start + (frame.t - first_t) - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self._decoded.tick()
            self.pipeline.counters.frames_decoded += 1
            self.listener.feed_frame(self.spec.camera, preview, scale)
            if self._analysis is None or self._analysis.done():
                self._analysis = asyncio.create_task(self._analyse(frame))
            else:
                self.pipeline.counters.frames_skipped += 1
        return False

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
            faces = await asyncio.wrap_future(self.pool.analyse(frame.image))
        except Exception as exc:  # a worker crash must not end the feed
            log.error("camera %s: analysis failed: %s", self.spec.camera, exc)
            return
        if self._stopping:
            return
        self._analysed.tick()
        events = self.pipeline.process(frame, faces)
        self.listener.feed_faces(self.spec.camera, FacesInView(self.pipeline.last_view))
        for event in events:
            self.on_alert(event)

    async def stop(self) -> None:
        self._stopping = True
        if self._analysis is not None and not self._analysis.done():
            self._analysis.cancel()
        self._reader.shutdown(wait=False, cancel_futures=True)
        self._set_state(FeedState.STOPPED)
