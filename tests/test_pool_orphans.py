"""A console killed with SIGKILL leaves no process behind: its analysis workers notice their
parent is gone and exit, and multiprocessing's resource tracker then ends too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from tests.conftest import REPO

# The console, as far as processes go: a process pool warmed up with work on every worker.
CONSOLE = """
import json, time
from multiprocessing import resource_tracker
from console.vision.pool import AnalysisPool
from tests.test_pool_orphans import pid_after

pool = AnalysisPool(kind="process", workers=2)
seen = {f.result() for f in [pool.run(pid_after, 0.5) for _ in range(6)]}
print(json.dumps({
    "workers": sorted(pool._executor._processes),
    "served": sorted(seen),
    "tracker": resource_tracker._resource_tracker._pid,
}), flush=True)
time.sleep(600)
"""

# Generous: the watchdog polls every 0.5 s, but the machine is shared and busy.
GONE_WITHIN_S = 30.0


def pid_after(seconds: float) -> int:
    """Runs on a worker: its pid, after a pause that keeps it busy while others start."""
    time.sleep(seconds)
    return os.getpid()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_killing_the_console_ends_its_workers_and_resource_tracker():
    console = subprocess.Popen(
        [sys.executable, "-c", CONSOLE], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    started: list[int] = []
    try:
        line = console.stdout.readline()
        assert line, "the console process ended before its pool started"
        pids = json.loads(line)
        started = [*pids["workers"], pids["tracker"]]
        assert len(pids["workers"]) == 2 and set(pids["served"]) == set(pids["workers"])
        assert pids["tracker"] is not None
        assert all(alive(pid) for pid in started)

        console.send_signal(signal.SIGKILL)
        console.wait()
        deadline = time.monotonic() + GONE_WITHIN_S
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {pid: psutil.Process(pid).cmdline() for pid in started if alive(pid)}
        assert not left, f"still running after the console was killed: {left}"
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
        for pid in started:  # only the processes this test started
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
