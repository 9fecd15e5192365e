"""Remote cameras that fail the way street cameras do, served on loopback by MjpegServer:
killed (a reboot), stalled (a hung encoder), restarted, sending garbage. Each feed must say
what is happening, reconnect on its own, and never hold up the other cameras.

Timings are shortened per camera (SourceSpec) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Decision
from console.domain.watchlist import Watchlist
from console.live.feed import CameraFeed, FeedState, FeedStatus
from console.pipeline import CameraPipeline
from console.vision.matcher import Matcher
from console.vision.sources import SourceError, SourceSpec, StreamTimeout, VideoSource
from tests import sessions
from tests.conftest import pause_like_a_person
from tests.streamserver import MjpegServer

# Short timings for tests; the product defaults are 8 s / 5 s / 1 s / 5 s.
FAST = {"timeout_s": 2.0, "stall_s": 1.0, "retry_s": 0.2, "retry_max_s": 1.0}
SERVE_FPS = 25


# ---------------------------------------------------------------- clips and helpers


@pytest.fixture(scope="module")
def numbered_clip(tmp_path_factory) -> Path:
    """Two seconds of small numbered frames: cheap to serve, no faces."""
    path = tmp_path_factory.mktemp("clips") / "numbered.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), SERVE_FPS, (320, 180))
    for i in range(50):
        image = np.full((180, 320, 3), (i * 5) % 256, np.uint8)
        cv2.putText(image, str(i), (10, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 4)
        writer.write(image)
    writer.release()
    return path


class Recorder:
    """A session/feed listener that remembers every status, with the time it came."""

    def __init__(self) -> None:
        self.statuses: list[tuple[float, FeedStatus]] = []
        self.alerts: list = []
        self.errors: list[str] = []

    def feed_frame(self, camera, preview_rgb, scale, index=-1) -> None: ...
    def feed_faces(self, camera, faces) -> None: ...

    def feed_status(self, status: FeedStatus) -> None:
        self.statuses.append((time.monotonic(), status))

    def alert_raised(self, alert, is_new) -> None:
        if is_new:
            self.alerts.append(alert)

    def alert_restored(self, alert, adjudication) -> None: ...
    def storage_failed(self, message) -> None:
        self.errors.append(message)

    def deployment_changed(self, deployment) -> None: ...

    def states(self, camera: str, since: float = 0.0) -> list[FeedState]:
        """The camera's state changes in order (repeats of one state collapsed)."""
        seen: list[FeedState] = []
        for at, status in self.statuses:
            if status.camera == camera and at >= since and (not seen or seen[-1] != status.state):
                seen.append(status.state)
        return seen

    def first(self, camera: str, state: FeedState, since: float = 0.0) -> tuple[float, FeedStatus]:
        return next(
            (at, s)
            for at, s in self.statuses
            if s.camera == camera and s.state == state and at >= since
        )


class InstantPool:
    """Stands in for the analysis pool where only the feed is under test: no faces."""

    def __init__(self) -> None:
        self.frames = 0

    def analyse(self, frame_bgr: np.ndarray) -> Future:
        self.frames += 1
        future: Future = Future()
        future.set_result([])
        return future


def make_feed(spec: SourceSpec, listener: Recorder) -> CameraFeed:
    pipeline = CameraPipeline(spec.camera, Matcher(Watchlist(Path("."), []), 0.4), str)
    return CameraFeed(spec, pipeline, InstantPool(), listener, lambda event: None)


