"""The alert moment: a few seconds of a camera around a subject's best match, for the
card's instant replay, held in memory only.

Control rooms replay the seconds around an alarm: the officer sees how the person moved,
whether the face turned, who was beside them. The frames show passers-by, so they are
never written anywhere: each camera keeps a short ring of the preview frames it showed
(references to the frames the tile already holds, a few a second), an alert takes a clip
from it around its best match and goes on collecting until a moment after it, and the
clip is then compressed in memory. A clip lives while its incident is on the desk, at
most ``MAX_CLIPS`` of them, and all go when the deployment concludes.

Plain Python (no Qt): the window feeds frames and alerts in and the card plays ``frames``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from console.domain.alerts import Alert, BBox
from console.live.overlay import Box

CLIP_BEFORE_S = 2.5  # of the camera's time before the best match
CLIP_AFTER_S = 1.5  # and after it
CLIP_FPS = 8.0  # frames kept a second: enough to see a walk, a fraction of the memory
RING_S = 8.0  # how far back a camera's ring reaches (alerts come 1-2 s after the match)
GIVE_UP_S = 4.0  # a clip still short of its end this long after the alert is closed
MAX_CLIPS = 40  # about 1.3 MB each once compressed
JPEG_QUALITY = 80



@dataclass(frozen=True)
class MomentFrame:
    """One frame of a clip: its camera frame index, the picture, the faces found on it."""

    index: int
    rgb: np.ndarray
    scale: float  # preview pixels per camera pixel
    boxes: tuple[Box, ...] = ()


@dataclass
class _Shown:
    index: int
    at: float
    rgb: np.ndarray
    scale: float


@dataclass
class Clip:
    """The moment of one alert: frames before and after its best match."""

    alert_id: str
    camera: str
    subject_name: str
    best_index: int
    bbox: BBox
    opened_at: float
    raw: list[_Shown] = field(default_factory=list)
    boxes: dict[int, tuple[Box, ...]] = field(default_factory=dict)
    end_index: int | None = None  # collecting until a frame at or past this index
    _jpegs: list[tuple[int, bytes, float]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def complete(self) -> bool:
        return self.end_index is None

    @property
    def compressed(self) -> bool:
        return self._jpegs is not None

    def frames(self) -> list[MomentFrame]:
        """The clip as it stands (still growing until ``complete``), oldest first."""
        with self.lock:
            jpegs, raw = self._jpegs, list(self.raw)
        if jpegs is not None:
            out = []
            for index, data, scale in jpegs:
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if image is not None:
                    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
                    out.append(MomentFrame(index, rgb, scale, self.boxes.get(index, ())))
            return out
        return [MomentFrame(s.index, s.rgb, s.scale, self.boxes.get(s.index, ())) for s in raw]

    def best_position(self, frames: list[MomentFrame]) -> int:
        """Which of *frames* is the best match (the nearest at or before it)."""
        before = [i for i, f in enumerate(frames) if f.index <= self.best_index]
        return before[-1] if before else 0

    def memory_bytes(self) -> int:
        with self.lock:
            if self._jpegs is not None:
                return sum(len(d) for _, d, _ in self._jpegs)
            return sum(s.rgb.nbytes for s in self.raw)

    def _compress(self) -> None:
        """Once complete: JPEG in memory (a twentieth of the size); the raw frames go."""
        with self.lock:
            raw = list(self.raw)
        jpegs = []
        for shown in raw:
            ok, data = cv2.imencode(
                ".jpg",
                cv2.cvtColor(shown.rgb, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
            )
            if ok:
                jpegs.append((shown.index, data.tobytes(), shown.scale))
        with self.lock:
            self._jpegs, self.raw = jpegs, []


def best_frame(alert: Alert) -> int:
    """The camera frame of the alert's closest match (its raising frame without evidence)."""
    if alert.evidence:
        return min(alert.evidence, key=lambda e: e.distance).frame
    return alert.frame


