"""The per-group evaluation on a labelled test set made for it (tests/equality_set): band
C's probe photos are degraded on purpose (blur, low light, a small face)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from console.equality import statistics as stats
from console.equality.evaluator import evaluate, observe
from console.equality.testset import TestSet, TestSetError, load_test_set

REPO = Path(__file__).resolve().parent.parent
SET = REPO / "tests" / "equality_set" / "faces"
# An operating point where the clean bands miss often enough for a difference between
# them to be measurable with the set's people (at looser points both miss almost never,
# and no sample this small could tell a twofold difference of almost nothing).
ONE_IN, SIZE = 100_000, 100


@pytest.fixture(scope="session")
def observed(process_pool):
    """The set walked past the camera once per test session (encodings in memory)."""
    return observe(load_test_set(SET), process_pool)


def relabel(observed, attribute: str, values: dict[str, str]):
    """The same observations with one more person attribute (name -> value; others "")."""
    ts = observed.test_set
    people = tuple(dataclasses.replace(p, attributes={**p.attributes,
                                                      attribute: values.get(p.name, "")})
                   for p in ts.people)
    relabelled = TestSet(ts.folder, people, (*ts.person_attributes, attribute),
                         ts.photo_attributes, ts.photo_labels, ts.sha256)
    return dataclasses.replace(observed, test_set=relabelled)


def _point(ev, one_in=ONE_IN, size=SIZE):
    return next(op for op in ev.points if op.rate.one_in == one_in and op.watchlist_size == size)


def _difference(op, metric, attribute):
    return next(d for d in op.differences if d.metric == metric and d.attribute == attribute)


def test_the_degraded_band_is_found_worse_and_the_clean_bands_alike(observed):
    bands = {p.name: p.attributes["band"] for p in observed.test_set.people}
    clean = relabel(observed, "clean_band", {n: b for n, b in bands.items() if b != "C"})
    ev = evaluate(clean, rates=[ONE_IN], sizes=[SIZE])
    op = _point(ev)
    found = _difference(op, "fnir", "band")
    assert found.worst == "band=C" and found.significant is True, found
    assert op.groups["band=C"].fnir.rate > 2 * op.groups["band=A"].fnir.rate
    alike = _difference(op, "fnir", "clean_band")
    assert alike.significant is False, alike  # not "cannot tell": the people were enough
    assert alike.people_compared >= alike.people_needed
    # The attribute that makes no difference (a third of each cohort is band C).
    assert _difference(op, "fnir", "cohort").significant is not True
    assert ev.family == len([d for d in op.differences if d.p_value is not None])


def test_a_set_with_too_few_people_says_it_cannot_tell(observed):
    names = {p.name: p.attributes["band"] for p in observed.test_set.people}
    few = {n for band in "AB" for n in [k for k, b in names.items() if b == band][:3]}
    small = relabel(observed.subset(few), "clean_band", {n: names[n] for n in few})
    op = _point(evaluate(small, rates=[ONE_IN], sizes=[SIZE]))
    d = _difference(op, "fnir", "clean_band")
    assert d.significant is None, d  # never "alike" on three people a group
    assert d.people_needed is None or d.people_needed > d.people_compared


def test_the_figures_equal_an_independent_recomputation_from_raw_distances(observed):
    """One operating point, one group: FNIR, its counts and its interval recomputed from
    the frame-by-frame distances with the evidence rule written out here."""
    ev = evaluate(observed, rates=[1_000], sizes=[20], keep_frames=True)
    op = _point(ev, 1_000, 20)
    t = op.threshold
    band_a = {p.name for p in observed.test_set.people if p.attributes["band"] == "A"}
    per_person: dict[str, list[int]] = {}
    for s in ev.runs[20].searches:
        if not s.mated or s.person not in band_a:
            continue
        own = [d for name, d in s.frames if name == s.person and d <= t]
        alerted = len(own) >= 2 or any(d <= t - 0.1 for d in own)
        per_person.setdefault(s.person, []).append(0 if alerted else 1)
    misses = sum(sum(v) for v in per_person.values())
    searches = sum(len(v) for v in per_person.values())
    reported = op.groups["band=A"].fnir
    assert (reported.errors, reported.searches, reported.people) == (
        misses, searches, len(per_person))
    assert reported.rate == pytest.approx(misses / searches)
    # The interval: people resampled with replacement, as documented.
    order = sorted(per_person, key=lambda n: [p.name for p in observed.test_set.people
                                              ].index(n))
    e = np.array([sum(per_person[n]) for n in order], dtype=float)
    n = np.array([len(per_person[n]) for n in order], dtype=float)
    if 0 < e.sum() < n.sum():
        rng = np.random.default_rng(stats.seed_for("fnir", "band=A", 1_000, 20))
        picks = rng.integers(0, len(n), size=(stats.BOOTSTRAP, len(n)))
        low, high = np.percentile(e[picks].sum(1) / n[picks].sum(1), [2.5, 97.5])
    else:
        bound = stats.wilson(0 if e.sum() == 0 else len(n), len(n))
        low, high = (0.0, bound[1]) if e.sum() == 0 else (bound[0], 1.0)
    assert (reported.low, reported.high) == pytest.approx((low, high))


def small_copy(folder: Path, people: int = 6) -> Path:
    """The first *people* of the set (two of each band): the command run end to end on
    fewer photos, to keep the test short."""
    lines = (SET / "people.csv").read_text().splitlines()
    folder.mkdir()
    (folder / "people.csv").write_text("\n".join(lines[: people + 1]) + "\n")
    for line in lines[1 : people + 1]:
        shutil.copytree(SET / line.split(",")[0], folder / line.split(",")[0])
    return folder


def test_evaluate_matcher_writes_the_json_contract_html_and_pdf(tmp_path):
    out = tmp_path / "equality.json"
    small = small_copy(tmp_path / "set")
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "console", "evaluate-matcher", "--test-set", str(small),
         "--rates", "1000,100000", "--watchlist-sizes", "1,20", "--json", str(out),
         "--html", str(tmp_path / "equality.html"), "--pdf", str(tmp_path / "equality.pdf")],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [(op["rate"], op["watchlist_size"]) for op in report["operating_points"]] == [
        ("1 in 1,000", 1), ("1 in 100,000", 1), ("1 in 1,000", 20), ("1 in 100,000", 20)]
    for op in report["operating_points"]:
        assert set(op["groups"]) >= {"band=A", "band=B", "band=C", "cohort=X", "cohort=Y"}
        for g in op["groups"].values():
            assert {"people", "fnir", "fnir_low", "fnir_high", "fpir", "fpir_low",
                    "fpir_high"} <= set(g)
            assert g["fnir_low"] <= g["fnir"] <= g["fnir_high"]
        for d in op["differences"]:
            assert {"metric", "attribute", "worst", "best", "ratio", "significant"} <= set(d)
            assert d["significant"] in (True, False, None)
    assert len(report["test_set"]["sha256"]) == 64
    assert report["test_set"]["composition"]["band"] == {"A": 2, "B": 2, "C": 2}
    assert report["test_set"]["people"] == 6 and report["test_set"]["probe_photos"] == 42
    assert report["matcher"]["calibration_sha256"]
    assert report["summary"] and "1 in 1,000 against 20 subjects" in report["summary"][0]
    html = (tmp_path / "equality.html").read_text()
    assert report["test_set"]["sha256"] in html and "<svg" in html and "Signature" in html
    assert (tmp_path / "equality.pdf").read_bytes().startswith(b"%PDF")
    assert "1 in 1,000 against 20 subjects" in done.stdout


@pytest.mark.parametrize("attack", ["traversal", "symlink", "control", "unlisted"])
def test_a_hostile_test_set_is_refused_with_every_fault_named(tmp_path, attack):
    root = tmp_path / "set"
    (root / "p1").mkdir(parents=True)
    (root / "p1" / "1.jpg").write_bytes((SET / "p01" / "1.jpg").read_bytes())
    rows = "person,sex\np1,female\n"
    if attack == "traversal":
        rows += "../outside,male\n"
        (tmp_path / "outside").mkdir()
    elif attack == "symlink":
        (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8 not yours")
        (root / "p1" / "2.jpg").symlink_to(tmp_path / "secret.jpg")
    elif attack == "control":
        rows += "p2,\u202efemale\n"
        (root / "p2").mkdir()
    else:
        (root / "p3").mkdir()
    (root / "people.csv").write_text(rows)
    with pytest.raises(TestSetError) as refused:
        load_test_set(root)
    message = str(refused.value)
    assert {"traversal": "not a folder name", "symlink": "not a file inside",
            "control": "bidirectional", "unlisted": "not in people.csv"}[attack] in message
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "console", "evaluate-matcher", "--test-set",
                           str(root)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "refused" in done.stderr


def test_the_rates_evaluated_are_the_ones_the_deployment_bar_offers():
    from console.equality.evaluator import OFFERED_RATES
    from console.qt.deployment_bar import RATE_CHOICES

    assert tuple(OFFERED_RATES) == tuple(RATE_CHOICES)
    assert all(math.log10(r).is_integer() for r in OFFERED_RATES)
