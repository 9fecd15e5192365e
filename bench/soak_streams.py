"""Soak benchmark: the real console on two network cameras, one dropped every minute.

Two MJPEG cameras (``tests/streamserver.py``'s ``MjpegServer``, serving the sample
videos on 127.0.0.1) run in a child process of their own, so that their encoding neither
shares the console's GIL nor counts in its memory. The console is opened as
``console run`` opens it (``open_console`` on a qasync loop, real ``MainWindow`` on Qt's
offscreen platform, the product's process pool, the product's default stream timings) on
the sample deployment with its cameras replaced by the two stream URLs; a supervisor
confirms officers and starts it, and an officer adjudicates every alert two seconds after
it appears (as "false match": the queue stays short, as at a staffed desk).

Every minute, half-way through it, one camera (north, south, north, ...) is killed (TCP
reset, connection refused) and restarted ``--down`` seconds later. Measured:

- reconnect time per drop: kill -> the tile is LIVE again (p50/max), and restart -> LIVE
  (the console's own share: the rest is the camera being down);
- whether the other camera stayed LIVE through every outage, and whether the dropped one
  matched again afterwards (frames analysed increased);
- frames lost: frames the cameras produced minus frames the console decoded, and the
  part of it explained by the outages;
- memory: RSS of the console process and of its children (the analysis workers; not the
  camera process), each after warm-up, at the end, and its trend in MB per minute;
- GUI stalls: lateness of a 5 ms precise QTimer on the GUI thread over the whole run
  (p50, p99, max), and its max during outages.

    .venv/bin/python bench/soak_streams.py                 # 10 minutes
    .venv/bin/python bench/soak_streams.py --minutes 1     # a quick run

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script from anywhere: find the console and tests
    sys.path.insert(0, str(REPO))

SAMPLES = REPO / "sample_streams"
CAMERAS = ("north", "south")
TICK_MS = 5
STALL_MS = 50.0  # a GUI tick this late is counted as a visible stall
MEMORY_SAMPLE_S = 5.0


# -- the cameras, in a process of their own ----------------------------------------------
def _serve(conn: Connection, videos: list[str], width: int | None, fps: float | None) -> None:
    """Child process: run one MjpegServer per video; obey kill/restart/stats/close."""
    from tests.streamserver import MjpegServer

    servers = [MjpegServer(v, fps=fps, width=width).start() for v in videos]
    conn.send([s.url for s in servers])
    try:
        while True:
            command, index = conn.recv()
            if command == "close":
                break
            if command == "kill":
                servers[index].kill()
            elif command == "restart":
                servers[index].restart()
            if command == "stats":
                conn.send([{"produced": s.frames_produced, "sent": s.frames_sent} for s in servers])
            else:
                conn.send(time.monotonic())
    finally:
        for server in servers:
            server.close()
        conn.send("closed")


class Cameras:
    """The parent's handle on the camera process (a blocking pipe: each call < 10 ms)."""

    def __init__(self, videos: list[Path], width: int | None, fps: float | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child, [str(v) for v in videos], width, fps), daemon=True
        )
        self.process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the camera process did not start")
        self.urls: list[str] = self._conn.recv()

    def _call(self, command: str, index: int = -1) -> Any:
        self._conn.send((command, index))
        return self._conn.recv()

    def kill(self, index: int) -> None:
        self._call("kill", index)

    def restart(self, index: int) -> None:
        self._call("restart", index)

    def stats(self) -> list[dict[str, int]]:
        return self._call("stats")

    def close(self) -> None:
        try:
            self._call("close")
        finally:
            self.process.join(timeout=10)


# -- the GUI thread -----------------------------------------------------------------------
class GuiTimer:
    """Lateness of a precise 5 ms QTimer: how long the GUI thread could not run.

    Ticks go into arrays allocated (and written, so the pages are resident) up front: a
    list growing by 200 ticks a second would add a megabyte a minute to the very memory
    the soak is measuring.
    """

    def __init__(self, seconds: float) -> None:
        import numpy as np
        from PySide6.QtCore import Qt, QTimer

        capacity = int(seconds * 1000 / TICK_MS * 1.2) + 1000
        self._at = np.full(capacity, np.nan)  # monotonic time of each tick
        self._late = np.full(capacity, np.nan)  # its lateness, ms
        self._n = 0
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._last is not None and self._n < len(self._at):
            self._at[self._n] = now
            self._late[self._n] = max(0.0, (now - self._last) * 1000 - TICK_MS)
            self._n += 1
        self._last = now

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def lateness(self, start: float = 0.0, end: float = float("inf")) -> list[float]:
        at, late = self._at[: self._n], self._late[: self._n]
        return late[(at >= start) & (at <= end)].tolist()