async def until(predicate: Callable[[], bool], timeout: float, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


async def stop(*feeds_and_tasks: tuple[CameraFeed, asyncio.Task]) -> None:
    for feed, task in feeds_and_tasks:
        await feed.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class LoopLateness:
    """How late a 20 ms asyncio ticker runs: the event loop (the GUI's, in the console)
    must never wait for a camera."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task | None = None

    def __enter__(self) -> LoopLateness:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.02)
            self.worst_s = max(self.worst_s, time.monotonic() - before - 0.02)


# ---------------------------------------------------------------- sources


def test_timeouts_can_never_be_zero():
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        SourceSpec("east", "http://127.0.0.1:9/video.mjpg", timeout_s=0)
    with pytest.raises(ValueError, match="stall_s must be > 0"):
        SourceSpec("east", "http://127.0.0.1:9/video.mjpg", stall_s=float("nan"))
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        VideoSource(SourceSpec("east", "http://127.0.0.1:9/video.mjpg"), timeout_s=0)
    with pytest.raises(ValueError, match="unknown setting"):
        SourceSpec.of("east", "http://127.0.0.1:9/video.mjpg", stall=3)
    spec = SourceSpec.of("east", "rtsp://10.0.0.7/live", stall_s=3, timeout_s=4)
    assert (spec.stall_s, spec.timeout_s, spec.retry_s) == (3.0, 4.0, 1.0)


def test_secrets_in_urls_are_masked_everywhere_they_could_be_shown():
    spec = SourceSpec("east", "http://admin:s3cret@10.0.0.7/cgi?usr=admin&pwd=hunter2&res=hd")
    assert spec.shown_location == "http://***@10.0.0.7/cgi?usr=***&pwd=***&res=hd"
    assert "s3cret" not in repr(spec) and "hunter2" not in repr(spec)
    assert "s3cret" not in f"{spec!r} {spec!s}"
    # Masking what is already masked changes nothing (the tile masks again, to be safe).
    again = SourceSpec("east", spec.shown_location)
    assert again.shown_location == spec.shown_location


def test_a_few_corrupt_parts_are_skipped_but_a_dropped_connection_is_not(numbered_clip):
    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        source = VideoSource(SourceSpec("east", server.url, **FAST))
        with source:
            assert source.read() is not None
            server.send_garbage(3, "random")
            frames = [source.read() for _ in range(8)]
            assert all(f is not None for f in frames)
            assert source.bad_frames == 3
            assert [f.index for f in frames] == list(range(1, 9))  # corrupt parts not counted
            server.kill()
            started = time.monotonic()
            with pytest.raises(SourceError, match="stopped sending frames") as lost:
                while True:
                    source.read()
            assert not isinstance(lost.value, StreamTimeout)
            assert time.monotonic() - started < 0.5  # no wait for the read timeout


def test_a_silent_stream_is_a_stream_timeout_after_the_read_timeout(numbered_clip):
    with (
        MjpegServer(numbered_clip, fps=SERVE_FPS) as server,
        VideoSource(SourceSpec("east", server.url), timeout_s=1.0) as source,
    ):
        assert source.read() is not None
        server.stall()
        started = time.monotonic()
        with pytest.raises(StreamTimeout, match="read timeout"):
            while True:
                source.read()
        assert 0.8 < time.monotonic() - started < 2.5


def test_a_reconnected_camera_keeps_its_clock_and_frame_count(numbered_clip):
    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        origin = time.monotonic() - 50.0
        spec = SourceSpec("east", server.url, **FAST)
        with VideoSource(spec, first_index=100, clock_origin=origin) as source:
            frame = source.read()
        assert frame is not None and frame.index == 100 and frame.t >= 50.0


# ---------------------------------------------------------------- one feed


def test_the_watchdog_catches_a_stall_and_the_feed_reconnects(numbered_clip):
    async def scenario(
        server: MjpegServer,
    ) -> tuple[Recorder, CameraFeed, float, float, FeedStatus]:
        rec = Recorder()
        feed = make_feed(SourceSpec("east", server.url, **FAST), rec)
        task = asyncio.create_task(feed.run())
        await until(lambda: feed.state == FeedState.LIVE, 10, "live")
        await until(lambda: feed.counters.frames_decoded > 10, 5, "frames")
        with LoopLateness() as lateness:
            stalled_at = time.monotonic()
            server.stall()
            await until(lambda: feed.state == FeedState.STALLED, 5, "stalled")
            detected_s = time.monotonic() - stalled_at
            # The first reconnection meets the same silence (its open times out).
            await until(lambda: feed.state == FeedState.RECONNECTING, 5, "reconnecting")
            await asyncio.sleep(0.5)
            server.resume()
            await until(lambda: feed.state == FeedState.LIVE, 10, "live again")
        decoded = feed.counters.frames_decoded
        await until(lambda: feed.counters.frames_decoded > decoded + 10, 5, "frames again")
        status = feed.status()
        await stop((feed, task))
        return rec, feed, detected_s, lateness.worst_s, status

    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        rec, feed, detected_s, worst_s, status = asyncio.run(scenario(server))
    states = rec.states("east")
    assert states[:5] == [
        FeedState.CONNECTING,
        FeedState.LIVE,
        FeedState.STALLED,
        FeedState.RECONNECTING,
        FeedState.LIVE,
    ]
    _, stalled = rec.first("east", FeedState.STALLED)
    assert stalled.detail.startswith("no frame for 1.0 s; reconnecting in 0.2 s")
    # Stall time after the last frame (which came up to a frame period after stall()).
    assert FAST["stall_s"] - 0.1 < detected_s < FAST["stall_s"] + 0.8, detected_s
    assert worst_s < 0.25, f"the event loop waited {worst_s:.3f} s for a stalled camera"
    assert (status.stalls_last_hour, status.reconnects_last_hour) == (1, 1)
    assert feed.health.stalls.total == 1 and len(feed.health.outages_s) == 1
    assert status.state == FeedState.LIVE and status.attempt == 0


def test_corrupt_frames_are_skipped_and_a_corrupt_stream_is_reopened(numbered_clip):
    async def scenario(server: MjpegServer) -> tuple[Recorder, FeedStatus, FeedStatus]:
        rec = Recorder()
        feed = make_feed(SourceSpec("east", server.url, **FAST), rec)
        task = asyncio.create_task(feed.run())
        await until(lambda: feed.state == FeedState.LIVE, 10, "live")
        for kind in ("random", "truncated"):
            server.send_garbage(3, kind)
            await until(lambda: server.garbage_pending == 0, 5, "garbage sent")
        decoded = feed.counters.frames_decoded
        await until(lambda: feed.counters.frames_decoded > decoded + 5, 5, "frames after")
        survived = feed.status()
        # More bad parts in a row than a stream is allowed: it is reopened, not fatal.
        server.send_garbage(12, "random")
        await until(lambda: feed.health.reconnects.total == 1, 10, "reconnected")
        after = feed.status()
        await stop((feed, task))
        return rec, survived, after

    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        rec, survived, after = asyncio.run(scenario(server))
    assert survived.state == FeedState.LIVE
    assert survived.bad_frames == 3  # truncated JPEGs decode (partly stale): not detected
    assert survived.reconnects_last_hour == 0 and survived.stalls_last_hour == 0
    assert rec.states("east")[:4] == [
        FeedState.CONNECTING,
        FeedState.LIVE,
        FeedState.RECONNECTING,
        FeedState.LIVE,
    ]
    # The bad reads that lost the stream are not counted as corrupt frames: a dropped
    # connection fails reads the same way, and those frames were never sent.
    assert after.state == FeedState.LIVE and after.stalls_last_hour == 0
    assert after.bad_frames >= 3


def test_a_camera_silent_from_the_start_times_out_then_comes_live(numbered_clip):
    async def scenario(server: MjpegServer) -> Recorder:
        rec = Recorder()
        feed = make_feed(SourceSpec("east", server.url, **FAST), rec)
        with LoopLateness() as lateness:
            task = asyncio.create_task(feed.run())
            await until(lambda: "cannot connect" in feed.detail, 5, "open timeout")
        assert lateness.worst_s < 0.25
        server.resume()
        await until(lambda: feed.state == FeedState.LIVE, 10, "live")
        await stop((feed, task))
        return rec

    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        server.stall()
        rec = asyncio.run(scenario(server))
    states = rec.states("east")
    assert states[:2] == [FeedState.CONNECTING, FeedState.RECONNECTING]
    assert states[-2:] == [FeedState.LIVE, FeedState.STOPPED]
    assert FeedState.STALLED not in states  # it never delivered a frame: nothing stalled
    _, waiting = rec.first("east", FeedState.RECONNECTING)
    assert waiting.detail.startswith("attempt 1 in 0.2 s: cannot connect to stream")


def test_stopping_during_a_hung_read_returns_at_once_and_releases_the_capture(numbered_clip):
    async def scenario(server: MjpegServer) -> tuple[float, CameraFeed]:
        spec = SourceSpec("east", server.url, **(FAST | {"stall_s": 30.0}))
        feed = make_feed(spec, Recorder())
        task = asyncio.create_task(feed.run())
        await until(lambda: feed.state == FeedState.LIVE, 10, "live")
        server.stall()
        await asyncio.sleep(0.3)  # the reader is now blocked in read()
        started = time.monotonic()
        await stop((feed, task))
        return time.monotonic() - started, feed

    with MjpegServer(numbered_clip, fps=SERVE_FPS) as server:
        took, feed = asyncio.run(scenario(server))
        assert took < 0.2 and feed.state == FeedState.STOPPED
        # The abandoned read ends at the read timeout; the thread then closes its capture
        # and exits.
        deadline = time.monotonic() + FAST["timeout_s"] + 2
        while any(t.name.startswith("feed-east") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the reader thread never ended"
            time.sleep(0.05)
        # A stalled server only notices a departed client when it writes again.
        server.resume()
        assert server.wait_for(lambda s: s.clients == 0, timeout=5)


def test_a_source_that_cannot_exist_fails_with_its_reason_but_a_down_camera_retries(tmp_path):
    """No /dev/videoN and no such file: FAILED at once, not retried for ever. A network
    camera that is down may come back: it keeps reconnecting."""
    if not Path("/dev").is_dir() or Path("/dev/video57").exists():
        pytest.skip("needs Linux with no /dev/video57")

    async def scenario() -> tuple[Recorder, dict[str, CameraFeed]]:
        rec = Recorder()
        specs = [
            SourceSpec("usb", "57", **FAST),
            SourceSpec("file", str(tmp_path / "nope.mp4"), **FAST),
            SourceSpec("down", "http://127.0.0.1:9/video.mjpg", **FAST),
        ]
        feeds = {s.camera: make_feed(s, rec) for s in specs}
        tasks = {name: asyncio.create_task(feed.run()) for name, feed in feeds.items()}
        await until(lambda: tasks["usb"].done() and tasks["file"].done(), 10, "both to fail")
        await until(lambda: feeds["down"].attempt >= 3, 15, "three reconnection attempts")
        assert not tasks["down"].done()
        await stop((feeds["down"], tasks["down"]))
        return rec, feeds

    rec, feeds = asyncio.run(scenario())
    assert rec.states("usb") == [FeedState.CONNECTING, FeedState.FAILED]
    assert feeds["usb"].detail == "no such webcam: /dev/video57 does not exist"
    assert rec.states("file") == [FeedState.CONNECTING, FeedState.FAILED]
    assert feeds["file"].detail.startswith("video file not found")
    down = rec.states("down")
    assert FeedState.FAILED not in down and down[-1] == FeedState.STOPPED
    assert FeedState.RECONNECTING in down


# ---------------------------------------------------------------- the session


def open_session(tmp_path: Path, pool, cameras: list[SourceSpec], recorder=None):
    recorder = recorder or Recorder()
    plan = replace(load_plan(SAMPLE_DEPLOYMENT), cameras=cameras)
    session, _ = sessions.open_session(tmp_path, pool, recorder, plan)
    return session, recorder


async def start_beside_a_file_camera(
    tmp_path: Path,
    pool,
    east_spec: SourceSpec,
    street_clip: Path,
    recorder=None,
    alert_within_s: float = 20.0,
):
    """Start a session on ``east_spec`` and a south camera playing the street clip; return
    once east has raised its first alert (Alex Marsh walked past): (session, recorder,
    that alert)."""
    south_spec = SourceSpec("south", str(street_clip), loop=True)
    session, rec = open_session(tmp_path, pool, [east_spec, south_spec], recorder)
    await session.confirm_officers_present()
    await session.start()
    await until(lambda: any(a.camera == "east" for a in rec.alerts), alert_within_s, "east alert")
    return session, rec, next(a for a in rec.alerts if a.camera == "east")


def test_a_killed_camera_comes_back_and_matches_again_while_the_other_never_stops(
    tmp_path, process_pool, street_clip
):
    """The issue's "done when": kill and restart the server behind one camera of two."""

    async def scenario(server: MjpegServer) -> dict:
        east_spec = SourceSpec("east", server.url, **(FAST | {"stall_s": 2.0}))
        # Alex Marsh walks past the street camera: an alert is raised before it drops.
        session, rec, alert = await start_beside_a_file_camera(
            tmp_path, process_pool, east_spec, street_clip
        )
        east, south = session.feed("east"), session.feed("south")
        analysed = east.counters.frames_analysed
        south_before = south.counters.frames_decoded
        killed_at = time.monotonic()
        server.kill()
        await until(lambda: east.state == FeedState.RECONNECTING, 3, "reconnecting")
        await asyncio.sleep(1.5)
        assert alert.alert_id in session.pending  # still there to adjudicate
        restarted_at = time.monotonic()
        server.restart()
        await until(lambda: east.state == FeedState.LIVE, 10, "east live again")
        back_at = time.monotonic()
        south_during = south.counters.frames_decoded - south_before
        analysed_at_restart = east.counters.frames_analysed
        await until(
            lambda: east.counters.frames_analysed > analysed_at_restart + 3, 15, "matching again"
        )
        decision = await session.adjudicate(alert.alert_id, Decision.ENGAGE)
        result = {
            "rec": rec,
            "alert": alert,
            "decision": decision,
            "pending": dict(session.pending),
            "analysed_before": analysed,
            "south_decoded_during": south_during,
            "outage_s": back_at - killed_at,
            "kill_to_restart_s": restarted_at - killed_at,
            "east_status": east.status(),
            "south_states": [s for s in rec.states("south") if s != FeedState.WAITING],
        }
        await session.close()
        return result

    with MjpegServer(street_clip, fps=SERVE_FPS) as server:
        r = asyncio.run(scenario(server))
    rec = r["rec"]
    east_states = [s for s in rec.states("east") if s != FeedState.WAITING]
    assert east_states[: east_states.index(FeedState.RECONNECTING)] == [
        FeedState.CONNECTING,
        FeedState.LIVE,
    ]
    back = len(east_states) - 1 - east_states[::-1].index(FeedState.LIVE)
    assert set(east_states[2:back]) == {FeedState.RECONNECTING}
    attempts = [s.attempt for _, s in rec.statuses if s.camera == "east" and s.attempt]
    assert attempts == sorted(attempts) and max(attempts) >= 2  # attempt n, counting up
    assert r["east_status"].reconnects_last_hour == 1 and r["east_status"].stalls_last_hour == 0
    # Back within the restart time plus one backoff step (at most retry_max_s).
    assert r["outage_s"] < r["kill_to_restart_s"] + FAST["retry_max_s"] + 1.0, r["outage_s"]
    # The other camera played on at its own rate the whole time, and was never interrupted.
    assert r["south_decoded_during"] > 0.5 * SERVE_FPS * r["outage_s"]
    assert r["south_states"][:2] == [FeedState.CONNECTING, FeedState.LIVE]
    assert r["south_states"][2:] in ([], [FeedState.STOPPED])
    assert r["decision"].decision == Decision.ENGAGE
    assert r["alert"].alert_id not in r["pending"]
    assert not rec.errors


# ---------------------------------------------------------------- the window


def test_the_tile_shows_a_camera_dropping_and_coming_back(qtbot, open_sample, street_clip):
    with MjpegServer(street_clip, fps=SERVE_FPS) as server:
        plan = load_plan(SAMPLE_DEPLOYMENT).with_cameras([SourceSpec("south", server.url, **FAST)])
        console = open_sample(plan, start=False)
        window = console.window
        tile, north_tile = window.tiles["south"], window.tiles["north"]
        shown: list[FeedStatus] = []
        show_status = tile.show_status

        def recording(status: FeedStatus) -> None:
            shown.append(status)
            show_status(status)

        tile.show_status = recording
        pause_like_a_person(qtbot)
        qtbot.mouseClick(window.bar.confirm_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(console.session.deployment.officers_present_confirmed_by))
        pause_like_a_person(qtbot)
        qtbot.mouseClick(window.bar.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: "LIVE" in tile.state_text and "LIVE" in north_tile.state_text, timeout=15_000
        )
        assert server.url in tile.title.text()

        north = console.session.feed("north")
        before = north.counters.frames_decoded
        killed_at = time.monotonic()
        server.kill()
        qtbot.waitUntil(
            lambda: "RECONNECTING" in tile.state_text and "attempt 3" in tile.state_text,
            timeout=5_000,
        )
        assert "RECONNECTING" in tile.video.message and tile.video.stale
        server.restart()
        qtbot.waitUntil(lambda: "LIVE" in tile.state_text, timeout=10_000)
        outage_s = time.monotonic() - killed_at
        assert not tile.video.stale and tile.video.message == ""
        qtbot.waitUntil(lambda: "reconnects 1 " in tile.health_label.toolTip(), timeout=3_000)
        assert "stalls 0" in tile.health_label.toolTip()
        # The file camera played on meanwhile (at a fraction of its 25 fps at least: the
        # machine is shared).
        assert north.counters.frames_decoded > before + 0.3 * 25 * outage_s
        assert "LIVE" in north_tile.state_text

    states = [s.state for s in shown]
    collapsed = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert collapsed[:4] == [
        FeedState.CONNECTING,
        FeedState.LIVE,
        FeedState.RECONNECTING,
        FeedState.LIVE,
    ]
    attempts = [s.attempt for s in shown if s.state == FeedState.RECONNECTING]
    assert attempts[0] == 1 and max(attempts) >= 2
