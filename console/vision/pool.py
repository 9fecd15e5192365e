"""The background pool that runs face analysis off the GUI thread.

``kind="process"`` (the default) runs dlib in worker processes: the landmark
predictor and the encoder hold the GIL for 15-75 ms a face (dlib with and without BLAS),
which would stall the GUI if they ran on a thread of the GUI's process.
``kind="thread"`` keeps everything in one process, which is lighter for short scripts and
unit tests.

Worker processes end when the console does, however it ends: a watchdog thread in each
worker exits it once its parent is gone (a SIGKILLed console runs no clean-up, and an
orphaned worker would otherwise wait on its task queue for ever, holding dlib's models
and multiprocessing's resource tracker alive). Linux's parent-death signal
(``PR_SET_PDEATHSIG``) is not used: it fires when the *thread* that started the worker
ends, and workers are started from whichever thread first submits work (enrolment runs
on a short-lived executor thread), which would kill healthy workers.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, Literal, TypeVar

import numpy as np

from console.domain.alerts import BBox
from console.vision.analysis import (
    AnalysisSettings,
    Detection,
    FaceObservation,
    Region,
    analyse_frame,
    detect_in_regions,
    encode_boxes,
)
from console.vision.encode_scheduler import SECOND_COST, EncodeBudget

PoolKind = Literal["process", "thread"]
T = TypeVar("T")

_worker_settings = AnalysisSettings()
WORKER_NICENESS = 10
PARENT_CHECK_S = 0.5  # how often a worker looks for its console; an orphan lives this long
# The live cameras' encodings may take this share of each worker's time, shared by every
# camera; the rest is detection's (and the desk's other work). bench/crowd.py measures
# what it buys.
ENCODE_SHARE_PER_WORKER = 0.375
# What an encoding costs until the workers have timed their own: dlib without BLAS
# (75 ms: 5 a second a worker). Built on OpenBLAS (scripts/system-deps.sh) it takes about
# 15 ms, and the budget follows (``EncodeCost``).
ASSUMED_ENCODE_S = 0.075


def _init_worker(settings: AnalysisSettings, console_pid: int) -> None:
    global _worker_settings
    _watch_parent(console_pid)
    _worker_settings = settings
    # The window must stay smooth when analysis saturates both cores: workers yield
    # the CPU to the GUI process (and to decoding) whenever both want it.
    os.nice(WORKER_NICENESS)
    import cv2

    # One thread each: the workers already share the cores between them (OpenCV's DNN,
    # for the second descriptor, would otherwise start a thread per core in each).
    cv2.setNumThreads(1)
    from console.vision.analysis import load_face_recognition

    load_face_recognition()  # load the models once, before the first frame


def _watch_parent(console_pid: int) -> None:
    """Exit this worker as soon as the console process that started it is gone.

    An orphan is re-parented (to init or a subreaper), so a changed parent pid means the
    console died; polling needs no cooperation from the dead parent.
    """
    if os.getppid() != console_pid:  # the console died while this worker started
        os._exit(1)

    def watch() -> None:
        while os.getppid() == console_pid:
            time.sleep(PARENT_CHECK_S)
        # No clean-up to run: nothing waits for this worker's results any more.
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _analyse_in_worker(frame_bgr: np.ndarray) -> list[FaceObservation]:
    return analyse_frame(frame_bgr, _worker_settings)


def _detect_in_worker(frame_bgr: np.ndarray, regions: list[Region]) -> list[Detection]:
    return detect_in_regions(frame_bgr, regions, _worker_settings)


def _encode_in_worker(frame_bgr: np.ndarray, boxes: list[BBox]) -> tuple[list[np.ndarray], float]:
    return _timed(encode_boxes, frame_bgr, boxes, _worker_settings.jitters)


def _describe_in_worker(frame_bgr: np.ndarray, boxes: list[BBox]
                        ) -> tuple[list[np.ndarray], float]:
    from console.vision.second_descriptor import describe

    return _timed(describe, frame_bgr, boxes)


def _timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """*fn*'s result and the wall time it took: what the worker gave it, CPU it was
    granted included (a worker yields to the GUI when both want a core)."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


class EncodeCost:
    """What one encoding takes on this machine, as the workers measure it (a moving
    average), and the budget of encodings a second it affords."""

    def __init__(self, workers: int, assumed_s: float = ASSUMED_ENCODE_S, weight: float = 0.2):
        self.workers = workers
        self.seconds = assumed_s
        self.weight = weight
        self.measured = 0

    def observe(self, seconds: float, encodings: int) -> None:
        if encodings <= 0 or not math.isfinite(seconds) or seconds <= 0:
            return
        each = seconds / encodings
        # The first measurement replaces the assumption outright: an encoding with BLAS
        # costs a fifth of one without, and the first seconds of a deployment (every face
        # new) are when the budget matters most.
        w = 1.0 if self.measured == 0 else self.weight
        self.seconds += w * (each - self.seconds)
        self.measured += 1

    @property
    def per_second(self) -> float:
        return ENCODE_SHARE_PER_WORKER * self.workers / self.seconds


