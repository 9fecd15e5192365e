"""One camera's recognition stage: faces in a frame -> tracks -> evidence -> alerts.

Shared by the live console and the headless replay, so both raise the same alerts
from the same frames. Each face is judged frame by frame and the sighting's evidence
rule decides (``EvidenceRule``; judging a followed face on the weighted mean of its
encodings, ``console.vision.track_evidence``, was measured and is off). Only faces
that match the watchlist are ever cropped; the encodings of everyone else live in memory only while
their track does, then are dropped (privacy by construction).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from console.domain.alerts import BBox
from console.domain.sightings import AlertEvent, EvidenceRule, Match, SightingTracker
from console.vision.analysis import Detection, FaceObservation, Region, crop_face, scene
from console.vision.encode_scheduler import (
    EncodeBudget,
    EncodeScheduler,
    OverloadStatus,
    ScheduleSettings,
)
from console.vision.matcher import Candidate, Matcher
from console.vision.motion import DetectionPlanner
from console.vision.sources import Frame
from console.vision.track_evidence import TrackEvidence, face_weight
from console.vision.tracking import FaceTracker

log = logging.getLogger(__name__)

# Second descriptors of faces in a frame: (frame, boxes) -> one descriptor per box.
Describe = Callable[[np.ndarray, list[BBox]], list[np.ndarray]]


def describe_here(frame_bgr: np.ndarray, boxes: list[BBox]) -> list[np.ndarray]:
    """The second descriptor computed in this process (a replay, a camera's own
    process); none, and a warning once, when the model is not installed: the faces are
    then scored on dlib's distance alone, at the rate the threshold was set for."""
    from console.vision import second_descriptor

    if not second_descriptor.available():
        if not getattr(describe_here, "warned", False):
            describe_here.warned = True  # type: ignore[attr-defined]
            log.warning("second face descriptor unavailable: scoring on dlib alone")
        return []
    return second_descriptor.describe(frame_bgr, boxes)


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
    faces_encoded: int = 0  # encodings computed (the crowd engine encodes only some faces)
    faces_described: int = 0  # second descriptors computed (faces near the threshold)


@dataclass(frozen=True)
class ChosenFaces:
    """A frame's faces after tracking, and which of them the scheduler chose to encode."""

    detections: list[Detection]
    track_ids: list[int]
    to_encode: list[int]  # indices into detections
    uncertain: frozenset[int]

    @property
    def boxes(self) -> list[BBox]:
        return [self.detections[i].bbox for i in self.to_encode]


