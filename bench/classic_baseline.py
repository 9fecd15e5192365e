"""The classic face_recognition webcam recipe, run live on the scenario as a baseline.

What face_recognition's ``facerec_from_webcam_faster.py`` example does, per camera:
every other frame, shrink to 1/4, ``face_locations`` (HOG, its default upsample 1) and
``face_encodings`` on the small frame, ``compare_faces(known, encoding, tolerance=0.6)``
with the nearest known face as the name, and one alert per matching face per frame
(no tracking, no "two frames of evidence").

Each camera is one copy of that script, in its own process, as someone would run the
example twice: face_recognition's module-level HOG detector releases the GIL and is not
safe to share between two threads. Frames are delivered on the wall clock by a reader
thread that keeps only the newest frame, as a live camera would; frames the loop cannot
keep up with are overwritten and counted as skipped.

    .venv/bin/python bench/classic_baseline.py [--north N.mp4 --south S.mp4 ...]

The last line of stdout is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import psutil
from benchlib import (
    EARLY_HELP,
    EARLY_SLACK_S,
    SAMPLES,
    RaisedAlert,
    TreeMonitor,
    emit_json,
    fmt,
    print_score,
    print_table,
    quiet_pkg_resources_warning,
    read_ground_truth,
    score_alerts,
    score_row,
    video_info,
)

TOLERANCE = 0.6  # the library's default, as the example uses it
SCALE = 0.25


@dataclass(frozen=True)
class CameraJob:
    camera: str
    path: str
    watchlist_dir: str


class LatestFrameCamera:
    """Plays a video file on the wall clock and keeps only the newest decoded frame.

    A live camera does not wait for its consumer: whatever the loop has not read when
    the next frame arrives is gone.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.wall_origin: float | None = None
        self.decoded = 0
        self.overwritten = 0
        self._cond = threading.Condition()
        self._latest: tuple[Any, int, float] | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        capture = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            t = index / fps
            if self.wall_origin is None:
                self.wall_origin = time.time() - t
            delay = self.wall_origin + t - time.time()
            if delay > 0:
                time.sleep(delay)
            with self._cond:
                if self._latest is not None:
                    self.overwritten += 1
                self._latest = (image, index, t)
                self.decoded += 1
                self._cond.notify()
            index += 1
        capture.release()
        with self._cond:
            self._ended = True
            self._cond.notify()

    def read(self) -> tuple[Any, int, float] | None:
        """The newest frame not read yet (waits for it), or None once the video ended."""
        with self._cond:
            while self._latest is None and not self._ended:
                self._cond.wait()
            item, self._latest = self._latest, None
            return item


def load_known_faces(watchlist_dir: Path) -> tuple[list[Any], list[str]]:
    """The example's way: load_image_file, face_encodings(image)[0] (no checks)."""
    import face_recognition

    encodings, ids = [], []
    with (watchlist_dir / "watchlist.csv").open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            image = face_recognition.load_image_file(str(watchlist_dir / row["image"]))
            found = face_recognition.face_encodings(image)
            if found:  # the example would crash on IndexError; skip so the run can go on
                encodings.append(found[0])
                ids.append(row["subject_id"])
    return encodings, ids


def run_camera(job: CameraJob, ready: Any, go: Any, results: Any) -> None:
    """One copy of the example script (runs in a child process)."""
    import face_recognition
    import numpy as np

    known, known_ids = load_known_faces(Path(job.watchlist_dir))
    ready.put((job.camera, len(known)))
    go.wait()
    me = psutil.Process()
    cpu_start = me.cpu_times()
    camera = LatestFrameCamera(job.path)
    camera.start()
    alerts: list[tuple[str, str, float, float]] = []
    read = processed = faces = 0
    busy_s = 0.0
    process_this_frame = True
    while (item := camera.read()) is not None:
        frame, _index, t = item
        read += 1
        if process_this_frame:
            started = time.perf_counter()
            small = cv2.resize(frame, (0, 0), fx=SCALE, fy=SCALE)
            rgb_small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
            locations = face_recognition.face_locations(rgb_small)
            encodings = face_recognition.face_encodings(rgb_small, locations)
            faces += len(locations)
            for encoding in encodings:
                matches = face_recognition.compare_faces(known, encoding, tolerance=TOLERANCE)
                if not any(matches):
                    continue
                best = int(np.argmin(face_recognition.face_distance(known, encoding)))
                if matches[best]:
                    alerts.append((job.camera, known_ids[best], t, time.time()))
            processed += 1
            busy_s += time.perf_counter() - started
        process_this_frame = not process_this_frame
    cpu_end = me.cpu_times()
    results.put(
        {
            "camera": job.camera,
            "wall_origin": camera.wall_origin,
            "alerts": alerts,
            "frames_decoded": camera.decoded,
            "frames_read": read,
            "frames_processed": processed,
            "frames_overwritten": camera.overwritten,
            "faces_detected": faces,
            "busy_s": busy_s,
            "cpu_s": (cpu_end.user + cpu_end.system) - (cpu_start.user + cpu_start.system),
        }
    )


