"""Enrol a watchlist folder: check each image shows one face and encode it.

Images are enrolled in parallel on the analysis pool when one is given (a 1,000-image
watchlist must import in well under two minutes on a 2-core desk machine).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from console.domain.alerts import BBox
from console.domain.watchlist import (
    DEFAULT_MAX_SUBJECTS,
    RowRejection,
    Watchlist,
    WatchlistEntry,
    WatchlistError,
    WatchlistSubject,
    check_policy,
    parse_watchlist_csv,
)
from console.vision.analysis import (
    AnalysisSettings,
    crop_face,
    detect_faces,
    encode_faces,
    sharpness,
)

if TYPE_CHECKING:
    from console.vision.pool import AnalysisPool

# Watchlist photos are stills of any size and framing. The first pass is cheap (no
# upsampling on an image of at most MAX_SIDE_PX); only images where it finds nothing pay
# for harder looks: upsampling, then padding for tight crops whose face touches the edges.
MAX_SIDE_PX = 800
PASSES = (
    AnalysisSettings(upsample=0, min_face_px=40, min_sharpness=0.0),
    AnalysisSettings(upsample=1, min_face_px=20, min_sharpness=0.0),
)
TIGHT_CROP = AnalysisSettings(upsample=2, min_face_px=20, min_sharpness=0.0)
# A watchlist face must be good enough to compare against: at least this wide (in the
# image as enrolled) and this sharp (same scale as AnalysisSettings.min_sharpness).
MIN_FACE_PX = 50
MIN_SHARPNESS = 25.0

Progress = Callable[[int, int], None]


def find_faces(image: np.ndarray) -> list[BBox]:
    """Every face in a still image, looking harder only when nothing is found."""
    for settings in PASSES:
        boxes = detect_faces(image, settings)
        if boxes:
            return boxes
    pad = max(image.shape[:2]) // 4
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    h, w = image.shape[:2]
    return [
        (max(0, t - pad), min(w, r - pad), min(h, b - pad), max(0, lt - pad))
        for t, r, b, lt in detect_faces(padded, TIGHT_CROP)
    ]


def enrol_image(entry: WatchlistEntry) -> WatchlistSubject | RowRejection:
    """Encode one watchlist image, or say why it cannot be used."""
    name = entry.image_path.name

    def reject(reason: str) -> RowRejection:
        return RowRejection(entry.row, entry.subject_id, reason)

    image = cv2.imread(str(entry.image_path), cv2.IMREAD_COLOR)
    if image is None:
        return reject(f"image {name!r} cannot be read")
    image = _bounded(image)
    boxes = find_faces(image)
    if not boxes:
        return reject(f"no face found in {name!r}")
    if len(boxes) > 1:
        return reject(f"{len(boxes)} faces found in {name!r}; exactly one is needed")
    (box,) = boxes
    width = box[1] - box[3]
    if width < MIN_FACE_PX:
        return reject(f"face in {name!r} is {width} px wide; at least {MIN_FACE_PX} are needed")
    focus = sharpness(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), box)
    if focus < MIN_SHARPNESS:
        return reject(
            f"face in {name!r} is too blurred (sharpness {focus:.0f} < {MIN_SHARPNESS:.0f})"
        )
    (encoding,) = encode_faces(image, boxes)
    return WatchlistSubject(entry, encoding, crop_face(image, box), _jpeg(image))


def enrol_watchlist(
    folder: Path,
    progress: Progress | None = None,
    pool: AnalysisPool | None = None,
    *,
    deployment_day: date | None = None,
    minors_allowed: frozenset[str] = frozenset(),
    max_subjects: int = DEFAULT_MAX_SUBJECTS,
) -> Watchlist:
    """Read, check and encode a whole watchlist; raise WatchlistError listing bad rows.

    With a pool, images are enrolled in parallel on its workers; *progress* is called
    with (done, total) from the calling thread as each image finishes.
    """
    entries, rejected_rows = parse_watchlist_csv(folder)
    policy = rejected_rows + check_policy(
        entries, deployment_day or date.today(), minors_allowed, max_subjects
    )
    if any(r.row == 0 for r in policy):  # over the size cap: not worth encoding anything
        raise WatchlistError(Path(folder), policy)
    if pool is None:
        results = []
        for done, entry in enumerate(entries, start=1):
            results.append(enrol_image(entry))
            if progress:
                progress(done, len(entries))
    else:
        futures = {pool.run(enrol_image, entry): i for i, entry in enumerate(entries)}
        ordered: list[WatchlistSubject | RowRejection | None] = [None] * len(entries)
        for done, future in enumerate(as_completed(futures), start=1):
            ordered[futures[future]] = future.result()
            if progress:
                progress(done, len(entries))
        results = [r for r in ordered if r is not None]
    rejections = policy + [r for r in results if isinstance(r, RowRejection)]
    rejections.sort(key=lambda r: r.row)
    if rejections:
        raise WatchlistError(Path(folder), rejections)
    return Watchlist(Path(folder), [r for r in results if isinstance(r, WatchlistSubject)])


def _bounded(image: np.ndarray) -> np.ndarray:
    side = max(image.shape[:2])
    if side <= MAX_SIDE_PX:
        return image
    scale = MAX_SIDE_PX / side
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes() if ok else b""
