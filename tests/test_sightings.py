"""One alert per sighting: the tracker's rules."""

from __future__ import annotations

from console.domain.sightings import Match, SightingTracker


def ids():
    n = 0

    def next_id(camera: str) -> str:
        nonlocal n
        n += 1
        return f"{camera}-{n}"

    return next_id


def match(subject="S1", distance=0.4, bbox=(0, 100, 100, 0)):
    return Match(subject, f"name {subject}", "wanted", distance, bbox)


def tracker(**kw):
    return SightingTracker("north", 0.5, ids(), **kw)


def test_one_frame_is_not_enough_evidence():
    t = tracker(min_frames=2)
    assert t.observe(0.0, 0, [match()]) == []
    events = t.observe(0.2, 5, [match()])
    assert len(events) == 1 and events[0].is_new
    assert events[0].alert.frames_seen == 2
    assert events[0].alert.t == 0.2 and events[0].alert.frame == 5


def test_a_continuous_sighting_raises_one_alert_updated_in_place():
    t = tracker(min_frames=2)
    t.observe(0.0, 0, [match(distance=0.45)])
    (raised,) = t.observe(0.2, 5, [match(distance=0.44)])
    assert t.observe(0.4, 10, [match(distance=0.46)]) == []  # worse: nothing to update
    (update,) = t.observe(0.6, 15, [match(distance=0.30, bbox=(1, 2, 3, 4))])
    assert not update.is_new
    assert update.alert is raised.alert
    assert update.alert.distance == 0.30 and update.alert.bbox == (1, 2, 3, 4)
    assert update.alert.frames_seen == 4
    assert update.alert.distances == [0.45, 0.44, 0.46, 0.30]


def test_leaving_and_coming_back_is_a_new_sighting():
    t = tracker(min_frames=1, gap_seconds=3.0)
    (first,) = t.observe(0.0, 0, [match()])
    assert t.observe(2.5, 60, [match()]) == []  # gap under 3 s: same sighting
    (second,) = t.observe(6.0, 150, [match()])  # 3.5 s without a match
    assert second.is_new and second.alert.alert_id != first.alert.alert_id


def test_frames_without_the_subject_do_not_count_as_evidence():
    t = tracker(min_frames=2, gap_seconds=1.0)
    t.observe(0.0, 0, [match()])
    t.observe(0.5, 1, [])
    assert t.observe(2.0, 2, [match()]) == []  # the first frame's sighting had closed


def test_two_subjects_in_one_frame_raise_two_alerts_and_duplicates_collapse():
    t = tracker(min_frames=1)
    events = t.observe(0.0, 0, [match("A", 0.4), match("B", 0.45), match("A", 0.3)])
    assert sorted(e.alert.subject_id for e in events) == ["A", "B"]
    assert next(e for e in events if e.alert.subject_id == "A").alert.distance == 0.3
