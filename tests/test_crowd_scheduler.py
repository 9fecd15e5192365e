"""The crowd engine's choices: which faces are encoded, within which budget, and what the
tile is told when faces wait. Pure Python: no dlib, no clock (time is the frames')."""

from __future__ import annotations

from console.vision.encode_scheduler import (
    EncodeBudget,
    EncodeScheduler,
    OverloadStatus,
    ScheduleSettings,
    TrackState,
)

THRESHOLD = 0.5
BIG, SHARP = 160.0, 300.0  # a face good enough to be confident on
SMALL = 70.0


def scheduler(per_second: float = 1000.0) -> EncodeScheduler:
    return EncodeScheduler(THRESHOLD, EncodeBudget(per_second, clock=None), ScheduleSettings())


def step(s: EncodeScheduler, t: float, faces, distances: dict[int, float], uncertain=()):
    """One analysed frame: choose, then record each chosen face's outcome."""
    chosen = s.choose(t, faces, set(uncertain))
    for i in chosen:
        track, width, sharp = faces[i]
        d = distances[track]
        s.encoded(
            track,
            t,
            min(1.0, (width / 140) ** 2),
            d,
            "X" if d <= THRESHOLD else None,
            switched=track in uncertain,
        )
    return [faces[i][0] for i in chosen]


def test_a_new_face_is_encoded_and_a_confident_non_match_is_then_rechecked_only_rarely():
    s = scheduler()
    face = [(1, BIG, SHARP)]
    encoded_at = [t for t in (k / 3 for k in range(30)) if step(s, t, face, {1: 0.9})]
    assert encoded_at[0] == 0.0  # new: at once
    gaps = [b - a for a, b in zip(encoded_at, encoded_at[1:], strict=False)]
    assert gaps and min(gaps) >= ScheduleSettings().recheck_confident_s - 1e-9
    assert len(encoded_at) <= 3  # 10 s at 3 frames a second: 30 frames, 3 encodings at most


def test_a_matching_face_is_encoded_every_frame_until_its_evidence_is_settled():
    s = scheduler()
    face = [(1, BIG, SHARP)]
    first = [bool(step(s, k / 3, face, {1: 0.3})) for k in range(3)]
    assert first == [True, True, True]  # not settled: every frame
    later = [bool(step(s, 1 + k / 3, face, {1: 0.3})) for k in range(6)]
    assert not all(later), "settled: no longer every frame"
    assert any(later), "but still now and then, so the sighting stays open"


def test_a_face_near_the_threshold_is_encoded_every_frame():
    s = scheduler()
    face = [(1, BIG, SHARP)]
    assert all(step(s, k / 3, face, {1: THRESHOLD + 0.05}) for k in range(8))


def test_a_small_non_match_is_encoded_again_when_it_has_grown_enough():
    s = scheduler()
    step(s, 0.0, [(1, SMALL, SHARP)], {1: 0.9})
    assert not step(s, 0.33, [(1, SMALL + 2, SHARP)], {1: 0.9}), "hardly grown: not worth it"
    assert step(s, 0.66, [(1, SMALL * 1.3, SHARP)], {1: 0.9}), "grown a third: a better encoding"


def test_a_track_that_may_have_switched_person_is_encoded_at_once():
    s = scheduler()
    step(s, 0.0, [(1, BIG, SHARP)], {1: 0.9})
    assert not step(s, 0.33, [(1, BIG, SHARP)], {1: 0.9})
    assert step(s, 0.66, [(1, BIG, SHARP)], {1: 0.9}, uncertain=[1])


def test_a_blurred_face_is_never_encoded():
    s = scheduler()
    assert not step(s, 0.0, [(1, BIG, 5.0)], {1: 0.3})


def test_over_budget_new_faces_are_served_first_and_the_rest_wait_and_are_reported():
    s = scheduler(per_second=3.0)  # 3 tokens to start with, 1 more every third of a second
    s.choose(0.0, [(k, BIG, SHARP) for k in range(1, 4)])  # spend the first tokens
    for k in range(1, 4):
        s.encoded(k, 0.0, 1.0, 0.9, None)
    crowd = [(k, BIG, SHARP) for k in range(1, 11)]  # 7 newcomers join the 3 known
    chosen = s.choose(1 / 3, crowd)
    assert chosen and all(crowd[i][0] >= 4 for i in chosen), "newcomers before re-checks"
    status = s.overload()
    assert status.waiting == 7 - len(chosen)
    assert status.urgent_waiting == status.waiting
    line, detail = status.describe()
    assert "waiting to be checked" in line and "face " in detail
    # Served over the next frames, longest-waiting first; nothing piles up.
    served: list[int] = [crowd[i][0] for i in chosen]
    for n in range(2, 12):
        t = n / 3
        for i in s.choose(t, crowd):
            served.append(crowd[i][0])
            s.encoded(crowd[i][0], t, 1.0, 0.9, None)
        assert s.overload().waiting <= 7
    assert set(range(4, 11)) <= set(served)
    assert s.overload().waited_last_minute >= 1
    assert s.overload().worst_wait_last_minute_s > 0


