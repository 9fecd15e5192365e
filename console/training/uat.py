"""``python -m console uat SCENARIO_DIR``: user acceptance test on a scenario.

Replays the scenario's cameras headless through the console's own pipeline (the
watchlist enrolled as the console enrols it, the same analysis pool, matcher and
sighting rules as ``console.replay``), compares the alerts with the scenario's ground
truth and prints, per appearance, whether and how fast the console alerted. Exits 0 when
every expectation is met within the scenario's tolerances, 1 when one is not (a line
starting ``FAIL:`` says which), 2 when the scenario itself is faulty.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from console.domain.alerts import Alert
from console.domain.watchlist import Watchlist, WatchlistError
from console.training.scenarios import (
    CameraRun,
    Scenario,
    ScenarioCamera,
    ScenarioError,
    evaluate,
    load_scenario,
)

if TYPE_CHECKING:
    from console.vision.pool import AnalysisPool

# (stage, done, total), called from worker threads while a scenario is prepared.
Progress = Callable[[str, int, int], None]

HELP = "run a scenario headless and check its alerts against the scenario's ground truth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario folder (or its scenario.toml)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="match threshold instead of the scenario's (to show trainees its effect)",
    )
    parser.add_argument("--alerts", type=Path, help="also write the alerts here (JSON lines)")


def run(args: argparse.Namespace, pool: AnalysisPool | None = None) -> int:
    """The command: 0 passed, 1 an expectation failed, 2 the scenario is faulty.

    *pool* lets a caller (the test suite) lend a running analysis pool; without one a
    pool is started for the run and stopped after it.
    """
    from console.replay import write_alerts
    from console.vision.pool import AnalysisPool

    try:
        scenario = load_scenario(args.scenario)
        if args.threshold is not None:
            if not 0 < args.threshold <= 1:
                raise ScenarioError(f"--threshold must be in (0, 1], not {args.threshold}")
            scenario = replace(scenario, threshold=args.threshold)
        started = time.monotonic()
        if pool is None:
            with AnalysisPool() as own_pool:
                alerts, runs = replay_scenario(scenario, own_pool)
        else:
            alerts, runs = replay_scenario(scenario, pool)
    except (ScenarioError, WatchlistError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(scenario, alerts, runs)
    print("\n".join(report.lines()))
    print(f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    if args.alerts:
        with args.alerts.open("w") as out:
            write_alerts(alerts, out)
    return 0 if report.passed else 1


def replay_scenario(
    scenario: Scenario,
    pool: AnalysisPool,
    progress: Progress | None = None,
    views: dict[str, dict[int, list]] | None = None,
) -> tuple[list[Alert], dict[str, CameraRun]]:
    """Enrol the scenario's watchlist and replay every camera; a camera whose video
    cannot be read is reported as failed, and the others still run.

    A progress line goes to stderr (a terminal, not --quiet); *progress* is also called
    with (stage, done, total) from worker threads, for a window's progress bar. *views*,
    when given, receives each camera's faces per analysed frame index."""
    from console.progress import ProgressLine, video_frames
    from console.vision.enrolment import enrol_watchlist

    enrolling = ProgressLine("enrolling watchlist", 0, unit="images")

    def enrolled(done: int, total: int) -> None:
        enrolling.update(done, total)
        if progress is not None:
            progress("Enrolling the watchlist", done, total)

    watchlist = enrol_watchlist(scenario.watchlist, enrolled, pool=pool)
    enrolling.finish()
    total = sum(video_frames(c.video) for c in scenario.cameras)
    replaying = ProgressLine(f"replaying {scenario.name}", total)

    def frame_done() -> None:
        replaying.advance()
        if progress is not None:
            progress("Working out the alerts", replaying.done, total)
    print(
        f"replaying {scenario.name}: {len(scenario.cameras)} camera(s), "
        f"watchlist of {len(watchlist)}",
        file=sys.stderr,
        flush=True,
    )
    # One replay per camera, side by side: console.replay.replay stops the whole run
    # when one camera's source raises, and an acceptance run must see the others out.
    with ThreadPoolExecutor(len(scenario.cameras), thread_name_prefix="uat") as cameras:
        futures = [
            cameras.submit(
                _replay_camera, camera, scenario, watchlist, pool, frame_done, views
            )
            for camera in scenario.cameras
        ]
        results = [f.result() for f in futures]
    replaying.finish()
    alerts = sorted((a for found, _ in results for a in found), key=lambda a: (a.t, a.camera))
    return alerts, {run.camera: run for _, run in results}


def _keep_view(into: dict[int, list]) -> Callable[[str, int, list], None]:
    """Where the faces found on each analysed frame are kept (for the trainer's tiles)."""

    def keep(camera: str, index: int, boxes: list) -> None:
        into[index] = boxes

    return keep


def _replay_camera(
    camera: ScenarioCamera,
    scenario: Scenario,
    watchlist: Watchlist,
    pool: AnalysisPool,
    on_frame: Callable[[], None] | None = None,
    views: dict[str, dict[int, list]] | None = None,
) -> tuple[list[Alert], CameraRun]:
    from console.replay import replay
    from console.vision.sources import SourceError, SourceSpec, VideoSource

    spec = SourceSpec(camera.name, str(camera.video))
    try:
        with VideoSource(spec) as source:  # the frame rate, to turn frames into seconds
            fps = source.fps
        alerts, summary = replay(
            [spec],
            watchlist,
            pool,
            scenario.threshold,
            scenario.analyses_per_second,
            on_frame,
            None if views is None else _keep_view(views.setdefault(camera.name, {})),
        )
    except SourceError as exc:
        # Raised only when the video cannot be opened or its first frame decoded: a file
        # that breaks off later simply ends early (console.vision.sources).
        return [], CameraRun(camera.name, 0, 0.0, error=str(exc))
    counters = summary.cameras[camera.name]
    return alerts, CameraRun(
        camera=camera.name,
        frames_decoded=counters.frames_decoded,
        stopped_at=counters.frames_decoded / fps,
        frames_analysed=counters.frames_analysed,
        faces_detected=counters.faces_detected,
        faces_rejected=counters.faces_rejected,
    )
