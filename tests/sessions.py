"""Opening a monitoring session without a window, for tests of the live engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.officers import Role
from console.live.session import MonitoringSession
from console.live.setup import prepare
from console.storage import AsyncStore, Store


class Clock:
    """Wall time, which a test can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def open_session(tmp_path, pool, listener, plan=None, role=Role.SUPERVISOR, clock=None):
    """A session on the sample plan (or *plan*), signed in as PC 4821 Ward; opened."""
    plan = plan or load_plan(SAMPLE_DEPLOYMENT)
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PC 4821 Ward", role, "correct horse", "test")
    officer = store.officers.authenticate("ward", "correct horse")
    clock = clock or Clock()
    deployment, watchlist = prepare(store, plan, officer, pool, clock())
    session = MonitoringSession(
        deployment,
        plan.cameras,
        watchlist,
        pool,
        AsyncStore(store),
        officer,
        listener,
        policy=store.policy.current(),
        clock=clock,
    )
    session.open()
    return session, store
