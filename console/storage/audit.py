"""The audit trail: append-only, forward-sealed, anchored outside the database, and bound
to the rows it speaks for.

- **Sealed chain.** Entry n stores ``mac = HMAC-SHA256(K(epoch), prev_mac | seq | epoch |
  at | actor | action | details | bound)``, where K(epoch) is the sealing key of the
  minute it was written in (``console.storage.sealing``): the key evolves one way every
  epoch and the old one is erased, so whoever takes the key from the data folder cannot
  seal anything for an earlier minute. ``audit verify --verify-key`` checks every seal
  with the verification key, which never sits on the machine.
- **Sealed head outside the database** (``console.storage.heads``): removing the newest
  entries, emptying the table or deleting ``console.db`` leaves the head pointing past
  the end, and no head can be written for a shortened chain without the current key.
  The head at a deployment's conclusion is printed on its record (an anchor). Each head
  is also sent to a witness off the machine, when the site policy names one
  (``console.storage.witness``).
- **Rows bound** (``console.storage.bound``): an entry that writes a row that matters
  carries the digest of its content, in the same transaction; the verifier
  (``console.storage.verification``) checks the tables against the chain both ways.
- The database refuses UPDATE and DELETE on the audit table and on final rows (triggers).

Records made before sealing (entries without an epoch, keyed with ``audit.key``) are
read and verified as they are; the first console to open one starts sealing it with a
"sealing began" entry, and verify says plainly what the older entries can and cannot
prove.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.storage.bound import (  # re-exported: the record's public vocabulary
    BOUND_TABLES,
    RECORD,
    WATCHLIST,
    Binding,
    Row,
    canonical,
    row_digest,
    table_digests,
)
from console.storage.database import Database, StorageError
from console.storage.files import folder_lock, read_private
from console.storage.heads import HEAD_NAME, Head, read_head, write_head
from console.storage.sealing import SEAL_NAME, Clock, Sealer, VerificationKey, utc_now

log = logging.getLogger(__name__)

GENESIS = "0" * 64
KEY_NAME = "audit.key"  # records made before sealing: their chain's key
KEY_ENV = "LFR_CONSOLE_AUDIT_KEY"  # ... or kept elsewhere, named here
MAX_KEY_BYTES = 4096
RECORD_SEALED = "record sealed"  # the first entry of a record sealed from its creation
SEALING_BEGAN = "sealing began"  # the first sealed entry of an older record
FIRST_SEALED = (RECORD_SEALED, SEALING_BEGAN)

__all__ = [
    "BOUND_TABLES",
    "GENESIS",
    "HEAD_NAME",
    "KEY_NAME",
    "WATCHLIST",
    "AuditEntry",
    "AuditTrail",
    "Head",
    "canonical",
    "entry_mac",
    "read_head",
    "row_digest",
    "sealed_text",
    "table_digests",
    "write_head",
]


def entry_mac(
    key: bytes, prev: str, seq: int, at: str, actor: str, action: str, details: str, bound: str
) -> str:
    """A legacy entry's MAC (records made before sealing): one key for every entry."""
    text = "|".join([prev, str(seq), at, actor, action, details, bound])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sealed_text(
    prev: str, seq: int, epoch: int, at: str, actor: str, action: str, details: str, bound: str
) -> str:
    """What a sealed entry's MAC covers: its place in the chain, its epoch, its content."""
    return "|".join(["lfr-seal-1", prev, str(seq), str(epoch), at, actor, action, details, bound])


# -- the key of records made before sealing -----------------------------------------------
def key_path(data_dir: Path) -> Path:
    if env := os.environ.get(KEY_ENV):
        return Path(env)
    return Path(data_dir) / KEY_NAME


def read_key(path: Path) -> bytes | None:
    """A legacy audit key: held to the Ray token's rules (a regular file, 0600, small)."""
    data = read_private(Path(path), "the audit key", MAX_KEY_BYTES)
    if data is None:
        return None
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < 32:
        raise StorageError(f"the audit key {path} is not a key")
    return key


# -- entries --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]
    mac: str = ""
    epoch: int | None = None


