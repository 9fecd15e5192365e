"""Headless replay: the console's pipeline on video files, without a window.

Frames are analysed on the video's own clock (every k-th frame for a fixed number of
analyses per video second), never on the wall clock, so the same input always gives
the same alerts. Used by acceptance tests and scripts.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from console.domain.alerts import Alert
from console.domain.watchlist import Watchlist
from console.pipeline import CameraCounters, CameraPipeline, describe_here
from console.vision.analysis import FaceObservation
from console.vision.encode_scheduler import EncodeBudget
from console.vision.matcher import Matcher
from console.vision.pool import AnalysisPool
from console.vision.sources import Frame, SourceSpec, VideoSource

IN_FLIGHT_PER_CAMERA = 2


@dataclass
class ReplaySummary:
    frames_decoded: int
    frames_analysed: int
    faces_detected: int
    alerts: int
    wall_seconds: float
    cameras: dict[str, CameraCounters]

    def lines(self) -> list[str]:
        out = [
            f"frames decoded:  {self.frames_decoded}",
            f"frames analysed: {self.frames_analysed}",
            f"faces detected:  {self.faces_detected}",
            f"alerts:          {self.alerts}",
            f"wall seconds:    {self.wall_seconds:.1f}",
        ]
        for name, c in self.cameras.items():
            out.append(
                f"  {name}: {c.frames_decoded} decoded, {c.frames_analysed} analysed, "
                f"{c.faces_detected} faces, {c.alerts} alerts"
            )
        return out


def replay(
    cameras: list[SourceSpec],
    watchlist: Watchlist,
    pool: AnalysisPool,
    threshold: float,
    analyses_per_second: float = 5.0,
    on_frame: Callable[[], None] | None = None,
    on_view: Callable[[str, int, list], None] | None = None,
    encodes_per_second: float | None = None,
) -> tuple[list[Alert], ReplaySummary]:
    """Run every camera's video through the pipeline; return the alerts and a summary.

    *on_frame* is called (on a camera's thread) after each frame decoded: progress.
    *on_view* gets (camera, frame index, faces boxed with names) of each analysed frame:
    the trainer draws them on its tiles. *encodes_per_second*: the crowd engine (detect
    where faces can be, encode only what can change an outcome) within this budget,
    split evenly between the cameras on the video's clock so a replay stays
    deterministic; None (the default): every face of every analysed frame is encoded,
    as the Ray engine's cameras do (``console.engine.camera``)."""
    started = time.monotonic()
    matcher = Matcher(watchlist, threshold)
    pipelines = {
        spec.camera: CameraPipeline(
            spec.camera,
            matcher,
            _sequential_ids(),
            budget=None
            if encodes_per_second is None
            else EncodeBudget(encodes_per_second / len(cameras), clock=None),
            min_sharpness=pool.settings.min_sharpness,
            # Second descriptors of faces near the threshold: on the pool's workers.
            describe=_describer(pool),
        )
        for spec in cameras
    }
    with ThreadPoolExecutor(len(cameras), thread_name_prefix="replay") as decoders:
        futures = [
            decoders.submit(
                _replay_camera,
                spec,
                pipelines[spec.camera],
                pool,
                analyses_per_second,
                on_frame,
                on_view,
            )
            for spec in cameras
        ]
        per_camera = [f.result() for f in futures]
    alerts = sorted((a for camera in per_camera for a in camera), key=lambda a: (a.t, a.camera))
    counters = {name: p.counters for name, p in pipelines.items()}
    summary = ReplaySummary(
        frames_decoded=sum(c.frames_decoded for c in counters.values()),
        frames_analysed=sum(c.frames_analysed for c in counters.values()),
        faces_detected=sum(c.faces_detected for c in counters.values()),
        alerts=len(alerts),
        wall_seconds=time.monotonic() - started,
        cameras=counters,
    )
    return alerts, summary


def _replay_camera(
    spec: SourceSpec,
    pipeline: CameraPipeline,
    pool: AnalysisPool,
    analyses_per_second: float,
    on_frame: Callable[[], None] | None = None,
    on_view: Callable[[str, int, list], None] | None = None,
) -> list[Alert]:
    alerts: dict[str, Alert] = {}
    pending: deque[tuple[Frame, Future[list[FaceObservation]]]] = deque()

    def settle_oldest() -> None:
        frame, future = pending.popleft()
        for event in pipeline.process(frame, future.result()):
            alerts[event.alert.alert_id] = event.alert
        if on_view is not None:
            on_view(spec.camera, frame.index, list(pipeline.last_view))

    with VideoSource(SourceSpec(spec.camera, spec.location, loop=False)) as source:
        step = max(1, round(source.fps / analyses_per_second))
        while (frame := source.read()) is not None:
            pipeline.counters.frames_decoded += 1
            if on_frame is not None:
                on_frame()
            if frame.index % step:
                continue
            if pipeline.scheduler is not None:
                # Detect, choose, encode: each step needs the one before, frame by frame.
                detections = pool.detect(frame.image, pipeline.detection_regions(frame))
                chosen = pipeline.choose(frame, detections.result())
                encodings = pool.encode(frame.image, chosen.boxes).result()
                for event in pipeline.settle(frame, chosen, encodings):
                    alerts[event.alert.alert_id] = event.alert
                if on_view is not None:
                    on_view(spec.camera, frame.index, list(pipeline.last_view))
                continue
            pending.append((frame, pool.analyse(frame.image)))
            if len(pending) >= IN_FLIGHT_PER_CAMERA:
                settle_oldest()
        while pending:
            settle_oldest()
    return list(alerts.values())


def _describer(pool: AnalysisPool):  # noqa: ANN202
    """Second descriptors on the pool's workers (in this process if it has none)."""
    if not hasattr(pool, "describe"):
        return describe_here
    return lambda image, boxes: pool.describe(image, boxes).result()


def _sequential_ids():
    count = 0

    def next_id(camera: str) -> str:
        nonlocal count
        count += 1
        return f"{camera}-{count:03d}"

    return next_id


def write_alerts(alerts: list[Alert], out: TextIO) -> None:
    for alert in alerts:
        out.write(json.dumps(alert.to_record()) + "\n")
