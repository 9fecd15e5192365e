"""The next-nearest subjects to a match, as the card shows them (top-N): the matcher's
``nearest_n`` agrees with numpy, and the pipeline carries them to the alert."""

from __future__ import annotations

import numpy as np

from console.domain.sightings import SightingTracker
from console.pipeline import CameraPipeline
from console.vision.analysis import FaceObservation
from console.vision.matcher import Matcher
from console.vision.sources import Frame
from tests.test_matcher import watchlist


def test_the_n_nearest_subjects_nearest_first_agree_with_numpy():
    rng = np.random.default_rng(7)
    encodings = rng.normal(0, 0.1, (300, 128))
    probe = encodings[42] + rng.normal(0, 0.01, 128)
    matcher = Matcher(watchlist(encodings), threshold=0.5)
    found = matcher.nearest_n(probe, 4)
    expected = np.linalg.norm(encodings - probe, axis=1)
    order = np.argsort(expected)[:4]
    assert [c.subject.subject_id for c in found] == [f"S{i}" for i in order]
    assert np.allclose([c.distance for c in found], expected[order])
    assert found[0].subject.subject_id == matcher.nearest(probe).subject.subject_id
    assert np.isclose(found[0].margin, found[1].distance - found[0].distance)
    assert matcher.nearest_n(probe, 0) == [] and len(matcher.nearest_n(probe, 999)) == 300


def test_the_alert_names_the_subjects_that_came_next():
    encodings = np.zeros((3, 128))
    encodings[1, 0] = 0.3  # S1 close to S0
    encodings[2, 0] = 2.0  # S2 far away
    pipeline = CameraPipeline("north", Matcher(watchlist(encodings), 0.5), lambda c: f"{c}-1")
    pipeline.sightings = SightingTracker("north", 0.5, lambda c: f"{c}-1")
    image = np.zeros((120, 160, 3), np.uint8)
    events = []
    for n in range(3):
        probe = np.zeros(128)
        probe[0] = 0.05
        face = FaceObservation((10, 60, 60, 10), probe, 100.0)
        events += pipeline.process(Frame(image, n, n * 0.2), [face])
    alert = events[0].alert
    assert alert.subject_id == "S0"
    assert [s for s, _, _ in alert.runners_up] == ["S1", "S2"]
    assert alert.runners_up[0][2] == round(0.25, 4)
