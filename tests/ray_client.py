"""The console as a Ray cluster's client, for tests/test_ray_engine.py: each scenario runs
inside the cluster's network namespace (``LocalCluster.run``) and prints one JSON line.

    python tests/ray_client.py nodes ADDRESS TOKEN
    python tests/ray_client.py failover ADDRESS TOKEN CLIP GO_FILE
    python tests/ray_client.py purge ADDRESS TOKEN CLIP
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.config import DEFAULT_FALSE_ALERT_RATE  # noqa: E402
from console.engine import EngineSettings, Placement  # noqa: E402
from console.engine.ray_backend import RayEngine  # noqa: E402
from console.vision.enrolment import enrol_watchlist  # noqa: E402
from console.vision.operating_point import threshold_for  # noqa: E402
from console.vision.sources import SourceSpec  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
WAIT_S = 240.0  # the longest any step may take before the scenario gives up


def say(**values: object) -> None:
    print(json.dumps(values), flush=True)


def engine(address: str, token: str, **placements: Placement) -> RayEngine:
    return RayEngine(EngineSettings("ray", address, Path(token), placements))


def watchlist_and_threshold():
    watchlist = enrol_watchlist(SAMPLES / "watchlist")
    return watchlist, threshold_for(DEFAULT_FALSE_ALERT_RATE, len(watchlist))


def nodes(address: str, token: str) -> None:
    with engine(address, token) as ray_engine:
        say(nodes=ray_engine.alive_nodes())


def poll_until(ray_engine: RayEngine, done, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        ray_engine.poll()


def failover(address: str, token: str, clip: str, go_file: str) -> None:
    """A camera that prefers the edge node; the test kills that node once it has alerted."""
    watchlist, threshold = watchlist_and_threshold()
    with engine(address, token, north=Placement("edge", fallback=True)) as ray_engine:
        ray_engine.start([SourceSpec("north", clip, loop=True)], watchlist, threshold)
        run = ray_engine.cameras["north"]
        poll_until(ray_engine, lambda: len(ray_engine.alerts) >= 1, "the first alert")
        before = sorted(ray_engine.alerts)
        first_node = run.node_id
        say(kill=first_node, alerts=before)
        while not Path(go_file).exists():  # the test kills the node, then writes the file
            ray_engine.poll(0.1)
        killed_at = float(Path(go_file).read_text())
        states: list[list[str]] = []

        def moved() -> bool:
            if not states or states[-1] != [run.state, run.reason]:
                states.append([run.state, run.reason])
            return run.state == "live" and run.node_id != first_node

        poll_until(ray_engine, moved, "the camera to move")
        moved_after = time.time() - killed_at
        poll_until(ray_engine, lambda: set(ray_engine.alerts) - set(before), "a new alert")
        say(
            first_node=first_node,
            nodes=run.nodes,
            states=states,
            moved_after_s=moved_after,
            alerts_before=before,
            alerts=sorted(ray_engine.alerts),
            new_alert_after_s=time.time() - killed_at,
            alive=ray_engine.alive_nodes(),
        )
        ray_engine.conclude()


def purge(address: str, token: str, clip: str) -> None:
    """Two cameras, one on each node; conclude; look for what is left on the cluster."""
    import ray
    from ray._private.internal_api import memory_summary

    watchlist, threshold = watchlist_and_threshold()
    with engine(
        address, token, north=Placement("head"), south=Placement("edge")
    ) as ray_engine:
        cameras = [SourceSpec("north", clip, loop=True), SourceSpec("south", clip, loop=True)]
        ray_engine.start(cameras, watchlist, threshold)
        ids = {name: run.actor._actor_id.hex() for name, run in ray_engine.cameras.items()}
        object_id = ray_engine._watchlist_ref.hex()
        reports = []

        def both_alerted() -> bool:
            return {a.camera for a in ray_engine.alerts.values()} == {"north", "south"}

        deadline = time.monotonic() + WAIT_S
        while not both_alerted() and time.monotonic() < deadline:
            reports += ray_engine.poll()
        summary_during = memory_summary(address, stats_only=False, num_entries=1000)
        receipt = ray_engine.conclude()
        time.sleep(2)  # the owner's free reaches the stores asynchronously
        summary_after = memory_summary(address, stats_only=False, num_entries=1000)
        table = ray._private.state.actors()
        states = {aid: table.get(aid, {}).get("State") for aid in ids.values()}
        references = ray._private.worker.global_worker.core_worker.get_all_reference_counts()
        arrays = [
            type(getattr(r, name)).__name__
            for r in reports
            for name in vars(r)
            if type(getattr(r, name)).__module__ == "numpy"
        ]
        say(
            object_id=object_id,
            in_store_during=object_id in summary_during,
            in_store_after=object_id in summary_after,
            referenced_after=any(ref.hex() == object_id for ref in references),
            actor_states=states,
            receipt_nodes=list(receipt.nodes),
            receipt_labels=receipt.node_labels,
            receipt_lines=receipt.lines(),
            alerted=sorted({a.camera for a in ray_engine.alerts.values()}),
            previews=sum(bool(r.preview_jpeg) for r in reports),
            preview_widths=sorted({_width(r.preview_jpeg) for r in reports if r.preview_jpeg}),
            arrays_in_reports=arrays,
            alive=ray_engine.alive_nodes(),
        )


def _width(jpeg: bytes) -> int:
    import cv2
    import numpy as np

    return int(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[1])


if __name__ == "__main__":
    scenario, *args = sys.argv[1:]
    {"nodes": nodes, "failover": failover, "purge": purge}[scenario](*args)
