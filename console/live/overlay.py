"""Which face boxes belong on which frame: the picture waits for its analysis.

A frame is analysed a few hundred milliseconds after it is decoded, and only about one
frame in eight is analysed at all. Drawing the newest analysis over the newest frame
puts a box where the face *was* (on a walker, a face's width or more away: on the next
person). So a tile shows the picture a little late instead: a small fixed buffer of
recent frames, keyed by frame index, and each frame is shown only once the analyses on
both sides of it are known. On an analysed frame the boxes are its own; between two
analyses a face found in both is placed on the straight line between its two positions
(walking is straight and steady over a third of a second); a face found in only one of
them gets no box on the frames in between. A frame newer than the newest analysis (the
analysis has fallen further behind than the buffer holds) is shown with no box at all.

No Qt here: the tile asks ``frame_to_show`` and paints what it gets.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from console.domain.alerts import BBox

# Frames held back at most: 2.4 s at 25 fps (60 previews of 640x360, 40 MB a camera).
# The delay adapts within it to the time analyses actually take: about 0.6 s at three
# analyses a second on an idle desk machine, over 2 s when the CPU is saturated.
BUFFER_FRAMES = 60
# Between two analyses further apart than this, faces are not interpolated (a person
# may have turned, stopped or crossed another): only the analysed frames get boxes.
# 1.6 s: a busy machine analyses a camera well under once a second.
MAX_INTERPOLATION_FRAMES = 40
# The delay follows the largest need over the last few analyses, so one slow analysis
# does not make the picture jump back and forth.
DELAY_MEMORY = 12

Box = tuple[BBox, str | None]


@dataclass(frozen=True)
class Shown:
    """A frame to paint, with the boxes that belong to it."""

    index: int
    rgb: np.ndarray
    scale: float
    boxes: list[Box]


def _centre(b: BBox) -> tuple[float, float]:
    top, right, bottom, left = b
    return (left + right) / 2, (top + bottom) / 2


def _width(b: BBox) -> float:
    return float(max(1, b[1] - b[3]))


# How far a face may move between two analyses, in face widths a frame: a walker crossing
# the picture moves about 0.13 of its face's width a frame at 25 fps; within one face
# width at least, three at most (beyond that the two boxes are better not joined).
REACH_PER_FRAME = 0.2
MIN_REACH, MAX_REACH = 1.0, 3.0


def _same_face(a: BBox, b: BBox, frames: int = 8) -> float | None:
    """How far apart two boxes are, if they can be one face *frames* frames apart."""
    (ax, ay), (bx, by) = _centre(a), _centre(b)
    wa, wb = _width(a), _width(b)
    if not 0.6 <= wa / wb <= 1.67:
        return None
    reach = min(MAX_REACH, max(MIN_REACH, REACH_PER_FRAME * frames))
    distance = math.hypot(ax - bx, ay - by)
    return distance if distance <= reach * max(wa, wb) else None


def pair_faces(before: list[Box], after: list[Box], frames: int = 8) -> list[tuple[int, int]]:
    """Faces of two analyses that are the same person: mutual nearest, close enough.

    Mutual nearest, not merely nearest: where two people are close together a face
    could otherwise be paired with the wrong one, and its name drawn across on the other.
    """
    pairs = []
    for i, (a, _) in enumerate(before):
        near = [
            (d, j) for j, (b, _) in enumerate(after) if (d := _same_face(a, b, frames)) is not None
        ]
        if not near:
            continue
        _, j = min(near)
        back = [
            (d, k)
            for k, (c, _) in enumerate(before)
            if (d := _same_face(c, after[j][0], frames)) is not None
        ]
        if back and min(back)[1] == i:
            pairs.append((i, j))
    return pairs


def _between(a: BBox, b: BBox, u: float) -> BBox:
    return tuple(int(round(x + (y - x) * u)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


class DelayedPicture:
    """Recent frames and analyses of one camera; hands out each frame with its own boxes.

    *replayable*: frame indices name positions in a file whose analyses are known ahead
    (the trainer). A seek back then keeps the analyses, which still belong to their
    frames; for a camera, frames going back are another picture and everything goes.
    """

    def __init__(self, capacity: int = BUFFER_FRAMES, replayable: bool = False) -> None:
        self.capacity = capacity
        self.replayable = replayable
        self._frames: deque[tuple[int, np.ndarray, float]] = deque(maxlen=capacity)
        self._analyses: dict[int, list[Box]] = {}
        self._needs: deque[int] = deque(maxlen=DELAY_MEMORY)
        self.delay = 0  # frames the picture is held back
        self.shown_index = -1

    def clear(self) -> None:
        """A new picture: nothing from before belongs to what comes next."""
        self._frames.clear()
        self._analyses.clear()
        self.shown_index = -1

    @property
    def newest(self) -> int:
        return self._frames[-1][0] if self._frames else -1

    def add_frame(self, index: int, rgb: np.ndarray, scale: float) -> None:
        if self._frames and index <= self._frames[-1][0]:
            # The index went back: a seek, or a source that started over.
            self._frames.clear()
            self.shown_index = -1
            if not self.replayable:
                self._analyses.clear()
        self._frames.append((index, rgb, scale))
        self._forget_far(index)

    def add_analysis(self, index: int, boxes: list[Box]) -> None:
        """The faces found on frame *index* (arriving once the analysis is done, or, for
        a replay, known ahead)."""
        if index < 0:
            return
        if index <= self.newest:
            # To be shown with boxes, the frames after the previous analysis had to wait
            # for this one: that wait is the delay the picture needs.
            earlier = [i for i in self._analyses if i < index]
            previous = max(earlier) if earlier else index
            self._needs.append(max(0, self.newest - previous))
            self.delay = min(self.capacity - 1, max(self._needs))
        self._analyses[index] = list(boxes)
        self._forget_far(self.newest)

    def _forget_far(self, around: int) -> None:
        """Analyses far from the picture are of no use: the memory stays bounded."""
        span = 4 * self.capacity
        if len(self._analyses) > span:
            for i in [i for i in self._analyses if abs(i - around) > span]:
                del self._analyses[i]

    def frame_to_show(self) -> Shown | None:
        """The frame now due on screen (``delay`` behind the newest), once; else None."""
        if not self._frames:
            return None
        due = self.newest - self.delay
        candidates = [f for f in self._frames if self.shown_index < f[0] <= due]
        if not candidates:
            return None
        index, rgb, scale = candidates[-1]
        self.shown_index = index
        return Shown(index, rgb, scale, self.boxes_for(index))

    def boxes_for(self, index: int) -> list[Box]:
        """The boxes that belong on frame *index*: never those of another frame."""
        if index in self._analyses:
            return list(self._analyses[index])
        before = max((i for i in self._analyses if i < index), default=None)
        after = min((i for i in self._analyses if i > index), default=None)
        if before is None or after is None or after - before > MAX_INTERPOLATION_FRAMES:
            return []  # not yet known (or too far apart to say): no box rather than a wrong one
        u = (index - before) / (after - before)
        first, last = self._analyses[before], self._analyses[after]
        placed = []
        for i, j in pair_faces(first, last, after - before):
            (a, name_a), (b, name_b) = first[i], last[j]
            # The name of the nearer analysis: each is that analysis's own verdict.
            name = name_a if name_a == name_b else (name_a if u < 0.5 else name_b)
            placed.append((_between(a, b, u), name))
        return placed
