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

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

# The settings live with the other plan values at the bottom (console.domain), so that
# reading a plan never imports an engine; re-exported here for the engines' callers.
from console.domain.engine_settings import (  # noqa: F401
    ENGINES,
    NODE_LABEL,
    NODE_LABEL_KEY,
    ClusterRefused,
    ClusterUnreachable,
    EngineError,
    EngineKind,
    EngineSettings,
    Placement,
    check_address,
)

if TYPE_CHECKING:
    from console.domain.alerts import Alert
    from console.domain.watchlist import Watchlist
    from console.replay import ReplaySummary
    from console.vision.pool import AnalysisPool
    from console.vision.sources import SourceSpec

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


def open_engine(settings: EngineSettings, pool: AnalysisPool | None = None) -> Engine:
    """The engine the settings name; the local one needs the console's analysis pool."""
    if settings.kind == "local":
        from console.engine.local import LocalEngine

        if pool is None:
            raise EngineError("the local engine needs an analysis pool")
        return LocalEngine(pool)
    from console.engine.ray_backend import RayEngine

    return RayEngine(settings)
