"""The console's own matcher, evidence rule and enrolment, behind one small interface.

Everything the evaluation measures goes through the pieces a deployment runs, never a
copy of them:

- **enrolment**: ``console.vision.enrolment.enrol_image`` (its image checks, its face
  size and sharpness bars, the jittered template) on the person's first photo;
- **a walk past the camera**: each other photo is seen as a face approaching a camera:
  ``WALK_WIDTHS`` frames, 1/5 s apart (5 analyses a second, as ``replay``), the
  person's head and shoulders scaled so the face is 80 to 160 px wide (as
  ``bench/unseen_faces.py`` walks its people), each frame analysed by
  ``console.vision.analysis.analyse_frame`` with the live settings (HOG, the quality
  gate: a blurred or small face is not encoded, so it cannot alert);
- **the matcher**: ``console.vision.matcher.Matcher`` (nearest subject, its margin);
- **the evidence rule**: ``console.domain.sightings.SightingTracker`` with the shipped
  ``EvidenceRule`` (2 matching frames, or 1 inside the distance - 0.1);
- **the operating point**: ``console.vision.operating_point.threshold_for``.

When the matcher changes (another descriptor, normalised scores) this module is the one
to follow it; ``fingerprint`` names what was measured, and a report is only accepted for
a console whose fingerprint is the same (``console.equality.approval``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from console.domain.sightings import EvidenceRule, Match, SightingTracker
from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject
from console.vision.analysis import AnalysisSettings, analyse_frame
from console.vision.enrolment import _bounded, enrol_image, find_faces, read_image
from console.vision.matcher import Matcher
from console.vision.operating_point import CALIBRATION_FILE, FalseAlertRate, threshold_for
from console.vision.templates import ENROLMENT_JITTERS

WALK_WIDTHS = (80, 107, 133, 160)  # the face's width in each frame of a walk, px
FRAME_INTERVAL_S = 0.2
_CANVAS_GREY = 118
_BLANK = np.zeros((1, 1, 3), np.uint8)


@dataclass(frozen=True)
class Enrolled:
    """A person's watchlist template, or why their enrolment photo was refused."""

    encoding: np.ndarray | None
    problem: str = ""


@dataclass(frozen=True)
class Walk:
    """One probe photo walking past: an encoding per frame (None: no face good enough
    to encode in that frame), or why the photo gave no frame at all."""

    photo: Path
    encodings: tuple[np.ndarray | None, ...] = field(default_factory=tuple)
    problem: str = ""


def enrol(photo: Path) -> Enrolled:
    """The console's enrolment of one photo (runs in a worker process)."""
    entry = WatchlistEntry(1, "person", "person", "wanted by the courts", Path(photo),
                           {"source": "equality test set"})
    result = enrol_image(entry)
    if isinstance(result, WatchlistSubject):
        return Enrolled(result.encoding)
    return Enrolled(None, result.reason)


def walk(photo: Path) -> Walk:
    """The photo's face approaching a camera, frame by frame, through the live analysis
    (runs in a worker process)."""
    image = read_image(Path(photo))
    if isinstance(image, str):
        return Walk(Path(photo), problem=image)
    image = _bounded(image)
    boxes = find_faces(image)
    if not boxes:
        return Walk(Path(photo), problem="no face found in the photo")
    top, right, bottom, left = max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0]))
    width = right - left
    h, w = image.shape[:2]
    # Head and shoulders, as a street camera sees a person (and no one else in the photo).
    crop = image[
        max(0, int(top - 0.8 * width)) : min(h, int(bottom + 1.2 * width)),
        max(0, int(left - 0.9 * width)) : min(w, int(right + 0.9 * width)),
    ]
    settings = AnalysisSettings()
    encodings: list[np.ndarray | None] = []
    for face_px in WALK_WIDTHS:
        k = face_px / max(1, width)
        scaled = cv2.resize(crop, None, fx=k, fy=k,
                            interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        pad = face_px // 2  # the face away from the frame's edges, as in a street scene
        frame = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                   value=(_CANVAS_GREY,) * 3)
        faces = analyse_frame(frame, settings)
        nearest = max(faces, key=lambda f: f.width, default=None)  # the walker
        encodings.append(None if nearest is None else nearest.encoding)
    return Walk(Path(photo), tuple(encodings))


@dataclass(frozen=True)
class FrameMatch:
    """What the matcher said of one frame: the nearest subject (index into the gallery),
    its distance and margin; subject -1: no face encoded in the frame."""

    subject: int
    distance: float
    margin: float