def test_one_cameras_rechecks_never_take_the_reserve_another_cameras_newcomers_need():
    budget = EncodeBudget(per_second=4.0, clock=None)  # 4 tokens, 2 of them reserved
    a, b = (EncodeScheduler(THRESHOLD, budget) for _ in range(2))
    # Camera A: 10 faces known, not confident (small), all due a re-check.
    known = [(k, SMALL, SHARP) for k in range(1, 11)]
    for k, *_ in known:
        a.tracks[k] = TrackState(
            first_t=0.0, encodings=1, best_quality=0.25, last_encoded_t=-5.0, distance=0.9
        )
    optional = a.choose(0.0, known)
    assert len(optional) == 2, "re-checks take only what is above the reserve"
    newcomers = b.choose(0.0, [(1, BIG, SHARP), (2, BIG, SHARP)])
    assert len(newcomers) == 2, "the reserve is there for the other camera's new faces"


def test_the_budget_refills_on_the_frames_clock_and_never_goes_into_debt():
    budget = EncodeBudget(per_second=2.0, burst_s=1.0, reserve=0.0, clock=None)
    assert budget.grant(5, 0, 0.0) == (2, 0)
    assert budget.grant(5, 0, 0.0) == (0, 0)
    assert budget.grant(5, 0, 0.5) == (1, 0)
    assert budget.grant(5, 0, 100.0) == (2, 0), "capped at its burst"
    assert budget.granted == 5


def test_faces_out_of_view_stop_waiting_and_forgotten_tracks_are_dropped():
    s = scheduler(per_second=1.0)
    s.choose(0.0, [(1, BIG, SHARP), (2, BIG, SHARP)])
    assert s.overload().waiting == 1
    s.choose(0.1, [])
    assert s.overload().waiting == 0
    s.forget_before(0.05)
    assert s.tracks == {}


def test_no_overload_says_nothing():
    assert OverloadStatus().describe() == ("", "")


def test_a_face_that_matched_once_is_checked_again_before_any_new_face():
    """Its next encoding may raise the alert (two matching frames), a new face's only
    starts a sighting: with one encoding to spend, the match is confirmed first."""
    s = scheduler(per_second=1.0)
    assert step(s, 0.0, [(1, BIG, SHARP)], {1: THRESHOLD - 0.05}) == [1]
    crowd = [(2, BIG, SHARP), (1, BIG, SHARP), (3, BIG, SHARP)]
    assert step(s, 1.0, crowd, {1: THRESHOLD - 0.05, 2: 0.9, 3: 0.9}) == [1]
    # A match strong enough to alert on one frame needs no confirming: newcomers first.
    s = scheduler(per_second=1.0)
    step(s, 0.0, [(1, BIG, SHARP)], {1: THRESHOLD - 0.2})
    assert step(s, 1.0, crowd, {1: THRESHOLD - 0.2, 2: 0.9, 3: 0.9}) in ([2], [3])


def test_a_doubt_is_not_forgotten_until_the_face_has_been_checked():
    s = scheduler(per_second=1.0)
    step(s, 0.0, [(1, BIG, SHARP)], {1: 0.9})  # a confident non-match
    # Doubted on a frame with no encoding to spare (a newcomer took it) ...
    assert step(s, 1.0, [(2, BIG * 2, SHARP), (1, BIG, SHARP)], {1: 0.9, 2: 0.9}, [1]) == [2]
    assert s.tracks[1].doubted
    # ... the next frames no longer doubt it (the new face looks like itself), yet it is
    # checked at the first chance, long before a confident non-match's re-check.
    assert step(s, 1.33, [(1, BIG, SHARP)], {1: 0.3}) == []  # no token yet
    assert step(s, 2.0, [(1, BIG, SHARP)], {1: 0.3}) == [1]
    assert not s.tracks[1].doubted
    assert s.tracks[1].matching_frames == 1, "what was known of the track was dropped"


def test_of_two_faces_near_the_threshold_the_nearer_is_checked_first():
    s = scheduler(per_second=2.0)
    faces = [(1, BIG, SHARP), (2, BIG, SHARP)]
    far, nearer = THRESHOLD + 0.1, THRESHOLD + 0.02
    step(s, 0.0, faces, {1: far, 2: nearer})
    assert step(s, 0.5, faces, {1: far, 2: nearer}) == [2], "one encoding: the likelier match"
