"""Enrol a watchlist folder: check each image shows one face and encode it.

Images are enrolled in parallel on the analysis pool when one is given (a 1,000-image
watchlist must import in well under two minutes on a 2-core desk machine). A subject
with several photos (several rows) gets one template built from all of them.

Watchlist images come from outside the console and are read as hostile: the header's
dimensions are checked before anything is decoded (a 30,000 x 30,000 PNG is a few
hundred bytes on disk and gigabytes decoded), the whole file is decoded once by Pillow
to refuse truncated or corrupt data (OpenCV silently fills a JPEG cut short with grey),
and only common photo formats are opened.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Callable
from concurrent.futures import as_completed
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageFile

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
from console.vision import second_descriptor
from console.vision.analysis import (
    AnalysisSettings,
    crop_face,
    detect_faces,
    sharpness,
)
from console.vision.enrolment_quality import measure
from console.vision.scoring import combine_second
from console.vision.second_descriptor import describe
from console.vision.templates import combine_encodings, jittered_encoding, landmarks

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
# Limits on a watchlist image before it is decoded: 40 megapixels is above any camera's
# photo (a custody image is about 1-2 MP) and decodes to 120 MB; the file size bounds
# what is read into memory at all.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 50 * 2**20
IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")  # Pillow's names; OpenCV reads all
# face_recognition sets Pillow's process-wide LOAD_TRUNCATED_IMAGES to True when imported,
# which makes a file cut short load without complaint; enrolment turns it off around its
# own check (under a lock, so two enrolment threads cannot restore it out of order).
_STRICT_LOADING = threading.Lock()

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

    image = read_image(entry.image_path)
    if isinstance(image, str):
        return reject(image)
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
    encoding = jittered_encoding(image, box)  # console.vision.templates says why
    second = describe(image, [box])[0] if second_descriptor.available() else None
    quality = measure(image, box, landmarks(image, box))
    return WatchlistSubject(entry, encoding, crop_face(image, box), _jpeg(image),
                            second=second, quality=quality)


def read_image(path: Path) -> np.ndarray | str:
    """A watchlist image as BGR pixels, or why it cannot be used.

    The bytes are read once, so the file checked is the file decoded.
    """
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            most = MAX_IMAGE_BYTES // 2**20
            return f"image {name!r} is {size / 2**20:,.0f} MiB; at most {most} MiB"
        data = path.read_bytes()
    except OSError as exc:
        return f"image {name!r} cannot be read ({exc.strerror or exc})"
    too_large = f"image {name!r} is too large: more than {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels"
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as probe:
            width, height = probe.size  # from the header: nothing is decoded yet
            if width * height > MAX_IMAGE_PIXELS:
                return f"{too_large} ({width:,} x {height:,})"
            # Decode it all (a JPEG at 1/8 scale: every byte is still read) so a file
            # cut short or corrupt is refused rather than enrolled half grey.
            probe.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            _load_strictly(probe)
    except Image.DecompressionBombError:  # Pillow's own, far higher, limit
        return too_large
    except Image.UnidentifiedImageError:
        return f"image {name!r} cannot be read: not a {', '.join(IMAGE_FORMATS)} image"
    except Exception as exc:  # a hostile file can make a decoder raise anything
        return f"image {name!r} cannot be read: it is truncated or corrupt ({exc})"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return f"image {name!r} cannot be read: it could not be decoded"
    return image


def _load_strictly(image: Image.Image) -> None:
    """Decode *image*, raising OSError if its data ends early, whatever Pillow's global
    setting says."""
    with _STRICT_LOADING:
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


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
    with (done, total) from the calling thread as each image finishes. Every image is
    checked on its own; a subject with several images gets one template of them all.
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
    photos: dict[str, list[WatchlistSubject]] = {}  # in the order of each subject's first row
    for r in results:
        if isinstance(r, WatchlistSubject):
            photos.setdefault(r.subject_id, []).append(r)
    return Watchlist(Path(folder), [_template(group) for group in photos.values()])


def _template(photos: list[WatchlistSubject]) -> WatchlistSubject:
    """One subject from their photos: the first row's entry, face and image for the
    alert card, and an encoding combined from every photo."""
    first = photos[0]
    if len(photos) == 1:
        return first
    encoding = combine_encodings([p.encoding for p in photos])
    seconds = [p.second for p in photos if p.second is not None]
    second = combine_second(seconds) if len(seconds) == len(photos) else None
    return dataclasses.replace(first, encoding=encoding, photos=len(photos), second=second)


def _bounded(image: np.ndarray) -> np.ndarray:
    side = max(image.shape[:2])
    if side <= MAX_SIDE_PX:
        return image
    scale = MAX_SIDE_PX / side
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes() if ok else b""
