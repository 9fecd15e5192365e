from __future__ import annotations

from pathlib import Path

import numpy as np

from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject
from console.vision.matcher import Matcher


def watchlist(encodings: np.ndarray) -> Watchlist:
    subjects = [
        WatchlistSubject(
            WatchlistEntry(i + 1, f"S{i}", f"n{i}", "c", Path("x.jpg")), e, np.zeros((1, 1, 3))
        )
        for i, e in enumerate(encodings)
    ]
    return Watchlist(Path("."), subjects)


def test_nearest_subject_and_distance_agree_with_numpy():
    rng = np.random.default_rng(1)
    encodings = rng.normal(0, 0.1, (500, 128))
    probe = encodings[123] + rng.normal(0, 0.01, 128)
    m = Matcher(watchlist(encodings), threshold=0.5)
    expected = np.linalg.norm(encodings - probe, axis=1)
    found = m.nearest(probe)
    assert found.subject.subject_id == "S123"
    assert abs(found.distance - expected.min()) < 1e-9


def test_threshold_decides_a_match():
    encodings = np.zeros((2, 128))
    encodings[1, 0] = 1.0
    m = Matcher(watchlist(encodings), threshold=0.5)
    probe = np.zeros(128)
    probe[0] = 0.6  # 0.6 from S0, 0.4 from S1
    assert m.match(probe).subject.subject_id == "S1"
    probe[0] = 0.5 + 0.5  # exactly S1
    assert m.match(probe).distance == 0.0
    probe[:] = 0
    probe[5] = 0.7  # 0.7 from S0, ~1.22 from S1: beyond the threshold
    assert m.match(probe) is None


def test_empty_watchlist_matches_nothing():
    assert Matcher(watchlist(np.zeros((0, 128))), 0.5).match(np.zeros(128)) is None
