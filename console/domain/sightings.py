"""Turning per-frame matches into sightings, and sightings into alerts.

A person walking past a camera is matched in many frames. The officer should see one
alert card for that walk, not one per frame. A *sighting* is the run of matches of one
subject on one camera with no gap longer than ``gap_seconds``; it raises at most one
alert, once ``min_frames`` frames have supported it, and later frames of the same
sighting update that alert when they match more closely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from console.domain.alerts import Alert, BBox


@dataclass(frozen=True)
class Match:
    """One face in one frame that scored past the threshold against a subject."""

    subject_id: str
    subject_name: str
    category: str
    distance: float
    bbox: BBox
    crop_rgb: np.ndarray | None = None


@dataclass
class _Sighting:
    subject_id: str
    first_t: float
    last_t: float
    distances: list[float] = field(default_factory=list)
    best: Match | None = None
    best_frame: int = 0
    best_t: float = 0.0
    alert: Alert | None = None


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
        *,
        min_frames: int = 2,
        gap_seconds: float = 3.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.camera = camera
        self.threshold = threshold
        self.min_frames = min_frames
        self.gap_seconds = gap_seconds
        self._new_alert_id = new_alert_id
        self._clock = clock
        self._open: dict[str, _Sighting] = {}

    def observe(self, t: float, frame: int, matches: list[Match]) -> list[AlertEvent]:
        """Feed the matches of one analysed frame (possibly none); return alert events."""
        self._close_stale(t)
        events: list[AlertEvent] = []
        for match in _closest_per_subject(matches):
            sighting = self._open.get(match.subject_id)
            if sighting is None:
                sighting = self._open[match.subject_id] = _Sighting(match.subject_id, t, t)
            sighting.last_t = t
            sighting.distances.append(match.distance)
            improved = sighting.best is None or match.distance < sighting.best.distance
            if improved:
                sighting.best, sighting.best_frame, sighting.best_t = match, frame, t
            if sighting.alert is None:
                if len(sighting.distances) >= self.min_frames:
                    sighting.alert = self._raise(sighting, t, frame)
                    events.append(AlertEvent(sighting.alert, is_new=True))
            else:
                self._update(sighting, improved)
                if improved:
                    events.append(AlertEvent(sighting.alert, is_new=False))
        return events

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
            frames_seen=len(s.distances),
            distances=list(s.distances),
        )

    @staticmethod
    def _update(s: _Sighting, improved: bool) -> None:
        alert, best = s.alert, s.best
        assert alert is not None and best is not None
        alert.frames_seen = len(s.distances)
        alert.distances = list(s.distances)
        if improved:
            alert.distance = best.distance
            alert.bbox = best.bbox
            alert.crop_rgb = best.crop_rgb

    def _close_stale(self, t: float) -> None:
        stale = [k for k, s in self._open.items() if t - s.last_t > self.gap_seconds]
        for k in stale:
            del self._open[k]

    @property
    def open_sightings(self) -> int:
        return len(self._open)


def _closest_per_subject(matches: list[Match]) -> list[Match]:
    best: dict[str, Match] = {}
    for m in matches:
        if m.subject_id not in best or m.distance < best[m.subject_id].distance:
            best[m.subject_id] = m
    return list(best.values())
