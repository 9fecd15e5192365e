"""Boxes on the right face: an overlay is only ever drawn on the frame it was found on.

The unit tests drive console.live.overlay.DelayedPicture with hand-made frames and
analyses; the last test plays the sample street video through the real feed, the real
analysis pool and the real tile, and checks every frame the tile put on screen with an
overlay against the faces' true positions, which the sample generator defines
(sample_streams/make_samples.py, Appearance.at).
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys

import numpy as np
import pytest

from console.domain.policy import FalseAlertRate
from console.live.feed import CameraFeed, FacesInView
from console.live.overlay import DelayedPicture, pair_faces
from console.pipeline import CameraPipeline
from console.qt.camera_tile import CameraTile
from console.vision.matcher import Matcher
from console.vision.operating_point import threshold_for
from console.vision.sources import SourceSpec
from tests.conftest import SAMPLES, run_on_loop

RGB = np.zeros((4, 4, 3), np.uint8)


def box_at(x: float, y: float, w: float = 100) -> tuple[int, int, int, int]:
    """top, right, bottom, left of a face of width *w* centred on (x, y)."""
    h = w / 2
    return (int(y - h), int(x + h), int(y + h), int(x - h))


def centre(b) -> tuple[float, float]:
    return (b[1] + b[3]) / 2, (b[0] + b[2]) / 2


# -- the buffer alone ---------------------------------------------------------------------


def test_a_frame_newer_than_the_newest_analysis_gets_no_box():
    picture = DelayedPicture()
    for i in range(5):
        picture.add_frame(i, RGB, 1.0)
    picture.add_analysis(2, [(box_at(100, 100), "Alex Marsh")])
    # Frames 3 and 4 came after the analysed one: whatever is shown of them, no box.
    assert picture.boxes_for(2) == [(box_at(100, 100), "Alex Marsh")]
    assert picture.boxes_for(3) == []
    assert picture.boxes_for(4) == []


def test_the_picture_waits_for_its_analysis_then_shows_each_frame_with_its_own_boxes():
    picture = DelayedPicture()
    shown = []
    # A face walking right 10 px a frame, analysed every 8th frame, each result arriving
    # 6 frames after its frame: as in the console at three analyses a second.
    for i in range(60):
        picture.add_frame(i, RGB, 1.0)
        if i >= 6 and (i - 6) % 8 == 0:
            a = i - 6
            picture.add_analysis(a, [(box_at(100 + 10 * a, 200), "Alex Marsh")])
        s = picture.frame_to_show()
        if s is not None:
            shown.append(s)
    indexes = [s.index for s in shown]
    assert indexes == sorted(set(indexes)), "frames go forward, each once"
    with_boxes = [s for s in shown if s.boxes]
    assert len(with_boxes) > 30, "once the delay is learnt, frames between analyses have boxes"
    for s in with_boxes:
        (x, _), name = centre(s.boxes[0][0]), s.boxes[0][1]
        assert abs(x - (100 + 10 * s.index)) <= 1, f"frame {s.index}: box at {x}"
        assert name == "Alex Marsh"
    assert picture.delay == 14  # an analysis's 6 frames late plus the 8 between analyses


def test_a_face_seen_in_only_one_analysis_is_not_carried_to_the_frames_around_it():
    picture = DelayedPicture()
    for i in range(20):
        picture.add_frame(i, RGB, 1.0)
    picture.add_analysis(0, [(box_at(100, 100), None), (box_at(600, 100), "Alex Marsh")])
    picture.add_analysis(8, [(box_at(180, 100), None)])  # Marsh left (or was not found)
    between = picture.boxes_for(4)
    assert [name for _, name in between] == [None]
    assert abs(centre(between[0][0])[0] - 140) <= 1


def test_a_name_never_jumps_to_the_other_of_two_people_close_together():
    """Two people 120 px apart walking towards each other: pairing is mutual nearest,
    so the name stays with the face that matched."""
    before = [(box_at(400, 200), "Alex Marsh"), (box_at(520, 200), None)]
    after = [(box_at(440, 200), "Alex Marsh"), (box_at(480, 200), None)]
    assert sorted(pair_faces(before, after)) == [(0, 0), (1, 1)]
    picture = DelayedPicture()
    for i in range(10):
        picture.add_frame(i, RGB, 1.0)
    picture.add_analysis(0, before)
    picture.add_analysis(8, after)
    named = [b for b, n in picture.boxes_for(4) if n == "Alex Marsh"]
    assert len(named) == 1 and abs(centre(named[0])[0] - 420) <= 1


def test_a_seek_back_forgets_the_boxes_of_the_frames_before():
    picture = DelayedPicture()
    for i in range(10):
        picture.add_frame(i, RGB, 1.0)
    picture.add_analysis(5, [(box_at(100, 100), "Alex Marsh")])
    picture.add_frame(2, RGB, 1.0)  # the trainer seeked back: frame 2 again, another street
    assert picture.boxes_for(5) == []


def test_the_tile_paints_no_box_on_a_frame_the_analysis_did_not_see(qtbot):
    tile = CameraTile("north", "north.mp4")
    qtbot.addWidget(tile)
    video = tile.video
    for i in range(3):
        video.show_frame(np.zeros((360, 640, 3), np.uint8), 0.5, i)
    assert video.current is not None and video.current.index == 2
    video.show_faces(FacesInView([(box_at(200, 200), "Alex Marsh")], 1))
    video.show_frame(np.zeros((360, 640, 3), np.uint8), 0.5, 3)
    # Frame 3 is held back (frame 1's analysis came two frames late); frame 2, newer
    # than the analysis, was shown without a box.
    assert video.current.index == 2 and video.current.boxes == []


# -- the sample street, end to end --------------------------------------------------------


def _sample_truth():
    """The faces' true tracks on the north camera, as make_samples.py rendered them."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    rng = np.random.default_rng(20261127)  # the seed main() uses; north is planned first
    return module, module.plan("north", rng)