def run_baseline(cameras: dict[str, Path], watchlist_dir: Path, timeout_s: float) -> dict[str, Any]:
    """Run both cameras side by side; returns per-camera results and resource figures."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    with TreeMonitor() as monitor:
        procs = [
            ctx.Process(
                target=run_camera,
                args=(CameraJob(name, str(path), str(watchlist_dir)), ready, go, results),
                name=f"classic-{name}",
            )
            for name, path in cameras.items()
        ]
        for proc in procs:
            proc.start()
        known = dict(ready.get(timeout=120) for _ in procs)
        # Start both cameras together, once each copy has loaded its models and faces.
        before = monitor.sample()
        started = time.time()
        go.set()
        per_camera: dict[str, dict[str, Any]] = {}
        deadline = started + timeout_s
        while len(per_camera) < len(procs) and time.time() < deadline:
            try:
                result = results.get(timeout=1.0)
            except queue.Empty:
                continue
            per_camera[result["camera"]] = result
        wall_s = time.time() - started
        after = monitor.sample()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    own_cpu, _ = monitor.split_between(before, after)
    return {
        "cameras": per_camera,
        "known_faces": known,
        "timed_out": len(per_camera) < len(procs),
        "wall_s": wall_s,
        # Children report their own CPU (user+system) over the run; they exit before
        # the parent could sample them at the very end.
        "cpu_s": own_cpu + sum(c["cpu_s"] for c in per_camera.values()),
        "peak_rss_bytes": monitor.peak_rss,
    }


def baseline_row(
    run: dict[str, Any], ground_truth: Path, video_s: float, early_slack_s: float
) -> tuple[dict[str, Any], Any]:
    truth = read_ground_truth(ground_truth)
    alerts = [
        RaisedAlert(camera, subject, t, wall)
        for result in run["cameras"].values()
        for camera, subject, t, wall in result["alerts"]
    ]
    origins = {c: r["wall_origin"] for c, r in run["cameras"].items() if r["wall_origin"]}
    score = score_alerts(alerts, truth, origins, early_slack_s)
    row = score_row(score, score_alerts(alerts, truth, origins))
    row.update(
        {
            "alerts": len(alerts),
            "gui_stall_p99_ms": None,  # no window
            "gui_stall_max_ms": None,
            "cpu_s_per_video_s": round(run["cpu_s"] / video_s, 3),
            "peak_rss_mb": round(run["peak_rss_bytes"] / 2**20, 1),
        }
    )
    return row, score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--north", type=Path, default=SAMPLES / "north.mp4")
    parser.add_argument("--south", type=Path, default=SAMPLES / "south.mp4")
    parser.add_argument("--ground-truth", type=Path, default=SAMPLES / "ground_truth.csv")
    parser.add_argument("--watchlist", type=Path, default=SAMPLES / "watchlist")
    parser.add_argument("--early-slack", type=float, default=EARLY_SLACK_S, help=EARLY_HELP)
    parser.add_argument("--timeout", type=float, default=None, help="seconds (default: video+60)")
    args = parser.parse_args(argv)
    quiet_pkg_resources_warning()

    cameras = {"north": args.north, "south": args.south}
    infos = {name: video_info(path) for name, path in cameras.items()}
    video_s = max(i.duration_s for i in infos.values())
    print(f"classic baseline: {', '.join(f'{n}={i.path}' for n, i in infos.items())}")
    print(
        f"  {video_s:.1f} s of video per camera; 1/{int(1 / SCALE)} scale, every other frame, "
        f"HOG upsample 1, tolerance {TOLERANCE}"
    )
    run = run_baseline(cameras, args.watchlist, args.timeout or video_s + 60)
    row, score = baseline_row(run, args.ground_truth, video_s, args.early_slack)

    print(f"  known faces encoded per copy: {run['known_faces']}")
    for name, c in run["cameras"].items():
        skipped = c["frames_decoded"] - c["frames_processed"]
        print(
            f"  {name}: decoded {c['frames_decoded']}, processed {c['frames_processed']} "
            f"({c['frames_processed'] / max(video_s, 1e-9):.1f}/s), skipped {skipped} "
            f"(overwritten before read {c['frames_overwritten']}), faces {c['faces_detected']}, "
            f"alerts {len(c['alerts'])}, busy {c['busy_s']:.1f} s, cpu {c['cpu_s']:.1f} s"
        )
    if run["timed_out"]:
        print("  WARNING: timed out before every camera finished")
    print_score(score, "classic baseline")
    print()
    print_table(
        ["", "lat p50", "lat p95", "recall", "false", "dup", "cpu s/vid s", "peak MB"],
        [
            [
                "baseline",
                fmt(row["latency_p50_s"], 2, " s"),
                fmt(row["latency_p95_s"], 2, " s"),
                f"{row['sightings_alerted']}/{row['sightings']}",
                fmt(row["false_alerts"]),
                fmt(row["duplicate_alerts"]),
                fmt(row["cpu_s_per_video_s"], 2),
                fmt(row["peak_rss_mb"], 0),
            ]
        ],
    )
    emit_json(
        {
            "benchmark": "classic_baseline",
            "video_s": round(video_s, 2),
            "baseline": row,
            "cameras": {
                name: {k: v for k, v in c.items() if k not in ("alerts", "wall_origin")}
                for name, c in run["cameras"].items()
            },
            "per_sighting": score.per_sighting,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