class _Camera:
    """One camera's recent frames (a few a second) and the faces found on them."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.ring: deque[_Shown] = deque()
        self.boxes: OrderedDict[int, tuple[Box, ...]] = OrderedDict()
        self._last_kept = -1e9

    def add(self, index: int, rgb: np.ndarray, scale: float) -> _Shown | None:
        now = self.clock()
        if self.ring and index < self.ring[-1].index:
            self.ring.clear()  # the source started again (a looping file, a seek)
        if now - self._last_kept < 1.0 / CLIP_FPS:
            return None
        self._last_kept = now
        shown = _Shown(index, now, rgb, scale)
        self.ring.append(shown)
        while self.ring and now - self.ring[0].at > RING_S:
            self.ring.popleft()
        return shown

    def frames_per_second(self) -> float:
        """Camera frames (indices) a second, as they arrive: the clip's window in frames
        follows it (a scenario played at 2x covers twice the indices a second)."""
        if len(self.ring) < 2:
            return 25.0
        first, last = self.ring[0], self.ring[-1]
        span = last.at - first.at
        return (last.index - first.index) / span if span > 0 else 25.0

    def add_boxes(self, index: int, boxes: tuple[Box, ...]) -> None:
        self.boxes[index] = boxes
        while len(self.boxes) > 200:
            self.boxes.popitem(last=False)


class AlertMoments:
    """Every camera's recent frames, and the clips of the alerts on the desk."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cameras: dict[str, _Camera] = {}
        self._clips: OrderedDict[str, Clip] = OrderedDict()
        # Compression runs off the GUI thread (OpenCV releases the GIL while encoding).
        self._compressor = ThreadPoolExecutor(1, thread_name_prefix="moments")

    def _camera(self, camera: str) -> _Camera:
        if camera not in self._cameras:
            self._cameras[camera] = _Camera(self.clock)
        return self._cameras[camera]

    # -- fed by the window -------------------------------------------------------------
    def frame(self, camera: str, index: int | None, rgb: np.ndarray, scale: float) -> None:
        """A frame the tile showed (a reference is kept, never a copy on disk)."""
        if index is None:
            return
        cam = self._camera(camera)
        shown = cam.add(index, rgb, scale)
        now = self.clock()
        for clip in list(self._clips.values()):
            if clip.camera != camera or clip.complete:
                continue
            if shown is not None and (not clip.raw or shown.index > clip.raw[-1].index):
                with clip.lock:
                    clip.raw.append(shown)
            assert clip.end_index is not None
            if index >= clip.end_index or now - clip.opened_at > GIVE_UP_S:
                self._close(clip)

    def faces(self, camera: str, index: int, boxes: list[Box]) -> None:
        """The faces found on a frame: the named ones are drawn on the replay."""
        named = tuple(b for b in boxes if b[1])
        cam = self._camera(camera)
        cam.add_boxes(index, named)
        for clip in self._clips.values():
            if clip.camera == camera:
                clip.boxes[index] = named

    def alert(self, alert: Alert) -> Clip:
        """An alert was raised or improved: its clip, opened around its best match."""
        best = best_frame(alert)
        clip = self._clips.get(alert.alert_id)
        if clip is not None:
            if best != clip.best_index and not clip.complete:
                clip.best_index, clip.bbox = best, alert.bbox
                clip.end_index = best + self._after_frames(alert.camera)
            return clip
        cam = self._camera(alert.camera)
        fps = cam.frames_per_second()
        start = best - round(CLIP_BEFORE_S * fps)
        clip = Clip(
            alert.alert_id,
            alert.camera,
            alert.subject_name,
            best,
            alert.bbox,
            self.clock(),
            raw=[s for s in cam.ring if s.index >= start],
            boxes={i: b for i, b in cam.boxes.items() if i >= start},
            end_index=best + round(CLIP_AFTER_S * fps),
        )
        self._clips[alert.alert_id] = clip
        while len(self._clips) > MAX_CLIPS:
            self._clips.popitem(last=False)
        if clip.raw and clip.raw[-1].index >= (clip.end_index or 0):
            self._close(clip)
        return clip

    def _after_frames(self, camera: str) -> int:
        return round(CLIP_AFTER_S * self._camera(camera).frames_per_second())

    def _close(self, clip: Clip) -> None:
        clip.end_index = None
        self._compressor.submit(clip._compress)

    # -- read by the card ----------------------------------------------------------------
    def clip(self, alert_id: str) -> Clip | None:
        return self._clips.get(alert_id)

    def forget(self, alert_ids: list[str]) -> None:
        """The alerts left the desk (decided, their outcome recorded): their clips go."""
        for alert_id in alert_ids:
            self._clips.pop(alert_id, None)

    def clear(self) -> None:
        """The deployment concluded (or the window closes): nothing of any camera is left."""
        self._clips.clear()
        self._cameras.clear()

    def memory_bytes(self) -> int:
        return sum(c.memory_bytes() for c in self._clips.values())

    def wait_compressed(self) -> None:
        """For tests and benchmarks: until every closed clip is compressed."""
        self._compressor.submit(lambda: None).result()

    def close(self) -> None:
        self.clear()
        self._compressor.shutdown(wait=False, cancel_futures=True)