# -- memory -------------------------------------------------------------------------------
def console_rss_mb(exclude_pid: int) -> tuple[float, float]:
    """RSS of this process (the console) and of its children (the analysis workers),
    not the cameras: ``(console, workers)`` in MB."""
    import psutil

    me = psutil.Process()
    workers = 0
    for child in me.children(recursive=True):
        if child.pid == exclude_pid:
            continue
        try:
            workers += child.memory_info().rss
        except psutil.Error:
            continue
    return me.memory_info().rss / 2**20, workers / 2**20


# -- the run ------------------------------------------------------------------------------
@dataclasses.dataclass
class Drop:
    camera: str
    killed_at: float
    restarted_at: float | None = None
    live_at: float | None = None
    other_stayed_live: bool = True
    analysed_at_live: int = 0
    analysed_later: int = 0

    @property
    def kill_to_live_s(self) -> float | None:
        return self.live_at - self.killed_at if self.live_at else None

    @property
    def restart_to_live_s(self) -> float | None:
        if self.live_at is None or self.restarted_at is None:
            return None
        return self.live_at - self.restarted_at


class Watcher:
    """Wraps the window's listener calls to see states and alerts as the officer does."""

    def __init__(self, window: Any, adjudicate_after_s: float) -> None:
        self.transitions: dict[str, list[tuple[float, str]]] = {c: [] for c in CAMERAS}
        self.alerts: dict[str, list[float]] = {c: [] for c in CAMERAS}
        self.adjudications = 0
        self._window = window
        self._after = adjudicate_after_s
        feed_status, alert_raised = window.feed_status, window.alert_raised

        def on_status(status: Any) -> None:
            seen = self.transitions.setdefault(status.camera, [])
            if not seen or seen[-1][1] != status.state.value:
                seen.append((time.monotonic(), status.state.value))
            feed_status(status)

        def on_alert(alert: Any, is_new: bool) -> None:
            alert_raised(alert, is_new)
            if is_new:
                self.alerts.setdefault(alert.camera, []).append(time.monotonic())
                loop = asyncio.get_running_loop()
                loop.call_later(self._after, self._adjudicate, alert.alert_id)

        window.feed_status, window.alert_raised = on_status, on_alert

    def _adjudicate(self, alert_id: str) -> None:
        from console.domain.alerts import Decision

        # What a click on the card's "False match" button emits.
        self._window.alerts.decided.emit(alert_id, Decision.FALSE_MATCH)
        self.adjudications += 1

    def state_at(self, camera: str, at: float) -> str:
        state = "waiting"
        for when, value in self.transitions[camera]:
            if when > at:
                break
            state = value
        return state

    def live_after(self, camera: str, after: float) -> float | None:
        return next(
            (t for t, v in self.transitions[camera] if t > after and v == "live"),
            None,
        )

    def left_live_between(self, camera: str, start: float, end: float) -> bool:
        if self.state_at(camera, start) != "live":
            return True
        return any(start < t <= end and v != "live" for t, v in self.transitions[camera])


async def open_console_on(urls: list[str], data_dir: Path, pool: Any) -> Any:
    """The console as ``console run`` opens it, on a plan whose cameras are the URLs."""
    from console.config import SAMPLE_DEPLOYMENT, load_plan
    from console.domain.officers import Role
    from console.qt.app import open_console
    from console.storage import Store
    from console.vision.sources import SourceSpec

    plan = dataclasses.replace(
        load_plan(SAMPLE_DEPLOYMENT),
        reference="SOAK-{seq}",
        cameras=[SourceSpec(name, url) for name, url in zip(CAMERAS, urls, strict=True)],
        sample=False,
    )
    store = Store.in_dir(data_dir)
    officer = store.officers.add(
        "soak", "Soak Supervisor", Role.SUPERVISOR, "benchmark-only", by="bench"
    )
    return await open_console(plan, store, officer, pool)


