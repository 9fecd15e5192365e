"""Follow faces from one analysed frame to the next, so a walk past a camera is one track.

Analysed frames are a quarter of a second or more apart, and a walking face moves most
of its own width in that time, so boxes rarely overlap: association is by distance
between centres (relative to face size) after predicting each track's motion.

In a crowd, distance alone puts the wrong person on a track: someone walking in at the
edge where someone else walked out, or two faces crossing. When the detector gives each
face's appearance at a glance (``console.vision.analysis.appearance``), a face that no
longer looks like its track's is doubted, and one that plainly does is not, however
close a rival: the encode scheduler re-checks doubted tracks at once, so a wanted person
who takes over a passer-by's track is judged on their own face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import NamedTuple

import numpy as np

from console.domain.alerts import BBox

# Dot products of two appearances (1: alike). Set on bench/crowd.py's 720p street with 10
# faces in view (HOG's boxes, frames 0.44 s apart; 450 steps of the same walker, 726 pairs
# of different walkers near each other): the same walker scored a median 0.98 and never
# below 0.75, fell below 0.85 in 1-2% of steps and below 0.9 in 2-3%; different walkers
# scored a median 0.43-0.49, below 0.75 in 87-95% of pairs, below 0.85 in 97-100%, below
# 0.9 in 99-100%. A needless doubt costs one encoding; a missed one, a face judged late.
LOOKS_UNRELATED = 0.75  # below: never the same track, however near
LOOKS_ELSEWHERE = 0.85  # below: another face, perhaps; the track is doubted
LOOKS_THE_SAME = 0.9  # at or above: the same face, whatever the geometry says


@dataclass
class Track:
    track_id: int
    bbox: BBox
    last_t: float
    velocity: tuple[float, float] = (0.0, 0.0)  # centre pixels per second
    hits: int = 1
    signature: np.ndarray | None = None  # the face's appearance when last seen


def _centre(b: BBox) -> tuple[float, float]:
    top, right, bottom, left = b
    return (left + right) / 2, (top + bottom) / 2


def _alike(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """How alike two appearances are (1: the same; None when either is unknown, and
    geometry alone decides)."""
    return None if a is None or b is None else float(a @ b)


class _Pair(NamedTuple):
    """A face and a track it could be: sorted, the cheapest first."""

    cost: float  # the jump, plus a penalty for looking unlike
    jump: float  # face widths between the face and where the track was expected
    alike: float | None
    box: int
    track_id: int


def _width(b: BBox) -> float:
    return max(1.0, float(b[1] - b[3]))


class FaceTracker:
    """Greedy nearest-centre association with constant-velocity prediction."""

    def __init__(
        self, max_gap_s: float = 1.5, max_jump: float = 1.5, max_drift: float = 3.0
    ) -> None:
        self.max_gap_s = max_gap_s
        # How far (in face widths) a face may be from its predicted place: a fixed slack,
        # plus a drift per second for what the prediction cannot know (a new track has no
        # velocity yet; a walker crosses about three face widths a second). When analysis
        # slows to a frame a second, the drift keeps the walker on one track.
        self.max_jump = max_jump
        self.max_drift = max_drift
        self.unlike_cost = 4.0  # face widths of distance that looking unlike counts as
        self._tracks: dict[int, Track] = {}
        self._ids = count(1)
        # Tracks whose last assignment may have put another person on them: a face far
        # from its predicted place or of a very different size, or one that another
        # track wanted nearly as much. The encode scheduler re-checks them.
        self.uncertain: set[int] = set()

    def known_tracks(self) -> set[int]:
        return set(self._tracks)

    def predicted(self, t: float) -> list[tuple[int, BBox]]:
        """Where each live track's face should be at *t* (constant velocity)."""
        out = []
        for track in self._tracks.values():
            if t - track.last_t > self.max_gap_s:
                continue
            dt = t - track.last_t
            dx, dy = int(track.velocity[0] * dt), int(track.velocity[1] * dt)
            top, right, bottom, left = track.bbox
            out.append((track.track_id, (top + dy, right + dx, bottom + dy, left + dx)))
        return out

    def assign(
        self,
        t: float,
        boxes: list[BBox],
        signatures: Sequence[np.ndarray | None] | None = None,
    ) -> list[int]:
        """A track id for each box, in order; new faces get new ids. *signatures*: each
        face's appearance (or None), when the detector gives them."""
        looks = list(signatures) if signatures is not None else [None] * len(boxes)
        self._tracks = {k: v for k, v in self._tracks.items() if t - v.last_t <= self.max_gap_s}
        self.uncertain = set()
        pairs: list[_Pair] = []
        for i, box in enumerate(boxes):
            cx, cy = _centre(box)
            for track in self._tracks.values():
                px, py = _centre(track.bbox)
                dt = t - track.last_t
                px, py = px + track.velocity[0] * dt, py + track.velocity[1] * dt
                size = max(_width(box), _width(track.bbox))
                jump = ((cx - px) ** 2 + (cy - py) ** 2) ** 0.5 / size
                alike = _alike(looks[i], track.signature)
                if jump > self.max_jump + self.max_drift * dt:
                    continue
                if alike is not None and alike < LOOKS_UNRELATED:
                    continue
                # A face that looks like the track's is preferred to a nearer one that
                # does not: walkers crossing keep their own tracks.
                unlike = 0.0 if alike is None else self.unlike_cost * (1.0 - alike)
                pairs.append(_Pair(jump + unlike, jump, alike, i, track.track_id))
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for pair in sorted(pairs, key=lambda p: (p.cost, p.box, p.track_id)):
            i, track_id = pair.box, pair.track_id
            if ids[i] is None and track_id not in taken:
                ids[i] = track_id
                taken.add(track_id)
                if self._doubtful(pair, pairs, boxes[i]):
                    self.uncertain.add(track_id)
                self._follow(self._tracks[track_id], boxes[i], t, looks[i])
        for i, box in enumerate(boxes):
            if ids[i] is None:
                track = Track(next(self._ids), box, t, signature=looks[i])
                self._tracks[track.track_id] = track
                ids[i] = track.track_id
        return [i for i in ids if i is not None]

    def _doubtful(self, pair: _Pair, pairs: list[_Pair], box: BBox) -> bool:
        """Might this assignment have put another person on the track?"""
        if pair.alike is not None and pair.alike < LOOKS_ELSEWHERE:
            return True
        # Beyond the fixed slack, only the drift allowance kept it: somebody may have
        # walked in where the track's person walked out (looking alike at a glance is
        # not enough to say otherwise).
        if pair.jump > self.max_jump:
            return True
        ratio = _width(box) / _width(self._tracks[pair.track_id].bbox)
        if not 0.7 <= ratio <= 1.43:  # a face does not grow or shrink by a third at once
            return True
        if pair.alike is not None and pair.alike >= LOOKS_THE_SAME:
            return False  # where it was expected and looking as it did: rivals do not matter
        # Another box nearly as close to this track, or another track nearly as close to
        # this box: two faces crossing, the assignment is a guess.
        rivals = [
            p.cost
            for p in pairs
            if (p.track_id == pair.track_id and p.box != pair.box)
            or (p.box == pair.box and p.track_id != pair.track_id)
        ]
        return any(r < pair.cost * 1.5 + 0.25 for r in rivals)

    @staticmethod
    def _follow(track: Track, box: BBox, t: float, signature: np.ndarray | None) -> None:
        if signature is not None:
            track.signature = signature
        dt = t - track.last_t
        if dt > 0:
            (ox, oy), (nx, ny) = _centre(track.bbox), _centre(box)
            track.velocity = ((nx - ox) / dt, (ny - oy) / dt)
        track.bbox, track.last_t = box, t
        track.hits += 1
