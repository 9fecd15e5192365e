from __future__ import annotations

from console.vision.tracking import FaceTracker


def box(x: int, y: int, w: int = 100):
    return (y, x + w, y + w, x)  # top, right, bottom, left


def test_a_walking_face_keeps_its_track_across_analysed_frames():
    tracker = FaceTracker(max_gap_s=1.5)
    ids = [tracker.assign(i * 0.25, [box(100 + i * 75, 300)])[0] for i in range(8)]
    assert len(set(ids)) == 1  # 75 px between analyses, most of the face's width


def test_two_faces_walking_apart_keep_their_own_tracks():
    tracker = FaceTracker()
    first = tracker.assign(0.0, [box(100, 300), box(900, 300)])
    ids = first
    for i in range(1, 6):
        ids = tracker.assign(i * 0.25, [box(900 - i * 60, 300), box(100 + i * 60, 300)])
    assert ids == [first[1], first[0]]


def test_a_face_elsewhere_is_a_new_track_and_old_tracks_expire():
    tracker = FaceTracker(max_gap_s=1.0)
    (a,) = tracker.assign(0.0, [box(100, 300)])
    (b,) = tracker.assign(0.25, [box(1000, 300)])
    assert a != b
    (c,) = tracker.assign(5.0, [box(1000, 300)])
    assert c not in (a, b)


def test_a_walker_stays_on_one_track_when_analysis_slows_to_one_frame_a_second():
    tracker = FaceTracker(max_gap_s=1.5)
    ids = [tracker.assign(float(i), [box(100 + i * 300, 300)])[0] for i in range(4)]
    assert len(set(ids)) == 1
