"""The console's record on disk (SQLite): officers, deployments and their watchlists,
alerts and decisions, counts, and the audit trail.

``Store`` groups the record's parts over one database; ``AsyncStore`` lets the event loop
await any of its calls on a storage thread, so the GUI never blocks on the disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from console.storage.alerts import AlertRecords, StoredAlert
from console.storage.audit import check_not_lost, key_path, open_chain, read_key
from console.storage.database import AlreadyDecided, Database, StorageError
from console.storage.deployments import DeploymentRecords
from console.storage.equality import EqualityRecords
from console.storage.heads import HEAD_NAME
from console.storage.officers import LoginFailed, OfficerRecords
from console.storage.policy import PolicyRecords
from console.storage.sealing import Clock, SealTicker, VerificationKey, utc_now
from console.storage.verification import AuditReport
from console.storage.witness import WitnessSender, WitnessStatus

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
log = logging.getLogger(__name__)


class Store:
    """The record in one data directory: ``console.db``, its sealing key (``audit.seal``,
    the current epoch's only) and its sealed audit head, all 0600 in a 0700 folder.

    Opening refuses a record that has lost its database, its sealing key or the end of
    its audit trail, rather than starting a new one over the evidence. A new record's
    verification key is made here and left in ``verification_key`` for the caller to
    show once (it is written nowhere). While open, the sealing key moves on every epoch
    and, when the site policy names a witness, every new head is sent to it.
    """

    def __init__(
        self,
        path: Path,
        retention: timedelta | None = None,
        *,
        clock: Clock = utc_now,
        witness: bool = True,
    ) -> None:
        """*retention*: how long alerts are kept; None (as the console runs) takes the
        site policy's, so no plan or option can shorten the record. *clock*: the time the
        sealing epochs follow. *witness*: send heads to the policy's witness (if any)."""
        path = Path(path)
        folder = path.parent
        head_path = folder / HEAD_NAME
        existed = check_not_lost(path, head_path)
        self.db = Database(path)
        self.path = self.db.path
        self.witness: WitnessSender | None = None
        self._ticker: SealTicker | None = None
        try:
            self.audit, issued = open_chain(
                self.db,
                head_path,
                existed=existed,
                clock=clock,
                legacy_key=read_key(key_path(folder)),
            )
            # Shown once by whoever opened the record first (then forgotten).
            self.verification_key: VerificationKey | None = issued
            self.officers = OfficerRecords(self.db, self.audit)
            self.deployments = DeploymentRecords(self.db, self.audit)
            self.policy = PolicyRecords(self.db, self.audit)
            policy = self.policy.current()
            if retention is None:
                retention = timedelta(days=policy.retention_days)
            self.alerts = AlertRecords(self.db, self.audit, retention)
            self.equality = EqualityRecords(self.db, self.audit)  # equality monitoring (#27)
            self.deployments.seal_leftover_counts()
            if witness and policy.witness_address:
                self._start_witness(policy.witness_address, policy.witness_ca_file)
            self._ticker = SealTicker(self.audit.sealer, self._sealing_failed)
        except BaseException:
            self.close()
            raise

    def _start_witness(self, address: str, ca_file: str) -> None:
        self.witness = WitnessSender(
            address, self.audit.sealer.record_id, Path(ca_file) if ca_file else None
        )
        self.audit.witnesses.append(self.witness.send)
        if (head := self.audit.head()) is not None and head.sealed:
            self.witness.send(head)  # where the record stands now, as it is opened

    def witness_status(self) -> WitnessStatus | None:
        """What the desk shows of the witness; None when the policy names none."""
        return self.witness.status() if self.witness else None

    @staticmethod
    def _sealing_failed(exc: Exception) -> None:
        log.error("the audit sealing key could not move to the next epoch: %s", exc)

    @classmethod
    def in_dir(cls, data_dir: Path, retention: timedelta | None = None, **kwargs: Any) -> Store:
        return cls(Database.path_in(data_dir), retention, **kwargs)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        if self.witness is not None:
            left = self.witness.close()
            if left:
                log.warning(
                    "the witness %s could not be reached: %d audit heads not sent (the next "
                    "console to open the record sends its head)",
                    self.witness.address,
                    left,
                )
            self.witness = None
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