def _true_faces(module, appearances, t: float):
    faces = []
    for a in appearances:
        pos = a.at(t)
        if pos is not None:
            faces.append((pos, module.PEOPLE[a.key]))
    return faces


class TileListener:
    """The feed's listener: a real tile, and a note of every frame it put on screen."""

    def __init__(self, tile: CameraTile) -> None:
        self.tile = tile
        self.on_screen = []
        self.last_index = -1

    def feed_frame(self, camera, preview_rgb, scale, index) -> None:
        self.tile.video.show_frame(preview_rgb, scale, index)
        self.last_index = index
        current = self.tile.video.current
        if current is not None and (
            not self.on_screen or self.on_screen[-1].index != current.index
        ):
            self.on_screen.append(current)

    def feed_faces(self, camera, faces) -> None:
        self.tile.video.show_faces(faces)

    def feed_status(self, status) -> None:
        self.tile.show_status(status)


@pytest.mark.skipif(not (SAMPLES / "north.mp4").is_file(), reason="sample video missing")
def test_on_the_sample_street_every_box_is_on_the_true_face_and_every_name_on_its_owner(
    qtbot, qloop, process_pool, sample_watchlist
):
    module, appearances = _sample_truth()
    fps = module.FPS
    tile = CameraTile("north", "north.mp4")
    qtbot.addWidget(tile)
    listener = TileListener(tile)
    watchlist = sample_watchlist
    matcher = Matcher(watchlist, threshold_for(FalseAlertRate(1000), len(watchlist)))
    spec = SourceSpec("north", str(SAMPLES / "north.mp4"))
    pipeline = CameraPipeline("north", matcher, lambda camera: f"{camera}-1")
    feed = CameraFeed(spec, pipeline, process_pool, listener, lambda event: None)

    async def play_first_passers_by() -> None:
        task = asyncio.ensure_future(feed.run())
        # Passer-by 1, then Alex Marsh (watchlisted), cross in the first 12 s.
        while listener.last_index < 12 * fps and not task.done():
            await asyncio.sleep(0.1)
        await feed.stop()
        await asyncio.gather(task, return_exceptions=True)

    run_on_loop(qtbot, play_first_passers_by(), timeout_ms=120_000)

    overlays = [s for s in listener.on_screen if s.boxes]
    assert len(listener.on_screen) > 100
    # How many frames get boxes depends on how fast the machine analyses (a saturated
    # one thins the boxes out rather than misplacing them): a few at least, and every
    # one of them is checked.
    assert len(overlays) >= 3, f"only {len(overlays)} frames had boxes"
    named = 0
    for shown in overlays:
        truth = _true_faces(module, appearances, shown.index / fps)
        for bbox, name in shown.boxes:
            x, y = centre(bbox)
            near = [(math.hypot(x - tx, y - ty), tw, person) for (tx, ty, tw), person in truth]
            assert near, f"frame {shown.index}: a box where nobody is"
            distance, width, person = min(near, key=lambda n: n[0])
            assert distance <= width / 4, (
                f"frame {shown.index}: box {distance:.0f} px from {person.name}'s face "
                f"(width {width:.0f})"
            )
            if name is not None:
                named += 1
                assert person.watchlisted and name == person.name, (
                    f"frame {shown.index}: '{name}' drawn on {person.name}"
                )
    assert named >= 1, "Alex Marsh was named on his face"


def test_the_scene_frame_marks_the_matched_face_where_it_is():
    from console.qt.images import mark_face

    scene = np.zeros((540, 960, 3), np.uint8)  # a 1280x720 frame downscaled to 960
    bbox = box_at(640, 360, 160)  # full-frame pixels: 560..720 across
    marked = mark_face(scene, bbox, "Alex Marsh", frame_width=1280)
    red = np.argwhere((marked[:, :, 0] > 200) & (marked[:, :, 1] < 120))
    ys, xs = red[:, 0], red[:, 1]
    # The box lands at 0.75 scale: 420..540 across, around the face, not elsewhere.
    assert abs(xs.min() - 420) <= 3 and abs(xs.max() - 540) <= 3 + 200  # label may run on
    assert abs(ys.min() - 210) <= 3
    assert not scene.any(), "the alert's own scene is left untouched"
    # Width unknown and the scene was downscaled: no box rather than a misplaced one.
    assert not mark_face(scene, bbox, "Alex Marsh", frame_width=None).any()
