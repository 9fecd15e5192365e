"""The alert moment for the card's replay: the seconds around the best match, held in
memory only. Frames are a camera's own (references the tile already holds), a few a
second; a clip opens around the best match, collects until a moment after it, is then
compressed in memory; never a file, in the live console as in the unit."""

from __future__ import annotations

import builtins
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from console.domain.alerts import Alert, Evidence
from console.live.moments import CLIP_AFTER_S, CLIP_BEFORE_S, MAX_CLIPS, AlertMoments
from tests.conftest import pause_like_a_person, run_on_loop


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def frame(index: int) -> np.ndarray:
    image = np.zeros((90, 160, 3), np.uint8)
    image[:, :, 0] = index % 256  # each frame its own picture
    return image


def alert(alert_id: str, best: int, raised: int) -> Alert:
    return Alert(
        alert_id, "north", "WL-0001", "Alex Marsh", "wanted by the courts", 0.30, 0.40,
        raised / 25, raised, (20, 60, 60, 20), datetime.now(UTC), None,
        [Evidence(best - 5, (best - 5) / 25, 0.34), Evidence(best, best / 25, 0.30),
         Evidence(raised, raised / 25, 0.33)],
    )


@pytest.fixture
def no_files(monkeypatch):
    """Any attempt to open a file fails the test: the frames must stay in memory."""
    opened: list[str] = []

    def refuse(*args, **kwargs):
        opened.append(str(args[0]) if args else "?")
        raise AssertionError(f"a file was opened: {args[:1]}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    yield opened


def test_a_clip_covers_the_seconds_around_the_best_match_in_memory_only(no_files):
    clock = Clock()
    moments = AlertMoments(clock)
    play = lambda first, last: [  # noqa: E731
        (setattr(clock, "t", i / 25), moments.frame("north", i, frame(i), 0.5)) for i in
        range(first, last)
    ]
    play(0, 130)
    moments.faces("north", 100, [((20, 60, 60, 20), "Alex Marsh"), ((0, 9, 9, 0), None)])
    clip = moments.alert(alert("a1", best=100, raised=125))
    assert not clip.complete, "it goes on collecting after the match"
    play(130, 200)
    assert clip.complete
    moments.wait_compressed()
    assert clip.compressed
    shown = clip.frames()
    indices = [f.index for f in shown]
    assert indices[0] >= 100 - CLIP_BEFORE_S * 25 - 4 and indices[0] <= 100 - CLIP_BEFORE_S * 25 + 4
    assert indices[-1] >= 100 + CLIP_AFTER_S * 25 - 4
    assert 6 <= len(shown) / (CLIP_BEFORE_S + CLIP_AFTER_S) <= 10, "a few frames a second"
    best = shown[clip.best_position(shown)]
    assert best.index <= 100 and 100 - best.index < 4
    # Compressed in memory, and still the frames they were (JPEG is close, not exact).
    assert abs(int(best.rgb[0, 0, 0]) - best.index % 256) <= 3
    # The subject's box is kept with its frame (only named faces: no passer-by's box).
    boxed = [f for f in shown if f.boxes]
    assert all(name == "Alex Marsh" for f in boxed for _, name in f.boxes)
    assert clip.memory_bytes() < sum(f.rgb.nbytes for f in shown) / 4
    assert no_files == []


def test_clips_go_with_their_incident_with_the_oldest_beyond_the_cap_and_at_conclusion():
    clock = Clock()
    moments = AlertMoments(clock)
    for i in range(60):
        clock.t = i / 25
        moments.frame("north", i, frame(i), 0.5)
    for n in range(MAX_CLIPS + 5):
        moments.alert(alert(f"a{n}", best=50, raised=55))
    assert moments.clip("a0") is None and moments.clip(f"a{MAX_CLIPS + 4}") is not None
    moments.forget([f"a{MAX_CLIPS + 4}"])
    assert moments.clip(f"a{MAX_CLIPS + 4}") is None
    moments.clear()
    assert moments.clip(f"a{MAX_CLIPS + 3}") is None and moments.memory_bytes() == 0
    moments.close()


def test_a_looping_file_starts_the_ring_again():
    clock = Clock()
    moments = AlertMoments(clock)
    for i in (*range(0, 100), *range(0, 10)):
        clock.t += 0.04
        moments.frame("north", i, frame(i), 0.5)
    ring = moments._cameras["north"].ring
    assert [s.index for s in ring] == sorted(s.index for s in ring) and ring[-1].index < 10


def test_the_live_console_keeps_the_replay_in_memory_and_writes_none_of_it(
    qtbot, open_sample, tmp_path
):
    """The sample streams through the real feeds, pool and window: the card's replay has
    frames, and no file the console opened or wrote holds any of them."""
    before = set(os.listdir("/proc/self/fd"))
    console = open_sample(data_dir=tmp_path)
    window, panel = console.window, console.window.alerts
    qtbot.waitUntil(lambda: bool(panel.pending), timeout=60_000)
    incident = panel.pending[0]
    panel.select(incident.incident_id)
    pause_like_a_person(qtbot)
    qtbot.keyClick(panel.list, "V")
    clip = window.moments.clip(incident.best.alert_id)
    assert clip is not None
    qtbot.waitUntil(lambda: clip.compressed, timeout=20_000)
    qtbot.waitUntil(lambda: len(panel.card.replay.frames) > 10, timeout=5_000)
    payloads = [data[len(data) // 2: len(data) // 2 + 64] for _, data, _ in clip._jpegs]
    raw = [f.rgb.tobytes()[5000:5064] for f in clip.frames()]
    for folder, _, files in os.walk(tmp_path):
        for name in files:
            content = Path(folder, name).read_bytes()
            assert not any(p in content for p in payloads), f"{name} holds a replay frame"
            assert not any(r in content for r in raw), f"{name} holds a replay frame"
    # Nor does the console hold any other file open for writing (only its record).
    written = []
    for fd in set(os.listdir("/proc/self/fd")) - before:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
            flags = int(info.split("flags:")[1].split()[0], 8)
        except (OSError, IndexError, ValueError):
            continue
        if target.startswith("/") and not target.startswith(("/dev/", "/proc/")) and flags & 3:
            written.append(target)
    allowed = ("console.db", "console.db-wal", "console.db-shm")
    assert [t for t in written if not t.endswith(allowed)] == []
    # At the conclusion the frames go from memory too.
    run_on_loop(qtbot, console.session.conclude(), 30_000)
    qtbot.waitUntil(lambda: window.moments.clip(incident.best.alert_id) is None)
    assert window.moments.memory_bytes() == 0 and not window.moments._cameras
