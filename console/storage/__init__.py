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

from console.storage.alerts import AlertRecords, StoredAlert
from console.storage.audit import (
    HEAD_NAME,
    AuditReport,
    AuditTrail,
    create_key,
    key_path,
    read_head,
    read_key,
)
from console.storage.database import AlreadyDecided, Database, StorageError
from console.storage.deployments import DeploymentRecords
from console.storage.equality import EqualityRecords
from console.storage.officers import LoginFailed, OfficerRecords
from console.storage.policy import PolicyRecords

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
    """The record in one data directory: ``console.db``, the audit key (unless kept
    elsewhere, ``$LFR_CONSOLE_AUDIT_KEY``) and the audit head, all 0600 in a 0700 folder.

    Opening refuses a record that has lost its database, its key or the end of its audit
    trail, rather than starting a new one over the evidence.
    """

    def __init__(self, path: Path, retention: timedelta | None = None) -> None:
        """*retention*: how long alerts are kept; None (as the console runs) takes the
        site policy's, so no plan or option can shorten the record."""
        path = Path(path)
        folder = path.parent
        head_path = folder / HEAD_NAME
        head = read_head(head_path) if folder.is_dir() else None
        if head is not None and not path.exists():
            raise StorageError(
                f"the record {path} is missing, but its audit head ({head_path}) says it "
                f"held {head.seq} audit entries: restore it, or report its loss"
            )
        self.db = Database(path)
        self.path = self.db.path
        try:
            self.audit = AuditTrail(self.db, self._key(folder, head), head_path)
            self.audit.check_head()
        except BaseException:
            self.db.close()
            raise
        self.officers = OfficerRecords(self.db, self.audit)
        self.deployments = DeploymentRecords(self.db, self.audit)
        self.policy = PolicyRecords(self.db, self.audit)
        if retention is None:
            try:
                retention = timedelta(days=self.policy.current().retention_days)
            except BaseException:
                self.db.close()
                raise
        self.alerts = AlertRecords(self.db, self.audit, retention)
        self.equality = EqualityRecords(self.db, self.audit)  # equality monitoring (#27)

    def _key(self, folder: Path, head: object) -> bytes:
        path = key_path(folder)
        key = read_key(path)
        if key is not None:
            return key
        entries = self.db.query("SELECT COUNT(*) FROM audit")[0][0]
        if entries or head is not None:
            raise StorageError(
                f"the audit key {path} is missing: the record's {entries} audit entries "
                "cannot be checked or extended (a record made before the audit trail was "
                "keyed cannot be extended either: keep it as it is and use a new data "
                "directory)"
            )
        try:
            return create_key(path)  # a new record: its key is made once, here
        except FileExistsError:  # another process opening the same new record made it
            key = read_key(path)
            assert key is not None
            return key

    @classmethod
    def in_dir(cls, data_dir: Path, retention: timedelta | None = None) -> Store:
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
