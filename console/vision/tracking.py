"""Follow faces from one analysed frame to the next, so a walk past a camera is one track.

Analysed frames are a quarter of a second or more apart, and a walking face moves most
of its own width in that time, so boxes rarely overlap: association is by distance
between centres (relative to face size) after predicting each track's motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from console.domain.alerts import BBox


@dataclass
class Track:
    track_id: int
    bbox: BBox
    last_t: float
    velocity: tuple[float, float] = (0.0, 0.0)  # centre pixels per second
    hits: int = 1


def _centre(b: BBox) -> tuple[float, float]:
    top, right, bottom, left = b
    return (left + right) / 2, (top + bottom) / 2


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

    def assign(self, t: float, boxes: list[BBox]) -> list[int]:
        """A track id for each box, in order; new faces get new ids."""
        self._tracks = {k: v for k, v in self._tracks.items() if t - v.last_t <= self.max_gap_s}
        self.uncertain = set()
        pairs = []
        for i, box in enumerate(boxes):
            cx, cy = _centre(box)
            for track in self._tracks.values():
                px, py = _centre(track.bbox)
                dt = t - track.last_t
                px, py = px + track.velocity[0] * dt, py + track.velocity[1] * dt
                size = max(_width(box), _width(track.bbox))
                jump = ((cx - px) ** 2 + (cy - py) ** 2) ** 0.5 / size
                if jump <= self.max_jump + self.max_drift * dt:
                    pairs.append((jump, i, track.track_id))
        ids: list[int | None] = [None] * len(boxes)
        taken: set[int] = set()
        for jump, i, track_id in sorted(pairs):
            if ids[i] is None and track_id not in taken:
                ids[i] = track_id
                taken.add(track_id)
                if self._doubtful(jump, i, track_id, pairs, boxes[i]):
                    self.uncertain.add(track_id)
                self._follow(self._tracks[track_id], boxes[i], t)
        for i, box in enumerate(boxes):
            if ids[i] is None:
                track = Track(next(self._ids), box, t)
                self._tracks[track.track_id] = track
                ids[i] = track.track_id
        return [i for i in ids if i is not None]

    def _doubtful(
        self,
        jump: float,
        i: int,
        track_id: int,
        pairs: list[tuple[float, int, int]],
        box: BBox,
    ) -> bool:
        """Might this assignment have put another person on the track?"""
        if jump > self.max_jump:  # beyond the fixed slack: only the drift allowance kept it
            return True
        ratio = _width(box) / _width(self._tracks[track_id].bbox)
        if not 0.7 <= ratio <= 1.43:  # a face does not grow or shrink by a third at once
            return True
        # Another box nearly as close to this track, or another track nearly as close to
        # this box: two faces crossing, the assignment is a guess.
        rivals = [
            j
            for j, bi, tid in pairs
            if (tid == track_id and bi != i) or (bi == i and tid != track_id)
        ]
        return any(r < jump * 1.5 + 0.25 for r in rivals)

    @staticmethod
    def _follow(track: Track, box: BBox, t: float) -> None:
        dt = t - track.last_t
        if dt > 0:
            (ox, oy), (nx, ny) = _centre(track.bbox), _centre(box)
            track.velocity = ((nx - ox) / dt, (ny - oy) / dt)
        track.bbox, track.last_t = box, t
        track.hits += 1
