"""Files the console keeps or writes: private (0600, in 0700 folders), and read as hostile.

Two rules for every secret the console reads (the audit's sealing state, a legacy audit
key), the same as the Ray token file's: a regular file (not a device, a pipe or a
folder: ``/dev/zero`` as a key would be read for ever), readable by its owner only, and
small. Everything the console writes for a person to take away (exports, records,
history with images) is written 0600, and a folder it creates for them 0700, whatever
the umask: it holds faces, names and notes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from console.storage.database import StorageError, make_private_dir

__all__ = [
    "folder_lock",
    "make_private_dir",
    "read_private",
    "write_private",
    "write_private_text",
]


def read_private(
    path: Path, what: str, max_bytes: int = 4096, secret: bool = True
) -> bytes | None:
    """The content of a small file the console keeps; None when it does not exist.

    StorageError (naming *what*) for anything else than a regular file of at most
    *max_bytes* that (when *secret*) only its owner may read or write. The file is opened without
    blocking (a named pipe would otherwise hang the console) and checked on the open
    descriptor, so it cannot be swapped between the check and the read.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"{what} {path} is not a file")
        if secret and info.st_mode & 0o077:
            raise StorageError(
                f"{what} {path} may be read or written by others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); make it 0600: chmod 600 {path}"
            )
        if info.st_size > max_bytes:
            raise StorageError(
                f"{what} {path} is {info.st_size:,} bytes; it cannot be more than {max_bytes:,}"
            )
        data = os.read(fd, max_bytes + 1)
        if len(data) > max_bytes:  # grew after the fstat
            raise StorageError(f"{what} {path} is more than {max_bytes:,} bytes")
        return data
    except OSError as exc:
        raise StorageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> Path:
    """Write *data* to *path* as a new 0600 file (a temporary file, fsync, rename), so a
    reader never sees half a file and the mode never passes through the umask's."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, path)
    return path


def write_private_text(path: Path, text: str) -> Path:
    return write_private(path, text.encode("utf-8"))


# -- one lock per folder, across threads and processes -----------------------------------
_held: dict[str, tuple[threading.RLock, list[int]]] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on *folder* (flock on the folder itself), re-entrant in this
    process: the audit head and the sealing key are changed only under it, by any thread
    of any console on the same record. (Two flocks on one file from one process would
    wait on each other, hence the count.)"""
    name = os.path.realpath(folder)
    with _held_guard:
        lock, state = _held.setdefault(name, (threading.RLock(), []))
    with lock:
        if not state:
            fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            state.append(fd)
            state.append(0)
        state[1] += 1
        try:
            yield
        finally:
            state[1] -= 1
            if state[1] == 0:
                fd = state[0]
                state.clear()
                os.close(fd)  # releases the flock


def check_writable(folder: Path) -> None:
    """StorageError, saying so plainly, when the record in *folder* could not be written
    (a read-only filesystem or folder): better said before anything opens than found out
    half way through a deployment."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only or not os.access(probe, os.W_OK):
        why = "its filesystem is mounted read-only" if read_only else "it may not be written"
        raise StorageError(
            f"the data folder {folder} cannot be written ({probe}: {why}): the console keeps "
            "its record there. Give a writable --data-dir; a record on read-only media can "
            "still be checked with `python -m console audit verify --data-dir ...`"
        )