async def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def soak(args: argparse.Namespace, cameras: Cameras) -> dict[str, Any]:
    from console.live.feed import FeedState
    from console.vision.pool import AnalysisPool

    timer = GuiTimer(60.0 * args.minutes + 60.0)
    with tempfile.TemporaryDirectory(prefix="lfr-soak-") as data_dir, AnalysisPool() as pool:
        console = await open_console_on(cameras.urls, Path(data_dir), pool)
        window, session = console.window, console.session
        watcher = Watcher(window, args.adjudicate_after)
        await session.confirm_officers_present()
        await session.start()
        feeds = {name: session.feed(name) for name in CAMERAS}
        if not await wait_until(lambda: all(f.state == FeedState.LIVE for f in feeds.values()), 60):
            raise RuntimeError(f"cameras not live: { {n: f.state for n, f in feeds.items()} }")
        print(f"  both cameras live; warming up {args.warmup:g} s", flush=True)
        await asyncio.sleep(args.warmup)

        timer.start()
        started = time.monotonic()
        memory = [(0.0, *console_rss_mb(cameras.process.pid))]
        produced_before = cameras.stats()
        decoded_before = {n: f.counters.frames_decoded for n, f in feeds.items()}
        drops: list[Drop] = []
        drops_wanted = 0 if args.no_drops else args.minutes
        schedule = [(60.0 * k + args.drop_at, CAMERAS[k % 2]) for k in range(drops_wanted)]
        end = started + 60.0 * args.minutes
        next_memory = started + MEMORY_SAMPLE_S
        while (now := time.monotonic()) < end:
            if schedule and now - started >= schedule[0][0]:
                _, name = schedule.pop(0)
                drops.append(Drop(name, time.monotonic()))
                cameras.kill(CAMERAS.index(name))
                print(f"  {now - started:6.1f} s: killed {name}", flush=True)
            for drop in drops:
                step_drop(drop, now, args, cameras, watcher, feeds)
            if now >= next_memory:
                memory.append((now - started, *console_rss_mb(cameras.process.pid)))
                next_memory += MEMORY_SAMPLE_S
            await asyncio.sleep(0.05)
        for drop in drops:  # a drop late in the run may still be coming back
            if drop.restarted_at is None:
                cameras.restart(CAMERAS.index(drop.camera))
                drop.restarted_at = time.monotonic()
        await wait_until(lambda: all(f.state == FeedState.LIVE for f in feeds.values()), 30)
        for drop in drops:
            step_drop(drop, time.monotonic(), args, cameras, watcher, feeds)
            drop.analysed_later = feeds[drop.camera].counters.frames_analysed
        memory.append((time.monotonic() - started, *console_rss_mb(cameras.process.pid)))
        timer.stop()
        ended = time.monotonic()
        produced_after = cameras.stats()
        status = {n: f.status() for n, f in feeds.items()}
        counters = {n: dataclasses.asdict(f.counters) for n, f in feeds.items()}
        outages = {n: list(f.health.outages_s) for n, f in feeds.items()}
        pending = len(session.pending)
        await console.close()
        window.close()

    return {
        "run_s": ended - started,
        "drops": drops,
        "timer": timer,
        "memory": memory,
        "produced": {
            n: produced_after[i]["produced"] - produced_before[i]["produced"]
            for i, n in enumerate(CAMERAS)
        },
        "decoded": {n: counters[n]["frames_decoded"] - decoded_before[n] for n in CAMERAS},
        "status": status,
        "counters": counters,
        "outages": outages,
        "alerts": watcher.alerts,
        "adjudications": watcher.adjudications,
        "pending_at_end": pending,
        "transitions": watcher.transitions,
        "started": started,
    }


def step_drop(
    drop: Drop, now: float, args: argparse.Namespace, cameras: Cameras, watcher: Watcher, feeds
) -> None:
    """Restart a killed camera when its time is up; note when it is LIVE again."""
    if drop.restarted_at is None and now - drop.killed_at >= args.down:
        cameras.restart(CAMERAS.index(drop.camera))
        drop.restarted_at = time.monotonic()
    if drop.restarted_at is not None and drop.live_at is None:
        drop.live_at = watcher.live_after(drop.camera, drop.restarted_at)
        if drop.live_at is not None:
            other = next(c for c in CAMERAS if c != drop.camera)
            drop.other_stayed_live = not watcher.left_live_between(
                other, drop.killed_at, drop.live_at
            )
            drop.analysed_at_live = feeds[drop.camera].counters.frames_analysed


