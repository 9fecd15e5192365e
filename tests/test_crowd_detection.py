"""Where the crowd engine looks for faces: motion, followed faces, sweeps; and the
tracker's doubts that make it re-check a face. No dlib: regions are plain geometry."""

from __future__ import annotations

import numpy as np

from console.vision.analysis import Region, _iou
from console.vision.motion import DetectionPlanner, DetectionSettings, MotionDetector
from console.vision.tracking import FaceTracker


def street(width: int = 1280, height: int = 720, box: tuple[int, int, int, int] | None = None):
    rng = np.random.default_rng(1)
    frame = np.full((height, width, 3), 90, np.uint8)
    frame += rng.integers(0, 3, frame.shape, dtype=np.uint8)  # sensor noise
    if box is not None:
        x0, y0, x1, y1 = box
        frame[y0:y1, x0:x1] = 220
    return frame


def covers(region: Region, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return region.x0 <= x0 and region.y0 <= y0 and region.x1 >= x1 and region.y1 >= y1


def test_motion_is_found_where_something_moved_and_only_there():
    motion = MotionDetector()
    assert motion.regions(street()) is None, "nothing to compare the first frame with"
    assert motion.regions(street()) == [], "noise alone is not motion"
    moved = motion.regions(street(box=(600, 300, 700, 420)))
    assert len(moved) == 1
    x0, y0, x1, y1 = moved[0]
    assert x0 <= 600 and y0 <= 300 and x1 >= 700 and y1 >= 420
    assert (x1 - x0) * (y1 - y0) < 0.1 * 1280 * 720


def test_a_full_sweep_first_then_only_followed_faces_and_unexplained_motion():
    planner = DetectionPlanner(DetectionSettings(sweep_interval_s=1.0))
    first = planner.plan(street(), 0.0, [])
    assert first == [Region(0, 0, 1280, 720, 1.0)]
    followed = (300, 460, 460, 300)  # top, right, bottom, left: a 160 px face
    regions = planner.plan(street(box=(1000, 100, 1100, 180)), 0.33, [followed])
    assert len(regions) == 2
    around, fresh = sorted(regions, key=lambda r: r.x0)
    assert covers(around, (300, 300, 460, 460)), "the followed face's predicted place"
    assert around.scale < 1.0, "a big face is looked for shrunk: cheaper"
    assert fresh.scale == 1.0 and covers(fresh, (1000, 100, 1100, 180)), "new motion, full scale"
    again = planner.plan(street(box=(1000, 100, 1100, 180)), 1.2, [followed])
    assert again == [Region(0, 0, 1280, 720, 1.0)], "the sweep comes round again"


def test_motion_a_followed_face_explains_is_not_looked_at_twice():
    planner = DetectionPlanner()
    planner.plan(street(), 0.0, [])
    regions = planner.plan(street(box=(320, 320, 440, 440)), 0.33, [(300, 460, 460, 300)])
    assert len(regions) == 1


def test_1080p_is_swept_at_the_720p_cost():
    planner = DetectionPlanner()
    (sweep,) = planner.plan(street(1920, 1080), 0.0, [])
    assert abs(sweep.scale - 1280 / 1920) < 1e-9
    assert abs(sweep.cost - 1280 * 720) < 1280 * 720 * 0.01


def test_when_the_crowd_fills_the_frame_a_sweep_replaces_the_regions():
    planner = DetectionPlanner()
    planner.plan(street(), 0.0, [])
    faces = [(y, x + 90, y + 90, x) for x in range(0, 1200, 100) for y in range(0, 640, 100)]
    regions = planner.plan(street(), 0.33, faces)
    assert regions == [Region(0, 0, 1280, 720, 1.0)]


def test_overlapping_finds_of_one_face_count_once():
    assert _iou((0, 100, 100, 0), (5, 105, 105, 5)) > 0.8
    assert _iou((0, 100, 100, 0), (0, 300, 100, 200)) == 0.0


def test_the_tracker_predicts_where_a_walker_will_be():
    tracker = FaceTracker()
    tracker.assign(0.0, [(100, 200, 200, 100)])
    tracker.assign(0.5, [(100, 250, 200, 150)])  # 100 px a second to the right
    ((_, predicted),) = tracker.predicted(1.0)
    assert predicted == (100, 300, 200, 200)


def test_the_tracker_doubts_a_jump_a_sudden_size_change_and_two_faces_crossing():
    tracker = FaceTracker()
    (a,) = tracker.assign(0.0, [(100, 200, 200, 100)])
    tracker.assign(0.33, [(100, 230, 200, 130)])
    assert tracker.uncertain == set(), "a steady walk is not in doubt"
    tracker.assign(0.66, [(100, 450, 200, 350)])  # 1.9 face widths off: beyond the slack
    assert a in tracker.uncertain
    tracker = FaceTracker()
    (b,) = tracker.assign(0.0, [(100, 200, 200, 100)])
    tracker.assign(0.33, [(75, 225, 225, 75)])  # half as wide again at once: someone else
    assert b in tracker.uncertain
    tracker = FaceTracker()
    ids = tracker.assign(0.0, [(100, 200, 200, 100), (100, 330, 200, 230)])
    tracker.assign(0.33, [(100, 265, 200, 165), (100, 275, 200, 175)])  # met in the middle
    assert tracker.uncertain & set(ids)


def looks(*weights: float) -> np.ndarray:
    """An appearance made of orthogonal parts: looks(1) and looks(0, 1) are unalike;
    looks(0.8, 0.6) is 0.8 alike to looks(1)."""
    v = np.zeros(512, np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


def test_a_face_keeps_its_own_track_when_a_stranger_is_nearer_its_predicted_place():
    tracker = FaceTracker()
    (a,) = tracker.assign(0.0, [(100, 200, 200, 100)], [looks(1)])
    # The stranger stands right where A was; A has walked on 60 px.
    ids = tracker.assign(
        0.33, [(100, 210, 200, 110), (100, 260, 200, 160)], [looks(0, 1), looks(1)]
    )
    assert ids[1] == a, "A keeps its track: it looks like A"
    assert ids[0] != a, "the stranger is somebody new"
    assert tracker.uncertain == set()
    # Without appearances the nearest face takes the track: the reason they are used.
    blind = FaceTracker()
    (b,) = blind.assign(0.0, [(100, 200, 200, 100)])
    assert blind.assign(0.33, [(100, 210, 200, 110), (100, 260, 200, 160)])[0] == b


def test_a_face_that_looks_nothing_like_the_track_starts_a_track_of_its_own():
    tracker = FaceTracker()
    (a,) = tracker.assign(0.0, [(100, 200, 200, 100)], [looks(1)])
    (other,) = tracker.assign(0.33, [(100, 205, 200, 105)], [looks(0, 1)])
    assert other != a


def test_the_tracker_doubts_a_face_that_looks_different_or_turns_up_far_from_its_track():
    tracker = FaceTracker()
    (a,) = tracker.assign(0.0, [(100, 200, 200, 100)], [looks(1)])
    tracker.assign(0.33, [(100, 230, 200, 130)], [looks(0.8, 0.6)])  # 0.8 alike, in place
    assert tracker.uncertain == {a}, "somewhat alike is not alike enough"
    tracker = FaceTracker()
    (b,) = tracker.assign(0.0, [(100, 200, 200, 100)], [looks(1)])
    # Alike at a glance, but 1.9 face widths from where the track was going: somebody
    # may have walked in where B walked out.
    tracker.assign(0.66, [(100, 450, 200, 350)], [looks(1)])
    assert b in tracker.uncertain


def test_two_faces_crossing_are_not_in_doubt_when_each_looks_like_itself():
    tracker = FaceTracker()
    ids = tracker.assign(0.0, [(100, 200, 200, 100), (100, 330, 200, 230)], [looks(1), looks(0, 1)])
    after = tracker.assign(
        0.33, [(100, 265, 200, 165), (100, 275, 200, 175)], [looks(0, 1), looks(1)]
    )
    assert after == [ids[1], ids[0]], "each face keeps the track that looks like it"
    assert tracker.uncertain == set()
