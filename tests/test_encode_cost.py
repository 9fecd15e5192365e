"""The encoding budget follows what an encoding costs on this machine: dlib on OpenBLAS
encodes a face in a fifth of the time, and the live cameras' budget (a share of each
worker's time) must buy five times the encodings, not waste the workers; a slower
machine, or a worker starved by the window, must buy fewer, not build a backlog."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from console.vision.encode_scheduler import EncodeBudget
from console.vision.pool import (
    ASSUMED_ENCODE_S,
    ENCODE_SHARE_PER_WORKER,
    AnalysisPool,
    EncodeCost,
)


def test_the_first_timing_replaces_the_assumption_and_later_ones_move_the_average():
    cost = EncodeCost(workers=2)
    assert cost.seconds == ASSUMED_ENCODE_S
    assert cost.per_second == pytest.approx(ENCODE_SHARE_PER_WORKER * 2 / ASSUMED_ENCODE_S)
    cost.observe(0.045, 3)  # a part of three faces took 45 ms: 15 ms each
    assert cost.seconds == pytest.approx(0.015)
    assert cost.per_second == pytest.approx(ENCODE_SHARE_PER_WORKER * 2 / 0.015)
    cost.observe(0.035, 1)  # the window took the core for a while: dearer
    assert 0.015 < cost.seconds < 0.035, "one slow part moves the average, does not set it"


@pytest.mark.parametrize(
    "seconds, count", [(0.0, 1), (-1.0, 1), (math.nan, 1), (math.inf, 2), (0.1, 0)]
)
def test_a_timing_that_means_nothing_is_ignored(seconds, count):
    cost = EncodeCost(workers=2)
    cost.observe(seconds, count)
    assert cost.seconds == ASSUMED_ENCODE_S and cost.measured == 0


def test_a_new_rate_applies_from_now_and_never_lends_tokens_the_old_rate_had():
    budget = EncodeBudget(per_second=50.0, burst_s=1.0, reserve=0.0, clock=None)
    budget.set_rate(10.0)
    assert budget.grant(100, 0, 0.0) == (10, 0), "the old, bigger bucket is cut to the new"
    assert budget.grant(100, 0, 0.5) == (5, 0)
    budget.set_rate(40.0)
    assert budget.grant(100, 0, 1.0) == (20, 0), "refills at the new rate"


def test_the_pools_encodings_set_the_shared_budgets_rate():
    blank = np.zeros((300, 300, 3), np.uint8)  # a face-sized box costs what a face does
    with AnalysisPool(workers=2, kind="thread") as pool:
        before = pool.budget.per_second
        encodings = pool.encode(blank, [(50, 250, 250, 50)] * 3).result(timeout=120)
        assert len(encodings) == 3 and all(e.shape == (128,) for e in encodings)
        assert pool.encode_cost.measured == 2, "both parts timed"
        assert pool.budget.per_second == pytest.approx(pool.encode_cost.per_second)
        assert pool.budget.per_second != before


def test_a_failed_encoding_reaches_the_caller_and_is_not_timed():
    with AnalysisPool(workers=1, kind="thread") as pool:
        future = pool.encode(None, [(0, 5, 5, 0)])  # no frame: the worker fails
        with pytest.raises(Exception):  # noqa: B017 (OpenCV's error, whatever its class)
            future.result(timeout=60)
        assert pool.encode_cost.measured == 0


def _openblas_to_build_on() -> bool:
    """libopenblas-dev's linkable library, as scripts/dlib-blas.sh looks for it."""
    roots = [Path(p) for p in ("/usr/lib", "/usr/lib64", "/usr/local/lib")]
    return any(next(r.rglob("libopenblas.so"), None) for r in roots if r.is_dir())


@pytest.mark.skipif(
    not _openblas_to_build_on(),
    reason="no OpenBLAS to build dlib on (scripts/system-deps.sh installs it on Debian)",
)
def test_dlib_encodes_on_blas_with_one_thread_a_worker():
    import dlib

    assert dlib.DLIB_USE_BLAS, (
        "dlib was built without BLAS (encodings ~5x slower): install libopenblas-dev and "
        "run scripts/dlib-blas.sh .venv/bin/python (make does both)"
    )
    with AnalysisPool(workers=1, kind="process") as pool:
        threads = pool.run(_blas_threads).result(timeout=120)
    assert threads == "1", "the pool's workers are the parallelism, not OpenBLAS's threads"


def _blas_threads() -> str | None:
    import os

    return os.environ.get("OPENBLAS_NUM_THREADS")
