"""Enrol a watchlist folder: check each image shows one face and encode it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from console.domain.watchlist import (
    RowRejection,
    Watchlist,
    WatchlistEntry,
    WatchlistError,
    WatchlistSubject,
    read_watchlist_csv,
)
from console.vision.analysis import AnalysisSettings, crop_face, detect_faces, encode_faces

# Watchlist photos are stills of any size: look harder than on live frames, and bound
# the cost of very large images by shrinking them first.
ENROL_SETTINGS = AnalysisSettings(detect_scale=1.0, upsample=1, min_face_px=40, jitters=1)
MAX_SIDE_PX = 1000

Progress = Callable[[int, int], None]


def enrol_image(entry: WatchlistEntry) -> WatchlistSubject | RowRejection:
    """Encode one watchlist image, or say why it cannot be used."""
    image = cv2.imread(str(entry.image_path), cv2.IMREAD_COLOR)
    if image is None:
        return RowRejection(
            entry.row, entry.subject_id, f"image {entry.image_path.name!r} cannot be read"
        )
    image = _bounded(image)
    boxes = detect_faces(image, ENROL_SETTINGS)
    if not boxes:
        return RowRejection(
            entry.row, entry.subject_id, f"no face found in {entry.image_path.name!r}"
        )
    if len(boxes) > 1:
        return RowRejection(
            entry.row,
            entry.subject_id,
            f"{len(boxes)} faces found in {entry.image_path.name!r}; exactly one is needed",
        )
    (encoding,) = encode_faces(image, boxes, ENROL_SETTINGS.jitters)
    return WatchlistSubject(entry, encoding, crop_face(image, boxes[0]))


def enrol_watchlist(folder: Path, progress: Progress | None = None) -> Watchlist:
    """Read, check and encode a whole watchlist; raise WatchlistError listing bad rows."""
    entries = read_watchlist_csv(folder)
    subjects: list[WatchlistSubject] = []
    rejections: list[RowRejection] = []
    for done, entry in enumerate(entries, start=1):
        result = enrol_image(entry)
        (rejections if isinstance(result, RowRejection) else subjects).append(result)
        if progress:
            progress(done, len(entries))
    if rejections:
        raise WatchlistError(Path(folder), rejections)
    return Watchlist(Path(folder), subjects)


def _bounded(image: np.ndarray) -> np.ndarray:
    side = max(image.shape[:2])
    if side <= MAX_SIDE_PX:
        return image
    scale = MAX_SIDE_PX / side
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
