"""The audit trail: append-only, keyed, anchored outside the database, and bound to the
rows it speaks for.

- **Keyed chain.** Entry n stores ``mac = HMAC-SHA256(key, prev_mac | seq | at | actor |
  action | details | bound)``. The key lives outside ``console.db`` (``audit.key`` in the
  data directory, 0600, or the file named by ``$LFR_CONSOLE_AUDIT_KEY``), so a copy or
  an edit of the database alone cannot re-chain altered entries.
- **Head outside the database.** After every committed entry its sequence number and MAC
  are written to ``audit.head`` (temporary file, fsync, rename). Removing the newest
  entries, emptying the table or deleting ``console.db`` leaves the head pointing past
  the end of the trail. The head at a deployment's conclusion is printed on its record:
  an anchor a supervisor keeps, checked with ``audit verify --anchor SEQ:MAC``.
- **Rows bound.** An entry that writes a row that matters (alert, decision, outcome,
  correction, officer, deployment, watchlist) carries the digest of that row's content
  (``bound``), written in the same transaction. ``verify`` checks the tables against the
  chain both ways: every row has its entry, every entry its row, with the same content.
- The database refuses UPDATE and DELETE on the audit table and on final rows (triggers);
  ``verify`` also reports a trigger that was removed or altered.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.storage.database import (
    DB_NAME,
    Database,
    StorageError,
    missing_triggers,
    open_existing,
    triggers_in,
)

log = logging.getLogger(__name__)

GENESIS = "0" * 64
KEY_NAME = "audit.key"
HEAD_NAME = "audit.head"
KEY_ENV = "LFR_CONSOLE_AUDIT_KEY"  # a key file kept elsewhere (another volume, a token)

# Tables whose rows are bound into the chain, by their key column. "watchlist" is one
# digest over a deployment's watchlist_subjects rows (10,000 subjects: one entry).
BOUND_TABLES: dict[str, str] = {
    "officers": "username",
    "deployments": "reference",
    "alerts": "alert_id",
    "decisions": "alert_id",
    "outcomes": "alert_id",
    "corrections": "seq",
    "site_policy": "id",
}
WATCHLIST = "watchlist"
FINAL_TABLES = frozenset({"decisions", "outcomes", "corrections"})
Row = tuple[str, str]  # (table, key)


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def entry_mac(
    key: bytes,
    prev: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    details: str,
    bound: str,
) -> str:
    text = "|".join([prev, str(seq), at, actor, action, details, bound])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# -- row digests ------------------------------------------------------------------------
def _value(v: Any) -> Any:
    # Blobs (crops, photos, encodings) by their own digest: the row digest stays small.
    return {"sha256": hashlib.sha256(v).hexdigest()} if isinstance(v, bytes) else v


def _digest_row(columns: list[str], values: tuple) -> str:
    body = json.dumps([[c, _value(v)] for c, v in zip(columns, values, strict=True)])
    return hashlib.sha256(body.encode()).hexdigest()


def table_digests(conn: sqlite3.Connection, table: str, key: str | None = None) -> dict[str, str]:
    """Each row's content digest, by key (every row, or the one with *key*)."""
    if table == WATCHLIST:
        return _watchlist_digests(conn, key)
    column = BOUND_TABLES[table]
    sql = f"SELECT * FROM {table}" + (f" WHERE {column} = ?" if key is not None else "")
    cursor = conn.execute(sql, (key,) if key is not None else ())
    columns = [d[0] for d in cursor.description]
    at = columns.index(column)
    return {str(row[at]): _digest_row(columns, row) for row in cursor}


def _watchlist_digests(conn: sqlite3.Connection, reference: str | None) -> dict[str, str]:
    where, params = (" WHERE deployment = ?", (reference,)) if reference else ("", ())
    cursor = conn.execute(
        f"SELECT * FROM watchlist_subjects{where} ORDER BY deployment, subject_id", params
    )
    columns = [d[0] for d in cursor.description]
    per: dict[str, Any] = {}
    for row in cursor:
        per.setdefault(row[0], hashlib.sha256()).update(_digest_row(columns, row).encode())
    return {ref: h.hexdigest() for ref, h in per.items()}


