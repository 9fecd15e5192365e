"""Watchlists, rounds and padding: every search of a per-group evaluation, judged.

For each watchlist size N the console offers, the enrolled people are taken in rounds
(in a seeded order) as *targets*: ``targets_per_round(N)`` of them on the watchlist at a
time, padded to N (``bench/unseen_faces.py``'s design). Every person is a target once
per size. In each round:

- a **mated search** is a target's other photo walking past: it fails (counts towards
  FNIR) unless the evidence rule alerts on that target;
- a **non-mated search** is a walk of anyone not on that round's watchlist: it errs
  (counts towards FPIR) if it raises any alert at all;
- the **padding** brings the watchlist to N: first people of the test set itself (up to
  half of those not targeted; they sit that round out as passers-by, since a person on
  the watchlist is no passer-by), then synthetic encodings drawn from a normal
  distribution fitted to the test set's own templates (its covariance shrunk towards a
  sphere, as 128 dimensions need). Nothing from outside the test set is needed: the
  console does not ship the faces it was calibrated on.

Each search is judged once, as the smallest match distance at which the shipped
evidence rule alerts (``ShippedMatcher.alert_distance``); every operating point and
every point of the curves then follows by comparison with its distance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from console.equality import statistics as stats
from console.equality.adapter import (
    Enrolled,
    ShippedMatcher,
    Walk,
    enrol,
    frame_matches,
    gallery,
    walk,
)
from console.equality.testset import TestSet
from console.vision.matcher import Matcher
from console.vision.operating_point import FalseAlertRate

# The rates the deployment bar offers (console.qt.deployment_bar.RATE_CHOICES; a test
# keeps the two alike) and the watchlist sizes of docs/accuracy.md's table.
OFFERED_RATES = (100, 1_000, 10_000, 100_000, 1_000_000)
WATCHLIST_SIZES = (1, 20, 100, 1_000)
SEED = 27
CURVE = np.round(np.arange(0.25, 0.6501, 0.005), 4)  # match distances the curves are drawn at

Progress = Callable[[int, int], None]


def targets_per_round(size: int) -> int:
    """Half the watchlist are targets, at most 20 (as bench/unseen_faces.py)."""
    return min(20, max(1, size // 2))


@dataclass(frozen=True)
class Observed:
    """What the console's pipeline made of the test set: each person's template (or why
    none) and each probe photo's walk. Encodings stay in memory, never on disk."""

    test_set: TestSet
    enrolled: dict[str, Enrolled]
    walks: dict[str, tuple[Walk, ...]]

    def subset(self, names: set[str]) -> Observed:
        return Observed(
            self.test_set.subset(names),
            {k: v for k, v in self.enrolled.items() if k in names},
            {k: v for k, v in self.walks.items() if k in names},
        )


def observe(test_set: TestSet, pool=None, progress: Progress | None = None) -> Observed:  # noqa: ANN001
    """Enrol every person's first photo and walk every other one past the camera, on
    the analysis pool's workers when one is given."""
    jobs: list[tuple[str, str, object]] = []
    for person in test_set.people:
        jobs.append((person.name, "enrol", person.enrolment))
        jobs += [(person.name, "walk", photo) for photo in person.probes]
    run = (lambda fn, arg: pool.run(fn, arg)) if pool is not None else None
    futures = [
        (name, kind, run(enrol if kind == "enrol" else walk, arg) if run else (kind, arg))
        for name, kind, arg in jobs
    ]
    enrolled: dict[str, Enrolled] = {}
    walks: dict[str, list[Walk]] = {p.name: [] for p in test_set.people}
    for done, (name, kind, job) in enumerate(futures, start=1):
        if run:
            result = job.result()  # type: ignore[attr-defined]
        else:
            k, arg = job  # type: ignore[misc]
            result = enrol(arg) if k == "enrol" else walk(arg)
        if kind == "enrol":
            enrolled[name] = result
        else:
            walks[name].append(result)
        if progress:
            progress(done, len(futures))
    return Observed(test_set, enrolled, {k: tuple(v) for k, v in walks.items()})


@dataclass(frozen=True)
class Search:
    """One walk past one round's watchlist, judged."""

    size: int
    round: int
    person: str
    photo: str
    mated: bool
    alert_distance: float  # smallest distance that alerts (on the target if mated)
    frames: tuple[tuple[str, float], ...] = ()  # (nearest subject, distance), when kept


