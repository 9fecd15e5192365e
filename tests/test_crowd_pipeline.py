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
