"""Turning per-frame matches into sightings, and sightings into alerts.

A person walking past a camera is matched in many frames; the officer should see one
alert card for that walk, not one per frame. A *sighting* is one followed face (a track
from the vision layer) matching one subject. It raises an alert once the evidence is
enough: ``min_frames`` matching frames, or a single frame closer than
``threshold - strong_margin`` (a match that close is as safe as two borderline ones,
and waiting would only delay the officer). Later frames update the same alert in place.

A second alert for the same subject on the same camera needs a new sighting that starts
more than ``cooldown_seconds`` after the last evidence for the first: a track lost for a
moment (a turned head, a passing bus) and found again is the same walk, not a new alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from console.domain.alerts import Alert, BBox, Evidence


@dataclass(frozen=True)
class Match:
    """One face in one frame that scored within the threshold against a subject."""

    subject_id: str
    subject_name: str
    category: str
    distance: float
    bbox: BBox
    crop_rgb: np.ndarray | None = None
    track_id: int = 0
    scene_rgb: np.ndarray | None = None  # memory only (see Alert.scene_rgb)
    frames: int = 1  # encodings of this face (its track) that the distance is judged on
    runners_up: tuple[tuple[str, str, float], ...] = ()  # see Alert.runners_up
    frame_size: tuple[int, int] | None = None  # the camera frame's (width, height)


@dataclass(frozen=True)
class EvidenceRule:
    """When a sighting is enough to put in front of an officer."""

    min_frames: int = 2
    strong_margin: float = 0.1  # one frame this far inside the threshold is enough
    gap_seconds: float = 1.5  # a sighting ends after this long without a match
    cooldown_seconds: float = 10.0  # see module docstring
    # Judge each followed face on the quality-weighted mean of all its encodings so far
    # (console.vision.track_evidence) instead of frame by frame. Measured on the
    # calibration half (bench/build_calibration.py): through the pipeline it found fewer
    # watchlisted walkers with more false alerts than frame by frame (tracks break in a
    # crowd, and a mean over a broken track is a mean over two people), so it is off.
    aggregate: bool = False
    weighted: bool = True  # weight frames by face size and sharpness (else equally)
    # The next-nearest subject must be at least this much further than the nearest: a
    # face about as close to two subjects is ambiguous, and ambiguity is how lookalikes
    # of big watchlists slip in.
    min_margin: float = 0.0


_PATH_KEPT = 40  # positions kept per alert: enough for its direction, and bounded


@dataclass
class _Sighting:
    subject_id: str
    evidence: list[Evidence] = field(default_factory=list)
    best: Match | None = None
    alert: Alert | None = None
    path: list[tuple[float, BBox]] = field(default_factory=list)  # where the face was

    @property
    def last_t(self) -> float:
        return self.evidence[-1].t


@dataclass(frozen=True)
class AlertEvent:
    """What the tracker tells the outside world: an alert was raised or updated."""

    alert: Alert
    is_new: bool


class SightingTracker:
    """Follows watchlist matches on one camera and decides when an alert is due."""

    def __init__(
        self,
        camera: str,
        threshold: float,
        new_alert_id: Callable[[str], str],
        rule: EvidenceRule | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.camera = camera
        self.threshold = threshold
        self.rule = rule or EvidenceRule()
        self._new_alert_id = new_alert_id
        self._clock = clock
        self._open: dict[tuple[int, str], _Sighting] = {}
        self._recent: dict[str, tuple[Alert, float]] = {}  # subject -> alert, last evidence t

    def observe(self, t: float, frame: int, matches: list[Match]) -> list[AlertEvent]:
        """Feed the matches of one analysed frame (possibly none); return alert events."""
        self._close_stale(t)
        events: list[AlertEvent] = []
        for match in _closest_per_sighting(matches):
            sighting = self._sighting_for(match)
            sighting.evidence.append(Evidence(frame, round(t, 3), round(match.distance, 4)))
            sighting.path = [*sighting.path[-(_PATH_KEPT - 1):], (round(t, 3), match.bbox)]
            improved = sighting.best is None or match.distance < sighting.best.distance
            if improved:
                sighting.best = match
            if sighting.alert is None:
                recent = self._recent.get(match.subject_id)
                if recent and t - recent[1] <= self.rule.cooldown_seconds:
                    sighting.alert = recent[0]  # the same walk, found again
                    if self._update(recent[0], sighting, match):
                        events.append(AlertEvent(recent[0], is_new=False))
                elif self._enough(sighting, match):
                    sighting.alert = self._raise(sighting, t, frame)
                    events.append(AlertEvent(sighting.alert, is_new=True))
            elif self._update(sighting.alert, sighting, match):
                events.append(AlertEvent(sighting.alert, is_new=False))
            if sighting.alert is not None:
                if sighting.path[-1] not in sighting.alert.path:
                    sighting.alert.path[:] = [*sighting.alert.path[-(_PATH_KEPT - 1):],
                                              sighting.path[-1]]
                self._recent[match.subject_id] = (sighting.alert, t)
        return events

    def _sighting_for(self, match: Match) -> _Sighting:
        """The open sighting this match belongs to, or a new one.

        A match on a new track joins an open sighting of the same subject on this camera:
        within the gap it is the same person whose track broke (a turned head, a slow
        analysis), and their evidence should add up.
        """
        key = (match.track_id, match.subject_id)
        if key not in self._open:
            same_subject = [k for k in self._open if k[1] == match.subject_id]
            self._open[key] = (
                self._open.pop(same_subject[0]) if same_subject else _Sighting(match.subject_id)
            )
        return self._open[key]

    def _enough(self, s: _Sighting, match: Match) -> bool:
        strong = match.distance <= self.threshold - self.rule.strong_margin
        return strong or max(len(s.evidence), match.frames) >= self.rule.min_frames

    def _raise(self, s: _Sighting, t: float, frame: int) -> Alert:
        best = s.best
        assert best is not None
        return Alert(
            alert_id=self._new_alert_id(self.camera),
            camera=self.camera,
            subject_id=s.subject_id,
            subject_name=best.subject_name,
            category=best.category,
            distance=best.distance,
            threshold=self.threshold,
            t=t,  # when the alert was raised: the officer's clock starts here
            frame=frame,
            bbox=best.bbox,
            raised_at=self._clock(),
            crop_rgb=best.crop_rgb,
            evidence=list(s.evidence),
            scene_rgb=best.scene_rgb,
            runners_up=best.runners_up,
            path=list(s.path),
            frame_size=best.frame_size,
        )

    @staticmethod
    def _update(alert: Alert, s: _Sighting, match: Match) -> bool:
        """Add the frame's evidence to the alert; True if its best match improved."""
        if s.evidence[-1] not in alert.evidence:
            alert.evidence.append(s.evidence[-1])
        if match.distance < alert.distance:
            alert.distance, alert.bbox, alert.crop_rgb = match.distance, match.bbox, match.crop_rgb
            alert.scene_rgb, alert.frame_size = match.scene_rgb, match.frame_size
            alert.runners_up = match.runners_up
            return True
        return False

    def _close_stale(self, t: float) -> None:
        gap = self.rule.gap_seconds
        self._open = {k: s for k, s in self._open.items() if t - s.last_t <= gap}


def _closest_per_sighting(matches: list[Match]) -> list[Match]:
    best: dict[tuple[int, str], Match] = {}
    for m in matches:
        key = (m.track_id, m.subject_id)
        if key not in best or m.distance < best[key].distance:
            best[key] = m
    return list(best.values())
