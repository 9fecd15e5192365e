"""Which engine analyses the cameras, as a plan names it: plain values, checked here.

Kept at the bottom of the package (no imports from the engines or the plan reader) so
that ``console.config`` reads a plan without loading an engine, and the engines never
import the plan reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
