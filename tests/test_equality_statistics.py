"""The statistics and the evidence-rule adapter of the per-group evaluation, on numbers
whose answers are known (no faces needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from console.equality import statistics as stats
from console.equality.adapter import FrameMatch, ShippedMatcher


def test_holm_adjusts_step_down_and_keeps_order():
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_a_group_with_no_errors_gets_an_upper_bound_not_zero_to_zero():
    rate = stats.group_rate(np.zeros(10), np.full(10, 4.0), seed=1)
    assert rate.rate == 0 and rate.low == 0
    assert rate.high == pytest.approx(stats.wilson(0, 10)[1]) and rate.high > 0.2
    assert (rate.people, rate.searches, rate.errors) == (10, 40, 0)


def test_bootstrap_interval_is_over_people_not_photos():
    # Ten people of 10 searches each: five always err, five never. Photo by photo the
    # rate 0.5 would look precise (500 searches); person by person it is not.
    errors = np.array([10.0] * 5 + [0.0] * 5) * 10
    trials = np.full(10, 100.0)
    rate = stats.group_rate(errors, trials, seed=3)
    assert rate.rate == 0.5
    assert rate.high - rate.low > 0.4  # about what 10 people can say, not 1,000 photos


def test_permutation_finds_separated_groups_and_not_shuffled_ones():
    rng = np.random.default_rng(0)
    trials = np.full(24, 4.0)
    labels = np.repeat([0, 1, 2], 8)
    separated = np.where(labels == 2, 4.0, 0.0)  # group 2 always misses, others never
    assert stats.permutation_p(separated, trials, labels, seed=5, permutations=1999) < 0.002
    alike = rng.binomial(4, 0.3, 24).astype(float)
    assert stats.permutation_p(alike, trials, labels, seed=5, permutations=1999) > 0.01


def test_people_needed_grows_as_the_rate_falls_and_is_none_without_errors():
    few = stats.people_needed(0.4, 4, 0.3, 0.05)
    many = stats.people_needed(0.05, 4, 0.3, 0.05)
    assert few is not None and many is not None and many > few
    assert stats.people_needed(0.0, 4, 0.3, 0.05) is None
    assert stats.people_needed(0.99, 4, 0.3, 0.05) is None  # twice 0.99 is no different
    # More correlated searches per person: more people.
    assert stats.people_needed(0.2, 4, 0.9, 0.05) > stats.people_needed(0.2, 4, 0.0, 0.05)


def test_icc_is_one_when_each_person_always_agrees_with_themselves():
    assert stats.icc(np.array([4.0, 0, 4, 0]), np.full(4, 4.0)) == pytest.approx(1.0)
    assert stats.icc(np.array([2.0, 2, 2, 2]), np.full(4, 4.0)) == 0.0


def _walk(*frames):
    return [FrameMatch(s, d, math.inf) for s, d in frames]


@pytest.mark.parametrize("frames", [
    [(0, 0.40), (0, 0.44), (-1, math.inf), (0, 0.50), (1, 0.30)],
    [(0, 0.30), (1, 0.41), (1, 0.42), (0, 0.55)],
    [(-1, math.inf), (2, 0.38), (-1, math.inf), (-1, math.inf), (2, 0.39)],
    [(0, 0.47)],
])
def test_the_alert_distance_is_where_the_shipped_rule_starts_to_alert(frames):
    """One number per walk stands for the shipped SightingTracker at every distance."""
    matcher = ShippedMatcher()
    walk = _walk(*frames)
    for subject in (None, 0, 1, 2):
        critical = matcher.alert_distance(walk, subject)
        for d in np.arange(0.20, 0.70, 0.0025):
            raised = matcher.alerted(walk, float(d))
            alerted = bool(raised) if subject is None else subject in raised
            assert alerted == (critical <= d), (subject, d, critical)


def test_one_strong_frame_alerts_alone_and_two_weak_ones_together():
    matcher = ShippedMatcher()
    assert matcher.alerted(_walk((0, 0.30)), 0.45) == {0}  # inside 0.45 - 0.1
    assert matcher.alerted(_walk((0, 0.40)), 0.45) == set()  # one borderline frame
    assert matcher.alerted(_walk((0, 0.40), (0, 0.44)), 0.45) == {0}


def test_the_permutation_floor_is_where_a_shuffle_test_can_reach_holms_level():
    assert stats.permutation_floor(0.05, 1) == 4  # 1/C(8,4) = 0.014 < 0.05; 1/C(6,3) not
    assert stats.permutation_floor(0.05, 60) == 7  # 1/C(14,7) < 0.05/60 < 1/C(12,6)


def test_people_are_needed_for_a_twofold_difference_of_rare_false_alerts_too():
    rare = stats.people_needed(0.002, 100, 0.05, 0.05)
    assert rare is not None and rare > stats.people_needed(0.02, 100, 0.05, 0.05)
