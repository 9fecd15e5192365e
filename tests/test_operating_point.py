"""The operating point: a false-alert rate and the watchlist's size give the threshold."""

from __future__ import annotations

import json

import pytest

from console.vision.operating_point import (
    CALIBRATION_FILE,
    MAX_THRESHOLD,
    Calibration,
    FalseAlertRate,
    OperatingPointError,
    nearest_rate,
    operating_point,
    rate_at,
    shipped_calibration,
    threshold_for,
)


def test_one_rate_gives_stricter_thresholds_for_bigger_watchlists():
    rate = FalseAlertRate(1000)
    t1, t20, t1000 = (threshold_for(rate, n) for n in (1, 20, 1000))
    assert t1 > t20 > t1000
    # and a stricter rate gives a stricter threshold for one watchlist
    assert threshold_for(FalseAlertRate(10_000), 20) < t20


def test_the_threshold_holds_the_rate_it_was_derived_for():
    for one_in in (100, 1000, 10_000):
        for n in (1, 20, 1000):
            t = threshold_for(FalseAlertRate(one_in), n)
            if t == MAX_THRESHOLD:  # beyond what the calibration backs: capped, stricter
                assert rate_at(t, n) < 1 / one_in
                continue
            assert rate_at(t, n) == pytest.approx(1 / one_in, rel=0.05)
            assert nearest_rate(t, n).one_in == pytest.approx(one_in, rel=0.05)


def test_the_shipped_calibration_is_derived_figures_only():
    cal = shipped_calibration()
    data = json.loads(CALIBRATION_FILE.read_text())
    # quantiles and shares, no encodings, images or names
    assert set(data) >= {"impostor", "genuine", "source", "method"}
    assert all(len(row) == 2 for row in data["impostor"]["quantiles"])
    assert "dev/" not in json.dumps(data)
    # sane shape: impostors are far apart at the median, same people close
    assert 0.7 < cal.impostor_distance(0.5) < 1.0
    assert cal.genuine_share_within(0.6) > 0.8


def test_a_non_monotonic_calibration_is_refused(tmp_path):
    bad = {
        "source": "x",
        "impostor": {"quantiles": [[1e-6, 0.5], [1e-3, 0.4]], "measured_down_to": 1e-4},
        "genuine": {"cdf": [[0.3, 0.1], [0.4, 0.5]]},
    }
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="monotonic"):
        Calibration.load(path)


@pytest.mark.parametrize(
    ("text", "one_in"),
    [("1 in 10,000", 10_000), ("1 in 1000", 1000), (5000, 5000), ("2000", 2000)],
)
def test_rates_are_read_as_people_write_them(text, one_in):
    assert FalseAlertRate.parse(text).one_in == one_in


@pytest.mark.parametrize("text", ["0.001", "1 in 0", "one in ten", True, 3.5, "1 in -5", 10])
def test_nonsense_rates_are_refused_with_a_reason(text):
    with pytest.raises(OperatingPointError):
        FalseAlertRate.parse(text)


def test_the_description_says_what_the_rate_means_in_words():
    point = operating_point(FalseAlertRate(1000), 20)
    text = point.describe(passers_by_per_hour=600)
    assert "1 in 1,000 passers-by against 20 subjects" in text
    assert "false alerts per 1,000 passers-by" in text
    assert "an hour at 600 passers-by an hour" in text
    assert point.false_alerts_per_hour(600) == pytest.approx(0.6, rel=0.05)
    assert 0 < point.expected_share_found < 1
    assert "walking past (colour photos" in text  # issue 24: the colour people's share
