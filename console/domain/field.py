"""Officers on the ground: the plain rules of what their phones show and record.

No network and no Qt: where a camera stands and which way it looks (from the plan), the
direction a person was walking (from their track), a watchlist category in the words an
officer on the street needs, and the steps of a dispatch in their order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from console.domain.alerts import BBox, Outcome

COMPASS = (
    "north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west",
)
_SHORT = {"n": 0, "ne": 1, "e": 2, "se": 3, "s": 4, "sw": 5, "w": 6, "nw": 7}


def parse_facing(text: str) -> str:
    """A compass direction a camera looks in ('S', 'south', 'south-west', 'SW'), in full;
    ValueError otherwise."""
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    if key in COMPASS:
        return key
    if key.replace("-", "") in _SHORT:
        return COMPASS[_SHORT[key.replace("-", "")]]
    raise ValueError(f"{text!r} is not a compass direction (north, NE, south-west, ...)")


@dataclass(frozen=True)
class CameraSite:
    """Where a camera stands, for the officer sent to it: the side of the street in the
    plan's words, and the compass direction it looks (for the direction of travel)."""

    side: str = ""
    facing: str = ""  # one of COMPASS, or "" when the plan does not say


# A person must move at least this much for the track to show a direction: the face
# grows or shrinks by 15 % (walking towards or away from the camera), or its centre
# moves a face's width across the view.
_GROWTH = 0.15
_ACROSS = 1.0
_MIN_SPAN_S = 0.4


def travel_direction(path: list[tuple[float, BBox]], facing: str = "") -> str | None:
    """Which way the person was walking, when the track shows it (None when it does not:
    too short, or standing still).

    A face that grows walks towards the camera; one that moves across the view walks
    across it (the camera's right is the view's right). With the camera's compass
    direction this becomes a heading on the street ("heading north").
    """
    points = sorted(path, key=lambda p: p[0])
    if len(points) < 2 or points[-1][0] - points[0][0] < _MIN_SPAN_S:
        return None
    (_, first), (_, last) = points[0], points[-1]
    w0, w1 = first[1] - first[3], last[1] - last[3]
    if w0 <= 0 or w1 <= 0:
        return None
    growth = w1 / w0 - 1.0
    across = ((last[1] + last[3]) - (first[1] + first[3])) / 2 / ((w0 + w1) / 2)
    towards = growth / _GROWTH if abs(growth) >= _GROWTH else 0.0
    sideways = across / _ACROSS if abs(across) >= _ACROSS else 0.0
    if towards == 0 and sideways == 0:
        return None
    words = []
    if towards:
        words.append("towards the camera" if towards > 0 else "away from the camera")
    if sideways:
        words.append("crossing to the camera's right" if sideways > 0 else
                     "crossing to the camera's left")
    relative = ", ".join(words)
    if not facing:
        return f"walking {relative}"
    # The camera looks along `facing`: towards it is the opposite way, its right is a
    # quarter turn clockwise.
    look = math.radians(COMPASS.index(facing) * 45)
    east = -towards * math.sin(look) + sideways * math.sin(look + math.pi / 2)
    north = -towards * math.cos(look) + sideways * math.cos(look + math.pi / 2)
    bearing = math.degrees(math.atan2(east, north)) % 360
    return f"heading {COMPASS[round(bearing / 45) % 8]} ({relative})"


# What each watchlist category asks of an officer on the street, in plain words.
PLAIN_CATEGORY = {
    "missing person at risk": "Missing person at risk: keep them safe",
    "risk of harm": "Risk of harm: approach with care",
    "wanted by the courts": "Wanted by the courts (a warrant)",
    "suspected of an offence": "Suspected of an offence",
    "bail or order": "On bail or a court order: check the conditions",
    "victim or witness": "Victim or witness: police want to speak to them",
}
RISK_OF_HARM = "risk of harm"


def plain_category(category: str) -> str:
    return PLAIN_CATEGORY.get(category, category[:1].upper() + category[1:])


def risk_of_harm(category: str) -> bool:
    return category.strip().lower() == RISK_OF_HARM


class Step(StrEnum):
    """A dispatched incident's steps, as the desk sees them live."""

    SENT = "sent"
    SEEN = "seen"
    GOING = "going"
    LOCATED = "located"
    NOT_LOCATED = "not located"
    OUTCOME = "outcome"
    WITHDRAWN = "withdrawn"  # the engagement was undone at the desk

    @property
    def label(self) -> str:
        return self.value[:1].upper() + self.value[1:]


# What an officer may record after Located, and after Not located.
OUTCOMES_WHEN_LOCATED = (Outcome.ARRESTED, Outcome.ADVICE, Outcome.CONFIRMED_FALSE)
STREET_WORDS = {
    Outcome.ARRESTED: "Arrested",
    Outcome.ADVICE: "Conditions checked or advice given",
    Outcome.CONFIRMED_FALSE: "Not the person (a false alert)",
    Outcome.NOT_LOCATED: "Not located",
}

# The steps an officer may take next, after the last one recorded for them.
NEXT_STEPS: dict[Step | None, tuple[Step, ...]] = {
    None: (Step.SEEN,),
    Step.SENT: (Step.SEEN,),
    Step.SEEN: (Step.GOING,),
    Step.GOING: (Step.LOCATED, Step.NOT_LOCATED),
    Step.LOCATED: (Step.OUTCOME,),
    Step.NOT_LOCATED: (Step.OUTCOME,),
}
