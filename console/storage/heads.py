"""The audit head: the last entry of a chain, kept outside its database, sealed.

After every committed entry the head (its sequence number and MAC) is written beside the
database (temporary file, fsync, rename), sealed with the current sealing key and the
epoch it was sealed in. At every new epoch it is sealed again with the new key, before
that key replaces the old: the head on disk is never older than the key. Removing the
newest entries, emptying the table or deleting the database leaves the head pointing
past the end of the chain, and a head cannot be written for a shortened chain without
the current sealing key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from console.storage.database import StorageError
from console.storage.files import folder_lock, read_private
from console.storage.sealing import head_text

HEAD_NAME = "audit.head"
TRAINING_HEAD_NAME = "training.head"
HEAD_NAMES = (HEAD_NAME, TRAINING_HEAD_NAME)  # every head sealed with a folder's key
MAX_HEAD_BYTES = 1024


@dataclass(frozen=True)
class Head:
    """A chain's last entry (sequence number and MAC); sealed when *epoch* is set."""

    seq: int
    mac: str
    epoch: int | None = None
    seal: str | None = None
    record: str | None = None

    def __str__(self) -> str:
        return f"{self.seq}:{self.mac}"

    @property
    def sealed(self) -> bool:
        return self.epoch is not None and self.seal is not None

    def text(self) -> str:
        """What its seal covers."""
        return head_text(self.record or "", self.seq, self.mac, self.epoch or 0)

    def resealed(self, epoch: int, sign: Callable[[str], str]) -> Head:
        fresh = replace(self, epoch=epoch)
        return replace(fresh, seal=sign(fresh.text()))

    @classmethod
    def parse(cls, text: str) -> Head:
        """'SEQ:MAC' as printed on a deployment record (spaces in the MAC allowed)."""
        seq, _, mac = text.strip().partition(":")
        mac = "".join(mac.split()).lower()
        if not seq.strip().isdigit() or len(mac) != 64:
            raise ValueError(f"not an audit head: {text!r} (expected SEQ:MAC)")
        return cls(int(seq), mac)


def read_head(path: Path) -> Head | None:
    """The head kept at *path*; None if there is none. A regular file of at most a few
    hundred bytes (never a device or a pipe); its mode is not a secret's (it is public)."""
    data = read_private(Path(path), "the audit head", MAX_HEAD_BYTES, secret=False)
    if data is None:
        return None
    try:
        body = json.loads(data.decode("utf-8"))
        epoch = body.get("epoch")
        return Head(
            int(body["seq"]),
            str(body["mac"]),
            None if epoch is None else int(epoch),
            None if body.get("seal") is None else str(body["seal"]),
            None if body.get("record") is None else str(body["record"]),
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(f"the audit head {path} cannot be read: {exc}") from exc


def write_head(path: Path, head: Head) -> bool:
    """Write the head atomically (temporary file, fsync, rename, fsync the folder), under
    the folder's lock; True if written.

    Never moves it backwards: two writers (two consoles on one record) each write the
    entry they committed, and the later entry (or the later seal of the same entry) wins
    whichever finishes first.
    """
    path = Path(path)
    with folder_lock(path.parent):
        current = read_head(path)
        if current is not None and (current.seq, current.epoch or -1) >= (
            head.seq,
            head.epoch or -1,
        ):
            return False
        body = {"seq": head.seq, "mac": head.mac}
        if head.sealed:
            body |= {"epoch": head.epoch, "seal": head.seal, "record": head.record}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, json.dumps(body).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        folder = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return True


def reseal_heads(folder: Path, epoch: int, sign: Callable[[str], str]) -> None:
    """Seal every sealed head in *folder* again for *epoch* (the caller holds the lock and
    is about to erase the previous key)."""
    for name in HEAD_NAMES:
        head = read_head(Path(folder) / name)
        if head is not None and head.sealed and (head.epoch or 0) < epoch:
            write_head(Path(folder) / name, head.resealed(epoch, sign))