def row_digest(conn: sqlite3.Connection, table: str, key: str) -> str | None:
    """The digest of one row as it is now; None when there is no such row."""
    return table_digests(conn, table, key).get(str(key))


# -- key and head -----------------------------------------------------------------------
def key_path(data_dir: Path) -> Path:
    if env := os.environ.get(KEY_ENV):
        return Path(env)
    return Path(data_dir) / KEY_NAME


def read_key(path: Path) -> bytes | None:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot read the audit key {path}: {exc}") from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise StorageError(f"the audit key {path} is not a key")
    return key


def create_key(path: Path) -> bytes:
    """A new random key, written 0600; never overwrites one (O_EXCL)."""
    key = secrets.token_bytes(32)
    _write_private(Path(path), key.hex().encode() + b"\n", exclusive=True)
    return key


@dataclass(frozen=True)
class Head:
    """The last entry of the trail as last written outside the database."""

    seq: int
    mac: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.mac}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """'SEQ:MAC' as printed on a deployment record (spaces in the MAC allowed)."""
        seq, _, mac = text.strip().partition(":")
        mac = "".join(mac.split()).lower()
        if not seq.strip().isdigit() or len(mac) != 64:
            raise ValueError(f"not an audit head: {text!r} (expected SEQ:MAC)")
        return cls(int(seq), mac)


