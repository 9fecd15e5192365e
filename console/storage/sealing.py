"""Forward-secure sealing of the record (Schneier & Kelsey, "Secure audit logs to support
computer forensics", 1999; systemd-journald's Forward Secure Sealing).

Every audit entry and the audit head are sealed (HMAC-SHA256) with a key that changes
every epoch (a minute by default), one way::

    K(0)   = SHA-256("lfr-seal-epoch-0" | seed)
    K(e+1) = SHA-256("lfr-seal-evolve" | K(e))

Only the current epoch's key is on the machine, in the record's sealing state
(``audit.seal``: one 512-byte block, overwritten in place when the next key exists, so
the old key's bytes leave the file as well as memory). Someone who copies it at minute 5
can seal entries for minute 5 and later, never for minute 2: that would take running
SHA-256 backwards.

The **verification key** is the seed, with the epochs' start and length. It is made
when the record is created, shown once (as text and as a QR code) and kept off the
machine: the seed is never written to the data folder. From it ``audit verify
--verify-key`` derives the key of every epoch and checks every seal, so a record sealed
under any other seed never verifies with it, whatever sits beside the record.

What this cannot do alone: someone holding the current key can still delete the newest
entries and seal new ones after them, or put back an older copy of the folder. That is
what the witness (``console.storage.witness``) is for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.storage.database import StorageError
from console.storage.files import folder_lock, read_private

SEAL_NAME = "audit.seal"
PERIOD_S = 60  # one epoch: the key of the minute before is gone a minute later
STATE_SIZE = 512  # one disk sector: written in place in one write
_EPOCH_0 = b"lfr-seal-epoch-0\0"
_EVOLVE = b"lfr-seal-evolve\0"
_RECORD_ID = b"lfr-record-id\0"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def first_key(seed: bytes) -> bytes:
    return hashlib.sha256(_EPOCH_0 + seed).digest()


def evolve(key: bytes) -> bytes:
    """The next epoch's key: one way, so a key tells nothing of the keys before it."""
    return hashlib.sha256(_EVOLVE + key).digest()


def mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def record_id_of(seed: bytes) -> str:
    """The record's public name (in its first entry and in every message to the witness):
    derived from the seed one way, so it gives nothing of it away."""
    return hashlib.sha256(_RECORD_ID + seed).hexdigest()[:24]


def head_text(record: str, seq: int, entry_mac: str, epoch: int) -> str:
    """What a head's seal covers: the record, its last entry, and the epoch sealed in."""
    return f"lfr-head-1|{record}|{seq}|{entry_mac}|{epoch}"


# -- the verification key (kept off the machine) -------------------------------------------
_KEY_TEXT = re.compile(r"lfr1-(\d{1,12})-(\d{1,6})-([0-9a-f]{64})")