def _gathered(parts: list[Future[tuple[list[Any], float]]]) -> Future[list[Any]]:
    """One future of the timed parts' results joined in order."""
    whole: Future[list[Any]] = Future()
    left = [len(parts)]
    lock = threading.Lock()

    def done(_: Future) -> None:
        with lock:
            left[0] -= 1
            if left[0] or whole.done():
                return
        try:
            whole.set_result([item for part in parts for item in part.result()[0]])
        except BaseException as exc:  # a worker's failure is the whole's
            whole.set_exception(exc)

    if not parts:
        whole.set_result([])
    for part in parts:
        part.add_done_callback(done)
    return whole


class AnalysisPool:
    """Submit frames, get futures of the faces found in them."""

    def __init__(
        self, settings: AnalysisSettings | None = None, workers: int = 2, kind: PoolKind = "process"
    ) -> None:
        self.settings = settings or AnalysisSettings()
        self.workers = workers
        self.kind = kind
        # The live cameras' shared budget of encodings (wall clock), at the rate what
        # encodings cost here affords.
        self.encode_cost = EncodeCost(workers)
        # And what a second descriptor costs (its price in the budget is the ratio).
        self.second_cost = EncodeCost(workers, assumed_s=SECOND_COST * ASSUMED_ENCODE_S)
        self._cost_lock = threading.Lock()
        self.budget = EncodeBudget(self.encode_cost.per_second)
        self._executor: Executor
        if kind == "process":
            self._executor = ProcessPoolExecutor(
                workers,
                # spawn, not fork: forking a process that runs Qt and threads is unsafe.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.settings, os.getpid()),
            )
        else:
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="analysis")

    def analyse(self, frame_bgr: np.ndarray) -> Future[list[FaceObservation]]:
        if self.kind == "process":
            return self._executor.submit(_analyse_in_worker, frame_bgr)
        return self._executor.submit(analyse_frame, frame_bgr, self.settings)

    def detect(self, frame_bgr: np.ndarray, regions: list[Region]) -> Future[list[Detection]]:
        """Faces found in the regions of the frame, not encoded (the crowd engine)."""
        if self.kind == "process":
            return self._executor.submit(_detect_in_worker, frame_bgr, regions)
        return self._executor.submit(detect_in_regions, frame_bgr, regions, self.settings)

    def encode(self, frame_bgr: np.ndarray, boxes: list[BBox]) -> Future[list[np.ndarray]]:
        """Encodings of the given faces, in order, spread over the workers: a frame's
        chosen faces are encoded in parallel rather than one after another."""
        return self._spread(
            frame_bgr, boxes, _encode_in_worker,
            partial(encode_boxes, jitters=self.settings.jitters), self._note_cost)

    def describe(self, frame_bgr: np.ndarray, boxes: list[BBox]) -> Future[list[np.ndarray]]:
        """Second descriptors of the given faces (console.vision.second_descriptor), in
        order, spread over the workers like ``encode``. What they cost, in encodings, is
        measured and becomes the budget's price of one (``EncodeBudget.charge``)."""
        from console.vision.second_descriptor import describe

        return self._spread(frame_bgr, boxes, _describe_in_worker, describe,
                            self._note_second_cost)

    def _spread(self, frame_bgr: np.ndarray, boxes: list[BBox],
                in_worker: Callable[..., tuple[list[Any], float]],
                in_thread: Callable[..., list[Any]],
                note: Callable[..., None]) -> Future[list[Any]]:
        """*boxes* split over the workers, each part timed (*note* gets its time)."""
        if not boxes:
            return _gathered([])
        # Even two or three faces are split: each is 15-75 ms of a core, and the frame's
        # result (an alert, perhaps) waits for the slowest part.
        chunks = max(1, min(self.workers, len(boxes)))
        size = -(-len(boxes) // chunks)
        parts = []
        for start in range(0, len(boxes), size):
            part = boxes[start : start + size]
            if self.kind == "process":
                timed = self._executor.submit(in_worker, frame_bgr, part)
            else:
                timed = self._executor.submit(_timed, in_thread, frame_bgr, part)
            # Added before _gathered's own callback, so it runs first: the rate is set
            # by the time the caller has the encodings.
            timed.add_done_callback(partial(note, count=len(part)))
            parts.append(timed)
        return _gathered(parts)

    def _note_second_cost(self, part: Future[tuple[list[np.ndarray], float]], count: int
                          ) -> None:
        if part.cancelled() or part.exception() is not None:
            return
        with self._cost_lock:
            self.second_cost.observe(part.result()[1], count)
            self.budget.second_cost = self.second_cost.seconds / self.encode_cost.seconds

    def _note_cost(self, part: Future[tuple[list[np.ndarray], float]], count: int) -> None:
        """A part's time goes to the budget's rate (a failed part's is not a cost)."""
        if part.cancelled() or part.exception() is not None:
            return
        with self._cost_lock:  # parts may finish on two threads at once
            self.encode_cost.observe(part.result()[1], count)
            self.budget.set_rate(self.encode_cost.per_second)

    def time_encodings(self, rounds: int = 3) -> float:
        """Time encodings on every worker now, so that the budget starts from what they
        cost here rather than the assumption (a face-sized box of a blank frame costs
        what a face does); the encodings a second that affords."""
        blank = np.zeros((300, 300, 3), np.uint8)
        for _ in range(rounds):
            self.encode(blank, [(50, 250, 250, 50)] * self.workers).result()
        return self.encode_cost.per_second

    def run(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run other dlib work (watchlist enrolment) on the pool; *fn* must be picklable."""
        return self._executor.submit(fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