def read_head(path: Path) -> Head | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Head(int(data["seq"]), str(data["mac"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"the audit head {path} cannot be read: {exc}") from exc


def write_head(path: Path, head: Head) -> None:
    """Write the head atomically (temporary file, fsync, rename, fsync the folder).

    Never moves it backwards: two writers (two processes on one record) each write the
    entry they committed, and the later entry must win whichever finishes first.
    """
    path = Path(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        current = read_head(path)
        if current is not None and current.seq >= head.seq:
            return
        body = json.dumps({"seq": head.seq, "mac": head.mac}).encode() + b"\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _write_private(tmp, body, exclusive=False)
        os.replace(tmp, path)
        os.fsync(folder)
    finally:
        os.close(folder)  # releases the lock


def _write_private(path: Path, data: bytes, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# -- entries and verification -----------------------------------------------------------
@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    details: dict[str, Any]
    mac: str = ""


@dataclass(frozen=True)
class AuditReport:
    entries: int
    first_problem: str | None  # None: the record is intact
    problems: tuple[str, ...] = field(default_factory=tuple)
    head: Head | None = None  # the last entry of an intact trail

    @property
    def intact(self) -> bool:
        return self.first_problem is None


def verify_record(
    conn: sqlite3.Connection,
    key: bytes | None,
    head: Head | None,
    anchors: Iterable[Head] = (),
) -> AuditReport:
    """Check a record: the keyed chain, its head kept outside, any anchors a supervisor
    kept, the safeguard triggers, and every bound table against the chain both ways.

    The first problem is the first found in that order; ``problems`` lists them all.
    """
    rows = conn.execute(
        "SELECT seq, at, actor, action, details, bound, prev_hash, hash FROM audit ORDER BY seq"
    ).fetchall()
    problems: list[str] = []
    if key is None:
        if not rows and head is None:
            key = b""  # an empty new record: nothing was ever keyed
        else:
            problem = "the audit key is missing: the trail cannot be checked"
            return AuditReport(len(rows), problem, (problem,))
    macs: dict[int, str] = {}
    # table -> key -> (digest or None for a deleted row, the entry that said so)
    expected: dict[str, dict[str, tuple[str | None, int]]] = {}
    prev, next_seq, chain_broken = GENESIS, 1, False
    for seq, at, actor, action, details, bound, prev_hash, stored in rows:
        if seq != next_seq:
            problems.insert(0, f"entry {next_seq} is missing")
            chain_broken = True
            break
        if prev_hash != prev:
            problems.insert(0, f"entry {seq} does not follow entry {seq - 1}")
            chain_broken = True
            break
        if not hmac.compare_digest(
            entry_mac(key, prev, seq, at, actor, action, details, bound), stored
        ):
            problems.insert(0, f"entry {seq} ({action}) has been altered")
            chain_broken = True
            break
        for table, keys in json.loads(bound).items():
            for k, digest in keys.items():
                before = expected.setdefault(table, {}).get(k)
                if table in FINAL_TABLES and digest is not None and before and before[0]:
                    # A decision (outcome, correction) is written once. A second one means
                    # the first was removed behind the console's back and the alert
                    # decided again, even if every row now matches its latest entry.
                    label = f"{table} row {k!r}"
                    problems.append(f"{label} was written twice (entries {before[1]} and {seq})")
                expected[table][k] = (digest, seq)
        macs[seq] = stored
        prev, next_seq = stored, seq + 1
    last = next_seq - 1
    if chain_broken:  # nothing after the break can be trusted enough to compare
        return AuditReport(len(rows), problems[0], tuple(problems))
    if head is None:
        if rows:
            problems.append("the audit head (kept outside the database) is missing")
    elif head.seq > last:
        problems.append(
            f"the audit trail ends at entry {last} but its head, kept outside the database, "
            f"is entry {head.seq}: entries have been removed"
        )
    elif macs.get(head.seq) != head.mac:
        problems.append(f"entry {head.seq} is not the one its head outside the database names")
    for anchor in anchors:
        if anchor.seq > last:
            problems.append(f"the audit trail ends at entry {last}, before the anchor {anchor.seq}")
        elif macs.get(anchor.seq) != anchor.mac:
            problems.append(f"entry {anchor.seq} is not the entry the anchor names")
    present = triggers_in(conn)
    for name in missing_triggers(conn):
        state = "altered" if name in present else "removed"
        problems.append(f"the safeguard trigger {name} has been {state}")
    problems += _compare_rows(conn, expected)
    return AuditReport(
        len(rows),
        problems[0] if problems else None,
        tuple(problems),
        Head(last, macs[last]) if last else None,
    )


class NoRecord(StorageError):
    """There is no record where one was looked for (a mistyped --data-dir)."""

    @classmethod
    def at(cls, folder: Path) -> NoRecord:
        """"No record at FOLDER", saying where the sample deployment's record is when it is
        the one beside it: a run of the sample keeps its record in FOLDER/sample, which is
        easy to miss when passing the folder given to `run`."""
        sample = Path(folder) / "sample"
        if Path(folder).name == "sample" or not (sample / DB_NAME).is_file():
            return cls(f"no record at {folder}")
        return cls(
            f"no record at {folder}; the sample deployment's record is in {sample}: "
            "add --sample to the command"
        )


def verify_folder(folder: Path, anchors: Iterable[Head] = ()) -> AuditReport:
    """Verify the record in a data directory as it is on disk: nothing is created, nothing
    repaired (a removed trigger stays removed). NoRecord if there is none at all."""
    folder = Path(folder)
    db_path = folder / DB_NAME
    head = read_head(folder / HEAD_NAME) if folder.is_dir() else None
    if not db_path.is_file():
        if head is None:
            raise NoRecord.at(folder)
        problem = f"the record {db_path} is missing; its audit head says it held {head.seq} entries"
        return AuditReport(0, problem, (problem,))
    conn = open_existing(db_path)
    try:
        return verify_record(conn, read_key(key_path(folder)), head, anchors)
    finally:
        conn.close()


def _compare_rows(
    conn: sqlite3.Connection, expected: dict[str, dict[str, tuple[str | None, int]]]
) -> list[str]:
    problems = []
    for table in [*BOUND_TABLES, WATCHLIST]:
        wanted = expected.get(table, {})
        label = "the watchlist of" if table == WATCHLIST else f"{table} row"
        actual = table_digests(conn, table)
        for k, digest in actual.items():
            if k not in wanted:
                problems.append(f"{label} {k!r} has no audit entry")
                continue
            want, seq = wanted[k]
            if want is None:
                problems.append(f"{label} {k!r} was deleted by entry {seq} but is in the record")
            elif want != digest:
                problems.append(f"{label} {k!r} differs from audit entry {seq}")
        for k, (want, seq) in wanted.items():
            if want is not None and k not in actual:
                problems.append(f"{label} {k!r} (audit entry {seq}) is missing from the record")
    return problems


class AuditTrail:
    def __init__(self, db: Database, key: bytes, head_path: Path) -> None:
        self.db = db
        self.key = key
        self.head_path = Path(head_path)

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
        last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        stamp = (at or datetime.now(UTC)).isoformat()
        body = canonical(details or {})
        bound: dict[str, dict[str, str | None]] = {}
        for table, key in rows:
            bound.setdefault(table, {})[str(key)] = row_digest(conn, table, str(key))
        bound_text = canonical(bound)
        mac = entry_mac(self.key, prev, seq, stamp, actor, action, body, bound_text)
        conn.execute(
            "INSERT INTO audit (seq, at, actor, action, details, bound, prev_hash, hash) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (seq, stamp, actor, action, body, bound_text, prev, mac),
        )
        head = Head(seq, mac)
        # Outside the database, and only once the entry is committed: a rolled-back entry
        # must not become the head. A crash in between leaves the head one transaction
        # behind, which verify accepts (the entries after it are keyed) and the next
        # write or open catches up.
        self.db.after_commit("audit head", lambda: self._write_head(head))
        return AuditEntry(seq, stamp, actor, action, details or {}, mac)

    def _write_head(self, head: Head) -> None:
        try:
            write_head(self.head_path, head)
        except (OSError, StorageError) as exc:
            # The entry is committed; failing the officer's action now would misreport it.
            log.error("audit head not written to %s: %s", self.head_path, exc)

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
            "SELECT seq, at, actor, action, details, hash FROM audit ORDER BY seq"
        )
        return [AuditEntry(s, at, a, act, json.loads(d), m) for s, at, a, act, d, m in rows]

    def last(self) -> Head | None:
        rows = self.db.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return Head(rows[0][0], rows[0][1]) if rows else None

    def head(self) -> Head | None:
        """The head as written outside the database."""
        return read_head(self.head_path)

    def verify(self, anchors: Iterable[Head] = ()) -> AuditReport:
        with self.db.lock:
            return verify_record(self.db.conn, self.key, self.head(), anchors)

    def check_head(self) -> None:
        """On opening: refuse a trail that ends before its head (entries removed, table
        emptied); bring a head left one transaction behind by a crash up to date."""
        head = self.head()
        if head is None:
            return
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT seq, at, actor, action, details, bound, prev_hash, hash FROM audit "
                "WHERE seq >= ? ORDER BY seq",
                (head.seq,),
            ).fetchall()
        if not rows or rows[0][0] != head.seq or rows[0][7] != head.mac:
            raise StorageError(
                f"the audit trail in {self.db.path} does not reach its head (entry "
                f"{head.seq}, kept in {self.head_path}): entries have been removed or "
                "altered. Run `python -m console audit verify` and report it"
            )
        prev = head.mac
        for seq, at, actor, action, details, bound, prev_hash, mac in rows[1:]:
            good = entry_mac(self.key, prev, seq, at, actor, action, details, bound)
            if prev_hash != prev or not hmac.compare_digest(good, mac):
                raise StorageError(
                    f"audit entry {seq} in {self.db.path} has been altered: run "
                    "`python -m console audit verify` and report it"
                )
            prev = mac
        if len(rows) > 1:
            with contextlib.suppress(OSError):
                write_head(self.head_path, Head(rows[-1][0], rows[-1][7]))
