"""One camera's whole pipeline, run where the camera is: capture, analysis, tracking,
matching. The Ray engine runs one of these in each camera's actor; it imports no Ray, so
it is tested and benchmarked on its own.

What leaves it, through ``poll`` (``CameraReport``), is only what the officer needs:
alert events with the matched face crop (PNG, lossless) and the scene frame of the match
(JPEG), the newest tile preview (JPEG, at most 960 px wide, at most ``preview_fps`` a
second on the camera's clock), the faces' boxes (a name only on a match), counts and
health. Frames, and the encodings and images of faces that do not match, stay in this
process's memory; nothing is written to disk.

Two clocks: ``realtime=False`` analyses every k-th frame of a file as fast as it can, on
the video's own clock, so a replay gives the same alerts as the local engine's;
``realtime=True`` reads the source as a live camera (a file paced at its frame rate) and
analyses the newest frame whenever the analysis is free, skipping the rest.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from console.domain.alerts import Alert, BBox
from console.domain.watchlist import Watchlist, WatchlistEntry
from console.pipeline import CameraCounters, CameraPipeline
from console.vision.analysis import AnalysisSettings, FaceObservation, analyse_frame
from console.vision.matcher import Matcher
from console.vision.sources import Frame, SourceError, SourceMissing, SourceSpec, VideoSource

PREVIEW_MAX_WIDTH = 960
PREVIEW_MAX_FPS = 10.0
PREVIEW_QUALITY = 70
SCENE_QUALITY = 90


@dataclass(frozen=True)
class WireAlert:
    """An alert event as it crosses to the console: the alert without its images, which
    travel compressed beside it (the crop lossless)."""

    alert: Alert  # crop_rgb and scene_rgb are None here
    is_new: bool
    crop_png: bytes  # empty: the images have not changed since the alert last crossed
    scene_jpeg: bytes
    frame_wall: float = 0.0  # wall-clock time its frame was read: for alert latency

    def restored(self, earlier: Alert | None = None) -> Alert:
        """The alert with its images back, as the local pipeline would have made it
        (from *earlier*, the version the console has, when they have not changed)."""
        if not self.crop_png and earlier is not None:
            return replace(self.alert, crop_rgb=earlier.crop_rgb, scene_rgb=earlier.scene_rgb)
        return replace(
            self.alert, crop_rgb=_decode_rgb(self.crop_png), scene_rgb=_decode_rgb(self.scene_jpeg)
        )

    @property
    def size(self) -> int:
        return len(self.crop_png) + len(self.scene_jpeg)


@dataclass
class CameraReport:
    """What one poll of a camera returns: everything since the previous poll."""

    camera: str
    incarnation: str  # changes when the camera's actor is restarted
    node_id: str
    state: str  # waiting, live, reconnecting, ended, failed
    reason: str = ""
    alerts: list[WireAlert] = field(default_factory=list)
    preview_jpeg: bytes = b""  # the newest preview since the last poll, or none
    preview_t: float = 0.0
    preview_index: int = -1  # the preview's frame number (the tile ties boxes to it)
    preview_scale: float = 1.0  # preview width / the camera's frame width
    boxes: list[tuple[BBox, str | None]] = field(default_factory=list)
    boxes_index: int = -1  # the frame the boxes were found on (-1: none analysed yet)
    counters: CameraCounters = field(default_factory=CameraCounters)
    next_frame: int = 0  # the index of the next frame this camera will read
    next_t: float = 0.0  # and its time on the camera's clock
    next_alert: int = 1  # the number the next alert id will carry
    analysis_s: float = 0.0  # thread CPU seconds spent analysing and matching so far
    cpu_s: float = 0.0  # the whole process's CPU seconds (decoding included) so far
    served_s: float = 0.0  # time this poll spent on the camera's side (waiting included)

    @property
    def done(self) -> bool:
        return self.state in ("ended", "failed")

    @property
    def payload_bytes(self) -> int:
        return len(self.preview_jpeg) + sum(a.size for a in self.alerts)


def slim_watchlist(watchlist: Watchlist) -> Watchlist:
    """Only what matching needs: ids, names, categories and encodings. Photos, images,
    image paths and notes stay with the console."""
    empty = np.zeros((0, 0, 3), dtype=np.uint8)
    subjects = [
        replace(
            s,
            entry=WatchlistEntry(s.entry.row, s.subject_id, s.name, s.category, Path()),
            photo_rgb=empty,
            image_jpeg=b"",
        )
        for s in watchlist.subjects
    ]
    return Watchlist(Path(), subjects, watchlist.created_at)


def preview_jpeg(frame_bgr: np.ndarray, width: int = PREVIEW_MAX_WIDTH) -> bytes:
    scale = preview_scale(frame_bgr)
    small = cv2.resize(frame_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
    return data.tobytes() if ok else b""


def preview_scale(frame: np.ndarray, width: int = PREVIEW_MAX_WIDTH) -> float:
    return min(1.0, width / frame.shape[1])


def _encode_rgb(image: np.ndarray | None, ext: str, params: list[int]) -> bytes:
    if image is None or image.size == 0:
        return b""
    ok, data = cv2.imencode(ext, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    return data.tobytes() if ok else b""


def _decode_rgb(data: bytes) -> np.ndarray | None:
    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_wire(
    alert: Alert, is_new: bool, frame_wall: float = 0.0, images: bool = True
) -> WireAlert:
    return WireAlert(
        replace(alert, crop_rgb=None, scene_rgb=None, evidence=list(alert.evidence)),
        is_new,
        _encode_rgb(alert.crop_rgb, ".png", []) if images else b"",
        _encode_rgb(alert.scene_rgb, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, SCENE_QUALITY])
        if images
        else b"",
        frame_wall,
    )


class CameraWork:
    """One camera's pipeline on a thread of its own; ``poll`` collects what it produced."""

    def __init__(
        self,
        spec: SourceSpec,
        watchlist: Watchlist,
        threshold: float,
        analyses_per_second: float = 5.0,
        realtime: bool = True,
        preview_fps: float = PREVIEW_MAX_FPS,
        settings: AnalysisSettings | None = None,
        node_id: str = "",
        incarnation: str = "",
        analyse: Callable[[np.ndarray], list[FaceObservation]] | None = None,
        alert_prefix: str = "",
    ) -> None:
        self.spec = spec
        self.threshold = threshold
        self.analyses_per_second = analyses_per_second
        self.realtime = realtime
        self.preview_interval = 1.0 / min(preview_fps, PREVIEW_MAX_FPS) if preview_fps > 0 else 0
        self.settings = settings or AnalysisSettings()
        self.node_id = node_id
        self.incarnation = incarnation
        # In-process by default (an actor is one camera's process); the benchmark's
        # local engine passes the console's shared pool instead.
        self._analyse_image = analyse or (lambda image: analyse_frame(image, self.settings))
        self._cpu_origin = time.process_time()
        self._matcher = Matcher(watchlist, threshold)
        self._alert_number = 1
        # The live console names alerts uniquely across deployments (the record's key);
        # a replay numbers them per camera, as the local replay does.
        self._alert_prefix = alert_prefix
        self._pipeline = CameraPipeline(spec.camera, self._matcher, self._next_alert_id)
        self._changed = threading.Condition()
        self._alerts: list[WireAlert] = []
        # Alerts raised here -> (evidence count, id of the crop) when they last crossed:
        # the sighting tracker adds evidence to an alert in place without an event, and
        # the console must end up with the alert as it is here.
        self._sent: dict[str, tuple[Alert, int, int]] = {}
        self._preview: tuple[bytes, float, int, float] | None = None
        self._view_index = -1  # the frame the newest boxes were found on
        self._next_preview_t = 0.0
        self._state, self._reason = "waiting", ""
        self._next_frame, self._next_t = 0, 0.0
        self._analysis_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _next_alert_id(self, camera: str) -> str:
        number = self._alert_number
        self._alert_number += 1
        return f"{self._alert_prefix or camera}-{number:03d}"

    # -- control ---------------------------------------------------------------------

    def start(self, first_frame: int = 0, first_t: float = 0.0, next_alert: int = 1) -> None:
        """Start reading and analysing. A camera resumed after its actor was restarted
        carries on where the console last heard from it: its frame numbers, its clock and
        its alert numbers continue (a file in a replay skips the frames already done)."""
        if self._thread is not None:
            return
        self._alert_number = next_alert
        target = self._run_live if self.realtime else self._run_replay
        self._thread = threading.Thread(
            target=target, args=(first_frame, first_t), name=f"camera-{self.spec.camera}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def set_threshold(self, threshold: float) -> None:
        """A supervisor changed the operating point: match at the new distance from now."""
        self.threshold = threshold
        self._matcher.threshold = threshold
        self._pipeline.set_threshold(threshold)

    def forget_watchlist(self) -> None:
        """Drop the watchlist's encodings from this process (the deployment concluded)."""
        self._matcher.use(Watchlist(Path(), []))

    def poll(self, wait_s: float = 0.0) -> CameraReport:
        """Everything new since the last poll; waits up to *wait_s* for something new."""
        began = time.perf_counter()
        with self._changed:
            if not (self._alerts or self._preview or self._state in ("ended", "failed")):
                self._changed.wait(wait_s)
            alerts, self._alerts = self._alerts, []
            preview, self._preview = self._preview, None
            pipeline = self._pipeline
            return CameraReport(
                camera=self.spec.camera,
                incarnation=self.incarnation,
                node_id=self.node_id,
                state=self._state,
                reason=self._reason,
                alerts=alerts,
                preview_jpeg=preview[0] if preview else b"",
                preview_t=preview[1] if preview else 0.0,
                preview_index=preview[2] if preview else -1,
                preview_scale=preview[3] if preview else 1.0,
                boxes=list(pipeline.last_view),
                boxes_index=self._view_index,
                counters=replace(pipeline.counters),
                next_frame=self._next_frame,
                next_t=self._next_t,
                next_alert=self._alert_number,
                analysis_s=self._analysis_s,
                cpu_s=time.process_time() - self._cpu_origin,
                served_s=time.perf_counter() - began,
            )

    # -- the work --------------------------------------------------------------------

    def _set_state(self, state: str, reason: str = "") -> None:
        with self._changed:
            self._state, self._reason = state, reason
            self._changed.notify_all()

    def _analyse(self, frame: Frame, frame_wall: float) -> None:
        started = time.thread_time()
        faces = self._analyse_image(frame.image)
        events = self._pipeline.process(frame, faces)
        self._view_index = frame.index
        changed = {e.alert.alert_id: e.is_new for e in events}
        for alert_id, (alert, evidence, _) in self._sent.items():
            if alert_id not in changed and len(alert.evidence) != evidence:
                changed[alert_id] = False
        wired = []
        for alert_id, is_new in changed.items():
            alert = next((e.alert for e in events if e.alert.alert_id == alert_id), None)
            alert = alert or self._sent[alert_id][0]
            crop = id(alert.crop_rgb)
            images = is_new or alert_id not in self._sent or self._sent[alert_id][2] != crop
            wired.append(to_wire(alert, is_new, frame_wall, images))
            self._sent[alert_id] = (alert, len(alert.evidence), crop)
        self._analysis_s += time.thread_time() - started
        if wired:
            with self._changed:
                self._alerts.extend(wired)
                self._changed.notify_all()

    def _offer_preview(self, frame: Frame) -> None:
        if not self.preview_interval or frame.t < self._next_preview_t:
            return
        self._next_preview_t = frame.t + self.preview_interval
        jpeg = preview_jpeg(frame.image)
        with self._changed:
            # An older, unsent preview is simply dropped.
            self._preview = (jpeg, frame.t, frame.index, preview_scale(frame.image))
            self._changed.notify_all()

    def _run_replay(self, first_frame: int, first_t: float) -> None:
        """Every k-th frame of a file, on the video's clock: as console.replay does."""
        counters = self._pipeline.counters
        try:
            with VideoSource(replace(self.spec, loop=False)) as source:
                step = max(1, round(source.fps / self.analyses_per_second))
                self._set_state("live")
                while not self._stop.is_set() and (frame := source.read()) is not None:
                    self._next_frame, self._next_t = frame.index + 1, frame.t + 1 / source.fps
                    if frame.index < first_frame:
                        continue  # done by this camera's previous actor
                    counters.frames_decoded += 1
                    self._offer_preview(frame)
                    if frame.index % step == 0:
                        self._analyse(frame, time.time())
            self._set_state("ended", "the video file ended")
        except SourceError as exc:
            self._set_state("failed", str(exc))

    def _run_live(self, first_frame: int, first_t: float) -> None:
        """Read as a live camera; analyse the newest frame whenever analysis is free."""
        newest: list[tuple[Frame, float]] = []
        have_frame = threading.Condition()
        reader = threading.Thread(
            target=self._read_live, args=(first_frame, first_t, newest, have_frame),
            name=f"reader-{self.spec.camera}", daemon=True,
        )
        reader.start()
        interval = 1.0 / self.analyses_per_second
        next_t = -1.0
        counters = self._pipeline.counters
        while not self._stop.is_set():
            with have_frame:
                while not newest and not self._stop.is_set() and reader.is_alive():
                    have_frame.wait(0.5)
                if not newest:
                    if not reader.is_alive():
                        break
                    continue
                frame, frame_wall = newest.pop()
            if frame.t < next_t:
                counters.frames_skipped += 1
                continue
            next_t = frame.t + interval
            self._analyse(frame, frame_wall)
        reader.join(timeout=10)

    def _read_live(
        self, first_frame: int, first_t: float, newest: list[tuple[Frame, float]],
        have_frame: threading.Condition,
    ) -> None:
        counters = self._pipeline.counters
        delay = self.spec.retry_s
        while not self._stop.is_set():
            try:
                with VideoSource(self.spec) as source:
                    self._set_state("live")
                    delay = self.spec.retry_s
                    started = time.monotonic()
                    while not self._stop.is_set():
                        read = source.read()
                        if read is None:
                            self._set_state("ended", "the video file ended")
                            with have_frame:
                                have_frame.notify_all()
                            return
                        # The clock and numbering carry on from the previous connection
                        # (or the previous actor): trackers need time that never goes back.
                        frame = Frame(read.image, read.index + first_frame, read.t + first_t)
                        self._next_frame, self._next_t = frame.index + 1, frame.t
                        counters.frames_decoded += 1
                        self._offer_preview(frame)
                        with have_frame:
                            if newest:
                                counters.frames_skipped += 1
                            newest[:] = [(frame, time.time())]
                            have_frame.notify_all()
                        if source.is_file:  # a file plays as a camera would send it
                            ahead = started + (read.index + 1) / source.fps - time.monotonic()
                            if ahead > 0:
                                time.sleep(ahead)
                    return
            except SourceMissing as exc:
                self._set_state("failed", str(exc))
                return
            except SourceError as exc:
                self._set_state("reconnecting", str(exc))
                first_frame, first_t = self._next_frame, self._next_t
                with contextlib.suppress(Exception):
                    self._stop.wait(delay)
                delay = min(delay * 2, self.spec.retry_max_s)
