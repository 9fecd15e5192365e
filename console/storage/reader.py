"""A record opened only to read it as it is: no sealing key, nothing written, nothing
repaired. For printing the figures of a record that failed verification (which a
``Store`` refuses to open), under the banner that says so."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from console.storage.database import DB_NAME, Database, StorageError, open_existing
from console.storage.deployments import DeploymentRecords
from console.storage.equality import EqualityRecords


class ReadOnlyDatabase:
    """The part of ``Database`` reports read through; any write is refused."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self.conn = open_existing(self.path)

    query = Database.query  # the same reads, on this connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        raise StorageError(f"{self.path} is open only to be read")
        yield self.conn  # pragma: no cover

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class RecordReader:
    """Enough of a ``Store`` for the reports to read a record (``deployment_record`` with
    ``keep=False``)."""

    def __init__(self, folder: Path) -> None:
        self.db = ReadOnlyDatabase(Path(folder) / DB_NAME)
        self.path = self.db.path
        self.deployments = DeploymentRecords(self.db, None)  # type: ignore[arg-type]
        self.equality = EqualityRecords(self.db, None)  # type: ignore[arg-type]

    def close(self) -> None:
        self.db.close()
