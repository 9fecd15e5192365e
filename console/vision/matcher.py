"""Compare face encodings with the watchlist's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from console.domain.watchlist import Watchlist, WatchlistSubject

if TYPE_CHECKING:
    from console.vision.scoring import Fusion

SHIPPED = "shipped"  # the fusion in resources/calibration.json (console.vision.scoring)


@dataclass(frozen=True)
class Candidate:
    subject: WatchlistSubject
    distance: float
    # How much further the next-nearest subject is (inf with one subject): a probe about
    # as close to two subjects is ambiguous, whatever its distance.
    margin: float = float("inf")
    # Whether the second descriptor took part in the distance (console.vision.scoring).
    fused: bool = False


class Matcher:
    """Nearest watchlist subject by Euclidean distance between 128-d encodings.

    One matrix-vector product against the stacked encodings: a probe against 10,000
    subjects costs well under a millisecond. With a *fusion* and a face's second
    descriptor, subjects whose dlib distance lies in the band around the threshold are
    scored on both descriptors (console.vision.scoring); the distance stays on dlib's
    scale, so the threshold means the same with or without it.
    """

    def __init__(self, watchlist: Watchlist, threshold: float,
                 fusion: Fusion | str | None = SHIPPED) -> None:
        """*fusion*: how to score with the second descriptor; the shipped one by default,
        None for dlib's distance alone."""
        if fusion == SHIPPED:
            from console.vision.scoring import shipped_fusion

            fusion = shipped_fusion()
        self.threshold = threshold
        self.fusion: Fusion | None = fusion  # type: ignore[assignment]
        self.use(watchlist)

    def use(self, watchlist: Watchlist) -> None:
        """Match against another watchlist from now on (a fresh import, or none at all
        once the deployment concludes: the old encodings must not linger in memory)."""
        self.watchlist = watchlist
        self._encodings = watchlist.encodings
        self._squared_norms = np.einsum("ij,ij->i", self._encodings, self._encodings)

    def nearest(self, encoding: np.ndarray, second: np.ndarray | None = None
                ) -> Candidate | None:
        """The nearest subject; *second*: the face's second descriptor, when it has one."""
        if not len(self.watchlist):
            return None
        scores = np.sqrt(np.maximum(self._squared_distances(encoding), 0.0))
        fused = self._fuse(scores, second)
        index = int(np.argmin(scores))
        distance = float(scores[index])
        margin = float("inf")
        if len(scores) > 1:
            scores[index] = np.inf
            margin = float(scores.min()) - distance
        return Candidate(self.watchlist.subjects[index], distance, margin, bool(fused[index]))

    def wants_second(self, encoding: np.ndarray) -> bool:
        """Whether the face's second descriptor can change the outcome: its nearest dlib
        distance is in the fusion's band around the threshold (and some subject there
        has a second template)."""
        if self.fusion is None or not len(self.watchlist) or not self.watchlist.has_second.any():
            return False
        d = np.sqrt(np.maximum(self._squared_distances(encoding), 0.0))
        return self.fusion.in_band(float(d.min()), self.threshold)

    def _fuse(self, scores: np.ndarray, second: np.ndarray | None) -> np.ndarray:
        """Replace, in place, the scores of subjects in the band by the fused score."""
        band = np.zeros(len(scores), dtype=bool)
        if self.fusion is None or second is None:
            return band
        if not self.fusion.in_band(float(scores.min()), self.threshold):
            return band
        lo = self.threshold - self.fusion.below
        hi = self.threshold + self.fusion.above
        band = (scores >= lo) & (scores <= hi) & self.watchlist.has_second
        if band.any():
            cosine = 1.0 - self.watchlist.seconds[band] @ np.asarray(second, dtype=np.float64)
            scores[band] = self.fusion.score(scores[band], cosine)
        return band

    def _squared_distances(self, encoding: np.ndarray) -> np.ndarray:
        probe = np.asarray(encoding, dtype=np.float64)
        # |a-b|^2 = |a|^2 - 2ab + |b|^2: one BLAS call instead of a temporary matrix.
        return self._squared_norms - 2.0 * (self._encodings @ probe) + probe @ probe

    def nearest_n(self, encoding: np.ndarray, n: int) -> list[Candidate]:
        """The *n* nearest subjects, nearest first (what the card shows beside a match:
        how close the next-nearest subjects came). Each one's margin is to the next."""
        if not len(self.watchlist) or n <= 0:
            return []
        squared = np.maximum(self._squared_distances(encoding), 0.0)
        count = min(n, len(squared))
        order = np.argsort(squared)[: count + 1]
        distances = np.sqrt(squared[order])
        return [
            Candidate(
                self.watchlist.subjects[int(order[i])],
                float(distances[i]),
                float(distances[i + 1] - distances[i]) if i + 1 < len(order) else float("inf"),
            )
            for i in range(count)
        ]

    def match(self, encoding: np.ndarray, second: np.ndarray | None = None
              ) -> Candidate | None:
        """The nearest subject if it is within the threshold, else None."""
        candidate = self.nearest(encoding, second)
        if candidate is None or candidate.distance > self.threshold:
            return None
        return candidate
