"""The embedded engine: today's analysis pool and pipeline in the console's processes.

A thin wrapper: the replay is ``console.replay.replay`` unchanged, and the live console
keeps driving its feeds and pool directly (``console.live``)."""

from __future__ import annotations

from collections.abc import Callable

from console.domain.alerts import Alert
from console.domain.watchlist import Watchlist
from console.replay import ReplaySummary, replay
from console.vision.pool import AnalysisPool
from console.vision.sources import SourceSpec


class LocalEngine:
    name = "local"

    def __init__(self, pool: AnalysisPool) -> None:
        self.pool = pool

    def replay(
        self,
        cameras: list[SourceSpec],
        watchlist: Watchlist,
        threshold: float,
        analyses_per_second: float = 5.0,
        on_frame: Callable[[], None] | None = None,
    ) -> tuple[list[Alert], ReplaySummary]:
        return replay(cameras, watchlist, self.pool, threshold, analyses_per_second, on_frame)

    def close(self) -> None:
        """The pool belongs to the console, which shuts it down."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