# -- report -------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def memory_series(
    samples: list[tuple[float, float, float]],
) -> dict[str, list[tuple[float, float]]]:
    """(time, MB) series of the console process, its workers, and both together."""
    return {
        "console": [(t, c) for t, c, _ in samples],
        "workers": [(t, w) for t, _, w in samples],
        "console + workers": [(t, c + w) for t, c, w in samples],
    }


def memory_trend_mb_per_min(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of RSS over time; the first minute (caches filling) is left out
    when the run is long enough to afford it."""
    if len(samples) > 24:
        samples = [s for s in samples if s[0] >= 60.0]
    if len(samples) < 3:
        return None
    xs, ys = [s[0] / 60 for s in samples], [s[1] for s in samples]
    return statistics.linear_regression(xs, ys).slope


def report(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, Any]:
    drops: list[Drop] = r["drops"]
    kill_live = [d.kill_to_live_s for d in drops if d.kill_to_live_s is not None]
    restart_live = [d.restart_to_live_s for d in drops if d.restart_to_live_s is not None]
    timer: GuiTimer = r["timer"]
    late = timer.lateness()
    in_outages = [
        x
        for d in drops
        for x in timer.lateness(d.killed_at, d.live_at or d.killed_at + args.down + 30)
    ]
    memory = r["memory"]
    series_by_name = memory_series(memory)
    lost = {n: r["produced"][n] - r["decoded"][n] for n in CAMERAS}
    fps = args.fps or 25.0
    outage_frames = {n: round(sum(r["outages"][n]) * fps) for n in CAMERAS}

    print("\n== soak: two network cameras, one dropped every minute (bench/soak_streams.py) ==")
    print(f"run {r['run_s']:.0f} s, {len(drops)} drop(s) of {args.down:g} s")
    for i, d in enumerate(drops, 1):
        print(
            f"  drop {i}: {d.camera:5s} kill->live {fmt(d.kill_to_live_s, ' s')}, "
            f"restart->live {fmt(d.restart_to_live_s, ' s')}, other camera stayed live: "
            f"{'yes' if d.other_stayed_live else 'NO'}, matching resumed: "
            f"{'yes' if d.analysed_later > d.analysed_at_live else 'NO'} "
            f"({d.analysed_at_live} -> {d.analysed_later} frames analysed)"
        )
    print(
        f"reconnect kill->live p50 {fmt(percentile(kill_live, 50), ' s')}, max "
        f"{fmt(max(kill_live, default=None), ' s')}; restart->live p50 "
        f"{fmt(percentile(restart_live, 50), ' s')}, "
        f"max {fmt(max(restart_live, default=None), ' s')}"
    )
    for n in CAMERAS:
        s = r["status"][n]
        print(
            f"  {n}: produced {r['produced'][n]}, decoded {r['decoded'][n]}, lost {lost[n]} "
            f"(outages explain ~{outage_frames[n]}), corrupt {s.bad_frames}, "
            f"reconnects {s.reconnects_last_hour}, stalls {s.stalls_last_hour}, "
            f"analysed {r['counters'][n]['frames_analysed']}, alerts {len(r['alerts'][n])}"
        )
    for name, series in series_by_name.items():
        values = [m for _, m in series]
        print(
            f"memory, {name}: start {values[0]:.0f} MB, end {values[-1]:.0f} MB, "
            f"max {max(values):.0f} MB, trend {fmt(memory_trend_mb_per_min(series), ' MB/min')}"
        )
    per_half_minute = [c for t, c, _ in memory if t % 30 < MEMORY_SAMPLE_S] + [memory[-1][1]]
    print(f"  console, every 30 s: {' '.join(f'{c:.0f}' for c in per_half_minute)} MB")
    print(
        f"GUI timer lateness: p50 {fmt(percentile(late, 50), ' ms', 1)}, p99 "
        f"{fmt(percentile(late, 99), ' ms', 1)}, max {fmt(max(late, default=None), ' ms', 1)}, "
        f">{STALL_MS:g} ms: {sum(x > STALL_MS for x in late)} of {len(late)} ticks; during "
        f"outages max {fmt(max(in_outages, default=None), ' ms', 1)}"
    )
    print(
        f"alerts adjudicated by the bench: {r['adjudications']}, pending at end: "
        f"{r['pending_at_end']}"
    )
    print(
        f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on "
        f"{os.cpu_count()} cores (figures are provisional on a shared machine)"
    )
    return {
        "benchmark": "soak_streams",
        "minutes": args.minutes,
        "control_no_drops": args.no_drops,
        "down_s": args.down,
        "width": args.width,
        "drops": len(drops),
        "kill_to_live_s": {
            "p50": rounded(percentile(kill_live, 50)),
            "max": rounded(max(kill_live, default=None)),
            "all": [rounded(x) for x in kill_live],
        },
        "restart_to_live_s": {
            "p50": rounded(percentile(restart_live, 50)),
            "max": rounded(max(restart_live, default=None)),
        },
        "other_camera_stayed_live": all(d.other_stayed_live for d in drops),
        "matching_resumed": all(d.analysed_later > d.analysed_at_live for d in drops),
        "frames": {
            n: {
                "produced": r["produced"][n],
                "decoded": r["decoded"][n],
                "lost": lost[n],
                "lost_in_outages_est": outage_frames[n],
                "corrupt": r["status"][n].bad_frames,
                "analysed": r["counters"][n]["frames_analysed"],
                "reconnects": r["status"][n].reconnects_last_hour,
                "stalls": r["status"][n].stalls_last_hour,
                "alerts": len(r["alerts"][n]),
            }
            for n in CAMERAS
        },
        "memory_mb": {
            name: {
                "start": rounded(series[0][1], 1),
                "end": rounded(series[-1][1], 1),
                "max": rounded(max(m for _, m in series), 1),
                "trend_mb_per_min": rounded(memory_trend_mb_per_min(series), 2),
            }
            for name, series in series_by_name.items()
        },
        "gui_lateness_ms": {
            "p50": rounded(percentile(late, 50), 1),
            "p99": rounded(percentile(late, 99), 1),
            "max": rounded(max(late, default=None), 1),
            "over_50ms": sum(x > STALL_MS for x in late),
            "ticks": len(late),
            "max_during_outages": rounded(max(in_outages, default=None), 1),
        },
        "alerts_adjudicated": r["adjudications"],
        "pending_at_end": r["pending_at_end"],
        "cpu_cores": os.cpu_count(),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=int, default=10, help="length of the run (one drop a minute)"
    )
    parser.add_argument(
        "--down", type=float, default=3.0, help="seconds a killed camera stays down"
    )
    parser.add_argument(
        "--drop-at", type=float, default=30.0, help="second of each minute at which a camera drops"
    )
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--width", type=int, default=640, help="width of the served frames")
    parser.add_argument(
        "--fps", type=float, default=None, help="served frame rate (default: the video's)"
    )
    parser.add_argument(
        "--adjudicate-after",
        type=float,
        default=2.0,
        help="seconds before the bench decides an alert",
    )
    parser.add_argument(
        "--no-drops",
        action="store_true",
        help="control run: never drop a camera (memory and GUI figures to compare against)",
    )
    parser.add_argument("--north", type=Path, default=SAMPLES / "north.mp4")
    parser.add_argument("--south", type=Path, default=SAMPLES / "south.mp4")
    args = parser.parse_args(argv)
    if args.minutes < 1:
        parser.error("--minutes must be at least 1")
    if not 0 <= args.drop_at < 60 or args.down <= 0:
        parser.error("--drop-at must be in [0, 60) and --down > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import qasync
    from PySide6.QtWidgets import QApplication

    from console.qt.app import apply_look

    drops = "no drops (control)" if args.no_drops else f"one killed for {args.down:g} s a minute"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"soak: {args.minutes} min, 2 MJPEG cameras on 127.0.0.1 ({args.width} px wide), "
        f"{drops}; cpu cores {os.cpu_count()}, load {load}",
        flush=True,
    )
    cameras = Cameras([args.north, args.south], args.width, args.fps)
    try:
        app = QApplication.instance() or QApplication([sys.argv[0]])
        apply_look(app)
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            result = loop.run_until_complete(soak(args, cameras))
    finally:
        cameras.close()
    summary = report(args, result)
    sys.stdout.flush()
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
