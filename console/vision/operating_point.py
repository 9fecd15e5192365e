"""The operating point: a false-alert rate the supervisor chooses, turned into a distance.

A fixed distance threshold means different things for different watchlists: a passer-by
who is on no watchlist is compared with every subject, so the chance that they falsely
match *someone* grows with the watchlist's size N. What a supervisor can reason about is
the rate: "at most one false alert in 10,000 passers-by". With F(d), the share of pairs
of *different* people whose encodings are closer than d (the impostor distribution, from
the shipped calibration), a passer-by false-matches at least one of N subjects with
probability ``1 - (1 - F(d)) ** N``. The threshold is the d at which that equals the
chosen rate; for one rate, a larger watchlist gets a stricter threshold.

The calibration (``resources/calibration.json``) holds derived figures only: quantiles
of the impostor distances and the cumulative share of same-person pairs, measured on
the calibration half of the internal development face set by
``bench/build_calibration.py`` (docs/accuracy.md). Below the rates
the face set can measure, the impostor tail is extrapolated from a normal fit to its
lower tail; that is stated on every description this module writes. A walk past the
camera is judged on many frames, which gives a lookalike more chances than one photo
does: the calibration's ``sighting_shift`` (measured on the calibration half's people
walking a rendered street) is taken off the photo-pair distance, so the rate holds per
person walking past, not per photo.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from console.domain.policy import (
    LOOSEST_ALLOWED_ONE_IN,
    STRICTEST_ONE_IN,
    FalseAlertRate,
    OperatingPointError,
)

__all__ = ["FalseAlertRate", "OperatingPointError", "Calibration", "OperatingPoint"]

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "resources" / "calibration.json"

# The default: one false alert in 1,000 passers-by (about one an hour on a high street
# where 1,000 faces an hour pass one camera). A site policy may forbid looser points.
DEFAULT_ONE_IN = 1_000
# Thresholds outside this band are not backed by the calibration at all.
MIN_THRESHOLD, MAX_THRESHOLD = 0.25, 0.60


@dataclass(frozen=True)
class Calibration:
    """The impostor and genuine distance distributions of the console's encoder."""

    log_q: np.ndarray  # ascending log10 of the impostor share F(d) ...
    impostor_d: np.ndarray  # ... and the distance d at which F reaches it (ascending)
    genuine_d: np.ndarray  # ascending distances ...
    genuine_share: np.ndarray  # ... and the share of same-person pairs within each
    measured_down_to: float  # smallest F the data measured; below it is extrapolated
    source: str  # one line: what it was measured on
    # How much closer a walk's evidence comes to another person than one photo does (a
    # walk has many frames): subtracted from the photo-pair distance. 0 without walks.
    sighting_shift: float = 0.0

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        q, d = np.array(data["impostor"]["quantiles"], dtype=np.float64).T
        sightings = data.get("sightings") or {}
        # The share found: of walks past the camera when measured, else of photo pairs.
        genuine = (sightings.get("genuine") or data["genuine"])["cdf"]
        gd, gs = np.array(genuine, dtype=np.float64).T
        if not (np.all(np.diff(d) >= 0) and np.all(np.diff(q) > 0) and np.all(np.diff(gd) > 0)):
            raise ValueError(f"calibration {path} is not monotonic")
        shift = float(sightings.get("shift", 0.0))
        if not 0.0 <= shift < 0.2:
            raise ValueError(f"calibration {path}: a sighting shift of {shift} is not credible")
        return cls(
            np.log10(q),
            d,
            gd,
            gs,
            float(data["impostor"]["measured_down_to"]),
            data["source"],
            shift,
        )

    def impostor_share(self, distance: float) -> float:
        """F(d): the share of different-person pairs closer than *distance*."""
        if distance <= self.impostor_d[0]:
            return float(10 ** self.log_q[0])
        return float(10 ** np.interp(distance, self.impostor_d, self.log_q))

    def impostor_distance(self, share: float) -> float:
        """The distance at which F reaches *share* (the inverse of impostor_share)."""
        return float(np.interp(math.log10(share), self.log_q, self.impostor_d))

    def genuine_share_within(self, distance: float) -> float:
        """The share of same-person photo pairs closer than *distance* (one frame each)."""
        return float(np.interp(distance, self.genuine_d, self.genuine_share))