class AuditTrail:
    """One chain (the record's, or the training runs'), its head, and who hears of it."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        head_path: Path,
        *,
        legacy_key: bytes | None = None,
        binding: Binding = RECORD,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.head_path = Path(head_path)
        self.legacy_key = legacy_key
        self.binding = binding
        self._holding = False  # an entry of the current transaction awaits its head
        # Told each head once it is on disk (the witness off the machine).
        self.witnesses: list[Callable[[Head], None]] = []

    def append(
        self,
        conn: sqlite3.Connection,
        actor: str,
        action: str,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
        rows: Iterable[Row] = (),
    ) -> AuditEntry:
        """Add an entry inside the caller's transaction, so the change and its audit
        entry are written together or not at all.

        *rows* are the (table, key) rows this change wrote or deleted: their content
        digests, read now inside the same transaction, are bound into the entry.
        """
        last = conn.execute(
            "SELECT seq, hash, epoch FROM audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, prev, after = (last[0] + 1, last[1], last[2] or 0) if last else (1, GENESIS, 0)
        stamp = (at or datetime.now(UTC)).isoformat()
        body = canonical(details or {})
        bound: dict[str, dict[str, str | None]] = {}
        for table, key in rows:
            bound.setdefault(table, {})[str(key)] = row_digest(
                conn, table, str(key), self.binding
            )
        bound_text = canonical(bound)
        epoch, mac = self.sealer.seal(
            lambda e: sealed_text(prev, seq, e, stamp, actor, action, body, bound_text), after
        )
        if not self._holding:  # once a transaction: released with its head, or its rollback
            self._holding = True
            self.sealer.hold()
            self.db.after_rollback(f"release {self.head_path}", self._release)
        conn.execute(
            "INSERT INTO audit (seq, at, actor, action, details, bound, prev_hash, hash, epoch) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (seq, stamp, actor, action, body, bound_text, prev, mac, epoch),
        )
        # Outside the database, and only once the entry is committed: a rolled-back entry
        # must not become the head. A crash in between leaves the head one transaction
        # behind, which verify accepts and the next open catches up.
        self.db.after_commit(f"head {self.head_path}", lambda: self._commit_head(seq, mac))
        return AuditEntry(seq, stamp, actor, action, details or {}, mac, epoch)

    def _release(self) -> None:
        self._holding = False
        self.sealer.release()

    def _commit_head(self, seq: int, mac: str) -> None:
        try:
            self._write_head(seq, mac)
        finally:
            self._release()

    def _write_head(self, seq: int, mac: str) -> None:
        try:
            with folder_lock(self.head_path.parent):
                current = read_head(self.head_path)
                if current is not None and current.seq >= seq:
                    return
                record = self.sealer.record_id
                epoch, seal = self.sealer.seal(
                    lambda e: Head(seq, mac, e, None, record).text()
                )
                head = Head(seq, mac, epoch, seal, record)
                write_head(self.head_path, head)
        except (OSError, StorageError) as exc:
            # The entry is committed; failing the officer's action now would misreport it.
            log.error("audit head not written to %s: %s", self.head_path, exc)
            return
        for witness in self.witnesses:
            witness(head)

    def record(
        self,
        actor: str,
        action: str,
        details: dict[str, Any] | None = None,
        rows: Iterable[Row] = (),
    ) -> AuditEntry:
        """Add an entry in a transaction of its own."""
        with self.db.transaction() as conn:
            return self.append(conn, actor, action, details, rows=rows)

    def entries(self) -> list[AuditEntry]:
        rows = self.db.query(
            "SELECT seq, at, actor, action, details, hash, epoch FROM audit ORDER BY seq"
        )
        return [
            AuditEntry(s, at, a, act, json.loads(d), m, e) for s, at, a, act, d, m, e in rows
        ]

    def last(self) -> Head | None:
        rows = self.db.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return Head(rows[0][0], rows[0][1]) if rows else None

    def head(self) -> Head | None:
        """The head as written outside the database."""
        return read_head(self.head_path)

    def verify(self, anchors: Iterable[Head] = (), **checks: Any):  # noqa: ANN201
        """Verify this chain as the console sees it (``verification.verify_record``;
        *checks*: verify_key, witness)."""
        from console.storage.verification import verify_record

        with self.db.lock:
            # The head and the key as they stood together (the ticker may move both on).
            with folder_lock(self.head_path.parent):
                head, sealer = self.head(), self.sealer.snapshot()
            return verify_record(
                self.db.conn,
                head,
                anchors,
                binding=self.binding,
                sealer=sealer,
                legacy_key=self.legacy_key,
                **checks,
            )

    # -- opening ------------------------------------------------------------------------
    def sealed_entries(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM audit WHERE epoch IS NOT NULL")[0][0]

    def begin_sealing(self) -> AuditEntry | None:
        """The chain's first sealed entry: it names the record (the verification key's
        record id), so a record sealed under another key is told apart at entry one.

        On a record made before sealing it follows the older entries ("sealing began"),
        and binds the rows they left outside the chain as they are found now."""
        legacy = self.db.query("SELECT COUNT(*) FROM audit")[0][0]
        details: dict[str, Any] = {
            "record": self.sealer.record_id,
            "epoch_seconds": self.sealer.period,
            "epochs_from": self.sealer.start,
        }
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM audit WHERE epoch IS NOT NULL LIMIT 1").fetchone():
                return None  # another console opening the same new record began it
            rows = _unbound(conn, self.binding)
            if legacy:
                details["entries_before_sealing"] = legacy
            if rows:
                details["rows_found_unbound"] = len(rows)
            action = SEALING_BEGAN if legacy else RECORD_SEALED
            return self.append(conn, "console", action, details, rows=rows)

    def check_head(self) -> None:
        """On opening: refuse a chain that does not reach its head (entries removed, table
        emptied), a head the sealing key did not seal, or a key of another record; bring a
        head left one transaction behind by a crash up to date."""
        head = self.head()
        entries = self.db.query("SELECT COUNT(*) FROM audit")[0][0]
        if head is None:
            if entries:
                raise StorageError(
                    f"the audit head of {self.db.path} ({self.head_path}) is missing: the "
                    "trail cannot be shown to be whole. Run `python -m console audit verify` "
                    "and report it"
                )
            return
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT seq, at, actor, action, details, bound, prev_hash, hash, epoch "
                "FROM audit WHERE seq >= ? ORDER BY seq",
                (head.seq,),
            ).fetchall()
        if not rows or rows[0][0] != head.seq or rows[0][7] != head.mac:
            raise StorageError(
                f"the audit trail in {self.db.path} does not reach its head (entry "
                f"{head.seq}, kept in {self.head_path}): entries have been removed or "
                "altered. Run `python -m console audit verify` and report it"
            )
        self._check_head_seal(head, rows[0][8])
        self._check_after_head(head, rows)
        if len(rows) > 1:
            self._write_head(rows[-1][0], rows[-1][7])

    def _check_head_seal(self, head: Head, head_entry_epoch: int | None) -> None:
        if head_entry_epoch is None and not head.sealed:
            return  # a record made before sealing: its head was not sealed either
        problem = None
        if not head.sealed or head.record != self.sealer.record_id:
            problem = "is not sealed by this record's key"
        else:
            good = self.sealer.check(head.epoch or 0, head.text(), head.seal or "")
            if good is None:
                problem = "is older than the record's sealing key: an older head was put back"
            elif not good:
                problem = "is not sealed by this record's key: it was written without it"
        if problem:
            raise StorageError(
                f"the audit head {self.head_path} {problem}. Run `python -m console audit "
                "verify` and report it"
            )

    def _check_after_head(self, head: Head, rows: list[tuple]) -> None:
        """Entries a crash left after the head: each must follow the one before, sealed
        no earlier; those of the current epoch are checked against the key."""
        prev, last_epoch = head.mac, rows[0][8] or 0
        for seq, at, actor, action, details, bound, prev_hash, mac, epoch in rows[1:]:
            if epoch is None:
                good: bool | None = self.legacy_key is not None and hmac.compare_digest(
                    entry_mac(self.legacy_key, prev, seq, at, actor, action, details, bound),
                    mac,
                )
            else:
                text = sealed_text(prev, seq, epoch, at, actor, action, details, bound)
                checked = self.sealer.check(epoch, text, mac)
                if checked is None:
                    # A crash leaves its last entry in the key's own epoch (the key stopped
                    # with it): one of an earlier epoch was put there behind the console.
                    raise StorageError(
                        f"audit entry {seq} in {self.db.path} follows its head but was sealed "
                        "with a key older than the record's: it cannot be checked here. Run "
                        "`python -m console audit verify --verify-key KEY` and report it"
                    )
                good = epoch >= last_epoch and checked
                last_epoch = epoch
            if prev_hash != prev or not good:
                raise StorageError(
                    f"audit entry {seq} in {self.db.path} has been altered: run "
                    "`python -m console audit verify` and report it"
                )
            prev = mac


def check_not_lost(path: Path, head_path: Path, what: str = "record") -> bool:
    """Whether the database at *path* exists; StorageError if it is gone while its head
    says it held entries (it must not be started again empty over the evidence)."""
    head = read_head(head_path) if head_path.parent.is_dir() else None
    if head is not None and not path.exists():
        raise StorageError(
            f"the {what} {path} is missing, but its audit head ({head_path}) says it "
            f"held {head.seq} audit entries: restore it, or report its loss"
        )
    return path.exists()


def open_chain(
    db: Database,
    head_path: Path,
    *,
    existed: bool,
    binding: Binding = RECORD,
    clock: Clock = utc_now,
    legacy_key: bytes | None = None,
) -> tuple[AuditTrail, VerificationKey | None]:
    """The sealed chain of *db* (its head at *head_path*, the folder's sealing key beside
    it), checked as it is opened; and the verification key if this made the folder's
    sealing key (to be shown once, now). StorageError if the chain cannot be trusted to
    be extended: its sealing key or head gone, its end removed, a key of another record.
    """
    folder = head_path.parent
    entries = db.query("SELECT COUNT(*) FROM audit")[0][0]
    sealed = db.query("SELECT COUNT(*) FROM audit WHERE epoch IS NOT NULL")[0][0]
    sealer = Sealer.open(folder / SEAL_NAME, clock)
    issued = None
    if sealer is None:
        if sealed:
            raise StorageError(
                f"the sealing key {folder / SEAL_NAME} is missing: the {sealed} sealed "
                f"entries of {db.path} cannot be extended. Check the record with `python -m "
                "console audit verify --verify-key KEY`, keep it as it is, and use a new data "
                "directory"
            )
        if entries and legacy_key is None:
            raise StorageError(
                f"the audit key {key_path(folder)} is missing: the record's {entries} audit "
                "entries cannot be checked or extended (keep the record as it is and use a "
                "new data directory)"
            )
        if binding is RECORD and existed and not entries and legacy_key is None:
            raise StorageError(
                f"{db.path} exists but holds no audit trail, and there is no sealing key: it "
                "has been emptied, or its creation never finished. Run `python -m console "
                "audit verify`; if it is a new record of yours, move it aside and start again"
            )
        try:
            sealer, issued = Sealer.create(folder / SEAL_NAME, clock)
        except FileExistsError:  # another console opening the same new record made it
            sealer = Sealer.open(folder / SEAL_NAME, clock)
            assert sealer is not None
    trail = AuditTrail(db, sealer, head_path, legacy_key=legacy_key, binding=binding)
    trail.check_head()
    if not sealed:
        trail.begin_sealing()
    else:
        first = db.query(
            "SELECT details FROM audit WHERE epoch IS NOT NULL ORDER BY seq LIMIT 1"
        )[0][0]
        claimed = json.loads(first).get("record")
        if claimed != sealer.record_id:
            raise StorageError(
                f"the sealing key {folder / SEAL_NAME} belongs to record {sealer.record_id}, "
                f"not to {db.path} (record {claimed}): it has been replaced. Run `python -m "
                "console audit verify` and report it"
            )
    return trail, issued


def _unbound(conn: sqlite3.Connection, binding: Binding) -> list[Row]:
    """Rows no entry binds yet (camera counts and training runs, which older consoles kept
    outside the chain): bound as found when sealing begins, so from then on any change to
    them shows. Verify says that what was found then was not protected before."""
    seen: dict[str, set[str]] = {}
    for (bound,) in conn.execute("SELECT bound FROM audit"):
        for name, keys in json.loads(bound).items():
            seen.setdefault(name, set()).update(keys)
    rows: list[Row] = []
    for name in binding.names():
        keys = table_digests(conn, name, binding=binding)
        rows += [(name, k) for k in sorted(keys) if k not in seen.get(name, set())]
    return rows


def __getattr__(name: str) -> Any:
    # Verification moved to console.storage.verification; these names stay importable
    # from here, where callers have always found them.
    if name in ("AuditReport", "NoRecord", "verify_folder", "verify_record"):
        from console.storage import verification

        return getattr(verification, name)
    raise AttributeError(name)
