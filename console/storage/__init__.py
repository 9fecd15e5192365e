"""The console's record on disk (SQLite): officers, deployments and their watchlists,
alerts and decisions, counts, and the audit trail.

``Store`` groups the record's parts over one database; ``AsyncStore`` lets the event loop
await any of its calls on a storage thread, so the GUI never blocks on the disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from console.storage.alerts import DEFAULT_RETENTION, AlertRecords, StoredAlert
from console.storage.audit import AuditReport, AuditTrail
from console.storage.database import AlreadyDecided, Database, StorageError
from console.storage.deployments import DeploymentRecords
from console.storage.officers import LoginFailed, OfficerRecords

__all__ = [
    "AlreadyDecided",
    "AsyncStore",
    "AuditReport",
    "LoginFailed",
    "Store",
    "StorageError",
    "StoredAlert",
]

T = TypeVar("T")


class Store:
    def __init__(self, path: Path, retention: timedelta = DEFAULT_RETENTION) -> None:
        self.db = Database(path)
        self.path = self.db.path
        self.audit = AuditTrail(self.db)
        self.officers = OfficerRecords(self.db, self.audit)
        self.deployments = DeploymentRecords(self.db, self.audit)
        self.alerts = AlertRecords(self.db, self.audit, retention)

    @classmethod
    def in_dir(cls, data_dir: Path, retention: timedelta = DEFAULT_RETENTION) -> Store:
        return cls(Database.path_in(data_dir), retention)

    def close(self) -> None:
        self.db.close()


class AsyncStore:
    """Runs Store calls on one storage thread and awaits them from the event loop.

    The officer sees a decision as taken only once the awaited write has returned.
    Calls run in submission order, so an alert's save lands before its decision.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.store.close()
