"""The Ray engine: each camera's pipeline is an actor on a Ray cluster; the console is the
cluster's client (a driver).

Connecting, in order, each failure a clear ``EngineError`` and none a hang:
1. the token: Ray's token authentication is required, the token read from a file that
   only its owner may read (0600), named by the plan / command line or
   ``RAY_AUTH_TOKEN_PATH``; a token in the environment itself (``RAY_AUTH_TOKEN``) is
   ignored, so it cannot be read from /proc;
2. the address answers a TCP connection within ``CONNECT_TIMEOUT_S``
   (``ray.init`` alone would retry an unreachable address for minutes);
3. the cluster accepts the token (a GCS request: refused in well under a second,
   where ``ray.init`` would retry for 20 s and say only "Failed to connect");
4. ``ray.init`` joins the cluster as a driver. Ray's drivers run on a cluster node: the
   console's computer joins the cluster with ``ray start --address HOST:PORT
   --num-cpus=0`` (it then runs no analysis), see docs/cluster.md.

Safeguards on the cluster:
- the watchlist crosses once, slimmed to ids, names, categories and encodings
  (``slim_watchlist``), as one object the console owns; each actor fetches it at start.
  It is passed inside a list so that Ray never inlines it into the actor's creation
  task, which the cluster's control store keeps for restarts;
- at conclusion every actor forgets the watchlist and is killed (no restart), and the
  console drops its reference: the object is freed from every node's object store. The
  ``PurgeReceipt`` lists the nodes that held the cameras or the watchlist;
- frames never enter the object store (each actor reads its own camera); only
  ``CameraReport`` crosses. The cluster must be started with object spilling disabled
  (README), so nothing of a deployment is written to a node's disk.

Faults: an actor restarts (``max_restarts``) on another node that can take it when its
node dies; the console sees the camera RECONNECTING with the reason, then LIVE again on
the new node, resumed where it was (frame numbers, clock, alert numbers). Alerts raised
before stay with the console: they crossed when raised.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.domain.alerts import Alert
from console.domain.watchlist import Watchlist
from console.engine import (
    NODE_LABEL_KEY,
    ClusterRefused,
    ClusterUnreachable,
    EngineError,
    EngineSettings,
    Placement,
    check_address,
)
from console.engine.camera import CameraReport, CameraWork, slim_watchlist
from console.pipeline import CameraCounters
from console.replay import ReplaySummary
from console.vision.sources import SourceSpec

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
POLL_WAIT_S = 0.5  # a camera's poll returns at once when it has news, else after this
ACTOR_START_TIMEOUT_S = 120.0  # an actor loads dlib's models on its first start
RESTARTS = 10  # an actor lost with its node is restarted elsewhere this often at most
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"


def read_token_file(path: Path | None) -> Path:
    """The token file, checked: it exists, is a regular file, holds a token, and no one
    but its owner may read or write it."""
    if path is None:
        env = os.environ.get(TOKEN_PATH_ENV)
        if not env:
            raise ClusterRefused(
                "the Ray cluster needs its token: name the token file in the plan "
                f"(ray_token_file), with --ray-token-file, or in ${TOKEN_PATH_ENV}"
            )
        path = Path(env)
    path = Path(path).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise ClusterRefused(f"cannot read the Ray token file {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ClusterRefused(f"the Ray token file {path} is not a file")
    if info.st_mode & 0o077:
        raise ClusterRefused(
            f"the Ray token file {path} may be read by others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); make it 0600: chmod 600 {path}"
        )
    if not path.read_text(errors="replace").strip():
        raise ClusterRefused(f"the Ray token file {path} is empty")
    return path


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    host, port = check_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterUnreachable(
            f"cannot reach the Ray cluster at {address}: {reason}. Is its head running "
            f"(ray start --head --port={port}) and is the address right?"
        ) from exc


def check_token_accepted(address: str) -> None:
    """Ask the cluster's control store for its id: a wrong token is refused at once."""
    from ray._raylet import GcsClient  # noqa: PLC0415 (Ray only when this engine is used)

    try:
        client = GcsClient(address=address)
        client.internal_kv_get(b"lfr-console-probe", None, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:
        if "auth" in type(exc).__name__.lower() or "InvalidAuthToken" in str(exc):
            raise ClusterRefused(
                f"the Ray cluster at {address} refused the console's token "
                "(InvalidAuthToken): the token file must hold the cluster's token"
            ) from exc
        raise ClusterUnreachable(
            f"the Ray cluster at {address} did not answer: {type(exc).__name__}: "
            f"{str(exc)[:200]}"
        ) from exc


def preflight(settings: EngineSettings) -> Path:
    """Steps 1 to 3 of connecting (the token file, the address answers, the cluster
    accepts the token), each failure a clear ``EngineError`` within seconds; the token
    file, checked. Sets token authentication for this process's Ray."""
    if settings.kind != "ray" or not settings.address:
        raise EngineError("the Ray engine needs the ray settings and an address")
    token = read_token_file(settings.token_file)
    check_address(settings.address)
    # Token authentication, from the file only (set before Ray is first imported).
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ[TOKEN_PATH_ENV] = str(token)
    os.environ.pop("RAY_AUTH_TOKEN", None)
    check_reachable(settings.address)
    check_token_accepted(settings.address)
    return token


class CameraActor:
    """The Ray actor of one camera: a ``CameraWork`` in a process on some node."""

    def __init__(self, spec: SourceSpec, boxed_watchlist: list, threshold: float,
                 options: dict[str, Any]) -> None:
        import ray

        # The watchlist arrives as a reference, fetched here, never inlined in the task.
        watchlist = ray.get(boxed_watchlist[0])
        self.work = CameraWork(
            spec, watchlist, threshold,
            node_id=ray.get_runtime_context().get_node_id(),
            incarnation=uuid.uuid4().hex,
            **options,
        )
        del watchlist

    def start(self, first_frame: int, first_t: float, next_alert: int,
              threshold: float | None = None) -> str:
        if threshold is not None:  # a restarted actor resumes at the console's threshold
            self.work.set_threshold(threshold)
        self.work.start(first_frame, first_t, next_alert)
        return self.work.node_id

    def set_threshold(self, threshold: float) -> None:
        self.work.set_threshold(threshold)

    def poll(self, wait_s: float) -> CameraReport:
        return self.work.poll(wait_s)

    def conclude(self) -> str:
        self.work.stop()
        self.work.forget_watchlist()
        return self.work.node_id


@dataclass
class CameraRun:
    """The console's view of one camera's actor."""

    spec: SourceSpec
    actor: Any
    state: str = "waiting"
    reason: str = ""
    node_id: str = ""
    nodes: list[str] = field(default_factory=list)  # every node that served it, in order
    incarnation: str = ""
    last: CameraReport | None = None
    base: CameraCounters = field(default_factory=CameraCounters)  # earlier incarnations'
    base_analysis_s: float = 0.0
    pending: Any = None  # the poll in flight
    lost_at: float | None = None

    @property
    def done(self) -> bool:
        return self.state in ("ended", "failed")

    def counters(self) -> CameraCounters:
        now = self.last.counters if self.last else CameraCounters()
        return CameraCounters(
            **{k: getattr(self.base, k) + getattr(now, k) for k in vars(now)}
        )


@dataclass(frozen=True)
class PurgeReceipt:
    """What concluding freed: the actors killed and the nodes that held deployment data."""

    address: str
    nodes: tuple[str, ...]  # node ids that ran a camera or held the watchlist
    node_labels: dict[str, str]
    actors_killed: int
    watchlist_object: str  # the freed object's id, for checking the stores

    def lines(self) -> list[str]:
        out = [f"purged on the Ray cluster at {self.address}: {self.actors_killed} camera "
               f"actor(s) killed, watchlist object {self.watchlist_object} freed"]
        out += [f"  node {n} ({self.node_labels.get(n, 'no label')})" for n in self.nodes]
        return out


@dataclass
class EngineSummary(ReplaySummary):
    """A replay's summary, with the nodes that served each camera."""

    nodes: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    payload_bytes: dict[str, int] = field(default_factory=dict)
    transport_s: dict[str, float] = field(default_factory=dict)
    analysis_s: dict[str, float] = field(default_factory=dict)
    receipt: PurgeReceipt | None = None

    def lines(self) -> list[str]:
        out = super().lines()
        for camera, nodes in self.nodes.items():
            shown = ", ".join(f"{n[:12]} ({self.labels.get(n, '?')})" for n in nodes)
            out.append(f"  {camera}: served by node {shown}")
        if self.receipt:
            out += self.receipt.lines()
        return out


class RayEngine:
    """Cameras as actors on a Ray cluster. One deployment at a time: ``start``, ``poll``
    as often as the console wants news, ``conclude``."""

    name = "ray"

    def __init__(self, settings: EngineSettings) -> None:
        preflight(settings)
        self.settings = settings
        self.address: str = settings.address or ""
        import ray

        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    logging_level=logging.WARNING,
                    log_to_driver=False,  # actors' output stays on their nodes
                    configure_logging=False,
                )
            except Exception as exc:
                raise EngineError(
                    f"cannot join the Ray cluster at {self.address}: {exc}. The console's "
                    "computer must be a node of the cluster (ray start --address "
                    f"{self.address} --num-cpus=0)"
                ) from exc
        self._ray = ray
        self._actor_class = ray.remote(CameraActor)
        self.cameras: dict[str, CameraRun] = {}
        self._watchlist_ref: Any = None
        self._watchlist_nodes: set[str] = set()
        self.threshold: float | None = None
        self.alerts: dict[str, Alert] = {}
        self.payload_bytes: dict[str, int] = {}
        self.transport_s: dict[str, float] = {}
        self.latencies: list[float] = []  # frame read -> alert at the console, seconds
        self._lock = threading.Lock()

    # -- nodes -----------------------------------------------------------------------

    def node_labels(self) -> dict[str, str]:
        """Node id -> its lfr-node label, for every node the cluster knows (alive or not)."""
        return {
            n["NodeID"]: (n.get("Labels") or {}).get(NODE_LABEL_KEY, "")
            for n in self._ray.nodes()
        }

    def alive_nodes(self) -> dict[str, str]:
        return {
            n["NodeID"]: (n.get("Labels") or {}).get(NODE_LABEL_KEY, "")
            for n in self._ray.nodes()
            if n.get("Alive")
        }

    # -- a deployment ----------------------------------------------------------------

    def start(
        self,
        cameras: list[SourceSpec],
        watchlist: Watchlist,
        threshold: float,
        analyses_per_second: float = 5.0,
        realtime: bool = True,
        preview_fps: float = 10.0,
        unique_alert_ids: bool = False,
    ) -> None:
        """Put the (slim) watchlist on the cluster once, start one actor per camera.
        *unique_alert_ids*: alert ids unique across deployments (the live console's
        record), else numbered per camera (a replay's, as the local replay's)."""
        if self.cameras:
            raise EngineError("the Ray engine is already running a deployment")
        self._check_placements(cameras)
        ray = self._ray
        self.threshold = threshold
        self._watchlist_ref = ray.put(slim_watchlist(watchlist))
        for spec in cameras:
            options: dict[str, Any] = {
                "analyses_per_second": analyses_per_second,
                "realtime": realtime,
                "preview_fps": preview_fps,
            }
            if unique_alert_ids:
                options["alert_prefix"] = f"{spec.camera}-{uuid.uuid4().hex[:10]}"
            actor = self._actor_class.options(
                name=f"lfr-camera-{spec.camera}-{uuid.uuid4().hex[:8]}",
                num_cpus=self.settings.cpus_per_camera,
                max_restarts=RESTARTS,
                max_task_retries=0,  # the console re-asks itself, knowing where it was
                max_concurrency=4,  # a long poll must not block start or conclude
                **self._placement_options(self.settings.placements.get(spec.camera)),
            ).remote(spec, [self._watchlist_ref], threshold, options)
            self.cameras[spec.camera] = CameraRun(spec, actor)
        deadline = time.monotonic() + ACTOR_START_TIMEOUT_S
        for run in self.cameras.values():
            self._start_actor(run, deadline)
        locations = ray.experimental.get_object_locations([self._watchlist_ref])
        self._watchlist_nodes = set(locations.get(self._watchlist_ref, {}).get("node_ids", []))

    def _check_placements(self, cameras: list[SourceSpec]) -> None:
        labels = set(self.alive_nodes().values())
        names = {c.camera for c in cameras}
        for camera, placement in self.settings.placements.items():
            if camera not in names:
                raise EngineError(f"node placement for camera {camera!r}, which is not a camera")
            if placement.node and placement.node not in labels and not placement.fallback:
                shown = ", ".join(sorted(label for label in labels if label)) or "none"
                raise EngineError(
                    f"camera {camera}: no node of the cluster is labelled {placement.node!r} "
                    f"(labels: {shown}); start it with ray start --labels "
                    f"{NODE_LABEL_KEY}={placement.node}"
                )

    @staticmethod
    def _placement_options(placement: Placement | None) -> dict[str, Any]:
        if placement is None or placement.node is None:
            return {}
        options: dict[str, Any] = {"label_selector": {NODE_LABEL_KEY: placement.node}}
        if placement.fallback:
            options["fallback_strategy"] = [{"label_selector": {}}]
        return options

    def _start_actor(self, run: CameraRun, deadline: float) -> None:
        """Start (or resume, after a restart) one camera's work."""
        last = run.last
        first = (last.next_frame, last.next_t, last.next_alert) if last else (0, 0.0, 1)
        remaining = max(1.0, deadline - time.monotonic())
        try:
            node = self._ray.get(
                run.actor.start.remote(*first, self.threshold), timeout=remaining
            )
        except self._ray.exceptions.GetTimeoutError as exc:
            raise EngineError(
                f"camera {run.spec.camera}: no node of the cluster took it within "
                f"{ACTOR_START_TIMEOUT_S:.0f} s (too few free CPUs, or no node with its label)"
            ) from exc
        except self._ray.exceptions.RayActorError as exc:
            raise EngineError(f"camera {run.spec.camera} could not start: {exc}") from exc
        run.node_id = node
        if not run.nodes or run.nodes[-1] != node:
            run.nodes.append(node)
        run.state = "live"

    def poll(self, wait_s: float = POLL_WAIT_S) -> list[CameraReport]:
        """One round of news from every camera still running; alerts are also gathered in
        ``self.alerts`` (by id, newest version). A camera whose actor is lost is marked
        reconnecting, and resumed once Ray has restarted it on another node."""
        ray = self._ray
        for run in self.cameras.values():
            if run.pending is None and not run.done:
                run.pending = (run.actor.poll.remote(wait_s), time.perf_counter())
        pending = {run.pending[0]: run for run in self.cameras.values() if run.pending}
        if not pending:
            return []
        reports = []
        waiting = list(pending)
        deadline = time.monotonic() + wait_s + 5.0
        while waiting and time.monotonic() < deadline:
            # One at a time, so each camera's round trip ends when its own answer is in.
            ready, waiting = ray.wait(
                waiting, num_returns=1, timeout=max(0.0, deadline - time.monotonic())
            )
            for ref in ready:
                run = pending[ref]
                sent_at = run.pending[1]
                run.pending = None
                try:
                    report: CameraReport = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as exc:
                    self._lost(run, exc)
                    continue
                self._heard(run, report, time.perf_counter() - sent_at - report.served_s)
                reports.append(report)
        return reports

    def _lost(self, run: CameraRun, exc: Exception) -> None:
        """The actor did not answer: its node (or process) is gone. Ray restarts it on a
        node that can take it; until then the camera is reconnecting, and failed if no
        node takes it in time (or Ray gave up restarting it)."""
        if run.state != "reconnecting":
            run.state = "reconnecting"
            run.reason = (
                f"node {run.node_id[:12]} lost; restarting the camera on another node "
                f"({type(exc).__name__})"
            )
            run.lost_at = time.monotonic()
            log.warning("camera %s: %s", run.spec.camera, run.reason)
        died = isinstance(exc, self._ray.exceptions.ActorDiedError)
        waited = time.monotonic() - (run.lost_at or time.monotonic())
        if (died and "restart" not in str(exc).lower()) or waited > ACTOR_START_TIMEOUT_S:
            run.state = "failed"
            run.reason = f"the camera's actor could not be restarted: {str(exc)[:300]}"
        time.sleep(0.2)  # Ray is restarting it; do not spin

    def _heard(self, run: CameraRun, report: CameraReport, transport_s: float) -> None:
        if run.incarnation and report.incarnation != run.incarnation:
            # A restarted actor: keep what the earlier ones counted, resume its work.
            previous = run.last
            if previous is not None:
                run.base = CameraCounters(**{
                    k: getattr(run.base, k) + getattr(previous.counters, k)
                    for k in vars(previous.counters)
                })
                run.base_analysis_s += previous.analysis_s
            run.incarnation = report.incarnation
            self._start_actor(run, time.monotonic() + ACTOR_START_TIMEOUT_S)
            run.reason = ""
            log.warning("camera %s resumed on node %s", run.spec.camera, run.node_id[:12])
            return
        run.incarnation = report.incarnation
        run.last = report
        run.node_id = report.node_id
        if report.state == "waiting":
            return
        run.state, run.reason = report.state, report.reason
        camera = run.spec.camera
        with self._lock:
            self.payload_bytes[camera] = self.payload_bytes.get(camera, 0) + len(
                pickle.dumps(report, protocol=5)
            )
            self.transport_s[camera] = self.transport_s.get(camera, 0.0) + max(0.0, transport_s)
            received = time.time()
            for wired in report.alerts:
                alert_id = wired.alert.alert_id
                self.alerts[alert_id] = wired.restored(self.alerts.get(alert_id))
                if wired.is_new and wired.frame_wall:
                    self.latencies.append(received - wired.frame_wall)

    def set_threshold(self, threshold: float) -> None:
        """The new match distance on every camera (and on any actor restarted later)."""
        self.threshold = threshold
        refs = [run.actor.set_threshold.remote(threshold)
                for run in self.cameras.values() if not run.done]
        try:
            self._ray.get(refs, timeout=30)
        except Exception as exc:  # a lost actor takes it when it restarts (_start_actor)
            log.warning("threshold not confirmed by every camera: %s", type(exc).__name__)

    def running(self) -> bool:
        return any(not run.done for run in self.cameras.values())

    def conclude(self) -> PurgeReceipt:
        """Stop every camera, make each actor forget the watchlist, kill the actors (no
        restart) and free the watchlist object; the receipt lists the nodes purged."""
        ray = self._ray
        nodes: set[str] = set(self._watchlist_nodes)
        for run in self.cameras.values():
            nodes.update(run.nodes)
            try:
                ray.get(run.actor.conclude.remote(), timeout=30)
            except Exception as exc:  # a lost actor has nothing left to forget
                log.warning("camera %s: conclude: %s", run.spec.camera, type(exc).__name__)
            ray.kill(run.actor, no_restart=True)
        killed = len(self.cameras)
        object_id = self._watchlist_ref.hex() if self._watchlist_ref is not None else ""
        for run in self.cameras.values():
            run.actor = None
            run.pending = None
        self._watchlist_ref = None
        labels = self.node_labels()
        receipt = PurgeReceipt(
            self.address, tuple(sorted(nodes)), {n: labels.get(n, "") for n in nodes},
            killed, object_id,
        )
        self.cameras = {}
        return receipt

    # -- the replay (video clock) ----------------------------------------------------

    def replay(
        self,
        cameras: list[SourceSpec],
        watchlist: Watchlist,
        threshold: float,
        analyses_per_second: float = 5.0,
        on_frame: Callable[[], None] | None = None,
        preview_fps: float = 0.0,
    ) -> tuple[list[Alert], EngineSummary]:
        """As ``console.replay.replay``, each camera on its actor: the same alerts."""
        started = time.monotonic()
        self.alerts = {}
        self.start(cameras, watchlist, threshold, analyses_per_second, realtime=False,
                   preview_fps=preview_fps)
        decoded: dict[str, int] = {}
        runs = dict(self.cameras)
        try:
            while self.running():
                for report in self.poll():
                    if on_frame is not None:
                        run = runs[report.camera]
                        total = run.counters().frames_decoded
                        for _ in range(total - decoded.get(report.camera, 0)):
                            on_frame()
                        decoded[report.camera] = total
            failed = [r for r in runs.values() if r.state == "failed"]
            if failed:
                raise EngineError("; ".join(f"camera {r.spec.camera}: {r.reason}" for r in failed))
        finally:
            receipt = self.conclude()
        alerts = sorted(self.alerts.values(), key=lambda a: (a.t, a.camera))
        counters = {name: run.counters() for name, run in runs.items()}
        for name, c in counters.items():
            c.alerts = sum(a.camera == name for a in alerts)
        labels = self.node_labels()
        summary = EngineSummary(
            frames_decoded=sum(c.frames_decoded for c in counters.values()),
            frames_analysed=sum(c.frames_analysed for c in counters.values()),
            faces_detected=sum(c.faces_detected for c in counters.values()),
            alerts=len(alerts),
            wall_seconds=time.monotonic() - started,
            cameras=counters,
            nodes={name: list(run.nodes) for name, run in runs.items()},
            labels=labels,
            payload_bytes=dict(self.payload_bytes),
            transport_s=dict(self.transport_s),
            analysis_s={
                name: run.base_analysis_s + (run.last.analysis_s if run.last else 0.0)
                for name, run in runs.items()
            },
            receipt=receipt,
        )
        return alerts, summary

    def close(self) -> None:
        if self.cameras:
            self.conclude()
        if self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