class CameraPipeline:
    def __init__(
        self,
        camera: str,
        matcher: Matcher,
        new_alert_id: Callable[[str], str],
        rule: EvidenceRule | None = None,
        budget: EncodeBudget | None = None,
        min_sharpness: float = 25.0,
        describe: Describe | None = describe_here,
    ) -> None:
        """*budget*: encode only the faces whose encoding can change an outcome, within
        this (shared) budget, and detect where faces can be (``detection_regions``);
        None: every face of every analysed frame is encoded (``process``).
        *describe*: how to compute second descriptors for faces near the threshold when
        the caller has not (the matcher's fusion decides which; None: never)."""
        self.camera = camera
        self.matcher = matcher
        self.describe = describe
        self.faces = FaceTracker()
        self.rule = rule or EvidenceRule()
        self.evidence = TrackEvidence()
        self.sightings = SightingTracker(camera, matcher.threshold, new_alert_id, self.rule)
        self.counters = CameraCounters()
        # The faces of the last analysed frame, for drawing boxes: a name only on matches.
        self.last_view: list[tuple[BBox, str | None]] = []
        self.min_sharpness = min_sharpness
        self.scheduler: EncodeScheduler | None = None
        self.planner: DetectionPlanner | None = None
        if budget is not None:
            self.use_budget(budget)

    def use_budget(self, budget: EncodeBudget) -> None:
        """From now on, encode within *budget* (the crowd engine)."""
        settings = ScheduleSettings(
            alert_frames=self.rule.min_frames, strong_margin=self.rule.strong_margin
        )
        self.scheduler = EncodeScheduler(
            self.matcher.threshold, budget, settings, min_sharpness=self.min_sharpness
        )
        self.planner = DetectionPlanner()

    def set_threshold(self, threshold: float) -> None:
        """The operating point changed: the sightings and the encode scheduler judge at
        the new distance from the next frame (the matcher is the caller's to change)."""
        self.sightings.threshold = threshold
        if self.scheduler is not None:
            self.scheduler.threshold = threshold

    # -- the crowd engine: detect where faces can be, encode what can change an outcome --
    def detection_regions(self, frame: Frame) -> list[Region]:
        """Where to look for faces in this frame (a sweep, or followed faces and motion)."""
        assert self.planner is not None, "the pipeline encodes every face (no budget)"
        predicted = [box for _, box in self.faces.predicted(frame.t)]
        return self.planner.plan(frame.image, frame.t, predicted)

    def choose(self, frame: Frame, detections: list[Detection]) -> ChosenFaces:
        """Follow the frame's faces and choose which to encode now."""
        assert self.scheduler is not None, "the pipeline encodes every face (no budget)"
        c = self.counters
        c.frames_analysed += 1
        c.faces_detected += len(detections)
        c.faces_in_view = len(detections)
        known = self.faces.known_tracks()
        track_ids = self.faces.assign(
            frame.t, [d.bbox for d in detections], [d.signature for d in detections]
        )
        c.people_seen += len(set(track_ids) - known)
        uncertain = frozenset(self.faces.uncertain)
        self.evidence.forget_before(frame.t - self.faces.max_gap_s)
        self.scheduler.forget_before(frame.t - self.faces.max_gap_s)
        faces = [(tid, d.width, d.sharpness) for d, tid in zip(detections, track_ids, strict=True)]
        chosen = self.scheduler.choose(frame.t, faces, uncertain)
        return ChosenFaces(detections, track_ids, chosen, uncertain)

    def wants_second(self, encodings: list) -> list[int]:
        """Which of these encodings (positions) the second descriptor can change the
        outcome of: the caller may compute those itself (off this thread) and pass them
        to ``settle``/``process``."""
        return [
            i for i, e in enumerate(encodings) if e is not None and self.matcher.wants_second(e)
        ]

    def _seconds(self, frame: Frame, boxes: list[BBox], encodings: list,
                 given: dict[int, np.ndarray] | None) -> dict[int, np.ndarray]:
        """Second descriptors by position: those given, else computed here for the faces
        that want one. Their cost goes to the encode budget (the crowd engine)."""
        if given is None:
            wanted = self.wants_second(encodings)
            described = (
                self.describe(frame.image, [boxes[i] for i in wanted])
                if wanted and self.describe is not None else []
            )
            given = dict(zip(wanted, described, strict=False))  # none: model missing
        self.counters.faces_described += len(given)
        if self.scheduler is not None:
            self.scheduler.budget.charge(len(given), frame.t)
        return given

    def settle(self, frame: Frame, chosen: ChosenFaces, encodings: list,
               seconds: dict[int, np.ndarray] | None = None) -> list[AlertEvent]:
        """Judge the encoded faces and feed the sightings; the others keep what their
        track knew (a name on the box only while the track matches). *seconds*: second
        descriptors by position in *encodings* (``wants_second``), if computed already."""
        scheduler = self.scheduler
        assert scheduler is not None
        c = self.counters
        c.faces_encoded += len(encodings)
        described = self._seconds(frame, chosen.boxes, encodings, seconds)
        seconds_of = {chosen.to_encode[k]: v for k, v in described.items()}
        encoded = dict(zip(chosen.to_encode, encodings, strict=True))
        matches: list[Match] = []
        view: list[tuple[BBox, str | None]] = []
        for i, (det, track_id) in enumerate(zip(chosen.detections, chosen.track_ids, strict=True)):
            if det.sharpness < scheduler.min_sharpness:
                c.faces_rejected += 1
                view.append((det.bbox, None))
                continue
            if i not in encoded:
                state = scheduler.tracks.get(track_id)
                # A doubted track may be somebody else now: no name until re-checked.
                named = state is not None and not state.doubted
                view.append((det.bbox, state.name if named else None))
                continue
            face = FaceObservation(det.bbox, encoded[i], det.sharpness, seconds_of.get(i))
            # The scheduler follows dlib's own distance: the band is defined on it.
            nearest = self.matcher.nearest(face.encoding)
            candidate, frames = self._judge(frame.t, face, track_id)
            name = candidate.subject.name if candidate else None
            scheduler.encoded(
                track_id,
                frame.t,
                face_weight(det.width, det.sharpness),
                nearest.distance if nearest else None,
                name,
                switched=track_id in chosen.uncertain,
            )
            view.append((det.bbox, name))
            if candidate is not None:
                matches.append(self._match(frame, face, track_id, candidate, frames))
        return self._conclude(frame, view, matches)

    def overload(self) -> OverloadStatus | None:
        """What the encoding budget made wait on this camera (None: no budget)."""
        return self.scheduler.overload() if self.scheduler is not None else None

    def _conclude(
        self, frame: Frame, view: list[tuple[BBox, str | None]], matches: list[Match]
    ) -> list[AlertEvent]:
        """Both paths end alike: what the tile shows, then the sightings decide."""
        self.last_view = view
        events = self.sightings.observe(frame.t, frame.index, matches)
        self.counters.alerts += sum(e.is_new for e in events)
        return events

    def _match(
        self,
        frame: Frame,
        face: FaceObservation,
        track_id: int,
        candidate: Candidate,
        frames: int,
    ) -> Match:
        subject = candidate.subject
        return Match(
            subject.subject_id,
            subject.name,
            subject.category,
            candidate.distance,
            face.bbox,
            crop_face(frame.image, face.bbox),  # a match: the officer compares it
            track_id,
            scene(frame.image),
            frames,
            runners_up=self._runners_up(face, subject.subject_id),
            frame_size=(frame.image.shape[1], frame.image.shape[0]),
        )

    def _runners_up(
        self, face: FaceObservation, matched: str, count: int = 3
    ) -> tuple[tuple[str, str, float], ...]:
        """The next-nearest subjects to a matching face, for the officer's card."""
        if face.encoding is None:
            return ()
        nearest = self.matcher.nearest_n(face.encoding, count + 1)
        return tuple(
            (c.subject.subject_id, c.subject.name, round(c.distance, 4))
            for c in nearest
            if c.subject.subject_id != matched
        )[:count]

    # -- every face of every analysed frame -------------------------------------------
    def process(self, frame: Frame, faces: list[FaceObservation]) -> list[AlertEvent]:
        """Every face of the frame (encoded where good enough) judged; faces near the
        threshold get their second descriptor here unless they carry one."""
        missing = [i for i, f in enumerate(faces) if f.encoding is not None and f.second is None]
        if missing:
            described = self._seconds(
                frame, [faces[i].bbox for i in missing], [faces[i].encoding for i in missing],
                None)
            faces = list(faces)
            for k, second in described.items():
                f = faces[missing[k]]
                faces[missing[k]] = FaceObservation(f.bbox, f.encoding, f.sharpness, second)
        c = self.counters
        c.frames_analysed += 1
        c.faces_detected += len(faces)
        c.faces_encoded += sum(f.encoding is not None for f in faces)
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
            if candidate is not None:
                matches.append(self._match(frame, face, track_id, candidate, frames))
        return self._conclude(frame, view, matches)

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
        # The second descriptor is of this frame's face: not for an aggregate.
        second = None if self.rule.aggregate else face.second
        candidate = self.matcher.match(probe, second)
        if candidate is None or candidate.margin < self.rule.min_margin:
            return None, frames
        return candidate, frames
