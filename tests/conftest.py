"""Shared fixtures: the bundled sample deployment, a qasync loop, background pools."""

from __future__ import annotations

import asyncio
import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_streams"
SOURCE_IMAGES = SAMPLES / "source_images"


@pytest.fixture(scope="session")
def sample_watchlist_dir() -> Path:
    return SAMPLES / "watchlist"


@pytest.fixture(scope="session")
def ground_truth() -> list[dict[str, str]]:
    with (SAMPLES / "ground_truth.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def process_pool():
    """The product's pool (worker processes), shared: starting one costs seconds."""
    from console.vision.pool import AnalysisPool

    with AnalysisPool(kind="process") as pool:
        yield pool


def write_street_clip(path: Path, repeats: int = 1) -> Path:
    """north.mp4 from 6 s to 12 s at 640 px wide, ``repeats`` times over, as MJPEG AVI:
    Alex Marsh (watchlisted) walks past 1-5 s into each 6 s."""
    import cv2

    north = SAMPLES / "north.mp4"
    if not north.is_file():
        pytest.skip("sample_streams/north.mp4 is missing")
    capture = cv2.VideoCapture(str(north), cv2.CAP_FFMPEG)
    capture.set(cv2.CAP_PROP_POS_MSEC, 6000)
    frames = []
    for _ in range(150):
        ok, image = capture.read()
        assert ok
        frames.append(cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA))
    capture.release()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 25, (640, 360))
    for _ in range(repeats):
        for frame in frames:
            writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def street_clip(tmp_path_factory) -> Path:
    """The street clip once (6 s): a camera serving it in a loop alerts every 6 s."""
    return write_street_clip(tmp_path_factory.mktemp("clips") / "street.avi")


@pytest.fixture(scope="session")
def sample_watchlist(sample_watchlist_dir):
    from console.vision.enrolment import enrol_watchlist

    return enrol_watchlist(sample_watchlist_dir)


@pytest.fixture
def qloop(qapp):
    """asyncio running on Qt's event loop, as in the console: pytest-qt spins Qt, qasync
    runs the coroutines from it. Per test, so tests that use asyncio.run still can."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


def run_on_loop(qtbot, coro, timeout_ms: int = 30_000):
    """Run a coroutine on the qasync loop while pytest-qt spins Qt; return its result."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


OFFICER = "PC 4821 Ward (ward, supervisor)"


def pause_like_a_person(qtbot) -> None:
    """Two clicks closer than the double-click interval would be read as a double click."""
    from PySide6.QtWidgets import QApplication

    qtbot.wait(QApplication.doubleClickInterval() + 50)


@pytest.fixture
def open_sample(qtbot, qloop, process_pool, tmp_path):
    from PySide6.QtCore import Qt

    from console.config import SAMPLE_DEPLOYMENT, load_plan
    from console.domain.officers import Role
    from console.qt.app import open_console
    from console.storage import Store

    """Open the console on the sample plan, logged in, and start the deployment."""
    opened = []

    def _open(plan=None, start=True, role=Role.SUPERVISOR, data_dir=None):
        plan = plan or load_plan(SAMPLE_DEPLOYMENT)
        store = Store.in_dir(data_dir or tmp_path)
        if not store.officers.count():
            store.officers.add("ward", "PC 4821 Ward", role, "correct horse", "test")
        officer = store.officers.authenticate("ward", "correct horse")
        # Enrolment waits for the pool's workers (dlib loads in each): slow on a loaded machine.
        console = run_on_loop(
            qtbot, open_console(plan, store, officer, process_pool), timeout_ms=90_000
        )
        opened.append(console)
        if start:
            bar = console.window.bar
            qtbot.mouseClick(bar.confirm_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: bool(console.session.deployment.officers_present_confirmed_by))
            pause_like_a_person(qtbot)
            qtbot.mouseClick(bar.start_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: console.session.deployment.is_active)
        return console

    yield _open
    for console in opened:
        run_on_loop(qtbot, console.close())
        console.window.close()


@pytest.fixture
def small_disk(tmp_path):
    """A real 16 MiB filesystem (tmpfs) that a test can fill up; skipped where the test
    may not mount one."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill_up(folder: Path) -> None:
    """Write zeros until the filesystem says it is full."""
    # Unbuffered: a buffered file would try the refused bytes again on close, and raise.
    with (folder / "filler").open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
