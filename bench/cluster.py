"""Cameras on the local pool against cameras on a two-node local Ray cluster.

For 2, 4 and 8 file cameras (the sample's north and south streams, 1280x720 at 25 fps,
looped and paced as live cameras), each run for ``--seconds`` of wall time:

- local: every camera's pipeline in this process, analysis on the console's pool (two
  worker processes), as the desk console runs it;
- ray: a head and one worker node, one CPU each (``ray start`` in a private network
  namespace, tests/ray_cluster.py), each camera an actor (half pinned to each node),
  this script the console, its client.

Per configuration: analysed frames per second per camera; alert latency p50/p95 (frame
read -> alert at the console); CPU seconds per camera per video second (local: this
process and its pool workers; ray: the camera actors' processes and the console); the
transport's overhead per analysed frame (ray: a poll's round trip minus its time on the
camera's side, summed, over the frames analysed; local: nothing crosses a process edge
but the frames to the pool); bytes sent to the console per camera-second against the
raw frames' (1280x720x3 bytes x 25 fps). The last line is JSON.

    .venv/bin/python bench/cluster.py [--seconds 15] [--cameras 2 4 8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.benchlib import quiet_pkg_resources_warning  # noqa: E402

SAMPLES = REPO / "sample_streams"
RAW_BYTES_PER_S = 1280 * 720 * 3 * 25


def cameras(n: int):
    from console.vision.sources import SourceSpec

    streams = ("north", "south")
    return [
        SourceSpec(f"cam{i + 1}-{streams[i % 2]}", str(SAMPLES / f"{streams[i % 2]}.mp4"),
                   loop=True)
        for i in range(n)
    ]


def watchlist_and_threshold():
    from console.config import DEFAULT_FALSE_ALERT_RATE
    from console.vision.enrolment import enrol_watchlist
    from console.vision.operating_point import threshold_for

    watchlist = enrol_watchlist(SAMPLES / "watchlist")
    return watchlist, threshold_for(DEFAULT_FALSE_ALERT_RATE, len(watchlist))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(mode: str, n: int, seconds: float, analysed: int, latencies: list[float],
        cpu_s: float, transport_s: float, payload: int) -> dict:
    return {
        "mode": mode,
        "cameras": n,
        "analysed_fps_per_camera": round(analysed / n / seconds, 2),
        "alert_latency_p50_s": _round(percentile(latencies, 50)),
        "alert_latency_p95_s": _round(percentile(latencies, 95)),
        "alerts": len(latencies),
        "cpu_s_per_camera_video_s": round(cpu_s / n / seconds, 3),
        "transport_ms_per_frame": round(1000 * transport_s / max(1, analysed), 3),
        "bytes_per_camera_s": round(payload / n / seconds),
        "raw_fraction": round(payload / n / seconds / RAW_BYTES_PER_S, 5),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def process_cpu(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_local(n: int, seconds: float) -> dict:
    """Each camera's pipeline in this process; analysis on the shared process pool."""
    from console.engine.camera import CameraWork, slim_watchlist
    from console.vision.pool import AnalysisPool

    watchlist, threshold = watchlist_and_threshold()
    with AnalysisPool(kind="process") as pool:
        pool.analyse(__import__("numpy").zeros((64, 64, 3), "uint8")).result()  # warm
        works = [
            CameraWork(spec, slim_watchlist(watchlist), threshold, realtime=True,
                       analyse=lambda image: pool.analyse(image).result())
            for spec in cameras(n)
        ]
        me = psutil.Process()
        cpu0 = process_cpu(me)
        for work in works:
            work.start()
        time.sleep(3.0)  # as the cluster's cameras get: the first frames analysed
        base = {work.spec.camera: work.poll(0.0) for work in works}
        cpu0 = process_cpu(me)
        started = time.monotonic()
        latencies, payload = [], 0
        while time.monotonic() - started < seconds:
            for work in works:
                report = work.poll(0.0)
                received = time.time()
                payload += report.payload_bytes
                latencies += [received - a.frame_wall for a in report.alerts if a.is_new]
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        reports = [work.poll(0.0) for work in works]
        cpu = process_cpu(me) - cpu0
        for work in works:
            work.stop()
    analysed = sum(r.counters.frames_analysed - base[r.camera].counters.frames_analysed
                   for r in reports)
    return row("local", n, elapsed, analysed, latencies, cpu, 0.0, payload)


def run_ray(address: str, token: str, n: int, seconds: float) -> dict:
    """Inside the cluster's namespace: each camera an actor, half on each node."""
    from console.engine import EngineSettings, Placement
    from console.engine.ray_backend import RayEngine

    watchlist, threshold = watchlist_and_threshold()
    specs = cameras(n)
    placements = {s.camera: Placement(("head", "edge")[i % 2]) for i, s in enumerate(specs)}
    settings = EngineSettings("ray", address, Path(token), placements,
                              cpus_per_camera=min(1.0, 2 / n))
    with RayEngine(settings) as engine:
        me = psutil.Process()
        engine.start(specs, watchlist, threshold)
        warm = time.monotonic()
        while time.monotonic() - warm < 3.0:  # models loaded, first frames analysed
            engine.poll(0.1)
        base = {name: run.last for name, run in engine.cameras.items()}
        cpu0 = process_cpu(me)
        payload0 = sum(engine.payload_bytes.values())
        transport0 = sum(engine.transport_s.values())
        engine.latencies.clear()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            engine.poll(0.1)
        elapsed = time.monotonic() - started
        last = {name: run.last for name, run in engine.cameras.items()}
        analysed = sum(
            last[c].counters.frames_analysed - (base[c].counters.frames_analysed if base[c] else 0)
            for c in last
        )
        cpu = sum(last[c].cpu_s - (base[c].cpu_s if base[c] else 0.0) for c in last)
        cpu += process_cpu(me) - cpu0
        result = row(
            "ray", n, elapsed, analysed, list(engine.latencies), cpu,
            sum(engine.transport_s.values()) - transport0,
            sum(engine.payload_bytes.values()) - payload0,
        )
        result["nodes"] = sorted({engine.alive_nodes().get(r.node_id, "?")
                                  for r in engine.cameras.values()})
        engine.conclude()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--cameras", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--client", nargs=2, metavar=("ADDRESS", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_pkg_resources_warning()
    if args.client:  # the ray half, run inside the cluster's namespace
        for n in args.cameras:
            print(json.dumps(run_ray(*args.client, n, args.seconds)), flush=True)
        return 0

    results = []
    for n in args.cameras:
        results.append(run_local(n, args.seconds))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)

    import tempfile

    from tests.ray_cluster import start_cluster

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as folder:
        cluster = start_cluster(Path(folder))
        try:
            done = cluster.run(
                [sys.executable, __file__, "--seconds", str(args.seconds), "--cameras",
                 *map(str, args.cameras), "--client", cluster.address, str(cluster.token_file)],
                timeout=600 + 60 * len(args.cameras) * args.seconds,
            )
        finally:
            cluster.close()
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        return 1
    results += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    columns = ["mode", "cameras", "analysed_fps_per_camera", "alert_latency_p50_s",
               "alert_latency_p95_s", "alerts", "cpu_s_per_camera_video_s",
               "transport_ms_per_frame", "bytes_per_camera_s", "raw_fraction"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for result in results:
        print("| " + " | ".join(str(result.get(c)) for c in columns) + " |")
    print(json.dumps({"seconds": args.seconds, "cpus": os.cpu_count(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