@cache
def shipped_calibration() -> Calibration:
    return Calibration.load()


def per_comparison_share(rate: FalseAlertRate, watchlist_size: int) -> float:
    """The F(d) at which a passer-by's chance of matching any of N subjects is *rate*."""
    n = max(1, int(watchlist_size))
    return -math.expm1(math.log1p(-rate.per_passer_by) / n)


def threshold_for(
    rate: FalseAlertRate, watchlist_size: int, calibration: Calibration | None = None
) -> float:
    """The match distance that holds *rate* against a watchlist of *watchlist_size*."""
    cal = calibration or shipped_calibration()
    d = cal.impostor_distance(per_comparison_share(rate, watchlist_size)) - cal.sighting_shift
    return round(min(MAX_THRESHOLD, max(MIN_THRESHOLD, d)), 4)


def rate_at(threshold: float, watchlist_size: int, calibration: Calibration | None = None) -> float:
    """Expected false alerts per passer-by at *threshold* against N subjects."""
    cal = calibration or shipped_calibration()
    share = cal.impostor_share(threshold + cal.sighting_shift)
    return -math.expm1(max(1, watchlist_size) * math.log1p(-share))


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen rate against a given watchlist: its threshold and what it means."""

    rate: FalseAlertRate
    watchlist_size: int
    threshold: float
    expected_false_per_1000: float
    # Of watchlisted people walking past: the calibration half's colour walkers (a
    # force's custody images are colour photos), scored as the console ships.
    expected_share_found: float
    extrapolated: bool  # the rate is beyond what the calibration data measured

    def false_alerts_per_hour(self, passers_by_per_hour: float) -> float:
        return self.expected_false_per_1000 * passers_by_per_hour / 1000.0

    def describe(self, passers_by_per_hour: float | None = None) -> str:
        """The operating point in an officer's words."""
        parts = [
            f"{self.rate} passers-by against {self.watchlist_size:,} subjects: "
            f"match distance {self.threshold:.3f}",
            f"about {_fmt(self.expected_false_per_1000)} false alerts per 1,000 passers-by",
        ]
        if passers_by_per_hour is not None:
            parts.append(
                f"{_fmt(self.false_alerts_per_hour(passers_by_per_hour))} an hour at "
                f"{passers_by_per_hour:,.0f} passers-by an hour"
            )
        parts.append(
            f"expected to find about {self.expected_share_found:.0%} of watchlisted people "
            "walking past"
        )
        notes = ["colour photos"]
        if self.extrapolated:
            notes.append("rate extrapolated beyond the calibration data")
        return "; ".join(parts) + f" ({'; '.join(notes)})"


def operating_point(
    rate: FalseAlertRate, watchlist_size: int, calibration: Calibration | None = None
) -> OperatingPoint:
    cal = calibration or shipped_calibration()
    threshold = threshold_for(rate, watchlist_size, cal)
    return OperatingPoint(
        rate=rate,
        watchlist_size=max(1, watchlist_size),
        threshold=threshold,
        expected_false_per_1000=1000.0 * rate_at(threshold, watchlist_size, cal),
        expected_share_found=cal.genuine_share_within(threshold),
        extrapolated=per_comparison_share(rate, watchlist_size) < cal.measured_down_to,
    )


def nearest_rate(threshold: float, watchlist_size: int) -> FalseAlertRate:
    """The rate a stored threshold stands for (after a restart, the window shows it)."""
    per_passer = rate_at(threshold, watchlist_size)
    exact = 1.0 / per_passer if per_passer > 0 else STRICTEST_ONE_IN
    # Two significant figures: the threshold is stored rounded, and "1 in 100,002" would
    # claim a precision the calibration does not have.
    digits = max(0, int(math.floor(math.log10(exact))) - 1)
    one_in = int(round(exact / 10**digits) * 10**digits)
    return FalseAlertRate(min(STRICTEST_ONE_IN, max(LOOSEST_ALLOWED_ONE_IN, one_in)))


def _fmt(x: float) -> str:
    if x >= 10:
        return f"{x:,.0f}"
    if x >= 0.1:
        return f"{x:.1f}"
    return f"{x:.2g}"
