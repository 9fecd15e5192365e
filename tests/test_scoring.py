"""The fused score (issue 24): the second descriptor changes a subject's score only in
the band around the threshold, is used only when the face has one, keeps dlib's scale;
its cost goes to the encode budget; subjects keep their second template and photo
quality through the record; the shipped calibration's fusion is sound."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from console.domain.deployments import Deployment
from console.domain.watchlist import (
    EnrolmentQuality,
    Watchlist,
    WatchlistEntry,
    WatchlistSubject,
)
from console.storage import Store
from console.vision.encode_scheduler import EncodeBudget
from console.vision.matcher import Matcher
from console.vision.scoring import Fusion, shipped_fusion

# A fusion whose mapping is linear, so scores can be worked out by hand: with these
# figures the fused score is 0.5 * d + 0.5 * (c - 0.1) (c: the cosine distance).
LINEAR = Fusion(0.8, 0.1, 0.9, 0.1, 0.5, np.array([-10.0, 0.0, 10.0]),
                np.array([-0.2, 0.8, 1.8]), below=0.08, above=0.12)
T = 0.5


def unit(i: int, dims: int = 8) -> np.ndarray:
    v = np.zeros(dims)
    v[i] = 1.0
    return v


def subject(sid: str, encoding: np.ndarray, second: np.ndarray | None) -> WatchlistSubject:
    entry = WatchlistEntry(1, sid, f"Name {sid}", "wanted by the courts", Path(f"{sid}.jpg"),
                           {"source": "test"})
    return WatchlistSubject(entry, encoding, np.zeros((2, 2, 3), np.uint8), second=second)


def at(d: float) -> np.ndarray:
    """A 128-d encoding at distance *d* from the origin (along the first axis)."""
    e = np.zeros(128)
    e[0] = d
    return e


def test_second_descriptor_rescues_a_near_face_inside_the_band_only():
    listed = Watchlist(Path("."), [subject("A", at(0.0), unit(0))])
    matcher = Matcher(listed, T, fusion=LINEAR)
    probe, close_second = at(0.55), unit(0)  # dlib 0.55: just outside the threshold
    assert matcher.wants_second(probe)
    assert matcher.match(probe) is None  # dlib alone: no match
    fused = matcher.match(probe, close_second)  # cosine 0: 0.5 * 0.55 - 0.05
    assert fused is not None and fused.fused
    assert fused.distance == pytest.approx(0.225)
    # Far outside the band the second descriptor is not asked for and changes nothing.
    far = at(0.7)
    assert not matcher.wants_second(far)
    assert matcher.nearest(far, close_second).distance == pytest.approx(0.7)
    assert not matcher.nearest(far, close_second).fused


def test_a_dissimilar_second_descriptor_can_veto_a_near_match():
    listed = Watchlist(Path("."), [subject("A", at(0.0), unit(0))])
    matcher = Matcher(listed, T, fusion=LINEAR)
    probe = at(0.47)  # dlib alone matches (0.47 <= 0.5)
    assert matcher.match(probe) is not None
    other = unit(1)  # cosine distance 1: 0.5 * 0.47 + 0.45
    assert matcher.match(probe, other) is None
    assert matcher.nearest(probe, other).distance == pytest.approx(0.685)


def test_subject_without_second_template_and_matcher_without_fusion_use_dlib_alone():
    listed = Watchlist(Path("."), [subject("A", at(0.0), None)])
    assert not Matcher(listed, T, fusion=LINEAR).wants_second(at(0.55))
    assert Matcher(listed, T, fusion=LINEAR).nearest(at(0.55), unit(0)).distance == pytest.approx(
        0.55)
    both = Watchlist(Path("."), [subject("A", at(0.0), unit(0))])
    plain = Matcher(both, T, fusion=None)
    assert not plain.wants_second(at(0.55))
    assert plain.nearest(at(0.55), unit(0)).distance == pytest.approx(0.55)


def test_fusion_can_change_which_subject_is_nearest():
    a = subject("A", at(0.0), unit(1))  # dlib nearer, second descriptor far
    b = subject("B", at(-0.06), unit(0))  # dlib a little further, second descriptor close
    matcher = Matcher(Watchlist(Path("."), [a, b]), T, fusion=LINEAR)
    probe = at(0.5)  # 0.50 from A, 0.56 from B: both in the band
    assert matcher.nearest(probe).subject.subject_id == "A"
    best = matcher.nearest(probe, unit(0))
    assert best.subject.subject_id == "B" and best.distance == pytest.approx(0.23)
    assert best.margin == pytest.approx(0.7 - 0.23)


def test_budget_pays_for_second_descriptors():
    budget = EncodeBudget(per_second=10.0, clock=None, second_cost=2.0)
    assert budget.grant(10, 0, t=0.0) == (10, 0)
    budget.charge(3, t=1.0)  # a second refilled 10 tokens; three descriptions cost 6
    assert budget.grant(10, 0, t=1.0) == (4, 0)
    budget.charge(100, t=1.0)  # debt is bounded by one burst ...
    assert budget.grant(10, 0, t=1.5) == (0, 0)
    assert budget.grant(10, 0, t=2.5) == (5, 0)  # ... and paid off as time passes
    assert budget.described == 103


def test_second_template_and_photo_quality_survive_the_record(tmp_path):
    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    store = Store.in_dir(tmp_path)
    d = Deployment("CR-1", "Croydon", ("north",), "J. Hart", "Superintendent", now,
                   now + timedelta(hours=8), 0.4)
    store.deployments.create(d, "PC 1")
    quality = EnrolmentQuality(face_px=72, sharpness=40.5, turn=0.5, brightness=50.0,
                               contrast=20.0)
    second = np.linspace(-1, 1, 1024)
    listed = [
        replace(subject("A", at(0.1), second), photos=2, quality=quality),
        subject("B", at(0.2), None),
    ]
    store.deployments.store_watchlist(d, Watchlist(Path("."), listed), "PC 1")
    back = {s.subject_id: s for s in store.deployments.load_watchlist("CR-1").subjects}
    assert np.array_equal(back["A"].second, second)
    assert back["A"].quality == quality and back["A"].photos == 2
    assert set(back["A"].quality.problems) >= {"dark", "face turned away from the camera"}
    assert back["B"].second is None
    restored = Watchlist(Path("."), list(back.values()))
    assert restored.has_second.tolist() == [True, False]
    store.deployments.purge_watchlist("CR-1", "PC 1")
    assert not store.deployments.db.query("SELECT * FROM watchlist_seconds")


@pytest.mark.skipif(shipped_fusion() is None, reason="no fusion in the calibration")
def test_shipped_fusion_is_monotonic_and_on_dlibs_scale():
    fusion = shipped_fusion()
    d = np.linspace(0.3, 0.7, 41)
    for c in (0.2, 0.4, 0.6):
        scores = fusion.score(d, np.full_like(d, c))
        assert np.all(np.diff(scores) >= 0)
    # Two average impostors (each descriptor at its impostor mean) score the dlib
    # distance that half of the impostor pairs fall below: within a few hundredths of
    # dlib's own impostor mean.
    middle = float(fusion.score(fusion.dlib_mean, fusion.second_mean))
    assert abs(middle - fusion.dlib_mean) < 0.05
    assert 0.0 < fusion.below < 0.2 and 0.0 < fusion.above < 0.25


def test_pipeline_describes_only_faces_near_the_threshold_and_pays_for_them():
    from console.pipeline import CameraPipeline
    from console.vision.analysis import FaceObservation
    from console.vision.sources import Frame

    listed = Watchlist(Path("."), [subject("A", at(0.0), unit(0))])
    asked: list[list] = []

    def describe(image, boxes):
        asked.append(list(boxes))
        return [unit(0) for _ in boxes]

    pipeline = CameraPipeline("north", Matcher(listed, T, fusion=LINEAR), str,
                              describe=describe)
    near, far, close = (10, 110, 110, 10), (10, 310, 110, 210), (10, 510, 110, 410)
    frame = Frame(np.zeros((200, 600, 3), np.uint8), 0, 0.0)
    faces = [FaceObservation(near, at(0.55), 100.0), FaceObservation(far, at(0.9), 100.0),
             FaceObservation(close, at(0.2), 100.0)]
    pipeline.process(frame, faces)
    assert asked == [[near]]  # the far face and the one far inside are not described
    assert pipeline.counters.faces_described == 1
    # The crowd engine: descriptions computed by the caller are charged to the budget.
    budget = EncodeBudget(per_second=10.0, clock=None, second_cost=2.0)
    crowd = CameraPipeline("south", Matcher(listed, T, fusion=LINEAR), str, budget=budget,
                           describe=describe)
    assert crowd.wants_second([at(0.55), at(0.9), None]) == [0]
    from console.vision.analysis import Detection

    chosen = crowd.choose(frame, [Detection(near, 100.0), Detection(far, 100.0)])
    assert chosen.to_encode == [0, 1]
    events = crowd.settle(frame, chosen, [at(0.55), at(0.9)], {0: unit(0)})
    assert budget.described == 1 and not asked[1:]  # given: not computed again
    assert crowd.last_view[0][1] == "Name A"  # matched on the fused score (0.225)
    # 0.225 is well inside the threshold: the single-frame strong rule alerts at once,
    # on the fused distance (dlib alone, 0.55, would not have matched at all).
    (event,) = events
    assert event.is_new and event.alert.distance == pytest.approx(0.225)
