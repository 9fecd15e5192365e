"""The crowd engine through the pipeline: detect, choose, encode the chosen, judge.

The first tests feed the pipeline made-up detections and encodings (no dlib) to check
its bookkeeping and the privacy rule; the last replays the sample streams through the
real pool and dlib and expects exactly the alerts of the engine that encodes every face.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import console.pipeline as pipeline_module
from console.config import DEFAULT_FALSE_ALERT_RATE
from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject
from console.live.feed import FeedState, FeedStatus
from console.pipeline import CameraPipeline
from console.replay import replay
from console.vision.analysis import Detection
from console.vision.encode_scheduler import EncodeBudget
from console.vision.matcher import Matcher
from console.vision.operating_point import threshold_for
from console.vision.sources import Frame, SourceSpec
from tests.conftest import SAMPLES

WANTED = np.zeros(128)
WANTED[0] = 1.0


def passer_by(k: int) -> np.ndarray:
    e = np.zeros(128)
    e[1 + k] = 1.0  # sqrt(2) from the wanted face: nowhere near
    return e


def crowd_pipeline(per_second: float = 1000.0) -> CameraPipeline:
    subject = WatchlistSubject(
        WatchlistEntry(1, "WL-1", "Wanted Person", "wanted by the courts", Path("w.jpg")),
        WANTED,
        np.zeros((4, 4, 3), np.uint8),
    )
    matcher = Matcher(Watchlist(Path("."), [subject]), 0.5)
    return CameraPipeline(
        "north", matcher, lambda c: f"{c}-1", budget=EncodeBudget(per_second, clock=None)
    )


def walk(n: int, faces: int, spacing: int = 180) -> list[Detection]:
    """*faces* faces side by side, each walking 20 px right a frame."""
    return [
        Detection((300, 60 + spacing * k + 20 * n + 140, 440, 60 + spacing * k + 20 * n), 300.0)
        for k in range(faces)
    ]


def run(pipeline: CameraPipeline, frames: int, faces: int, wanted_at: int | None = None):
    image = np.full((720, 1280, 3), 100, np.uint8)
    events, encoded = [], []
    for n in range(frames):
        frame = Frame(image, n * 8, n / 3)
        chosen = pipeline.choose(frame, walk(n, faces))
        encodings = [WANTED + 0.01 if i == wanted_at else passer_by(i) for i in chosen.to_encode]
        encoded.append(len(encodings))
        events += pipeline.settle(frame, chosen, encodings)
    return events, encoded


def test_a_crowd_of_passers_by_is_encoded_once_each_not_every_frame():
    pipeline = crowd_pipeline()
    _, encoded = run(pipeline, frames=12, faces=6)
    assert encoded[0] == 6, "every newcomer at once"
    assert sum(encoded[1:]) <= 6, "then only the occasional re-check"
    c = pipeline.counters
    assert c.faces_detected == 72 and c.faces_encoded == sum(encoded) and c.people_seen == 6


def test_the_wanted_face_in_the_crowd_alerts_once_and_its_box_keeps_the_name():
    pipeline = crowd_pipeline()
    events, _ = run(pipeline, frames=9, faces=6, wanted_at=2)
    assert [e.alert.subject_id for e in events if e.is_new] == ["WL-1"]
    names = [name for _, name in pipeline.last_view]
    assert names == [None, None, "Wanted Person", None, None, None]


def test_only_the_matching_face_is_ever_cropped(monkeypatch):
    cropped = []
    real = pipeline_module.crop_face
    monkeypatch.setattr(
        pipeline_module, "crop_face", lambda image, bbox: cropped.append(bbox) or real(image, bbox)
    )
    pipeline = crowd_pipeline()
    run(pipeline, frames=9, faces=6, wanted_at=2)
    wanted_lefts = {60 + 180 * 2 + 20 * n for n in range(9)}
    assert cropped and all(bbox[3] in wanted_lefts for bbox in cropped)


def test_over_budget_the_feed_status_says_which_faces_wait():
    pipeline = crowd_pipeline(per_second=3.0)  # 1 encoding a frame for 10 faces
    run(pipeline, frames=3, faces=10)
    status = pipeline.overload()
    assert status is not None and status.waiting > 0 and status.urgent_waiting > 0
    from console.qt.camera_tile import health_text

    feed = FeedStatus("north", FeedState.LIVE, decode_fps=25, analysed_fps=3, overload=status)
    line, tooltip = health_text(feed)
    assert "waiting to be checked" in line
    assert "face " in tooltip and "new or near a match" in tooltip
    quiet = FeedStatus("north", FeedState.LIVE, decode_fps=25, analysed_fps=3)
    assert "Crowded" not in health_text(quiet)[0]


def test_a_pipeline_without_a_budget_has_no_crowd_engine():
    pipeline = CameraPipeline("north", Matcher(Watchlist(Path("."), []), 0.5), str)
    assert pipeline.overload() is None
    with pytest.raises(AssertionError):
        pipeline.choose(Frame(np.zeros((8, 8, 3), np.uint8), 0, 0.0), [])


def test_the_sample_streams_give_the_same_alerts_for_far_fewer_encodings(
    sample_watchlist, process_pool, ground_truth
):
    cameras = [
        SourceSpec("north", str(SAMPLES / "north.mp4")),
        SourceSpec("south", str(SAMPLES / "south.mp4")),
    ]
    threshold = threshold_for(DEFAULT_FALSE_ALERT_RATE, len(sample_watchlist))
    alerts, summary = replay(
        cameras, sample_watchlist, process_pool, threshold, encodes_per_second=10.0
    )
    expected = sorted(
        (g["camera"], g["subject_id"], float(g["start_s"]))
        for g in ground_truth
        if g["watchlisted"] == "yes"
    )
    got = sorted((a.camera, a.subject_id, a.t) for a in alerts)
    assert len(got) == len(expected), "one alert per watchlisted walk, none for passers-by"
    for (camera, subject, start), (a_camera, a_subject, t) in zip(expected, got, strict=True):
        assert (a_camera, a_subject) == (camera, subject)
        assert start - 1.0 <= t <= start + 0.2
    detected = sum(c.faces_detected for c in summary.cameras.values())
    encoded = sum(c.faces_encoded for c in summary.cameras.values())
    assert detected > 400 and encoded < detected / 2


def glance(k: int) -> np.ndarray:
    """Appearances at a glance: glance(k) and glance(j) are unalike for k != j."""
    v = np.zeros(512, np.float32)
    v[k] = 1.0
    return v


def test_a_wanted_face_that_walks_in_where_a_passer_by_walked_out_is_judged_at_once():
    """A passer-by, judged a confident non-match, leaves; the wanted person walks in at
    the place the passer-by's track expected them. Looking nothing alike, the newcomer is
    a new face (checked at once), not the passer-by's track (re-checked after seconds)."""
    pipeline = crowd_pipeline()
    image = np.full((720, 1280, 3), 100, np.uint8)
    events = []
    for n in range(6):
        box = (300, 60 + 20 * n + 140, 440, 60 + 20 * n)
        wanted = n >= 3
        frame = Frame(image, n * 8, n / 3)
        chosen = pipeline.choose(frame, [Detection(box, 300.0, glance(1 if wanted else 2))])
        encodings = [WANTED + 0.01 if wanted else passer_by(0) for _ in chosen.to_encode]
        events += pipeline.settle(frame, chosen, encodings)
        if n == 3:
            assert chosen.to_encode == [0], "the newcomer is checked on the frame it appears"
    assert [e.alert.subject_id for e in events if e.is_new] == ["WL-1"]
    assert pipeline.counters.people_seen == 2


def test_a_named_box_loses_its_name_while_its_track_is_in_doubt():
    pipeline = crowd_pipeline(per_second=3.0)
    image = np.full((720, 1280, 3), 100, np.uint8)
    box = (300, 200, 440, 60)
    for n in range(4):
        frame = Frame(image, n * 8, n / 3)
        chosen = pipeline.choose(frame, [Detection(box, 300.0, glance(1))])
        pipeline.settle(frame, chosen, [WANTED + 0.01 for _ in chosen.to_encode])
    assert pipeline.last_view == [(box, "Wanted Person")]
    # Somewhat unlike the face it was (0.8 alike) on a frame with no encoding to spare:
    # it may be somebody else, so the tile stops naming it until it has been checked.
    somewhat = glance(1) * 0.8 + glance(2) * 0.6
    frame = Frame(image, 40, 5 / 3)
    pipeline.scheduler.budget.grant(100, 0, frame.t)  # every token spent elsewhere
    chosen = pipeline.choose(frame, [Detection(box, 300.0, somewhat)])
    assert chosen.to_encode == []
    pipeline.settle(frame, chosen, [])
    assert pipeline.last_view == [(box, None)]