@dataclass(frozen=True)
class VerificationKey:
    seed: bytes
    start: int  # Unix time at which epoch 0 began
    period: int  # seconds in an epoch

    @property
    def record_id(self) -> str:
        return record_id_of(self.seed)

    def text(self) -> str:
        """One line, what the QR code holds and ``--verify-key`` takes."""
        return f"lfr1-{self.start}-{self.period}-{self.seed.hex()}"

    def spaced(self) -> str:
        """For reading out and typing from paper: the seed in groups of eight."""
        hexed = self.seed.hex()
        groups = " ".join(hexed[i : i + 8] for i in range(0, len(hexed), 8))
        return f"lfr1-{self.start}-{self.period}- {groups}"

    @classmethod
    def parse(cls, text: str) -> VerificationKey:
        """The key as printed (spaces, line breaks and case do not matter)."""
        squeezed = "".join(str(text).split()).lower()
        found = _KEY_TEXT.fullmatch(squeezed)
        if not found or int(found.group(2)) == 0:
            raise ValueError(
                "not a verification key: it reads lfr1-START-PERIOD- and 64 hexadecimal "
                "digits, as shown when the record was created"
            )
        return cls(bytes.fromhex(found.group(3)), int(found.group(1)), int(found.group(2)))

    def epoch_start(self, epoch: int) -> datetime:
        return datetime.fromtimestamp(self.start + epoch * self.period, UTC)

    def epoch_at(self, when: datetime) -> int:
        return max(0, int((when.timestamp() - self.start) // self.period))


class EpochKeys:
    """Every epoch's key, derived from the verification key forward as a chain is read
    (in order, so each key costs one hash)."""

    def __init__(self, vk: VerificationKey) -> None:
        self.vk = vk
        self._epoch, self._key = 0, first_key(vk.seed)

    def key(self, epoch: int) -> bytes:
        if epoch < self._epoch:  # read out of order: start again from the seed
            self._epoch, self._key = 0, first_key(self.vk.seed)
        while self._epoch < epoch:
            self._key = evolve(self._key)
            self._epoch += 1
        return self._key

    def check(self, epoch: int, text: str, seal: str) -> bool:
        return hmac.compare_digest(mac(self.key(epoch), text), seal)


# -- the sealing key (on the machine) -------------------------------------------------------
@dataclass(frozen=True)
class _State:
    record: str
    start: int
    period: int
    epoch: int
    key: bytes

    def block(self) -> bytes:
        body = {
            "v": 1,
            "record": self.record,
            "start": self.start,
            "period": self.period,
            "epoch": self.epoch,
            "key": self.key.hex(),
        }
        body["check"] = _check(body)
        data = json.dumps(body, sort_keys=True).encode()
        assert len(data) < STATE_SIZE
        return data + b" " * (STATE_SIZE - 1 - len(data)) + b"\n"


def _check(body: dict) -> str:
    fields = {k: v for k, v in body.items() if k != "check"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _read_state(path: Path) -> _State | None:
    data = read_private(path, "the record's sealing key", STATE_SIZE)
    if data is None:
        return None
    try:
        body = json.loads(data.decode("ascii"))
        if body.get("v") != 1 or body.get("check") != _check(body):
            raise ValueError("damaged")
        state = _State(
            str(body["record"]),
            int(body["start"]),
            int(body["period"]),
            int(body["epoch"]),
            bytes.fromhex(body["key"]),
        )
        if len(state.key) != 32 or state.period <= 0 or state.epoch < 0:
            raise ValueError("out of range")
        return state
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"the record's sealing key {path} is not a sealing key ({exc})") from exc


def _write_state(path: Path, state: _State, create: bool = False) -> None:
    """Overwrite the one block in place (or create it, never over another): the previous
    key's bytes are replaced on disk, not left in a freed block as a rename would."""
    flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_CREAT | os.O_EXCL if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.pwrite(fd, state.block(), 0)
        os.fsync(fd)
    finally:
        os.close(fd)


# Sealed entries not yet committed with their head, per sealing key file: while any is in
# flight the key does not move on by the clock (the ticker waits), so a console killed
# between an entry's commit and its head's write leaves that entry in the key's own epoch,
# where the next console can check it.
_in_flight: dict[str, int] = {}
_in_flight_guard = threading.Lock()


class Sealer:
    """The record's current sealing key: it seals entries and heads, and evolves to the
    clock's epoch before each use (and on a timer, ``Store``'s ticker, so it is never
    left behind on disk while the console runs idle).

    *clock* gives the time the epochs follow (injectable: a test runs a deployment's
    minutes in a moment). Before a new key replaces the old on disk, every head in the
    folder (the record's and the training runs') is sealed again with it, under the
    folder's lock: a head on disk is never older than the key beside it.
    """

    def __init__(self, path: Path, state: _State, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self.record_id, self.start, self.period = state.record, state.start, state.period
        self._epoch = state.epoch
        self._key = bytearray(state.key)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, clock: Clock = utc_now) -> Sealer | None:
        """The sealing key kept at *path*; None if there is none."""
        state = _read_state(Path(path))
        return None if state is None else cls(path, state, clock)

    @classmethod
    def create(
        cls, path: Path, clock: Clock = utc_now, period: int = PERIOD_S
    ) -> tuple[Sealer, VerificationKey]:
        """A new record's sealing key and its verification key (the seed: returned, never
        written). FileExistsError if *path* already holds one."""
        seed = secrets.token_bytes(32)
        vk = VerificationKey(seed, int(clock().timestamp()), int(period))
        state = _State(vk.record_id, vk.start, vk.period, 0, first_key(seed))
        _write_state(Path(path), state, create=True)
        return cls(path, state, clock), vk

    # -- time -------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self._epoch

    def epoch_at(self, when: datetime) -> int:
        return max(0, int((when.timestamp() - self.start) // self.period))

    def epoch_start(self, epoch: int) -> datetime:
        return datetime.fromtimestamp(self.start + epoch * self.period, UTC)

    def seconds_to_next_epoch(self) -> float:
        now = self.clock().timestamp()
        return self.start + (self.epoch_at(self.clock()) + 1) * self.period - now

    # -- sealing ----------------------------------------------------------------------
    def seal(self, text: Callable[[int], str], at_least: int = 0) -> tuple[int, str]:
        """(epoch, seal) of the text made for the epoch it is sealed in, under the current
        key; never an epoch before *at_least* (the previous entry's), so epochs only go
        forward along a chain."""
        target = max(self.epoch_at(self.clock()), at_least)
        if target > self._epoch and (not self._held() or at_least > self._epoch):
            self.advance(target)
        with self._lock:
            return self._epoch, mac(bytes(self._key), text(self._epoch))

    def check(self, epoch: int, text: str, seal: str) -> bool | None:
        """Whether *seal* is *text*'s under epoch *epoch*'s key; None when that key has
        been erased (an earlier epoch: only the verification key can tell)."""
        with self._lock:
            if epoch < self._epoch:
                return None
            key = bytes(self._key)
            for _ in range(epoch - self._epoch):
                key = evolve(key)
        return hmac.compare_digest(mac(key, text), seal)

    def snapshot(self) -> Sealer:
        """A copy that never moves on: to check a head and chain read at one moment
        against the key of that moment (the original may advance meanwhile)."""
        with self._lock:
            state = _State(self.record_id, self.start, self.period, self._epoch, bytes(self._key))
        return Sealer(self.path, state, self.clock)

    def hold(self) -> None:
        """An entry was sealed and awaits its commit and head: keep the key (see
        ``_in_flight``). Every hold is followed by one ``release``."""
        with _in_flight_guard:
            _in_flight[self._key_file] = _in_flight.get(self._key_file, 0) + 1

    def release(self) -> None:
        with _in_flight_guard:
            _in_flight[self._key_file] = max(0, _in_flight.get(self._key_file, 0) - 1)

    @property
    def _key_file(self) -> str:
        return os.path.realpath(self.path)

    def _held(self) -> bool:
        with _in_flight_guard:
            return _in_flight.get(self._key_file, 0) > 0

    def advance(self, target: int | None = None) -> bool:
        """Evolve to *target* (default: the clock's epoch); True if the key moved.

        The new key is made, the heads resealed with it, the state
        overwritten on disk, then the old key overwritten in memory: after this the
        earlier key exists nowhere the console can reach.
        """
        by_clock = target is None
        target = self.epoch_at(self.clock()) if target is None else target
        if target <= self._epoch or (by_clock and self._held()):
            return False  # (held: the ticker tries again in a moment)
        with folder_lock(self.path.parent), self._lock:
            if target <= self._epoch:
                return False
            key = bytes(self._key)
            for _ in range(target - self._epoch):
                key = evolve(key)
            on_disk = _read_state(self.path)
            if on_disk is not None and on_disk.record != self.record_id:
                raise StorageError(
                    f"the sealing key {self.path} belongs to another record "
                    f"({on_disk.record}, not {self.record_id}): it has been replaced"
                )
            from console.storage.heads import reseal_heads  # heads import this module

            reseal_heads(self.path.parent, target, lambda text: mac(key, text))
            if on_disk is None or on_disk.epoch < target:
                _write_state(
                    self.path, _State(self.record_id, self.start, self.period, target, key)
                )
            self._key[:] = bytes(len(self._key))  # the old key, zeroed before it goes
            self._key = bytearray(key)
            self._epoch = target
            return True


class SealTicker:
    """Moves a sealer on at each epoch boundary while a record is open, so the key at rest
    is never more than one epoch old, whether or not anything is written."""

    def __init__(self, sealer: Sealer, on_error: Callable[[Exception], None]) -> None:
        self.sealer = sealer
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = min(max(self.sealer.seconds_to_next_epoch(), 0.05), self.sealer.period)
            if self.sealer.epoch < self.sealer.epoch_at(self.sealer.clock()):
                wait = 0.05  # behind (an entry was in flight at the turn): again shortly
            if self._stop.wait(wait + 0.05):
                return
            try:
                self.sealer.advance()
            except Exception as exc:  # reported, and tried again next epoch
                self.on_error(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
