"""Compare face encodings with the watchlist's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.domain.watchlist import Watchlist, WatchlistSubject


@dataclass(frozen=True)
class Candidate:
    subject: WatchlistSubject
    distance: float
    # How much further the next-nearest subject is (inf with one subject): a probe about
    # as close to two subjects is ambiguous, whatever its distance.
    margin: float = float("inf")


class Matcher:
    """Nearest watchlist subject by Euclidean distance between 128-d encodings.

    One matrix-vector product against the stacked encodings: a probe against 10,000
    subjects costs well under a millisecond.
    """

    def __init__(self, watchlist: Watchlist, threshold: float) -> None:
        self.threshold = threshold
        self.use(watchlist)

    def use(self, watchlist: Watchlist) -> None:
        """Match against another watchlist from now on (a fresh import, or none at all
        once the deployment concludes: the old encodings must not linger in memory)."""
        self.watchlist = watchlist
        self._encodings = watchlist.encodings
        self._squared_norms = np.einsum("ij,ij->i", self._encodings, self._encodings)

    def nearest(self, encoding: np.ndarray) -> Candidate | None:
        if not len(self.watchlist):
            return None
        squared = self._squared_distances(encoding)
        index = int(np.argmin(squared))
        distance = float(np.sqrt(max(squared[index], 0.0)))
        margin = float("inf")
        if len(squared) > 1:
            squared[index] = np.inf
            margin = float(np.sqrt(max(float(squared.min()), 0.0))) - distance
        return Candidate(self.watchlist.subjects[index], distance, margin)

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

    def match(self, encoding: np.ndarray) -> Candidate | None:
        """The nearest subject if it is within the threshold, else None."""
        candidate = self.nearest(encoding)
        if candidate is None or candidate.distance > self.threshold:
            return None
        return candidate
