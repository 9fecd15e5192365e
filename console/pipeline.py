"""One camera's recognition stage: faces in a frame -> watchlist matches -> alerts.

Shared by the live console and the headless replay, so both raise the same alerts
from the same frames. Only faces that match the watchlist are ever cropped; the
encodings of everyone else are dropped with the frame (privacy by construction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.domain.alerts import BBox
from console.domain.sightings import AlertEvent, Match, SightingTracker
from console.vision.analysis import FaceObservation, crop_face
from console.vision.matcher import Matcher
from console.vision.sources import Frame


@dataclass
class CameraCounters:
    frames_decoded: int = 0
    frames_analysed: int = 0
    frames_skipped: int = 0  # decoded but not analysed: the pool was busy
    faces_detected: int = 0
    faces_in_view: int = 0
    alerts: int = 0


class CameraPipeline:
    def __init__(
        self,
        camera: str,
        matcher: Matcher,
        new_alert_id: Callable[[str], str],
        *,
        min_frames: int = 2,
        gap_seconds: float = 3.0,
    ) -> None:
        self.camera = camera
        self.matcher = matcher
        self.tracker = SightingTracker(
            camera, matcher.threshold, new_alert_id, min_frames=min_frames, gap_seconds=gap_seconds
        )
        self.counters = CameraCounters()
        # The faces of the last analysed frame, for drawing boxes: a name only on matches.
        self.last_view: list[tuple[BBox, str | None]] = []

    def process(self, frame: Frame, faces: list[FaceObservation]) -> list[AlertEvent]:
        self.counters.frames_analysed += 1
        self.counters.faces_detected += len(faces)
        self.counters.faces_in_view = len(faces)
        matches: list[Match] = []
        view: list[tuple[BBox, str | None]] = []
        for face in faces:
            candidate = self.matcher.match(face.encoding)
            view.append((face.bbox, candidate.subject.name if candidate else None))
            if candidate is None:
                continue
            subject = candidate.subject
            matches.append(
                Match(
                    subject.subject_id,
                    subject.name,
                    subject.category,
                    candidate.distance,
                    face.bbox,
                    crop_face(frame.image, face.bbox),
                )
            )
        self.last_view = view
        events = self.tracker.observe(frame.t, frame.index, matches)
        self.counters.alerts += sum(e.is_new for e in events)
        return events
