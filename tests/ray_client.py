"""The console as a Ray cluster's client, for tests/test_ray_engine.py: each scenario runs
inside the cluster's network namespace (``LocalCluster.run``) and prints one JSON line.

    python tests/ray_client.py nodes ADDRESS TOKEN
    python tests/ray_client.py failover ADDRESS TOKEN CLIP GO_FILE DATA_DIR
    python tests/ray_client.py purge ADDRESS TOKEN CLIP
    python tests/ray_client.py live ADDRESS TOKEN DATA_DIR
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
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


class Recorder:
    """A SessionListener that remembers what the window would have shown."""

    def __init__(self) -> None:
        self.alerts: list = []
        self.states: dict[str, list[list[str]]] = {}
        self.frames: dict[str, list[tuple[int, float, int]]] = {}  # width, scale, index
        self.faces: dict[str, int] = {}
        self.errors: list[str] = []

    def feed_frame(self, camera, preview_rgb, scale, index=-1) -> None:
        self.frames.setdefault(camera, []).append((preview_rgb.shape[1], scale, index))

    def feed_faces(self, camera, faces) -> None:
        self.faces[camera] = self.faces.get(camera, 0) + 1

    def feed_status(self, status) -> None:
        seen = self.states.setdefault(status.camera, [])
        if not seen or seen[-1] != [status.state.value, status.detail]:
            seen.append([status.state.value, status.detail])

    def alert_raised(self, alert, is_new) -> None:
        self.alerts.append((alert.alert_id, alert.camera, alert.subject_id, is_new,
                            alert.crop_rgb is not None and alert.crop_rgb.size > 0))

    def storage_failed(self, message) -> None:
        self.errors.append(message)

    def deployment_changed(self, deployment) -> None: ...
    def alert_restored(self, alert, adjudication) -> None: ...


def open_live_session(address: str, token: str, data_dir: str,
                      cameras: list[SourceSpec] | None = None, **placements: Placement):
    """The console's monitoring session on the sample plan (both sample streams, looping,
    or *cameras*), engine ray, as `run --engine ray` opens it; signed in as a supervisor."""
    from dataclasses import replace

    from console.config import SAMPLE_DEPLOYMENT, load_plan, plan_engine
    from console.domain.officers import Role
    from console.live.session import MonitoringSession
    from console.live.setup import prepare
    from console.storage import AsyncStore, Store
    from console.vision.pool import AnalysisPool

    plan = replace(load_plan(SAMPLE_DEPLOYMENT), engine="ray", ray_address=address,
                   ray_token_file=Path(token), placements=placements)
    if cameras is not None:
        plan = replace(plan, cameras=cameras)
    store = Store.in_dir(Path(data_dir))
    store.officers.add("ward", "PS 1203 Ward", Role.SUPERVISOR, "correct horse", "test")
    officer = store.officers.authenticate("ward", "correct horse")
    recorder = Recorder()
    with AnalysisPool(kind="thread", workers=1) as pool:  # enrolment only
        deployment, watchlist = prepare(store, plan, officer, pool, datetime.now(UTC))
    session = MonitoringSession(
        deployment, plan.cameras, watchlist, pool, AsyncStore(store), officer, recorder,
        policy=store.policy.current(), engine=plan_engine(plan),
    )
    return session, store, recorder


async def until(what: str, done, seconds: float = WAIT_S) -> None:
    import asyncio

    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.2)


def live(address: str, token: str, data_dir: str) -> None:
    """A live deployment on the cluster, north on the head and south on the edge node:
    start, alerts from both cameras through the session, conclude; what is left."""
    import asyncio

    import ray
    from ray._private.internal_api import memory_summary

    async def scenario() -> dict:
        session, store, recorder = open_live_session(
            address, token, data_dir, north=Placement("head"), south=Placement("edge")
        )
        session.open()
        await session.confirm_officers_present()
        connected_before_start = session.cluster.engine is not None
        await session.start()
        engine = session.cluster.engine
        actor_ids = [run.actor._actor_id.hex() for run in engine.cameras.values()]
        object_id = engine._watchlist_ref.hex()
        await until("alerts from both cameras",
                    lambda: {a[1] for a in recorder.alerts} == {"north", "south"})
        await until("boxes on both tiles", lambda: len(recorder.faces) == 2)
        summary_during = memory_summary(address, stats_only=False, num_entries=1000)
        concluded = await session.conclude()
        await asyncio.sleep(2)  # the owner's free reaches the stores asynchronously
        summary_after = memory_summary(address, stats_only=False, num_entries=1000)
        table = ray._private.state.actors()
        reference = session.deployment.reference
        await session.close()
        saved = {r.alert.alert_id for r in store.alerts.history(reference)}
        entries = [e for e in store.audit.entries() if e.details.get("reference") == reference]
        return dict(
            connected_before_start=connected_before_start,
            alerts=recorder.alerts,
            saved_alerts=sorted(saved),
            counts=store.deployments.counts(reference),
            frames={c: (len(f), max(w for w, _, _ in f), sorted({round(s, 3) for _, s, _ in f}))
                    for c, f in recorder.frames.items()},
            states=recorder.states,
            errors=recorder.errors,
            audit=[[e.actor, e.action, e.details] for e in entries],
            audit_intact=store.audit.verify().intact,
            concluded=concluded,
            object_in_store_during=object_id in summary_during,
            object_in_store_after=object_id in summary_after,
            actor_states=[table.get(a, {}).get("State") for a in actor_ids],
            ray_connected_after_close=ray.is_initialized(),
        )

    say(**asyncio.run(scenario()))


def failover(address: str, token: str, clip: str, go_file: str, data_dir: str) -> None:
    """The live console's session with one camera that prefers the edge node; the test
    kills that node once the camera has alerted."""
    import asyncio

    from console.live.feed import FeedState

    async def scenario() -> dict:
        session, store, recorder = open_live_session(
            address, token, data_dir, [SourceSpec("north", clip, loop=True)],
            north=Placement("edge", fallback=True),
        )
        feed = session.feeds[0]
        session.open()
        await session.confirm_officers_present()
        await session.start()
        await until("the first alert", lambda: any(a[3] for a in recorder.alerts))
        before = sorted({a[0] for a in recorder.alerts})
        first_node = feed.nodes[-1]
        say(kill=first_node, alerts=before)
        await until("the node to be killed", Path(go_file).exists, seconds=600)
        killed_at = float(Path(go_file).read_text())
        await until("the camera to move", lambda: feed.state == FeedState.LIVE
                    and feed.nodes[-1] != first_node)
        moved_after = time.time() - killed_at
        await until("a new alert", lambda: {a[0] for a in recorder.alerts} - set(before))
        pending = sorted(session.pending)
        alive = session.cluster.engine.alive_nodes()
        await session.conclude()
        reference = session.deployment.reference
        await session.close()
        entries = [e for e in store.audit.entries() if e.details.get("reference") == reference]
        return dict(
            first_node=first_node,
            nodes=feed.nodes,
            states=recorder.states["north"],
            moved_after_s=moved_after,
            alerts_before=before,
            alerts=sorted({a[0] for a in recorder.alerts}),
            pending=pending,
            alive=alive,
            audit=[[e.actor, e.action, e.details] for e in entries],
            audit_intact=store.audit.verify().intact,
        )

    say(**asyncio.run(scenario()))


def _width(jpeg: bytes) -> int:
    import cv2
    import numpy as np

    return int(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[1])


if __name__ == "__main__":
    scenario, *args = sys.argv[1:]
    {"nodes": nodes, "failover": failover, "purge": purge, "live": live}[scenario](*args)
