"""Verifying a record: the sealed chain, its head, the rows it binds, and what a witness
off the machine saw.

``verify_record`` checks, in this order, and reports every problem it finds (the first
is the one printed first):

1. the chain: entries numbered from 1 without a gap, each following the one before;
   entries made before sealing only at the start; epochs never going backwards, none in
   an epoch that has not begun; every seal under its epoch's key (with the verification
   key: every entry; on the machine without it: only those of the current epoch, the
   only key the machine still has); the first sealed entry naming this record;
2. the head kept outside: present, reached by the chain, sealed by the record's key and
   never older than it;
3. anchors a supervisor kept (the head printed on a deployment record);
4. the safeguard triggers in the database;
5. every bound table against the chain, both ways; a row may be missing only if an
   entry allowed to delete it did (the retention purge, for alerts and decisions, and
   only once the expiry sealed with the alert has passed);
6. the heads a witness saw: the record must still reach every one.

What it could not check is said too (``unchecked``): without the verification key the
seals of past epochs, without a witness log a rollback or a re-sealed tail.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from console.storage.audit import (
    FIRST_SEALED,
    GENESIS,
    KEY_NAME,
    entry_mac,
    key_path,
    read_key,
    sealed_text,
)
from console.storage.bound import RECORD, TRAINING, Binding, table_digests
from console.storage.database import (
    DB_NAME,
    StorageError,
    missing_triggers,
    open_existing,
    triggers_in,
)
from console.storage.files import folder_lock
from console.storage.heads import HEAD_NAME, TRAINING_HEAD_NAME, Head, read_head
from console.storage.sealing import SEAL_NAME, EpochKeys, Sealer, VerificationKey
from console.storage.witness import WitnessedHead, compare_with_witness

PURGE = "expired alerts purged"
# Rows of these tables leave the record only through the retention purge; a decision,
# outcome or correction only with its alert.
PURGED_WITH_ALERT = ("decisions", "outcomes", "corrections")
NEVER_DELETED = ("officers", "officer_status", "deployments", "site_policy", "camera_counts")
WATCHLIST_REMOVERS = ("watchlist deleted", "watchlist imported")

NO_VERIFY_KEY = (
    "The seals were not checked against the verification key (give --verify-key): a "
    "record rebuilt under a new key, or entries rewritten by someone who took the current "
    "sealing key from the data folder, would pass this check."
)
NO_WITNESS_CONFIGURED = (
    "No witness is configured in the site policy: someone who can read the data folder "
    "can put back an older copy of it (a rollback), delete its newest entries and seal "
    "new ones after them, or replace or empty it, and no check on this machine can find it."
)
NO_WITNESS_LOG = (
    "No witness log was given (--witness-log): a rollback to an older copy of the folder, "
    "newest entries deleted and re-sealed with the current key, or a record emptied or "
    "replaced would pass this check."
)


@dataclass(frozen=True)
class AuditReport:
    entries: int
    first_problem: str | None  # None: nothing wrong was found
    problems: tuple[str, ...] = field(default_factory=tuple)
    head: Head | None = None  # the last entry of an intact trail
    sealed_checked: bool = False  # every seal checked with the verification key
    unchecked: tuple[str, ...] = ()  # what this check could not find, in plain words
    record_id: str | None = None
    legacy_entries: int = 0  # entries made before sealing began
    witnessed: WitnessedHead | None = None  # the last head the witness saw (--witness-log)

    @property
    def intact(self) -> bool:
        return self.first_problem is None

    @property
    def verified(self) -> bool:
        """Intact and every seal checked with the verification key."""
        return self.intact and self.sealed_checked


@dataclass
class _Expected:
    """What the chain says each bound row should be: table -> key -> (digest or None for
    a deleted row, the entry that said so)."""

    rows: dict[str, dict[str, tuple[str | None, int]]] = field(default_factory=dict)
    expiry: dict[str, str] = field(default_factory=dict)  # alert -> expiry sealed with it
    alert_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, key) -> alert


class _Walk:
    """One pass along the chain, collecting problems and what the rows should be."""

    def __init__(
        self,
        verify_key: VerificationKey | None,
        sealer: Sealer | None,
        legacy_key: bytes | None,
        now: datetime,
    ) -> None:
        self.keys = EpochKeys(verify_key) if verify_key else None
        self.verify_key = verify_key
        self.sealer = sealer
        self.legacy_key = legacy_key
        self.now = now
        self.problems: list[str] = []
        self.expected = _Expected()
        self.macs: dict[int, str] = {}
        self.epochs: dict[int, int | None] = {}
        self.record_id: str | None = None
        self.legacy = 0
        self.timing: tuple[int, int] | None = None  # (start, period) of the epochs
        if verify_key is not None:
            self.timing = (verify_key.start, verify_key.period)
        elif sealer is not None:
            self.timing = (sealer.start, sealer.period)

    def epoch_time(self, epoch: int) -> str:
        if self.timing is None:
            return f"epoch {epoch}"
        at = datetime.fromtimestamp(self.timing[0] + epoch * self.timing[1], UTC)
        return f"epoch {epoch}, {at:%Y-%m-%d %H:%M} UTC"

    def chain(self, rows: Sequence[tuple]) -> bool:
        """Check the entries in order; False at the first break (nothing after it can be
        trusted enough to compare)."""
        prev, next_seq, last_epoch = GENESIS, 1, -1
        for seq, at, actor, action, details, bound, prev_hash, stored, epoch in rows:
            if seq != next_seq:
                return self._break(f"entry {next_seq} is missing")
            if prev_hash != prev:
                return self._break(f"entry {seq} does not follow entry {seq - 1}")
            if epoch is None:
                if self.record_id is not None:
                    return self._break(
                        f"entry {seq} ({action}) is not sealed, yet it follows sealed entries"
                    )
                self.legacy += 1
                if self.legacy_key is not None and not hmac.compare_digest(
                    entry_mac(self.legacy_key, prev, seq, at, actor, action, details, bound),
                    stored,
                ):
                    return self._break(f"entry {seq} ({action}) has been altered")
            else:
                if self.record_id is None and not self._first_sealed(seq, action, details):
                    return False
                if epoch < last_epoch:
                    return self._break(
                        f"entry {seq} ({action}) is sealed in {self.epoch_time(epoch)}, before "
                        f"the entry it follows ({self.epoch_time(last_epoch)}): it was put there"
                    )
                if not self._seal_holds(seq, action, epoch, prev, at, actor, details, bound,
                                        stored):
                    return False
                last_epoch = epoch
            self._bind(seq, action, json.loads(details), json.loads(bound), epoch)
            self.macs[seq], self.epochs[seq] = stored, epoch
            prev, next_seq = stored, seq + 1
        return True

    def _first_sealed(self, seq: int, action: str, details: str) -> bool:
        claimed = json.loads(details).get("record") if action in FIRST_SEALED else None
        if not claimed:
            return self._break(
                f"entry {seq} ({action}) is the first sealed entry but does not begin the "
                "record's sealing"
            )
        self.record_id = str(claimed)
        if self.verify_key is not None and claimed != self.verify_key.record_id:
            return self._break(
                f"the record was sealed under another key (record {claimed}), not the "
                f"verification key given (record {self.verify_key.record_id}): it is not "
                "the record that key was made for"
            )
        if self.sealer is not None and claimed != self.sealer.record_id:
            return self._break(
                f"the sealing key in the data folder belongs to record {self.sealer.record_id}"
                f", not to this record ({claimed}): it has been replaced"
            )
        return True

    def _seal_holds(self, seq, action, epoch, prev, at, actor, details, bound, stored) -> bool:  # noqa: ANN001
        now_epoch = None
        if self.timing is not None:
            now_epoch = int((self.now.timestamp() - self.timing[0]) // self.timing[1])
        if now_epoch is not None and epoch > now_epoch + 1:
            return self._break(
                f"entry {seq} ({action}) is sealed in {self.epoch_time(epoch)}, which has not "
                "begun: it was sealed with a key run forward"
            )
        text = sealed_text(prev, seq, epoch, at, actor, action, details, bound)
        if self.keys is not None:
            good: bool | None = self.keys.check(epoch, text, stored)
        elif self.sealer is not None:
            good = self.sealer.check(epoch, text, stored)
        else:
            good = None
        if good is False:
            return self._break(
                f"entry {seq} ({action}) is not sealed by the key of its epoch "
                f"({self.epoch_time(epoch)}): it was forged or altered"
            )
        return True

    def _epoch_end(self, epoch: int | None) -> str | None:
        """When an epoch ended, as purge cutoffs are written (UTC, to the second)."""
        if epoch is None or self.timing is None:
            return None
        end = datetime.fromtimestamp(self.timing[0] + (epoch + 1) * self.timing[1], UTC)
        return end.strftime("%Y-%m-%dT%H:%M:%S")

    def _break(self, problem: str) -> bool:
        self.problems.insert(0, problem)
        return False

    def _bind(
        self, seq: int, action: str, details: dict, bound: dict, epoch: int | None = None
    ) -> None:
        exp = self.expected
        for table, keys in bound.items():
            for k, digest in keys.items():
                before = exp.rows.setdefault(table, {}).get(k)
                if table in ("decisions", "outcomes", "corrections") and digest and before and (
                    before[0]
                ):
                    # A decision (outcome, correction) is written once. A second one means
                    # the first was removed behind the console's back.
                    self.problems.append(
                        f"{table} row {k!r} was written twice (entries {before[1]} and {seq})"
                    )
                if digest is None:
                    self._deleted(seq, action, details, table, k, epoch)
                elif table == "alerts" and details.get("expires_at"):
                    exp.expiry[k] = str(details["expires_at"])
                if digest is not None and details.get("alert_id"):
                    exp.alert_of[(table, k)] = str(details["alert_id"])
                exp.rows[table][k] = (digest, seq)

    def _deleted(
        self, seq: int, action: str, details: dict, table: str, key: str, epoch: int | None
    ) -> None:
        """A row the entry deleted: only by the entry allowed to delete it."""
        label = f"{table} row {key!r}"
        if table in NEVER_DELETED:
            self.problems.append(f"entry {seq} ({action}) deletes {label}, which is never deleted")
        elif table == "watchlist" and action not in WATCHLIST_REMOVERS:
            self.problems.append(f"entry {seq} ({action}) deletes the watchlist of {key!r}")
        elif table == "alerts" or table in PURGED_WITH_ALERT:
            if action != PURGE:
                self.problems.append(
                    f"entry {seq} ({action}) deletes {label}: only the retention purge "
                    "removes alerts and their decisions"
                )
                return
            cutoff = str(details.get("before", ""))
            sealed_by = self._epoch_end(epoch)
            if table == "alerts" and sealed_by is not None and cutoff > sealed_by:
                # A purge cannot reach past the minute it was sealed in (a forger with the
                # current key would otherwise purge "up to" the future).
                self.problems.append(
                    f"entry {seq} ({action}) purges up to {cutoff}, after it was sealed "
                    f"({sealed_by}): alert {key!r} was purged before its expiry"
                )
                return
            alert = key if table == "alerts" else self.expected.alert_of.get((table, key), key)
            expiry = self.expected.expiry.get(alert)
            if table == "alerts" and (expiry is None or expiry > cutoff):
                self.problems.append(
                    f"alert {key!r} was purged by entry {seq} before its expiry "
                    f"(sealed with the alert: {expiry or 'none'}; purged up to {cutoff})"
                )


def verify_record(
    conn: sqlite3.Connection,
    head: Head | None,
    anchors: Iterable[Head] = (),
    *,
    binding: Binding = RECORD,
    sealer: Sealer | None = None,
    verify_key: VerificationKey | None = None,
    legacy_key: bytes | None = None,
    witness: Sequence[WitnessedHead] | None = None,
    witness_configured: bool | None = None,
    now: datetime | None = None,
) -> AuditReport:
    """Check one chain and the tables it binds (see the module docstring)."""
    # A record no console has opened since sealing came has no epoch column: read as it is.
    columns = {r[1] for r in conn.execute("PRAGMA table_info(audit)")}
    epoch = "epoch" if "epoch" in columns else "NULL"
    rows = conn.execute(
        f"SELECT seq, at, actor, action, details, bound, prev_hash, hash, {epoch} "
        "FROM audit ORDER BY seq"
    ).fetchall()
    walk = _Walk(verify_key, sealer, legacy_key, now or datetime.now(UTC))
    if witness_configured is None:
        witness_configured = _witness_configured(conn)
    if not rows:
        problem = (
            "the record holds no audit entries: a record begins with its sealing entry, so "
            "it has been emptied (or was never completed)"
            if head is None
            else f"the audit trail is empty but its head, kept outside the database, is "
            f"entry {head.seq}: entries have been removed"
        )
        walk.problems.append(problem)
    whole = walk.chain(rows)
    last = max(walk.macs, default=0)
    if whole and rows:
        _check_head(walk, head, last, rows[-1][8])
        for anchor in anchors:
            if anchor.seq > last:
                walk.problems.append(
                    f"the audit trail ends at entry {last}, before the anchor {anchor.seq}"
                )
            elif walk.macs.get(anchor.seq) != anchor.mac:
                walk.problems.append(f"entry {anchor.seq} is not the entry the anchor names")
        present = triggers_in(conn)
        for name in missing_triggers(conn):
            state = "altered" if name in present else "removed"
            walk.problems.append(f"the safeguard trigger {name} has been {state}")
        walk.problems += _compare_rows(conn, walk.expected, binding)
    witnessed = None
    if witness is not None:
        record = walk.record_id or (verify_key.record_id if verify_key else None)
        if verify_key is not None:
            record = verify_key.record_id  # the key says which record this must be
        found, witnessed = compare_with_witness(witness, record, walk.macs, last)
        walk.problems += found
    return AuditReport(
        len(rows),
        walk.problems[0] if walk.problems else None,
        tuple(walk.problems),
        Head(last, walk.macs[last], walk.epochs.get(last)) if last and whole else None,
        sealed_checked=verify_key is not None and whole and bool(rows),
        unchecked=_unchecked(walk, verify_key, witness, witness_configured),
        record_id=walk.record_id,
        legacy_entries=walk.legacy,
        witnessed=witnessed,
    )


def _check_head(walk: _Walk, head: Head | None, last: int, last_epoch: int | None) -> None:
    if head is None:
        walk.problems.append("the audit head (kept outside the database) is missing")
        return
    if head.seq > last:
        walk.problems.append(
            f"the audit trail ends at entry {last} but its head, kept outside the database, "
            f"is entry {head.seq}: entries have been removed"
        )
        return
    if walk.macs.get(head.seq) != head.mac:
        walk.problems.append(f"entry {head.seq} is not the one its head outside the database names")
        return
    if walk.keys is None and walk.sealer is not None:
        for seq in range(head.seq + 1, last + 1):
            epoch = walk.epochs.get(seq)
            if epoch is not None and epoch < walk.sealer.epoch:
                walk.problems.append(
                    f"entry {seq} follows the head but was sealed in {walk.epoch_time(epoch)}, "
                    "before the record's current key: it cannot be checked on this machine "
                    "(a crash leaves its last entry in the key's own epoch)"
                )
                break
    if walk.record_id is None:
        return  # a record made before sealing: its head was not sealed
    if not head.sealed or head.record != walk.record_id:
        walk.problems.append(
            "the audit head outside the database is not sealed by this record's key: it was "
            "written without the sealing key"
        )
        return
    epoch = head.epoch or 0
    if last_epoch is not None and epoch < last_epoch:
        walk.problems.append(
            f"the audit head was sealed in {walk.epoch_time(epoch)}, before the last entry: "
            "an older head was put back"
        )
        return
    if walk.keys is not None:
        good: bool | None = walk.keys.check(epoch, head.text(), head.seal or "")
    elif walk.sealer is not None:
        good = walk.sealer.check(epoch, head.text(), head.seal or "")
        if good is None:
            walk.problems.append(
                f"the audit head was sealed in {walk.epoch_time(epoch)}, before the record's "
                "current sealing key: an older head was put back"
            )
            return
    else:
        good = None
    if good is False:
        walk.problems.append(
            "the audit head's seal is not the record's: it was written without the sealing key"
        )


def _compare_rows(conn: sqlite3.Connection, expected: _Expected, binding: Binding) -> list[str]:
    problems = []
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for name in binding.names():
        wanted = expected.rows.get(name, {})
        label = binding.label(name)
        table = binding.groups[name].table if name in binding.groups else name
        if table not in tables:  # a record made before the table was
            if any(want is not None for want, _ in wanted.values()):
                problems.append(f"the table {table} is missing from the record")
            continue
        actual = table_digests(conn, name, binding=binding)
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


def _unchecked(
    walk: _Walk,
    verify_key: VerificationKey | None,
    witness: Sequence[WitnessedHead] | None,
    witness_configured: bool,
) -> tuple[str, ...]:
    said = []
    if verify_key is None:
        said.append(NO_VERIFY_KEY)
    if witness is None:
        said.append(NO_WITNESS_LOG if witness_configured else NO_WITNESS_CONFIGURED)
    if walk.legacy:
        said.append(
            f"Entries 1 to {walk.legacy} were written before sealing began: they are checked "
            f"only with the key kept beside the record ({KEY_NAME}), which anyone who could "
            "read the data folder could have used to rewrite them"
            + ("" if walk.legacy_key else "; that key is not here, so they were not checked")
            + "."
        )
    return tuple(said)


# -- a data folder, as it is on disk ------------------------------------------------------
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


TRAINING_DB = "training.db"


def verify_folder(
    folder: Path,
    anchors: Iterable[Head] = (),
    *,
    verify_key: VerificationKey | None = None,
    witness: Sequence[WitnessedHead] | None = None,
    witness_configured: bool | None = None,
    training: bool = True,
) -> AuditReport:
    """Verify the record in a data directory as it is on disk: nothing is created, nothing
    repaired (a removed trigger stays removed). NoRecord if there is none at all.

    The trainees' runs (``training.db``), when there are any (and *training*), are
    verified as a second chain sealed with the same key; their problems are listed after
    the record's.
    """
    folder = Path(folder)
    db_path = folder / DB_NAME
    sealer, head = _key_and_head(folder, HEAD_NAME)
    if not db_path.is_file():
        if head is None:
            raise NoRecord.at(folder)
        problem = f"the record {db_path} is missing; its audit head says it held {head.seq} entries"
        return AuditReport(0, problem, (problem,))
    legacy_key = read_key(key_path(folder))
    conn = open_existing(db_path)
    try:
        if witness_configured is None:
            witness_configured = _witness_configured(conn)
        report = verify_record(
            conn,
            head,
            anchors,
            sealer=sealer,
            verify_key=verify_key,
            legacy_key=legacy_key,
            witness=witness,
            witness_configured=witness_configured,
        )
    finally:
        conn.close()
    if training and ((folder / TRAINING_DB).is_file() or (folder / TRAINING_HEAD_NAME).exists()):
        report = _with_training(report, folder, sealer, verify_key)
    return report


def _key_and_head(folder: Path, head_name: str) -> tuple[Sealer | None, Head | None]:
    """The sealing key and a head as they stood together: the key first (a running
    console seals the head again before it moves the key on), under the folder's lock
    when the folder allows one."""
    if not folder.is_dir():
        return None, None
    try:
        lock = folder_lock(folder)
        lock.__enter__()
    except OSError:
        lock = None
    try:
        sealer = Sealer.open(folder / SEAL_NAME)
        return sealer, read_head(folder / head_name)
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)


def _with_training(
    report: AuditReport, folder: Path, sealer: Sealer | None, vk: VerificationKey | None
) -> AuditReport:
    sealer, head = _key_and_head(folder, TRAINING_HEAD_NAME)
    if not (folder / TRAINING_DB).is_file():
        extra = [f"the training record {folder / TRAINING_DB} is missing; its head says "
                 f"it held {head.seq if head else '?'} entries"]
    else:
        conn = open_existing(folder / TRAINING_DB)
        try:
            entries = conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
            if entries == 0 and head is None:
                # Made before sealing (it is sealed when the trainer next opens it): only
                # runs already in it are worth a word.
                runs = conn.execute("SELECT COUNT(*) FROM training_runs").fetchone()[0]
                extra = [
                    f"training runs: {runs} runs are in no sealed chain (recorded before "
                    "sealing began, or their chain was removed)"
                ] if runs else []
            else:
                training = verify_record(
                    conn, head, binding=TRAINING, sealer=sealer, verify_key=vk
                )
                extra = [f"training runs: {p}" for p in training.problems]
        finally:
            conn.close()
    problems = (*report.problems, *extra)
    return AuditReport(
        report.entries,
        problems[0] if problems else None,
        problems,
        report.head,
        report.sealed_checked,
        report.unchecked,
        report.record_id,
        report.legacy_entries,
        report.witnessed,
    )


def _witness_configured(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute("SELECT settings FROM site_policy WHERE id = 1").fetchone()
    except sqlite3.Error:
        return False
    if not row:
        return False
    try:
        return bool(json.loads(row[0]).get("witness_address"))
    except (ValueError, AttributeError):
        return False
