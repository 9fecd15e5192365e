"""Live-mode benchmark: the real console, real window, two cameras on the wall clock.

Phase 1 opens the console exactly as ``console run`` does (``open_console`` on a qasync
loop, the product's process pool, the sample deployment with the cameras replaced by the
scenario's videos, played once), lets both videos play to their end, and measures:

- alert latency: ground truth ``start_s`` (first frame with the whole face >= 80 px),
  turned into wall time with the feed's ``wall_origin``, to the moment the new alert
  reached ``MainWindow.alert_raised``;
- recall per watchlisted sighting, false alerts, duplicate alerts per sighting;
- GUI-thread stalls: lateness of a 5 ms precise QTimer while both feeds are live, with
  the console handlers that were running when a stall happened;
- CPU seconds per video second and peak RSS of the process and all its children;
- backlog: frames decoded / analysed / skipped per camera, sampled every second, and
  the lag between the wall clock and the video time on screen (flat = no backlog).

Phase 2 runs ``bench/classic_baseline.py`` (the face_recognition example recipe) on the
same videos in a separate process, then both rows are printed side by side with their
ratios. The last line of stdout is one JSON object (see bench/README.md).

    .venv/bin/python bench/live_pipeline.py [--pool thread] [--window] [--no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    EARLY_HELP,
    EARLY_SLACK_S,
    SAMPLES,
    RaisedAlert,
    TreeMonitor,
    VideoInfo,
    emit_json,
    fmt,
    percentile,
    print_score,
    print_table,
    quiet_pkg_resources_warning,
    ratio,
    read_ground_truth,
    score_alerts,
    score_row,
    video_info,
)

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from anywhere: find the console
    sys.path.insert(0, str(HERE.parent))

TICK_MS = 5
STALL_MS = 20.0  # a tick this late is a stall worth explaining
SPAN_MIN_S = 0.001  # handler calls shorter than this are counted but not kept one by one
BACKLOG_SAMPLE_S = 1.0


# -- the GUI thread ---------------------------------------------------------------------
class GuiProbe:
    """Watches the GUI thread: how late a precise timer fires, and who held the thread.

    Every console entry point that runs on the GUI thread (the window's listener calls,
    the tiles' paint, the per-frame pipeline step) is wrapped so that a stall can be put
    down to a handler, or to nothing we wrapped (Qt's own layout/painting, the asyncio
    machinery, or waiting for the GIL held by another thread).
    """

    def __init__(self, interval_ms: int = TICK_MS) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_s = interval_ms / 1000
        self.recording: Callable[[], bool] = lambda: False
        self.lateness_ms: list[float] = []
        self.stalls: list[tuple[float, float]] = []  # (tick perf time, lateness ms)
        self.spans: list[tuple[float, float, str]] = []
        self.totals: dict[str, list[float]] = {}  # name -> [calls, seconds, max seconds]
        self.errors: dict[str, int] = {}  # exceptions raised by the wrapped console code
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if not self.recording():
            self._last = None  # do not count the gap before recording starts as a stall
            return
        if self._last is not None:
            late_ms = max(0.0, (now - self._last - self.interval_s) * 1000)
            self.lateness_ms.append(late_ms)
            if late_ms >= STALL_MS:
                self.stalls.append((now, late_ms))
        self._last = now

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        totals = self.totals.setdefault(name, [0, 0.0, 0.0])
        spans = self.spans
        errors = self.errors

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                # Counted so that a run on a console that is broken (e.g. mid-edit) says
                # so; re-raised so that the console behaves exactly as without us.
                key = f"{name}: {type(exc).__name__}: {exc}"[:200]
                errors[key] = errors.get(key, 0) + 1
                raise
            finally:
                ended = time.perf_counter()
                took = ended - started
                totals[0] += 1
                totals[1] += took
                totals[2] = max(totals[2], took)
                if took >= SPAN_MIN_S:
                    spans.append((started, ended, name))

        return timed

    def attribute_stalls(self) -> dict[str, int]:
        """For each stall: the wrapped handler that covered most of it, if any did."""
        causes: dict[str, int] = {}
        for tick, late_ms in self.stalls:
            blocked_from = tick - late_ms / 1000
            covered: dict[str, float] = {}
            for start, end, name in self.spans:
                overlap = min(end, tick) - max(start, blocked_from)
                if overlap > 0:
                    covered[name] = covered.get(name, 0.0) + overlap
            name, seconds = max(covered.items(), key=lambda kv: kv[1], default=("", 0.0))
            cause = name if seconds * 1000 >= 0.5 * late_ms else "unattributed"
            causes[cause] = causes.get(cause, 0) + 1
        return causes


# -- the console phase -------------------------------------------------------------------
@dataclasses.dataclass
class ConsoleRun:
    alerts: list[RaisedAlert]
    wall_origins: dict[str, float]
    counters: dict[str, dict[str, int]]
    states: dict[str, str]
    backlog: dict[str, list[dict[str, float]]]
    analysis_age_s: dict[str, list[tuple[float, float]]]  # camera -> (wall, age of frame)
    round_trip_s: list[float]
    frames_shown: dict[str, int]
    probe: GuiProbe
    open_s: float
    run_wall_s: float
    cpu_own_s: float
    cpu_children_s: float
    peak_rss_bytes: int
    peak_processes: int
    card_build_s: list[float]
    timed_out: bool


async def run_console(
    args: argparse.Namespace, infos: dict[str, VideoInfo], monitor: TreeMonitor
) -> ConsoleRun:
    from console.live.feed import FeedState
    from console.qt.camera_tile import VideoView
    from console.vision.pool import AnalysisPool

    probe = GuiProbe()
    # Class-level: PySide dispatches the paint virtual through the Python class.
    VideoView.paintEvent = probe.wrap("tile paintEvent", VideoView.paintEvent)

    with (
        tempfile.TemporaryDirectory(prefix="lfr-bench-") as data_dir,
        AnalysisPool(kind=args.pool) as pool,
    ):
        if args.pool == "process":
            # Start both workers (each loads the dlib models) before the clock starts, as
            # a console does while the officer reads the enrolment message.
            warm = [pool.run(time.sleep, 0.5) for _ in range(pool.workers)]
            await asyncio.gather(*(asyncio.wrap_future(f) for f in warm))

        round_trip: list[float] = []
        original_analyse = pool.analyse

        def analyse(frame_bgr: np.ndarray) -> Any:
            submitted = time.perf_counter()
            future = original_analyse(frame_bgr)
            future.add_done_callback(lambda _f: round_trip.append(time.perf_counter() - submitted))
            return future

        pool.analyse = analyse  # type: ignore[method-assign]

        opened = time.perf_counter()
        console, start_feeds = await open_for_benchmark(args, infos, Path(data_dir), pool)
        open_s = time.perf_counter() - opened
        window, session = console.window, console.session

        alerts: list[RaisedAlert] = []
        card_build: list[float] = []
        original_alert_raised = window.alert_raised

        def alert_raised(alert: Any, is_new: bool) -> None:
            arrived = time.time()
            if is_new:
                alerts.append(RaisedAlert(alert.camera, alert.subject_id, alert.t, arrived))
            started = time.perf_counter()
            original_alert_raised(alert, is_new)
            if is_new:
                card_build.append(time.perf_counter() - started)

        window.alert_raised = probe.wrap("alert_raised", alert_raised)
        frames_shown = {name: 0 for name in infos}
        original_feed_frame = window.feed_frame

        def feed_frame(
            camera: str, preview_rgb: np.ndarray, scale: float, index: int | None = None
        ) -> None:
            frames_shown[camera] += 1
            original_feed_frame(camera, preview_rgb, scale, index)

        window.feed_frame = probe.wrap("feed_frame", feed_frame)
        window.feed_faces = probe.wrap("feed_faces", window.feed_faces)
        window.feed_status = probe.wrap("feed_status", window.feed_status)

        ages: dict[str, list[tuple[float, float]]] = {name: [] for name in infos}
        for feed in session.feeds:
            feed.pipeline.process = probe.wrap(
                "pipeline.process", _age_recorder(feed, ages[feed.spec.camera])
            )

        feeds = session.feeds
        probe.recording = lambda: all(f.state == FeedState.LIVE for f in feeds)
        # No feed task has run yet (they were created without an await since): everything
        # patched above sees the first frame, and the CPU count starts with the feeds.
        if start_feeds is not None:
            await start_feeds()
        cpu_before = monitor.sample()
        probe.start()
        started = time.time()
        deadline = started + args.timeout
        backlog: dict[str, list[dict[str, float]]] = {f.spec.camera: [] for f in feeds}
        finished = {FeedState.ENDED, FeedState.FAILED, FeedState.STOPPED}
        next_sample = started
        ended_at: float | None = None
        while True:
            await asyncio.sleep(0.1)
            now = time.time()
            if now >= next_sample:
                next_sample += BACKLOG_SAMPLE_S
                _sample_backlog(feeds, infos, backlog, now - started)
            if ended_at is None and all(f.state in finished for f in feeds):
                ended_at = now
            if ended_at is not None and now - ended_at >= args.grace:
                break
            if now >= deadline:
                break
        probe.stop()
        cpu_after = monitor.sample()
        run_wall_s = time.time() - started
        counters = {f.spec.camera: dataclasses.asdict(f.counters) for f in feeds}
        states = {f.spec.camera: str(f.state) for f in feeds}
        origins = {f.spec.camera: f.wall_origin for f in feeds if f.wall_origin is not None}
        await console.close()
        window.close()
    own, children = monitor.split_between(cpu_before, cpu_after)
    return ConsoleRun(
        alerts=alerts,
        wall_origins=origins,
        counters=counters,
        states=states,
        backlog=backlog,
        analysis_age_s=ages,
        round_trip_s=round_trip,
        frames_shown=frames_shown,
        probe=probe,
        open_s=open_s,
        run_wall_s=run_wall_s,
        cpu_own_s=own,
        cpu_children_s=children,
        peak_rss_bytes=monitor.peak_rss,
        peak_processes=monitor.peak_processes,
        card_build_s=card_build,
        timed_out=ended_at is None,
    )


async def open_for_benchmark(
    args: argparse.Namespace, infos: dict[str, VideoInfo], data_dir: Path, pool: Any
) -> tuple[Any, Callable[[], Awaitable[None]] | None]:
    """Open the console as an officer would; returns it and how to start its cameras.

    The console's opening API is changing while this benchmark is written, so both
    generations are handled here, and only here:
    - ``open_console(deployment, data_dir, officer, pool)`` (up to d010acd) enrols the
      watchlist and starts the feeds itself;
    - ``open_console(plan, store, officer, pool)`` (deployments with safeguards) opens a
      planned deployment with its cameras off: a supervisor confirms officers on the
      ground and starts it, which starts the feeds.
    """
    import console.config as config
    from console.qt.app import open_console
    from console.vision.sources import SourceSpec

    cameras = [SourceSpec(name, str(info.path), loop=False) for name, info in infos.items()]
    watchlist = args.watchlist.resolve()
    parameters = list(inspect.signature(open_console).parameters)
    if parameters[:2] == ["deployment", "data_dir"]:
        deployment = dataclasses.replace(
            config.load_deployment(config.SAMPLE_DEPLOYMENT), cameras=cameras, watchlist=watchlist
        )
        args.console_api = "open_console(deployment, data_dir, officer, pool)"
        return await open_console(deployment, data_dir, "PC 0000 Bench", pool), None

    from console.domain.officers import Role
    from console.storage import Store

    plan = dataclasses.replace(
        config.load_plan(config.SAMPLE_DEPLOYMENT),
        reference="BENCH-{seq}",
        cameras=cameras,
        watchlist=watchlist,
        sample=False,
    )
    store = Store.in_dir(data_dir)
    officer = store.officers.add(
        "bench", "Benchmark Supervisor", Role.SUPERVISOR, "benchmark-only", by="bench"
    )
    args.console_api = "open_console(plan, store, officer, pool) + confirm officers + start"
    console = await open_console(plan, store, officer, pool)

    async def start() -> None:
        await console.session.confirm_officers_present()
        await console.session.start()

    return console, start


def _age_recorder(feed: Any, ages: list[tuple[float, float]]) -> Callable[..., Any]:
    """Wrap a feed's pipeline step to record how old each analysed frame is on arrival."""
    original = feed.pipeline.process

    def process(frame: Any, faces: Any) -> Any:
        now = time.time()
        if feed.wall_origin is not None:
            ages.append((now, now - (feed.wall_origin + frame.t)))
        return original(frame, faces)

    return process


def _sample_backlog(
    feeds: list[Any],
    infos: dict[str, VideoInfo],
    backlog: dict[str, list[dict[str, float]]],
    elapsed: float,
) -> None:
    from console.live.feed import FeedState

    now = time.time()
    for feed in feeds:
        if feed.state != FeedState.LIVE or feed.wall_origin is None:
            continue
        c = feed.counters
        fps = infos[feed.spec.camera].fps
        due_t = now - feed.wall_origin
        shown_t = max(0, c.frames_decoded - 1) / fps
        backlog[feed.spec.camera].append(
            {
                "elapsed_s": round(elapsed, 2),
                "video_due_s": round(due_t, 3),
                "video_shown_s": round(shown_t, 3),
                "lag_s": round(due_t - shown_t, 3),
                "decoded": c.frames_decoded,
                "analysed": c.frames_analysed,
                "skipped": c.frames_skipped,
            }
        )


def summarise_backlog(samples: list[dict[str, float]]) -> dict[str, Any]:
    """Lag of the picture behind the wall clock: first, last, max and its trend."""
    if len(samples) < 2:
        return {"samples": len(samples)}
    x = np.array([s["elapsed_s"] for s in samples])
    lag = np.array([s["lag_s"] for s in samples])
    slope = float(np.polyfit(x, lag, 1)[0])
    return {
        "samples": len(samples),
        "lag_first_s": float(lag[0]),
        "lag_last_s": float(lag[-1]),
        "lag_max_s": float(lag.max()),
        "lag_trend_ms_per_min": round(slope * 60_000, 2),
    }


def summarise_ages(ages: list[tuple[float, float]]) -> dict[str, Any]:
    """Age of analysed frames when their result reaches the GUI, first half vs second."""
    if len(ages) < 4:
        return {"results": len(ages)}
    values = [a for _, a in ages]
    half = len(values) // 2
    return {
        "results": len(values),
        "p50_first_half_s": round(float(np.median(values[:half])), 3),
        "p50_second_half_s": round(float(np.median(values[half:])), 3),
        "p95_s": round(percentile(values, 95) or 0.0, 3),
        "max_s": round(max(values), 3),
    }


def console_phase(args: argparse.Namespace, infos: dict[str, VideoInfo]) -> ConsoleRun:
    import qasync
    from PySide6.QtWidgets import QApplication

    from console.qt.app import apply_look

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("LFR console (benchmark)")
    apply_look(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with TreeMonitor() as monitor, loop:
        return loop.run_until_complete(run_console(args, infos, monitor))


# -- the baseline phase ------------------------------------------------------------------
def baseline_phase(args: argparse.Namespace) -> dict[str, Any] | None:
    """Run classic_baseline.py in its own process (its CPU and memory are its own)."""
    command = [
        sys.executable,
        str(HERE / "classic_baseline.py"),
        "--north", str(args.north),
        "--south", str(args.south),
        "--ground-truth", str(args.ground_truth),
        "--watchlist", str(args.watchlist),
        "--early-slack", str(args.early_slack),
    ]  # fmt: skip
    print("\n== phase 2: classic face_recognition recipe (bench/classic_baseline.py) ==")
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.strip():
                last = line
            if not line.startswith("{"):
                print(f"  | {line}")
    if proc.returncode != 0:
        print(f"baseline failed with exit code {proc.returncode}")
        return None
    try:
        return json.loads(last)
    except json.JSONDecodeError:
        print("baseline printed no JSON result")
        return None


# -- report -------------------------------------------------------------------------------
def console_row(run: ConsoleRun, args: argparse.Namespace, video_s: float) -> dict[str, Any]:
    truth = read_ground_truth(args.ground_truth)
    score = score_alerts(run.alerts, truth, run.wall_origins, args.early_slack)
    row = score_row(score, score_alerts(run.alerts, truth, run.wall_origins))
    stalls = run.probe.lateness_ms
    row.update(
        {
            "alerts": len(run.alerts),
            "gui_stall_p99_ms": _r(percentile(stalls, 99), 1),
            "gui_stall_max_ms": _r(max(stalls) if stalls else None, 1),
            "cpu_s_per_video_s": round((run.cpu_own_s + run.cpu_children_s) / video_s, 3),
            "peak_rss_mb": round(run.peak_rss_bytes / 2**20, 1),
        }
    )
    print_score(score, "console")
    return row | {"_per_sighting": score.per_sighting}


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def print_console_details(run: ConsoleRun, args: argparse.Namespace, video_s: float) -> dict:
    """Print what explains the row (backlog, stalls, CPU split); return it for the JSON."""
    print(f"\nconsole opened with {getattr(args, 'console_api', '?')}")
    print(f"open_console (window, enrolment on the pool, record): {run.open_s:.2f} s")
    print(
        f"run: {run.run_wall_s:.1f} s wall for {video_s:.1f} s of video"
        + ("  (TIMED OUT)" if run.timed_out else "")
    )
    backlog = {}
    print("\nbacklog per camera (frames; lag = wall-clock video time minus video time shown)")
    for camera, c in run.counters.items():
        summary = summarise_backlog(run.backlog[camera])
        ages = summarise_ages(run.analysis_age_s[camera])
        backlog[camera] = {
            "state": run.states[camera],
            "counters": c,
            "frames_shown": run.frames_shown[camera],
            "display_lag": summary,
            "analysed_frame_age": ages,
            "timeline": run.backlog[camera][:: max(1, len(run.backlog[camera]) // 12)],
        }
        print(
            f"  {camera}: {run.states[camera]}; decoded {c['frames_decoded']}, analysed "
            f"{c['frames_analysed']} ({c['frames_analysed'] / video_s:.1f}/s), skipped "
            f"{c['frames_skipped']}, faces {c['faces_detected']}, shown {run.frames_shown[camera]}"
        )
        if "lag_first_s" in summary:
            print(
                f"    display lag: first {summary['lag_first_s'] * 1000:.0f} ms, last "
                f"{summary['lag_last_s'] * 1000:.0f} ms, max {summary['lag_max_s'] * 1000:.0f}"
                f" ms, trend {summary['lag_trend_ms_per_min']:+.1f} ms/min"
            )
        if "p50_first_half_s" in ages:
            print(
                f"    analysed frame age at GUI: p50 {ages['p50_first_half_s']:.3f} s (first "
                f"half) -> {ages['p50_second_half_s']:.3f} s (second half), p95 "
                f"{ages['p95_s']:.3f} s, max {ages['max_s']:.3f} s"
            )
        timeline = run.backlog[camera]
        step = max(1, len(timeline) // 6)
        points = ", ".join(
            f"{s['elapsed_s']:.0f}s:{s['decoded']}/{s['analysed']}/{s['skipped']}"
            for s in timeline[::step]
        )
        print(f"    decoded/analysed/skipped over time: {points}")

    rt = run.round_trip_s
    rt_p50, rt_p95 = _ms(percentile(rt, 50)), _ms(percentile(rt, 95))
    print(
        f"\nanalysis round trip (submit -> faces back), {len(rt)} frames: "
        f"p50 {fmt(rt_p50, 0, ' ms')}, p95 {fmt(rt_p95, 0, ' ms')}"
    )
    cpu_total = run.cpu_own_s + run.cpu_children_s
    analysed = sum(c["frames_analysed"] for c in run.counters.values())
    worker_ms_per_frame = run.cpu_children_s / max(analysed, 1) * 1000
    if args.pool == "thread":
        split = "all in the console process (analysis runs on its threads)"
    else:
        split = (
            f"console process {run.cpu_own_s:.1f} s (decode, preview, Qt, asyncio) + pool "
            f"workers {run.cpu_children_s:.1f} s (dlib HOG + encodings; "
            f"{worker_ms_per_frame:.0f} ms per analysed frame)"
        )
    print(
        f"CPU over the run: {cpu_total:.1f} s, {split}; peak {run.peak_processes} processes, "
        f"{run.peak_rss_bytes / 2**20:.0f} MB RSS"
    )

    probe = run.probe
    lat = probe.lateness_ms
    causes = probe.attribute_stalls()
    print(
        f"\nGUI thread ({TICK_MS} ms precise timer, {len(lat)} ticks while both feeds live): "
        f"p50 {fmt(percentile(lat, 50), 1, ' ms')}, p99 {fmt(percentile(lat, 99), 1, ' ms')}, "
        f"max {fmt(max(lat) if lat else None, 1, ' ms')}; {len(probe.stalls)} ticks "
        f">= {STALL_MS:.0f} ms late"
    )
    if causes:
        print(
            "  stalls by the handler that covered most of them: "
            + ", ".join(
                f"{name} {count}" for name, count in sorted(causes.items(), key=lambda kv: -kv[1])
            )
        )
    print("  time in console handlers on the GUI thread:")
    handlers = {}
    for name, (calls, total, longest) in sorted(probe.totals.items(), key=lambda kv: -kv[1][1]):
        handlers[name] = {
            "calls": int(calls),
            "total_s": round(total, 3),
            "mean_ms": round(total / calls * 1000, 3) if calls else None,
            "max_ms": round(longest * 1000, 1),
        }
        if calls:
            print(
                f"    {name:<18} {int(calls):>6} calls, {total:6.2f} s, "
                f"mean {total / calls * 1000:6.2f} ms, max {longest * 1000:6.1f} ms"
            )
    if probe.errors:
        print("  WARNING: the console raised exceptions during the run; figures may be invalid:")
        for message, count in probe.errors.items():
            print(f"    {count:>4} x {message}")
    if run.card_build_s:
        print(f"  new alert card built in: max {max(run.card_build_s) * 1000:.1f} ms")
    return {
        "open_console_s": round(run.open_s, 2),
        "run_wall_s": round(run.run_wall_s, 1),
        "timed_out": run.timed_out,
        "cameras": backlog,
        "analysis_round_trip_ms": {
            "frames": len(rt),
            "p50": _r(_ms(percentile(rt, 50)), 1),
            "p95": _r(_ms(percentile(rt, 95)), 1),
        },
        "cpu_s": {
            "console_process": round(run.cpu_own_s, 2),
            "pool_workers": round(run.cpu_children_s, 2),
            "worker_ms_per_analysed_frame": round(worker_ms_per_frame, 1),
        },
        "gui": {
            "ticks": len(lat),
            "p50_ms": _r(percentile(lat, 50), 2),
            "stalls_over_20ms": len(probe.stalls),
            "stall_causes": causes,
            "handlers": handlers,
            "console_errors": probe.errors,
        },
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


ROW_COLUMNS = [
    ("lat p50", "latency_p50_s", 2, " s"),
    ("lat p95", "latency_p95_s", 2, " s"),
    ("recall", "recall", 2, ""),
    ("false", "false_alerts", 0, ""),
    ("dup", "duplicate_alerts", 0, ""),
    ("alerts/sighting", "alerts_per_alerted_sighting", 2, ""),
    ("GUI p99", "gui_stall_p99_ms", 1, " ms"),
    ("GUI max", "gui_stall_max_ms", 1, " ms"),
    ("CPU s/video s", "cpu_s_per_video_s", 2, ""),
    ("peak MB", "peak_rss_mb", 0, ""),
]


def print_comparison(rows: dict[str, dict[str, Any] | None]) -> dict[str, float | None]:
    console, baseline = rows["console"], rows["baseline"]
    ratios: dict[str, float | None] = {}
    if console and baseline:
        ratios = {key: ratio(console.get(key), baseline.get(key)) for _, key, _, _ in ROW_COLUMNS}
    table = []
    for name, row in rows.items():
        if row is None:
            continue
        cells = [name]
        for _, key, digits, unit in ROW_COLUMNS:
            value = row.get(key)
            if key == "recall" and value is not None:
                cells.append(f"{value:.2f} ({row['sightings_alerted']}/{row['sightings']})")
            else:
                cells.append(
                    fmt(float(value) if digits else value, digits, unit)
                    if value is not None
                    else "n/a"
                )
        table.append(cells)
    if ratios:
        table.append(["console/baseline", *(fmt(ratios[k], 2) for _, k, _, _ in ROW_COLUMNS)])
    print()
    print_table(["", *(c[0] for c in ROW_COLUMNS)], table)
    return ratios


# -- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--north", type=Path, default=SAMPLES / "north.mp4")
    parser.add_argument("--south", type=Path, default=SAMPLES / "south.mp4")
    parser.add_argument("--ground-truth", type=Path, default=SAMPLES / "ground_truth.csv")
    parser.add_argument(
        "--watchlist",
        type=Path,
        default=SAMPLES / "watchlist",
        help="watchlist folder the ground truth's subject_ids come from",
    )
    parser.add_argument(
        "--pool",
        choices=("process", "thread"),
        default="process",
        help="the console's analysis pool (the product uses process)",
    )
    parser.add_argument(
        "--window",
        action="store_true",
        help="a real window on $DISPLAY instead of Qt's offscreen platform",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="give up after this many seconds (default: video length + 60)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=2.0,
        help="seconds to wait after both videos ended, for in-flight analysis",
    )
    parser.add_argument("--early-slack", type=float, default=EARLY_SLACK_S, help=EARLY_HELP)
    parser.add_argument("--no-baseline", action="store_true", help="skip phase 2")
    return parser.parse_args(argv)


def choose_platform(window: bool) -> str:
    """Offscreen unless a real window is asked for and there is a display to show it on."""
    if window and os.environ.get("DISPLAY"):
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
            del os.environ["QT_QPA_PLATFORM"]
        return f"window on DISPLAY={os.environ['DISPLAY']}"
    if window:
        print("--window given but DISPLAY is not set: using the offscreen platform")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return "offscreen"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_pkg_resources_warning()
    platform = choose_platform(args.window)
    infos = {"north": video_info(args.north), "south": video_info(args.south)}
    video_s = max(i.duration_s for i in infos.values())
    args.timeout = args.timeout or video_s + 60
    print("== phase 1: the console, live, real window (bench/live_pipeline.py) ==")
    for name, info in infos.items():
        print(
            f"  {name}: {info.path} {info.width}x{info.height} {info.fps:g} fps "
            f"{info.duration_s:.1f} s"
        )
    print(
        f"  pool: {args.pool}; Qt: {platform}; cpu cores: {os.cpu_count()}; "
        f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )

    run = console_phase(args, infos)
    row = console_row(run, args, video_s)
    per_sighting = row.pop("_per_sighting")
    details = print_console_details(run, args, video_s)

    baseline = None if args.no_baseline else baseline_phase(args)
    baseline_row = baseline["baseline"] if baseline else None

    print("\n== live pipeline: console vs classic recipe, same videos, wall clock ==")
    ratios = print_comparison({"console": row, "baseline": baseline_row})
    for name, r in (("console", row), ("baseline", baseline_row)):
        if r and "strict_recall" in r:
            print(
                f"{name} on the issue's literal window [start_s, end_s + 1 s], no early slack: "
                f"recall {fmt(r['strict_recall'], 2)}, false alerts {r['strict_false_alerts']}, "
                f"latency p50 {fmt(r['strict_latency_p50_s'], 2, ' s')}"
            )
    print(
        f"early slack {args.early_slack:g} s: an alert for the right subject this long before "
        "start_s counts for its sighting, with a negative latency."
    )
    print(
        "GUI stall is n/a for the baseline (it has no window); ratios are console/baseline, "
        "n/a where the baseline's figure is 0 or missing."
    )
    print(
        f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(figures are provisional on a shared 2-core machine)"
    )
    emit_json(
        {
            "benchmark": "live_pipeline",
            "scenario": {
                "videos": {n: str(i.path) for n, i in infos.items()},
                "ground_truth": str(args.ground_truth),
                "video_s": round(video_s, 2),
                "pool": args.pool,
                "qt": platform,
                "console_api": getattr(args, "console_api", None),
            },
            "console": row,
            "baseline": baseline_row,
            "ratios": ratios,
            "console_details": details | {"per_sighting": per_sighting},
            "baseline_details": (
                {k: v for k, v in baseline.items() if k not in ("baseline", "benchmark")}
                if baseline
                else None
            ),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
