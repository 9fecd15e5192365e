"""How good a watchlist photo is, and what the console is expected to find with it.

At import each enrolment photo is measured (face size, sharpness, how far the face is
turned, light), and each subject gets the share of their walks past a camera the console
is expected to find at the deployment's operating point, with the photo(s) listed and
with one more. The shares come from the calibration half's street (``enrolment`` in
``resources/calibration.json``, written by ``bench/build_calibration.py``): the share of
walks found at each distance, for people enrolled from a good photo and from a photo
with a problem an officer could fix, with one photo and with two. Derived figures only.

The planning screen lists the subjects for whom a second photo would help most
(``second_photo_candidates``): those enrolled from one photo, the biggest expected gain
first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from console.domain.alerts import BBox
from console.domain.watchlist import EnrolmentQuality, Watchlist, WatchlistSubject

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "resources" / "calibration.json"
GOOD, POOR = "good photo", "photo with a problem"


def measure(image_bgr: np.ndarray, box: BBox, landmarks: np.ndarray | None) -> EnrolmentQuality:
    """The photo's face: its width, sharpness, turn (from dlib's 5 landmarks: the nose's
    offset from between the eyes, in half eye-distances; 0 frontal, 1 in profile) and
    light (mean and spread of the grey level over the inner face)."""
    from console.vision.analysis import sharpness

    top, right, bottom, left = box
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    dy, dx = (bottom - top) // 6, (right - left) // 6
    inner = gray[top + dy : bottom - dy, left + dx : right - dx]
    if inner.size == 0:
        inner = gray[top:bottom, left:right]
    turn = 0.0
    if landmarks is not None and len(landmarks) >= 5:
        eye_a, eye_b = landmarks[0:2].mean(axis=0), landmarks[2:4].mean(axis=0)
        half = float(np.linalg.norm(eye_a - eye_b)) / 2
        middle = (eye_a + eye_b) / 2
        if half > 0:
            axis = (eye_b - eye_a) / (2 * half)
            turn = min(1.0, abs(float(np.dot(landmarks[4] - middle, axis))) / half)
    return EnrolmentQuality(
        face_px=int(right - left),
        sharpness=round(sharpness(gray, box), 1),
        turn=round(turn, 3),
        brightness=round(float(inner.mean()) if inner.size else 0.0, 1),
        contrast=round(float(inner.std()) if inner.size else 0.0, 1),
    )


@dataclass(frozen=True)
class ShareTable:
    """Share of walks found at each distance: by photo quality and number of photos."""

    distances: np.ndarray
    shares: dict[tuple[str, int], np.ndarray]  # (GOOD or POOR, 1 or 2) -> shares
    people: dict[str, int]

    def share(self, group: str, photos: int, threshold: float) -> float:
        key = (group, min(2, max(1, photos)))
        return float(np.interp(threshold, self.distances, self.shares[key]))


@cache
def shipped_shares(path: Path = CALIBRATION_FILE) -> ShareTable | None:
    data = json.loads(Path(path).read_text(encoding="utf-8")).get("enrolment")
    if not data:
        return None
    distances = np.array(data["distances"], dtype=np.float64)
    shares = {}
    for group in (GOOD, POOR):
        for photos in (1, 2):
            values = np.array(data["groups"][group][str(photos)], dtype=np.float64)
            if values.shape != distances.shape:
                raise ValueError("the enrolment share table is malformed")
            shares[(group, photos)] = values
    people = {g: int(data["groups"][g]["people"]) for g in (GOOD, POOR)}
    return ShareTable(distances, shares, people)


@dataclass(frozen=True)
class SubjectOutlook:
    """One subject's line in the import report."""

    subject_id: str
    name: str
    photos: int
    quality: EnrolmentQuality | None
    share_now: float  # expected share of walks found with the photo(s) listed
    share_with_another: float  # ... with one more photo (the same when two are listed)

    @property
    def gain(self) -> float:
        return max(0.0, self.share_with_another - self.share_now)

    @property
    def problems(self) -> tuple[str, ...]:
        return self.quality.problems if self.quality else ()

    def describe(self) -> str:
        q = self.quality
        facts = (
            f"face {q.face_px} px, sharpness {q.sharpness:.0f}, turn {q.turn:.2f}, "
            f"light {q.brightness:.0f}/{q.contrast:.0f}" if q else "quality not measured"
        )
        text = f"{self.subject_id} {self.name}: {self.photos} photo(s); {facts}; "
        if self.share_now != self.share_now:  # NaN: the calibration has no table
            text += "expected share found not calibrated"
        else:
            text += f"expected to be found on about {self.share_now:.0%} of walks past a camera"
            if self.photos < 2:
                text += f", {self.share_with_another:.0%} with a second photo"
        if self.problems:
            text += " (" + "; ".join(self.problems) + ")"
        return text


def outlook(subject: WatchlistSubject, threshold: float, table: ShareTable | None = None
            ) -> SubjectOutlook:
    table = table or shipped_shares()
    group = POOR if subject.quality is not None and subject.quality.problems else GOOD
    if table is None:
        now = another = float("nan")
    else:
        now = table.share(group, subject.photos, threshold)
        another = table.share(group, subject.photos + 1, threshold)
    return SubjectOutlook(subject.subject_id, subject.name, subject.photos, subject.quality,
                          now, another)


def watchlist_report(watchlist: Watchlist, threshold: float) -> list[SubjectOutlook]:
    """Every subject's outlook, in the watchlist's order."""
    table = shipped_shares()
    return [outlook(s, threshold, table) for s in watchlist.subjects]


def second_photo_candidates(watchlist: Watchlist, threshold: float, limit: int = 50
                            ) -> list[SubjectOutlook]:
    """Subjects enrolled from one photo, the biggest expected gain from a second first
    (then the lowest share now)."""
    single = [o for o in watchlist_report(watchlist, threshold) if o.photos < 2]
    single.sort(key=lambda o: (-o.gain, o.share_now, o.subject_id))
    return single[:limit]
