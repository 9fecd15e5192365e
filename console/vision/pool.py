"""The background pool that runs face analysis off the GUI thread.

``kind="process"`` (the default) runs dlib in worker processes: the landmark
predictor and the encoder hold the GIL for ~75 ms a face, which would stall the GUI
if they ran on a thread of the GUI's process. ``kind="thread"`` keeps everything in
one process, which is lighter for short scripts and unit tests.

Worker processes end when the console does, however it ends: a watchdog thread in each
worker exits it once its parent is gone (a SIGKILLed console runs no clean-up, and an
orphaned worker would otherwise wait on its task queue for ever, holding dlib's models
and multiprocessing's resource tracker alive). Linux's parent-death signal
(``PR_SET_PDEATHSIG``) is not used: it fires when the *thread* that started the worker
ends, and workers are started from whichever thread first submits work (enrolment runs
on a short-lived executor thread), which would kill healthy workers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

from console.vision.analysis import AnalysisSettings, FaceObservation, analyse_frame

PoolKind = Literal["process", "thread"]

_worker_settings = AnalysisSettings()
WORKER_NICENESS = 10
PARENT_CHECK_S = 0.5  # how often a worker looks for its console; an orphan lives this long


def _init_worker(settings: AnalysisSettings, console_pid: int) -> None:
    global _worker_settings
    _watch_parent(console_pid)
    _worker_settings = settings
    # The window must stay smooth when analysis saturates both cores: workers yield
    # the CPU to the GUI process (and to decoding) whenever both want it.
    os.nice(WORKER_NICENESS)
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


class AnalysisPool:
    """Submit frames, get futures of the faces found in them."""

    def __init__(
        self, settings: AnalysisSettings | None = None, workers: int = 2, kind: PoolKind = "process"
    ) -> None:
        self.settings = settings or AnalysisSettings()
        self.workers = workers
        self.kind = kind
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

    def run(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run other dlib work (watchlist enrolment) on the pool; *fn* must be picklable."""
        return self._executor.submit(fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
