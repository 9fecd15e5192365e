"""The statistics of a per-group evaluation: intervals, tests, multiplicity, sample sizes.

The unit is the **person**, not the photo: a person's photos (and a passer-by's walks
against several watchlists) are not independent, so every interval and test resamples
or permutes people.

- **Interval** of a group's rate: a percentile bootstrap over the group's people
  (``BOOTSTRAP`` resamples of its people with replacement, the rate recomputed over
  their searches). When no search of the group erred (or every one did) the bootstrap
  has nothing to resample, and the open end is the Wilson bound with one search per
  person: 0 errors among 10 people gives 0.00 (0.00-0.28), not a false 0.00-0.00.
- **Difference** between the groups of one attribute: a permutation test of the range
  (worst rate minus best) with the group labels shuffled across people (``PERMUTATIONS``
  shuffles); the range is the statistic because the worst and best groups are chosen
  after the fact. A per-photo attribute (lighting) is shuffled among each person's own
  photos, so a person is compared with themselves.
- **Multiplicity**: Holm's step-down over every difference in the report (the family),
  holding the chance of any spurious "significant" to ``ALPHA``.
- **Too small to tell**: a difference that is not significant is called "no significant
  difference" (False) only if the two groups compared each had the people to detect a
  twofold difference with ``POWER`` at the ``ALPHA`` level (the usual sample-size
  question); else it is None and the report says how many people per group that would
  take (two proportions, inflated by the design effect 1 + (m - 1) ICC of m searches per
  person), and never fewer than the permutation test needs to be able to reach
  significance under the report's multiplicity control at all (with n people a group,
  no shuffle can give a p below 1 / C(2n, n): two groups of three can never differ
  "significantly" among 60 comparisons, so they can never be called alike either).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
POWER = 0.80
BOOTSTRAP = 2000
PERMUTATIONS = 9999
SEED = 2027


def seed_for(*parts: object) -> int:
    """A seed from names (a group, a metric...): each figure's resampling is its own,
    whatever else the report holds or in what order it is computed."""
    text = "|".join(str(p) for p in (SEED, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class Rate:
    people: int
    searches: int
    errors: int
    rate: float | None
    low: float | None
    high: float | None


def wilson(errors: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for *errors* of *n*."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = errors / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def group_rate(errors: np.ndarray, trials: np.ndarray, seed: int,
               resamples: int = BOOTSTRAP) -> Rate:
    """A group's rate over its people (arrays: one entry per person with searches) and
    its 95% bootstrap interval over people."""
    errors = np.asarray(errors, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    keep = trials > 0
    errors, trials = errors[keep], trials[keep]
    n = len(trials)
    if n == 0:
        return Rate(0, 0, 0, None, None, None)
    total_e, total_n = float(errors.sum()), float(trials.sum())
    rate = total_e / total_n
    if total_e == 0 or total_e == total_n:
        low, high = wilson(0 if total_e == 0 else n, n)
        low, high = (0.0, high) if total_e == 0 else (low, 1.0)
        return Rate(n, int(total_n), int(total_e), rate, low, high)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    sampled = errors[picks].sum(axis=1) / trials[picks].sum(axis=1)
    low, high = np.percentile(sampled, [2.5, 97.5])
    return Rate(n, int(total_n), int(total_e), rate, float(low), float(high))


def range_statistic(errors: np.ndarray, trials: np.ndarray, labels: np.ndarray,
                    groups: int) -> np.ndarray:
    """Worst minus best group rate; *labels* is (units,) or (permutations, units)."""
    labels = np.atleast_2d(labels)
    onehot = labels[:, :, None] == np.arange(groups)[None, None, :]
    e = np.einsum("pug,u->pg", onehot, errors)
    n = np.einsum("pug,u->pg", onehot, trials)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(n > 0, e / np.where(n > 0, n, 1), np.nan)
    return np.nanmax(rates, axis=1) - np.nanmin(rates, axis=1)


def permutation_p(
    errors: np.ndarray,
    trials: np.ndarray,
    labels: np.ndarray,
    seed: int,
    within: np.ndarray | None = None,
    permutations: int = PERMUTATIONS,
) -> float:
    """The p-value of the groups' range against label shuffles.

    Units are people (labels shuffled across them) or, with *within* (each unit's
    person), photos whose labels are shuffled only among one person's photos.
    """
    labels = np.asarray(labels)
    groups = int(labels.max()) + 1
    observed = float(range_statistic(errors, trials, labels, groups)[0])
    rng = np.random.default_rng(seed)
    count, done, chunk = 0, 0, 1000
    while done < permutations:
        k = min(chunk, permutations - done)
        if within is None:
            shuffled = rng.permuted(np.tile(labels, (k, 1)), axis=1)
        else:
            order = np.argsort(within, kind="stable")
            keyed = np.argsort(within[order][None, :] + rng.random((k, len(labels))), axis=1)
            shuffled = np.empty((k, len(labels)), dtype=labels.dtype)
            shuffled[:, order] = labels[order][keyed]
        stats = range_statistic(errors, trials, shuffled, groups)
        count += int(np.sum(stats >= observed - 1e-12))
        done += k
    return (1 + count) / (1 + permutations)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def icc(errors: np.ndarray, trials: np.ndarray) -> float:
    """The intra-class correlation of errors within people (one-way ANOVA estimator for
    binary outcomes), clipped to [0, 1]; 1 (each person counts once) when undefined."""
    keep = trials > 0
    e, n = errors[keep].astype(np.float64), trials[keep].astype(np.float64)
    k, total = len(n), float(n.sum())
    if k < 2 or total <= k:
        return 1.0
    p = e.sum() / total
    msb = float(np.sum(n * (e / n - p) ** 2)) / (k - 1)
    msw = float(np.sum(e - e * e / n)) / (total - k)
    m0 = (total - float(np.sum(n * n)) / total) / (k - 1)
    denominator = msb + (m0 - 1) * msw
    if denominator <= 0:
        return 1.0
    return float(min(1.0, max(0.0, (msb - msw) / denominator)))


def people_needed(base_rate: float, searches_per_person: float, correlation: float,
                  alpha: float, power: float = POWER) -> int | None:
    """People per group to detect a twofold difference (base against twice the base, at
    most 1) with *power* at two-sided level *alpha*; None when no such difference can be
    (a base of 0, or so close to 1 that twice it is no different)."""
    p1 = base_rate
    p2 = min(1.0, 2 * base_rate)
    if p1 <= 0 or p2 - p1 < 0.02 * p1:  # none, or so near 1 that twice is no different
        return None
    normal = NormalDist()
    za, zb = normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)
    mean = (p1 + p2) / 2
    n = (za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    searches = (n / (p2 - p1)) ** 2
    m = max(1.0, searches_per_person)
    design = 1 + (m - 1) * correlation
    return max(2, math.ceil(searches * design / m))


def permutation_floor(alpha: float, family: int) -> int:
    """The fewest people per group (two equal groups) for which the permutation test can
    give a p-value below Holm's strictest level *alpha* / *family*."""
    level = alpha / max(1, family)
    n = 1
    while 1 / math.comb(2 * n, n) >= level:
        n += 1
    return n
