"""Find and encode the faces in one frame.

Runs on the background pool, never on the GUI thread. dlib's HOG detector is not safe
to share between threads (it releases the GIL), so each worker thread gets its own;
face_recognition's landmark predictor and encoder hold the GIL and are shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from console.domain.alerts import BBox


@dataclass(frozen=True)
class AnalysisSettings:
    """How hard to look for faces.

    HOG's window is 80x80 px: a face narrower than ``80 / detect_scale`` px in the full
    frame is not found. Encoding always uses the full-resolution frame.
    """

    detect_scale: float = 1.0
    upsample: int = 0
    min_face_px: int = 60  # faces narrower than this are too small to judge fairly
    # Variance of the Laplacian of the face scaled to 100x100 px. Sharp faces on the
    # sample streams score 200-1200, a small upscaled face 60-100, the same faces under a
    # 3 px Gaussian blur 5-40: below this the encoding is too unreliable to match on.
    min_sharpness: float = 25.0
    jitters: int = 1


@dataclass(frozen=True)
class FaceObservation:
    """A face found in a frame: where it is and its 128-d encoding (memory only).

    ``encoding`` is None when the face failed the quality gate (too small or too
    blurred): it is counted as seen but never matched.
    """

    bbox: BBox
    encoding: np.ndarray | None
    sharpness: float = 0.0
    # The second descriptor (console.vision.second_descriptor), when one was computed:
    # only for faces near the threshold.
    second: np.ndarray | None = None

    @property
    def width(self) -> int:
        top, right, bottom, left = self.bbox
        return right - left


_local = threading.local()


def _detector():
    detector = getattr(_local, "detector", None)
    if detector is None:
        import dlib

        detector = _local.detector = dlib.get_frontal_face_detector()
    return detector


def detect_faces(frame_bgr: np.ndarray, settings: AnalysisSettings) -> list[BBox]:
    """Face boxes (top, right, bottom, left) in full-frame pixels."""
    return _detect(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), settings)


def _detect(gray: np.ndarray, settings: AnalysisSettings) -> list[BBox]:
    height, width = gray.shape[:2]
    scale = settings.detect_scale
    if scale != 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    boxes: list[BBox] = []
    for rect in _detector()(gray, settings.upsample):
        top = max(0, int(rect.top() / scale))
        left = max(0, int(rect.left() / scale))
        bottom = min(height, int(rect.bottom() / scale))
        right = min(width, int(rect.right() / scale))
        if right - left >= settings.min_face_px:
            boxes.append((top, right, bottom, left))
    return boxes


def load_face_recognition():  # noqa: ANN201 (the module)
    """Import face_recognition without its models package's pkg_resources deprecation
    warning (printed once per process, workers included, on every command)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        import face_recognition
    return face_recognition


def encode_faces(frame_bgr: np.ndarray, boxes: list[BBox], jitters: int = 1) -> list[np.ndarray]:
    """128-d encodings for the given boxes, computed on the full-resolution frame."""
    if not boxes:
        return []
    face_recognition = load_face_recognition()
    rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
    return face_recognition.face_encodings(
        rgb, known_face_locations=boxes, num_jitters=jitters, model="small"
    )


def sharpness(gray: np.ndarray, bbox: BBox) -> float:
    """Variance of the Laplacian over the face, scaled to 100x100 so size does not count."""
    top, right, bottom, left = bbox
    roi = gray[top:bottom, left:right]
    if roi.size == 0:
        return 0.0
    roi = cv2.resize(roi, (100, 100), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(roi, cv2.CV_64F).var())


def analyse_frame(frame_bgr: np.ndarray, settings: AnalysisSettings) -> list[FaceObservation]:
    """Detect every face in a BGR frame; encode those good enough to match on."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    boxes = _detect(gray, settings)
    scores = [sharpness(gray, b) for b in boxes]
    good = [b for b, s in zip(boxes, scores, strict=True) if s >= settings.min_sharpness]
    encodings = dict(zip(good, encode_faces(frame_bgr, good, settings.jitters), strict=True))
    return [FaceObservation(b, encodings.get(b), s) for b, s in zip(boxes, scores, strict=True)]


def crop_face(frame_bgr: np.ndarray, bbox: BBox, margin: float = 0.35) -> np.ndarray:
    """An RGB crop around a face with some context, for the officer to compare."""
    top, right, bottom, left = bbox
    h, w = frame_bgr.shape[:2]
    mx, my = int((right - left) * margin), int((bottom - top) * margin)
    crop = frame_bgr[max(0, top - my) : min(h, bottom + my), max(0, left - mx) : min(w, right + mx)]
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def scene(frame_bgr: np.ndarray, width: int = 960) -> np.ndarray:
    """The whole frame, downscaled, as RGB: context for the officer (kept in memory only)."""
    scale = min(1.0, width / frame_bgr.shape[1])
    small = cv2.resize(frame_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


# -- detection apart from encoding ---------------------------------------------------
# The crowd engine (console.vision.encode_scheduler) detects every face of a frame but
# encodes only the faces whose encoding can change an outcome, so the two run as two
# separate calls on the pool: detect, then (after tracking and choosing) encode.


@dataclass(frozen=True)
class Region:
    """A part of the frame to look for faces in, at a scale: (x0, y0)-(x1, y1) in
    full-frame pixels; ``scale`` < 1 shrinks it first (a big face is still found, and
    the cost falls with the square of the scale)."""

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float = 1.0

    @property
    def cost(self) -> float:
        """HOG's cost is about proportional to the pixels it scans."""
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0) * self.scale**2


