"""Where the cameras are analysed: one engine interface, two backends.

- ``local`` (the default, embedded): today's analysis pool and per-camera pipeline in the
  console's own processes (``console.engine.local``).
- ``ray``: each camera's pipeline (capture, analysis, tracking, matching) runs as a Ray
  actor on a cluster near the cameras; the console is the cluster's client and receives
  only what an officer needs: alert events (the matched crop and its scene frame), tile
  previews (JPEG, at most 960 px wide and 10 a second), counts and health
  (``console.engine.ray_backend``).

Nothing here imports Ray: a console that never names the Ray engine never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from console.config import DeploymentPlan
    from console.domain.alerts import Alert
    from console.domain.watchlist import Watchlist
    from console.replay import ReplaySummary
    from console.vision.pool import AnalysisPool
    from console.vision.sources import SourceSpec

EngineKind = Literal["local", "ray"]
ENGINES: tuple[EngineKind, ...] = ("local", "ray")
# A node label as `ray start --labels lfr-node=VALUE` takes it (Kubernetes label values).
NODE_LABEL_KEY = "lfr-node"
NODE_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
_ADDRESS = re.compile(r"(?P<host>[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})")


class EngineError(Exception):
    """The engine cannot run the cameras; the message says why, for the officer."""


class ClusterUnreachable(EngineError):
    """Nothing answers at the cluster's address (or it answers too slowly)."""


class ClusterRefused(EngineError):
    """The cluster answered but refused the console: no token, or the wrong one."""


@dataclass(frozen=True)
class Placement:
    """Where a camera's actor may run.

    ``node``: a node label (``ray start --labels lfr-node=croydon-north-edge``); None
    lets the cluster choose. A labelled camera runs only there, unless ``fallback``: then
    it prefers its node and moves to any other one when that node is lost.
    """

    node: str | None = None
    fallback: bool = False


@dataclass(frozen=True)
class EngineSettings:
    """Which engine, and for the Ray engine the cluster and the cameras' places."""

    kind: EngineKind = "local"
    address: str | None = None  # HOST:PORT of the cluster's head (its GCS port)
    token_file: Path | None = None  # Ray's token: a file readable by its owner only
    placements: dict[str, Placement] = field(default_factory=dict)  # by camera name
    # Ray CPUs each camera's actor reserves: 1 keeps a 720p camera at 5 analyses a second
    # (~1.25 CPU seconds a second); less packs more cameras on a node at fewer analyses.
    cpus_per_camera: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise EngineError(f"engine must be one of {', '.join(ENGINES)}, not {self.kind!r}")
        if self.kind == "ray" and not self.address:
            raise EngineError("the ray engine needs the cluster's address (HOST:PORT)")
        if self.address is not None:
            check_address(self.address)
        if not 0 < self.cpus_per_camera <= 64:
            raise EngineError(f"cpus_per_camera must be in (0, 64], not {self.cpus_per_camera}")
        for camera, placement in self.placements.items():
            if placement.node is not None and not NODE_LABEL.fullmatch(placement.node):
                raise EngineError(f"camera {camera}: node {placement.node!r} is not a node label")


def check_address(address: str) -> tuple[str, int]:
    """HOST:PORT split, or EngineError naming what is wrong."""
    match = _ADDRESS.fullmatch(address.strip())
    port = int(match["port"]) if match else 0
    if not match or not 0 < port < 65536:
        raise EngineError(f"the cluster address must be HOST:PORT, not {address!r}")
    return match["host"].strip("[]"), port


class Engine(Protocol):
    """What the console asks of an engine.

    ``replay`` runs video files on the video's own clock (deterministic: the same input
    gives the same alerts on either engine); ``close`` ends the engine's work and frees
    everything it holds about the deployment."""

    name: str

    def replay(
        self,
        cameras: list[SourceSpec],
        watchlist: Watchlist,
        threshold: float,
        analyses_per_second: float = 5.0,
        on_frame: Callable[[], None] | None = None,
    ) -> tuple[list[Alert], ReplaySummary]: ...

    def close(self) -> None: ...


def plan_engine(plan: DeploymentPlan) -> EngineSettings:
    """The engine a (checked) deployment plan names: local, or ray with its cluster."""
    return EngineSettings(
        kind=plan.engine,  # type: ignore[arg-type]  # checked when the plan was read
        address=plan.ray_address,
        token_file=plan.ray_token_file,
        placements=dict(plan.placements),
    )


def open_engine(settings: EngineSettings, pool: AnalysisPool | None = None) -> Engine:
    """The engine the settings name; the local one needs the console's analysis pool."""
    if settings.kind == "local":
        from console.engine.local import LocalEngine

        if pool is None:
            raise EngineError("the local engine needs an analysis pool")
        return LocalEngine(pool)
    from console.engine.ray_backend import RayEngine

    return RayEngine(settings)
