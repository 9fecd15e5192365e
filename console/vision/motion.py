"""Where faces can be: motion between analysed frames, and where followed faces will be.

Frigate's approach to cheap detection on a busy camera: look for motion on a small
picture (almost free), then run the expensive detector only where something moved. Here
a full-frame sweep still runs at a lower rate (a person who stands still is found on
the next sweep), and between sweeps HOG runs only

- around each followed face's predicted place, shrunk so the face is about as wide as
  HOG's window (a 200 px face is looked for at half scale: a quarter of the cost), and
- over motion that no followed face explains (somebody new walking in), at full scale.

1080p is swept at a 1280-wide scale (the 720p cost, not 2.25 times it); faces too small
for that scale are found by the motion regions at full scale, or on a later sweep as
they approach. When the regions would cost more than a sweep, a sweep is done instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from console.domain.alerts import BBox
from console.vision.analysis import Region

MOTION_WIDTH = 240  # the small picture motion is found on


class MotionDetector:
    """Regions that changed since the previous analysed frame, in full-frame pixels."""

    def __init__(self, threshold: int = 18, min_area_px: int = 12) -> None:
        # A walking person changes tens of grey levels; the sensor's noise is averaged
        # away by the shrinking and the blur.
        self.threshold = threshold
        self.min_area_px = min_area_px  # components smaller than this (small pixels) are noise
        self._previous: np.ndarray | None = None

    def regions(self, frame_bgr: np.ndarray) -> list[tuple[int, int, int, int]] | None:
        """(x0, y0, x1, y1) boxes of motion; None on the first frame (nothing to compare)."""
        height, width = frame_bgr.shape[:2]
        scale = MOTION_WIDTH / width
        # Every other pixel first: the shrinking's cost falls by 4 and the result is alike.
        small = cv2.resize(
            frame_bgr[::2, ::2],
            (MOTION_WIDTH, max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        )
        gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        previous, self._previous = self._previous, gray
        if previous is None or previous.shape != gray.shape:
            return None
        moved = (cv2.absdiff(gray, previous) > self.threshold).astype(np.uint8)
        moved = cv2.dilate(moved, np.ones((5, 5), np.uint8), iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(moved, connectivity=8)
        boxes = []
        for x, y, w, h, area in stats[1:count]:
            if area >= self.min_area_px:
                boxes.append(
                    (int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale))
                )
        return boxes

    def reset(self) -> None:
        self._previous = None


@dataclass(frozen=True)
class DetectionSettings:
    sweep_interval_s: float = 1.0  # a full-frame sweep at least this often
    sweep_width: int = 1280  # frames wider than this are swept shrunk to it
    face_window_px: float = 100.0  # a followed face is looked for shrunk to about this
    track_pad: float = 1.0  # face widths around a predicted face (its slack and drift)
    motion_pad_px: int = 48  # around a motion region: a face half in it is whole
    # A motion region that a followed face's region covers this much is explained by it.
    covered: float = 0.6


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The share of *a*'s area inside *b*."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return w * h / area


class DetectionPlanner:
    """Decides, frame by frame, where one camera's faces are looked for."""

    def __init__(self, settings: DetectionSettings | None = None) -> None:
        self.settings = settings or DetectionSettings()
        self.motion = MotionDetector()
        self._last_sweep: float | None = None
        self.sweeps = 0
        self.partial = 0

    def plan(self, frame_bgr: np.ndarray, t: float, predicted: list[BBox]) -> list[Region]:
        """The regions to detect in for the frame at *t*, given the faces followed so far
        (*predicted*: where each should be now)."""
        s = self.settings
        height, width = frame_bgr.shape[:2]
        motion = self.motion.regions(frame_bgr)
        sweep = [Region(0, 0, width, height, min(1.0, s.sweep_width / width))]
        due = self._last_sweep is None or t - self._last_sweep >= s.sweep_interval_s
        if due or motion is None or t < (self._last_sweep or 0.0):
            return self._sweep(t, sweep)
        regions: list[Region] = []
        tracked: list[tuple[int, int, int, int]] = []
        for top, right, bottom, left in predicted:
            w = max(1, right - left)
            pad = int(s.track_pad * w)
            box = (left - pad, top - pad, right + pad, bottom + pad)
            tracked.append(box)
            regions.append(Region(*box, scale=min(1.0, s.face_window_px / w)))
        for x0, y0, x1, y1 in motion:
            box = (
                x0 - s.motion_pad_px,
                y0 - s.motion_pad_px,
                x1 + s.motion_pad_px,
                y1 + s.motion_pad_px,
            )
            if any(_overlap(box, t_box) >= s.covered for t_box in tracked):
                continue
            regions.append(Region(*box, scale=1.0))
        regions = [_clip(r, width, height) for r in regions]
        if sum(r.cost for r in regions) >= sweep[0].cost:
            return self._sweep(t, sweep)  # the crowd fills the frame: a sweep is cheaper
        self.partial += 1
        return regions

    def _sweep(self, t: float, sweep: list[Region]) -> list[Region]:
        self._last_sweep = t
        self.sweeps += 1
        return sweep


def _clip(r: Region, width: int, height: int) -> Region:
    return Region(max(0, r.x0), max(0, r.y0), min(width, r.x1), min(height, r.y1), r.scale)
