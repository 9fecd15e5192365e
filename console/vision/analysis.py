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