@dataclass
class SizeRun:
    """Every search at one watchlist size, and how its galleries were padded."""

    size: int
    rounds: int
    targets_per_round: int
    searches: list[Search]
    padding_people: int = 0  # real people used as padding, summed over rounds
    padding_synthetic: int = 0  # synthetic encodings, summed over rounds


def synthetic_encodings(templates: np.ndarray, count: int, rng: np.random.Generator
                        ) -> np.ndarray:
    """Encodings drawn from a normal distribution fitted to *templates*: their mean, and
    their covariance shrunk towards a sphere of the same total variance by p / (p + n)
    (128 dimensions from a few dozen people cannot be estimated alone)."""
    if count <= 0:
        return np.zeros((0, templates.shape[1]))
    n, p = templates.shape
    mean = templates.mean(axis=0)
    cov = np.cov(templates.T) if n > 1 else np.zeros((p, p))
    shrink = p / (p + n)
    target = np.eye(p) * (np.trace(cov) / p)
    return rng.multivariate_normal(mean, (1 - shrink) * cov + shrink * target, count)


def run_size(observed: Observed, size: int, matcher: ShippedMatcher,
             keep_frames: bool = False) -> SizeRun:
    """Every round at watchlist size *size*."""
    people = [p.name for p in observed.test_set.people]
    templates = {n: e.encoding for n, e in observed.enrolled.items() if e.encoding is not None}
    enrolled = [n for n in people if n in templates]
    if len(enrolled) < 2:
        raise ValueError("fewer than two people could be enrolled: nothing to evaluate")
    rng = np.random.default_rng([SEED, size])
    order = [enrolled[i] for i in rng.permutation(len(enrolled))]
    per_round = min(targets_per_round(size), len(enrolled))
    rounds = [order[i : i + per_round] for i in range(0, len(order), per_round)]
    everyone = np.stack([templates[n] for n in enrolled])
    run = SizeRun(size, len(rounds), per_round, [])
    for number, targets in enumerate(rounds):
        round_rng = np.random.default_rng([SEED, size, number])
        others = [n for n in people if n not in targets]
        candidates = [n for n in others if n in templates]
        candidates = [candidates[i] for i in round_rng.permutation(len(candidates))]
        real = min(max(0, size - len(targets)), len(candidates) // 2)
        padding = candidates[:real]
        synthetic = synthetic_encodings(everyone, size - len(targets) - real, round_rng)
        names = list(targets) + padding + [f"synthetic-{i}" for i in range(len(synthetic))]
        encodings = [templates[n] for n in targets + padding] + list(synthetic)
        shipped = Matcher(gallery(encodings, names), threshold=1.0)
        run.padding_people += real
        run.padding_synthetic += len(synthetic)
        index = {n: i for i, n in enumerate(names)}
        for person in targets:
            for w in observed.walks.get(person, ()):
                run.searches.append(
                    _judge(matcher, shipped, w, size, number, person, index[person], names,
                           keep_frames)
                )
        passers_by = [n for n in others if n not in set(padding)]
        for person in passers_by:
            for w in observed.walks.get(person, ()):
                run.searches.append(
                    _judge(matcher, shipped, w, size, number, person, None, names, keep_frames)
                )
    return run


def _judge(matcher: ShippedMatcher, shipped: Matcher, w: Walk, size: int, number: int,
           person: str, target: int | None, names: list[str], keep: bool) -> Search:
    frames = frame_matches(shipped, w) if w.encodings else []
    distance = matcher.alert_distance(frames, target) if frames else math.inf
    kept = tuple((names[f.subject] if f.subject >= 0 else "", f.distance) for f in frames)
    return Search(size, number, person, w.photo.name, target is not None, distance,
                  kept if keep else ())


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class GroupFigures:
    people: int  # people of the group in the test set
    fnir: stats.Rate
    fpir: stats.Rate


@dataclass(frozen=True)
class Difference:
    metric: str  # "fnir" or "fpir"
    attribute: str
    worst: str  # "attribute=value"
    best: str
    worst_rate: float
    best_rate: float
    ratio: float | None  # worst / best; None when the best group never erred
    p_value: float | None
    p_adjusted: float | None = None
    significant: bool | None = None
    people_needed: int | None = None  # per group, for a twofold difference
    people_compared: int = 0  # the smaller of the two groups
    # For the sample size: the two groups' pooled rate, searches per person, and how
    # alike one person's searches are (statistics.icc).
    base_rate: float = 0.0
    searches_per_person: float = 1.0
    correlation: float = 1.0


@dataclass
class OperatingPointFigures:
    rate: FalseAlertRate
    watchlist_size: int
    threshold: float
    groups: dict[str, GroupFigures]
    differences: list[Difference]
    everyone: GroupFigures


@dataclass
class Evaluation:
    observed: Observed
    fingerprint: dict[str, object]
    runs: dict[int, SizeRun]
    points: list[OperatingPointFigures]
    curves: dict[int, dict[str, dict[str, list[float]]]]  # size -> group -> fnir/fpir
    family: int = 0  # differences tested together (Holm)
    notes: list[str] = field(default_factory=list)


def _labels(observed: Observed, searches: Sequence[Search], attribute: str) -> list[str]:
    """Each search's group for *attribute* (its walker's, or its probe photo's)."""
    ts = observed.test_set
    if attribute in ts.photo_attributes:
        labels = ts.photo_labels
        return [labels.get((s.person, s.photo), {}).get(attribute, "") for s in searches]
    values = {p.name: p.attributes.get(attribute, "") for p in ts.people}
    return [values[s.person] for s in searches]


def evaluate(
    observed: Observed,
    rates: Sequence[int] = OFFERED_RATES,
    sizes: Sequence[int] = WATCHLIST_SIZES,
    matcher: ShippedMatcher | None = None,
    keep_frames: bool = False,
    progress: Progress | None = None,
) -> Evaluation:
    """Every figure of the report from what the pipeline observed."""
    matcher = matcher or ShippedMatcher()
    ts = observed.test_set
    runs: dict[int, SizeRun] = {}
    for done, size in enumerate(sizes, start=1):
        runs[size] = run_size(observed, size, matcher, keep_frames)
        if progress:
            progress(done, len(sizes))
    people_index = {p.name: i for i, p in enumerate(ts.people)}
    group_people = {
        f"{a}={v}": sum(1 for p in ts.people if p.attributes.get(a) == v)
        for a in ts.person_attributes for v in {p.attributes.get(a, "") for p in ts.people} if v
    }
    points: list[OperatingPointFigures] = []
    curves: dict[int, dict[str, dict[str, list[float]]]] = {}
    for size in sizes:
        run = runs[size]
        searches = run.searches
        person = np.array([people_index[s.person] for s in searches], dtype=np.int64)
        mated = np.array([s.mated for s in searches], dtype=bool)
        distance = np.array([s.alert_distance for s in searches], dtype=np.float64)
        walk_key = {k: i for i, k in enumerate(dict.fromkeys((s.person, s.photo)
                                                             for s in searches))}
        walk_index = np.array([walk_key[(s.person, s.photo)] for s in searches])
        labels = {a: np.array(_labels(observed, searches, a), dtype=object)
                  for a in ts.attributes}
        curves[size] = _curves(labels, mated, distance)
        for one_in in rates:
            rate = FalseAlertRate(one_in)
            threshold = matcher.threshold(rate, size)
            errors = np.where(mated, distance > threshold, distance <= threshold)
            groups: dict[str, GroupFigures] = {}
            for a in ts.attributes:
                for value in sorted({v for v in labels[a] if v}):
                    key = f"{a}={value}"
                    chosen = labels[a] == value
                    groups[key] = GroupFigures(
                        group_people.get(key, len(set(person[chosen]))),
                        _rate(person, errors, mated & chosen, ("fnir", key, one_in, size)),
                        _rate(person, errors, ~mated & chosen, ("fpir", key, one_in, size)),
                    )
            everyone = GroupFigures(
                len(ts.people),
                _rate(person, errors, mated, ("fnir", "all", one_in, size)),
                _rate(person, errors, ~mated, ("fpir", "all", one_in, size)),
            )
            differences = [
                d for a in ts.attributes for metric in ("fnir", "fpir")
                if (d := _difference(metric, a, labels[a], person, walk_index, errors, mated,
                                     groups, a in ts.photo_attributes,
                                     (metric, a, one_in, size))) is not None
            ]
            points.append(OperatingPointFigures(rate, size, threshold, groups, differences,
                                                everyone))
    family = _multiplicity(points)
    return Evaluation(observed, matcher.fingerprint(), runs, points, curves, family)


def _per_unit(unit: np.ndarray, errors: np.ndarray, chosen: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The units (people, or walks) with chosen searches: their ids, errors and searches."""
    size = int(unit.max()) + 1 if len(unit) else 0
    e = np.bincount(unit[chosen], weights=errors[chosen].astype(np.float64), minlength=size)
    n = np.bincount(unit[chosen], minlength=size).astype(np.float64)
    ids = np.flatnonzero(n)
    return ids, e[ids], n[ids]


def _rate(person: np.ndarray, errors: np.ndarray, chosen: np.ndarray, key: tuple) -> stats.Rate:
    _, e, n = _per_unit(person, errors, chosen)
    return stats.group_rate(e, n, stats.seed_for(*key))


def _difference(metric: str, attribute: str, labels: np.ndarray, person: np.ndarray,
                walk_index: np.ndarray, errors: np.ndarray, mated: np.ndarray,
                groups: dict[str, GroupFigures], per_photo: bool, key: tuple
                ) -> Difference | None:
    in_metric = mated if metric == "fnir" else ~mated
    values = sorted({v for v in labels[in_metric] if v})
    rated = {v: getattr(groups[f"{attribute}={v}"], metric) for v in values}
    rated = {v: r for v, r in rated.items() if r.rate is not None}
    if len(rated) < 2:
        return None
    worst = max(rated, key=lambda v: rated[v].rate)
    best = min(rated, key=lambda v: rated[v].rate)
    w, b = rated[worst].rate, rated[best].rate
    ratio = (w / b) if b else (1.0 if w == 0 else None)
    chosen = in_metric & np.isin(labels, list(rated))
    code = {v: i for i, v in enumerate(rated)}
    # Units: people (a person attribute) or walks within people (a photo attribute).
    unit = walk_index if per_photo else person
    units, e, n = _per_unit(unit, errors, chosen)
    first = np.full(int(unit.max()) + 1, -1)
    first[unit[::-1]] = np.arange(len(unit))[::-1]  # a search of each unit
    g = np.array([code[labels[first[u]]] for u in units])
    owner = person[first[units]] if per_photo else None
    total_errors = float(e.sum())
    p = stats.permutation_p(e, n, g, stats.seed_for(*key), within=owner) if total_errors else None
    # Per person, over the worst and best groups: what a sample size depends on.
    pair = chosen & np.isin(labels, [worst, best])
    _, pe, pn = _per_unit(person, errors, pair)
    return Difference(metric, attribute, f"{attribute}={worst}", f"{attribute}={best}",
                      w, b, ratio, p,
                      people_compared=min(rated[worst].people, rated[best].people),
                      base_rate=float(pe.sum() / pn.sum()),
                      searches_per_person=float(pn.mean()),
                      correlation=stats.icc(pe, pn))


def _multiplicity(points: list[OperatingPointFigures]) -> int:
    """Holm over every tested difference; then each is significant, not (with power to
    see a twofold difference), or too small to tell."""
    tested = [d for op in points for d in op.differences if d.p_value is not None]
    adjusted = stats.holm([d.p_value for d in tested])  # type: ignore[misc]
    floor = stats.permutation_floor(stats.ALPHA, len(tested))
    for op in points:
        for i, d in enumerate(op.differences):
            a = adjusted[tested.index(d)] if d.p_value is not None else None
            needed = stats.people_needed(d.base_rate, d.searches_per_person, d.correlation,
                                         stats.ALPHA)
            if needed is not None:
                needed = max(needed, floor)
            significant: bool | None
            if a is not None and a < stats.ALPHA:
                significant = True
            elif needed is not None and d.people_compared >= needed:
                significant = False
            else:
                significant = None
            op.differences[i] = Difference(**{**d.__dict__, "p_adjusted": a,
                                              "significant": significant,
                                              "people_needed": needed})
    return len(tested)


def _curves(labels: dict[str, np.ndarray], mated: np.ndarray, distance: np.ndarray
            ) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    keys = [("all", np.ones(len(mated), dtype=bool))]
    keys += [(f"{a}={v}", lab == v) for a, lab in labels.items() for v in sorted(set(lab)) if v]
    for key, chosen in keys:
        m, nm = distance[mated & chosen], distance[~mated & chosen]
        out[key] = {
            "fnir": [round(float(np.mean(m > d)), 4) if len(m) else None for d in CURVE],
            "fpir": [round(float(np.mean(nm <= d)), 4) if len(nm) else None for d in CURVE],
        }
    return out
