"""One camera's recognition stage: faces in a frame -> tracks -> evidence -> alerts.

Shared by the live console and the headless replay, so both raise the same alerts
from the same frames. Each face is judged frame by frame and the sighting's evidence
rule decides (``EvidenceRule``; judging a followed face on the weighted mean of its
encodings, ``console.vision.track_evidence``, was measured and is off). Only faces
that match the watchlist are ever cropped; the encodings of everyone else live in memory only while
their track does, then are dropped (privacy by construction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.domain.alerts import BBox
from console.domain.sightings import AlertEvent, EvidenceRule, Match, SightingTracker
from console.vision.analysis import FaceObservation, crop_face, scene
from console.vision.matcher import Candidate, Matcher
from console.vision.sources import Frame
from console.vision.track_evidence import TrackEvidence, face_weight
from console.vision.tracking import FaceTracker


@dataclass
class CameraCounters:
    frames_decoded: int = 0
    frames_analysed: int = 0
    frames_skipped: int = 0  # decoded but not analysed: the pool was busy with this camera
    faces_detected: int = 0  # faces seen, summed over analysed frames
    faces_rejected: int = 0  # too blurred to match on
    faces_in_view: int = 0
    people_seen: int = 0  # faces followed (tracks started): the footfall
    alerts: int = 0


class CameraPipeline:
    def __init__(
        self,
        camera: str,
        matcher: Matcher,
        new_alert_id: Callable[[str], str],
        rule: EvidenceRule | None = None,
    ) -> None:
        self.camera = camera
        self.matcher = matcher
        self.faces = FaceTracker()
        self.rule = rule or EvidenceRule()
        self.evidence = TrackEvidence()
        self.sightings = SightingTracker(camera, matcher.threshold, new_alert_id, self.rule)
        self.counters = CameraCounters()
        # The faces of the last analysed frame, for drawing boxes: a name only on matches.
        self.last_view: list[tuple[BBox, str | None]] = []

    def process(self, frame: Frame, faces: list[FaceObservation]) -> list[AlertEvent]:
        c = self.counters
        c.frames_analysed += 1
        c.faces_detected += len(faces)
        c.faces_in_view = len(faces)
        known = self.faces.known_tracks()
        track_ids = self.faces.assign(frame.t, [f.bbox for f in faces])
        c.people_seen += len(set(track_ids) - known)
        self.evidence.forget_before(frame.t - self.faces.max_gap_s)
        matches: list[Match] = []
        view: list[tuple[BBox, str | None]] = []
        for face, track_id in zip(faces, track_ids, strict=True):
            if face.encoding is None:
                c.faces_rejected += 1
                view.append((face.bbox, None))
                continue
            candidate, frames = self._judge(frame.t, face, track_id)
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
                    track_id,
                    scene(frame.image),
                    frames,
                )
            )
        self.last_view = view
        events = self.sightings.observe(frame.t, frame.index, matches)
        c.alerts += sum(e.is_new for e in events)
        return events

    def _judge(
        self, t: float, face: FaceObservation, track_id: int
    ) -> tuple[Candidate | None, int]:
        """The subject this face matches on the evidence so far, and how many frames."""
        assert face.encoding is not None
        probe, frames = face.encoding, 1
        if self.rule.aggregate:
            weight = face_weight(face.width, face.sharpness) if self.rule.weighted else 1.0
            probe = self.evidence.add(track_id, t, face.encoding, weight)
            frames = self.evidence.frames(track_id)
        candidate = self.matcher.match(probe)
        if candidate is None or candidate.margin < self.rule.min_margin:
            return None, frames
        return candidate, frames