@dataclass(frozen=True, eq=False)
class Detection:
    """A face found in a frame, not yet encoded: where it is, how sharp, and what it
    looks like at a glance (``appearance``: memory only, dropped with its track)."""

    bbox: BBox
    sharpness: float
    signature: np.ndarray | None = None

    @property
    def width(self) -> int:
        top, right, bottom, left = self.bbox
        return right - left


def _iou(a: BBox, b: BBox) -> float:
    top = max(a[0], b[0])
    bottom = min(a[2], b[2])
    left = max(a[3], b[3])
    right = min(a[1], b[1])
    inter = max(0, bottom - top) * max(0, right - left)
    area = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter
    return inter / area if area > 0 else 0.0


def _detect_region(gray: np.ndarray, region: Region, settings: AnalysisSettings) -> list[BBox]:
    height, width = gray.shape[:2]
    x0, y0 = max(0, region.x0), max(0, region.y0)
    x1, y1 = min(width, region.x1), min(height, region.y1)
    if x1 - x0 < 40 or y1 - y0 < 40:
        return []
    roi = gray[y0:y1, x0:x1]
    scale = region.scale
    if scale != 1.0:
        roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if roi.shape[0] < 80 or roi.shape[1] < 80:  # smaller than HOG's window: nothing to find
        return []
    boxes: list[BBox] = []
    for rect in _detector()(np.ascontiguousarray(roi), settings.upsample):
        top = max(0, int(rect.top() / scale) + y0)
        left = max(0, int(rect.left() / scale) + x0)
        bottom = min(height, int(rect.bottom() / scale) + y0)
        right = min(width, int(rect.right() / scale) + x0)
        if right - left >= settings.min_face_px:
            boxes.append((top, right, bottom, left))
    return boxes


def detect_in_regions(
    frame_bgr: np.ndarray, regions: list[Region], settings: AnalysisSettings
) -> list[Detection]:
    """Faces found in the given regions (overlapping finds of one face kept once), with
    their sharpness. No encoding: that is chosen afterwards, face by face."""
    gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    found: list[BBox] = []
    # Finer regions first: where two regions find one face, the finer box is kept.
    for region in sorted(regions, key=lambda r: -r.scale):
        for box in _detect_region(gray, region, settings):
            if all(_iou(box, kept) < 0.3 for kept in found):
                found.append(box)
    return [Detection(b, sharpness(gray, b), appearance(frame_bgr, b)) for b in found]


APPEARANCE_BINS = 8  # per colour channel: 512 bins in all


def appearance(frame_bgr: np.ndarray, bbox: BBox) -> np.ndarray | None:
    """What a face looks like at a glance: the colours of its inner part (the middle 80%
    of its box, little background), as a 512-bin histogram, square-rooted and of unit
    length. Two are compared by their dot product (1: alike).

    Not an identity (that is the 128-d encoding, 15 ms of a core): it costs microseconds, holds no
    picture of the face, and tells the tracker whether the face on a track is still the
    one it was a moment ago. Colours were chosen over a shrunk grey picture because they
    do not move with HOG's box from one frame to the next: on the crowd bench's street the
    same walker's grey 8x8 picture fell below what different walkers reached in 9-20% of
    steps, its colours in 1-4% (the thresholds: ``console.vision.tracking``).
    """
    top, right, bottom, left = bbox
    dy, dx = (bottom - top) // 10, (right - left) // 10
    roi = frame_bgr[top + dy : bottom - dy, left + dx : right - dx]
    if roi.size == 0:
        return None
    bins = APPEARANCE_BINS
    hist = cv2.calcHist([roi], [0, 1, 2], None, [bins] * 3, [0, 256] * 3).ravel()
    hist = np.sqrt(hist)
    norm = float(np.linalg.norm(hist))
    return (hist / norm).astype(np.float32) if norm > 0 else None


def encode_boxes(frame_bgr: np.ndarray, boxes: list[BBox], jitters: int = 1) -> list[np.ndarray]:
    """Encodings of the chosen faces only (memory only; the frame is not kept)."""
    return encode_faces(frame_bgr, boxes, jitters)
