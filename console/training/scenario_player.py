"""Scenario playback for training: every camera on one clock, with one set of controls.

The alerts are worked out beforehand by the headless replay (the same pipeline, on the
videos' own clock), so what a trainee is shown does not depend on the playback speed or
on how busy the machine is; the player only reveals each alert when playback reaches it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from console.domain.alerts import Alert
from console.live.feed import FacesInView, FeedListener, FeedState, FeedStatus
from console.vision.sources import Frame, SourceError, SourceSpec, VideoSource

log = logging.getLogger(__name__)

SPEEDS = (0.5, 1.0, 2.0, 4.0)
TICK_S = 0.04
# Analyses handed to a tile on each side of the frame shown: enough to place a face
# between two analyses (a replay analyses every few frames).
LOOK_AROUND_FRAMES = 25


class SeekableSource(VideoSource):
    """A video file that can jump: the trainer's seek bar. (Live sources cannot.)"""

    @property
    def frame_count(self) -> int:
        assert self._capture is not None
        return int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def seek(self, t: float) -> None:
        assert self._capture is not None
        index = max(0, int(round(t * self.fps)))
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._index = index  # so the next frame's time is right


@dataclass
class _Camera:
    spec: SourceSpec
    source: SeekableSource
    reader: ThreadPoolExecutor
    frames: int = 0  # frames in the file, as the container says
    last: Frame | None = None
    state: FeedState = FeedState.CONNECTING
    detail: str = ""

    @property
    def duration(self) -> float:
        return self.frames / self.source.fps if self.frames else 0.0

    def advance_to(self, t: float) -> Frame | None:
        """Decode up to scenario time *t*; the newest frame reached, or None if none new."""
        newest = None
        while self.state == FeedState.LIVE:
            if self.last is not None and self.last.t + 0.5 / self.source.fps >= t:
                break
            try:
                frame = self.source.read()
            except SourceError as exc:  # a camera that fails halfway, as streets do
                self.state, self.detail = FeedState.FAILED, str(exc)
                break
            if frame is None:
                self.state, self.detail = FeedState.ENDED, "end of video"
                break
            self.last = newest = frame
        return newest

    def seek(self, t: float) -> None:
        self.source.seek(t)
        self.last = None
        if self.state == FeedState.ENDED:
            self.state, self.detail = FeedState.LIVE, ""


class ScenarioPlayer:
    def __init__(
        self,
        cameras: list[SourceSpec],
        alerts: list[Alert],
        listener: FeedListener,
        on_alert: Callable[[Alert], None],
        preview_width: int = 640,
        views: dict[str, dict[int, list]] | None = None,
    ) -> None:
        self.specs = cameras
        # The faces the replay found, per camera and analysed frame: drawn on the tiles
        # as a live analysis would be (each on its own frame).
        self.views = views or {}
        self._view_indexes = {camera: sorted(v) for camera, v in self.views.items()}
        self.alerts = sorted(alerts, key=lambda a: a.t)
        self.listener = listener
        self.on_alert = on_alert
        self.preview_width = preview_width
        self.position = 0.0
        self.speed = 1.0
        self.playing = False
        self.duration = 0.0
        self._revealed: set[str] = set()
        self._cameras: list[_Camera] = []
        self._seek_to: float | None = None
        self._step = False
        self._task: asyncio.Task | None = None

    # -- controls -------------------------------------------------------------------------
    def play(self) -> None:
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}")
        self.speed = speed

    def seek(self, t: float) -> None:
        self._seek_to = max(0.0, min(t, self.duration))

    def step(self) -> None:
        """One frame forward, paused."""
        self.playing = False
        self._step = True

    @property
    def finished(self) -> bool:
        return bool(self._cameras) and all(c.state != FeedState.LIVE for c in self._cameras)

    # -- running ----------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for cam in self._cameras:
            cam.reader.submit(cam.source.close)
            cam.reader.shutdown(wait=False)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        for spec in self.specs:
            cam = _Camera(spec, SeekableSource(spec), ThreadPoolExecutor(1))
            try:
                await loop.run_in_executor(cam.reader, cam.source.open)
                cam.frames = int(cam.source.frame_count)
                cam.state = FeedState.LIVE
            except SourceError as exc:
                cam.state, cam.detail = FeedState.FAILED, str(exc)
            self._cameras.append(cam)
            self._report(cam)
        self.duration = max((c.duration for c in self._cameras), default=0.0)
        # The first frame at once: a paused scenario shows its street, not black tiles.
        await self._show(0.0)

    async def _run(self) -> None:
        await self._open()
        loop = asyncio.get_running_loop()
        clock = loop.time()
        while True:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            elapsed, clock = now - clock, now
            if self._seek_to is not None:
                target, self._seek_to = self._seek_to, None
                await asyncio.gather(
                    *(loop.run_in_executor(c.reader, c.seek, target) for c in self._cameras)
                )
                self.position = target
            elif self._step:
                self._step = False
                self.position += 1.0 / max(c.source.fps for c in self._cameras)
            elif self.playing:
                self.position = min(self.duration, self.position + elapsed * self.speed)
            else:
                continue
            await self._show(self.position)
            if self.position >= self.duration:
                self.playing = False

    async def _show(self, t: float) -> None:
        loop = asyncio.get_running_loop()
        live = [c for c in self._cameras if c.state == FeedState.LIVE]
        frames = await asyncio.gather(
            *(loop.run_in_executor(c.reader, c.advance_to, t) for c in live)
        )
        for cam, frame in zip(live, frames, strict=True):
            if frame is not None:
                preview, scale = self._preview(frame.image)
                self._faces_around(cam.spec.camera, frame.index)
                self.listener.feed_frame(cam.spec.camera, preview, scale, frame.index)
            self._report(cam)
        for alert in self.alerts:
            if alert.t <= t and alert.alert_id not in self._revealed:
                self._revealed.add(alert.alert_id)
                self.on_alert(alert)

    def _faces_around(self, camera: str, index: int) -> None:
        """Hand the tile the analyses on both sides of frame *index* (known ahead)."""
        indexes = self._view_indexes.get(camera)
        if not indexes:
            return
        lo = bisect.bisect_left(indexes, index - LOOK_AROUND_FRAMES)
        hi = bisect.bisect_right(indexes, index + LOOK_AROUND_FRAMES)
        for i in indexes[lo:hi]:
            self.listener.feed_faces(camera, FacesInView(self.views[camera][i], i))

    def _preview(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        scale = min(1.0, self.preview_width / image.shape[1])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2RGB), scale

    def _report(self, cam: _Camera) -> None:
        self.listener.feed_status(FeedStatus(cam.spec.camera, cam.state, cam.detail))