def gallery(encodings: list[np.ndarray], names: list[str]) -> Watchlist:
    """A watchlist of bare encodings (the evaluation's gallery)."""
    subjects = [
        WatchlistSubject(
            WatchlistEntry(i + 1, name, name, "wanted by the courts", Path("none")), enc, _BLANK
        )
        for i, (enc, name) in enumerate(zip(encodings, names, strict=True))
    ]
    return Watchlist(Path("."), subjects)


def frame_matches(matcher: Matcher, walk: Walk) -> list[FrameMatch]:
    """The shipped matcher's nearest subject for each frame of a walk."""
    index = {id(s): i for i, s in enumerate(matcher.watchlist.subjects)}
    out = []
    for encoding in walk.encodings:
        candidate = matcher.nearest(encoding) if encoding is not None else None
        if candidate is None:
            out.append(FrameMatch(-1, math.inf, math.inf))
        else:
            out.append(FrameMatch(index[id(candidate.subject)], candidate.distance,
                                  candidate.margin))
    return out


class ShippedMatcher:
    """Thresholds and alert decisions exactly as a deployment makes them."""

    def __init__(self, rule: EvidenceRule | None = None) -> None:
        self.rule = rule or EvidenceRule()

    def threshold(self, rate: FalseAlertRate, watchlist_size: int) -> float:
        return threshold_for(rate, watchlist_size)

    def alerted(self, frames: list[FrameMatch], threshold: float) -> set[int]:
        """The gallery subjects the evidence rule raises an alert for on this walk at
        *threshold*: the shipped SightingTracker fed frame by frame, one followed face."""
        tracker = SightingTracker("equality", threshold, lambda camera: camera, self.rule,
                                  clock=lambda: datetime(2000, 1, 1, tzinfo=UTC))
        raised: set[int] = set()
        for n, f in enumerate(frames):
            matches = []
            if f.subject >= 0 and f.distance <= threshold and f.margin >= self.rule.min_margin:
                matches.append(Match(str(f.subject), "", "", f.distance, (0, 1, 1, 0),
                                     track_id=1))
            for event in tracker.observe(n * FRAME_INTERVAL_S, n, matches):
                if event.is_new:
                    raised.add(int(event.alert.subject_id))
        return raised

    def alert_distance(self, frames: list[FrameMatch], subject: int | None) -> float:
        """The smallest match distance at which this walk alerts on *subject* (None: on
        anyone); inf if none does. A stricter distance only ever removes matching frames,
        so the decision is monotonic and this one number gives it at every distance:
        alerted at d exactly when alert_distance <= d."""
        relevant = [f for f in frames
                    if f.subject >= 0 and (subject is None or f.subject == subject)]
        if not relevant:
            return math.inf
        # The decision can change only where a frame starts to match (its distance) or
        # becomes strong enough alone (its distance plus the strong margin, give or take
        # the last bits of a float subtraction: the next two floats up are tried too).
        points = sorted({
            x
            for f in relevant
            for base in (f.distance, f.distance + self.rule.strong_margin)
            for x in (base, math.nextafter(base, math.inf),
                      math.nextafter(math.nextafter(base, math.inf), math.inf))
        })

        def alerts(d: float) -> bool:
            raised = self.alerted(frames, d)
            return bool(raised) if subject is None else subject in raised

        if not alerts(points[-1]):
            return math.inf
        lo, hi = 0, len(points) - 1  # points[hi] alerts; find the first that does
        while lo < hi:
            mid = (lo + hi) // 2
            if alerts(points[mid]):
                hi = mid
            else:
                lo = mid + 1
        return points[lo]

    def fingerprint(self) -> dict[str, object]:
        """What was measured: the calibration (by hash), the evidence rule, the enrolment
        and analysis settings, the walk. A report stands for this fingerprint only."""
        calibration = Path(CALIBRATION_FILE).read_bytes()
        parts = {
            "calibration_sha256": hashlib.sha256(calibration).hexdigest(),
            "evidence_rule": asdict(self.rule),
            "enrolment_jitters": ENROLMENT_JITTERS,
            "analysis": asdict(AnalysisSettings()),
            "walk_face_widths_px": list(WALK_WIDTHS),
        }
        text = repr(sorted(parts.items()))
        return {**parts, "id": hashlib.sha256(text.encode()).hexdigest()[:16]}
