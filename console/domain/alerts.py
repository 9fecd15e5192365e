"""Alerts and the officer's adjudication of them.

Vocabulary follows UK police usage: an *alert* is raised when a face scores past the
threshold against a watchlist subject; *adjudication* is the officer comparing the
probe face with the watchlist photo and deciding what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

import numpy as np


class Decision(StrEnum):
    """The officer's adjudication of an alert."""

    ENGAGE = "engage"  # send officers on the ground to speak to the person
    DISMISS = "dismiss"  # a match, but not engaged (already dealt with, unsafe, ...)
    FALSE_MATCH = "false_match"  # probe and watchlist photo are different people

    @property
    def label(self) -> str:
        return {"engage": "Engage", "dismiss": "Dismiss", "false_match": "False match"}[self]


class Outcome(StrEnum):
    """What officers on the ground report back about an engaged alert."""

    ARRESTED = "arrested"
    ADVICE = "advice"  # conditions checked, or words of advice
    NOT_LOCATED = "not_located"
    CONFIRMED_FALSE = "confirmed_false"  # the person stopped was not the subject

    @property
    def label(self) -> str:
        return {
            "arrested": "Arrested",
            "advice": "Conditions checked / advice",
            "not_located": "Not located",
            "confirmed_false": "Confirmed false",
        }[self]


class Urgency(IntEnum):
    """How soon an alert needs the officer, from the subject's watchlist category."""

    ROUTINE = 1
    PRIORITY = 2
    IMMEDIATE = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()


# Risk to life first (missing and at risk, risk of harm), then people wanted by the
# courts or suspected of offences, then conditions and witnesses.
CATEGORY_URGENCY = {
    "missing person at risk": Urgency.IMMEDIATE,
    "risk of harm": Urgency.IMMEDIATE,
    "wanted by the courts": Urgency.PRIORITY,
    "suspected of an offence": Urgency.PRIORITY,
    "bail or order": Urgency.ROUTINE,
    "victim or witness": Urgency.ROUTINE,
}


def urgency_of(category: str) -> Urgency:
    return CATEGORY_URGENCY.get(category, Urgency.PRIORITY)


BBox = tuple[int, int, int, int]  # top, right, bottom, left in full-frame pixels


@dataclass(frozen=True)
class Evidence:
    """One analysed frame that matched: why an alert fired, kept with the alert."""

    frame: int
    t: float
    distance: float


@dataclass
class Alert:
    """A watchlist match awaiting (or past) adjudication.

    One alert stands for one *sighting*: a subject's continuous presence in front of
    one camera. It may be updated in place while the sighting goes on, when a closer
    match or a better crop arrives.
    """

    alert_id: str
    camera: str
    subject_id: str
    subject_name: str
    category: str
    distance: float
    threshold: float
    t: float  # seconds on the camera's clock (video position for files)
    frame: int
    bbox: BBox
    raised_at: datetime
    crop_rgb: np.ndarray | None = None
    evidence: list[Evidence] = field(default_factory=list)
    # The whole camera frame at the best match, downscaled, for the officer on request.
    # Memory only: it shows passers-by too, so it is never written to disk.
    scene_rgb: np.ndarray | None = None
    # The next-nearest watchlist subjects to the best match (subject id, name, distance),
    # nearest first, for the card: a second subject almost as close makes a match doubtful.
    runners_up: tuple[tuple[str, str, float], ...] = ()
    # Memory only too: where the matched face was, frame by frame (t, box), for the
    # direction of travel; and the camera frame's size (width, height), to find the box
    # on the downscaled scene frame.
    path: list[tuple[float, BBox]] = field(default_factory=list)
    frame_size: tuple[int, int] | None = None

    @property
    def urgency(self) -> Urgency:
        return urgency_of(self.category)

    @property
    def frames_seen(self) -> int:
        return len(self.evidence)

    def to_record(self) -> dict[str, object]:
        """The alert as the replay command prints it: plain JSON values only."""
        return {
            "alert_id": self.alert_id,
            "camera": self.camera,
            "subject_id": self.subject_id,
            "distance": round(self.distance, 4),
            "t": round(self.t, 3),
            "frame": self.frame,
            "bbox": list(self.bbox),
            "frames_seen": self.frames_seen,
            "evidence": [[e.frame, e.t, e.distance] for e in self.evidence],
        }


class AdjudicationError(ValueError):
    """A decision was refused as incomplete; the message says what is missing."""


@dataclass(frozen=True)
class Adjudication:
    """A recorded decision: who decided what about which alert, and when.

    A dismissal needs a reason: it is a match the officer chose not to act on, and the
    record must say why (already dealt with, could not be engaged safely, ...).
    """

    alert_id: str
    decision: Decision
    officer: str
    decided_at: datetime
    note: str = ""
    # The incident it was decided in (its first alert's id): one person's repeat sightings
    # are decided once, so engagements and outcomes are counted once per incident.
    incident: str = ""

    def __post_init__(self) -> None:
        if self.decision == Decision.DISMISS and not self.note.strip():
            raise AdjudicationError("a dismissal needs a reason")


@dataclass(frozen=True)
class OutcomeReport:
    """The second stage, for engaged alerts: what happened on the ground."""

    alert_id: str
    outcome: Outcome
    officer: str
    recorded_at: datetime
    note: str = ""
    # Where it was recorded when not at the desk: an officer's phone on the street.
    source: str = ""


@dataclass(frozen=True)
class Correction:
    """A recorded decision is never overwritten: a correction follows it, with a reason."""

    alert_id: str
    decision: Decision
    officer: str
    corrected_at: datetime
    reason: str
