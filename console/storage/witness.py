"""A witness off the machine: each sealed audit head, sent to the site's log collector.

Sealing protects what was written before someone took the sealing key; it cannot stop
them putting back an older copy of the data folder, or deleting the newest entries and
sealing new ones with the current key. A witness can: a collector the data folder's
users cannot write to keeps every head the console reached, and ``audit verify
--witness-log FILE`` (the collector's file) finds any head the record no longer reaches.

The standard in a force is a syslog server or SIEM over TLS: each head goes as one RFC
5424 message (structured data and the same fields in plain text in the message, so any
file format the collector writes keeps them) over RFC 5425 transport (TLS, octet-counted
frames), to the collector the site policy names (``witness_address``, and the CA that
signed its certificate, ``witness_ca_file``). Heads queue while it is unreachable and are
sent when it answers again; the desk shows which.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.storage.heads import Head

log = logging.getLogger(__name__)

APP_NAME = "lfr-console"
MSG_ID = "audit-head"
SD_ID = "lfr-head@32473"  # 32473: the enterprise number RFC 5612 sets aside for examples
PRI = 13 * 8 + 5  # facility 13 (log audit), severity 5 (notice)
MARK = "lfr-audit-head"
MAX_QUEUED = 10_000  # heads kept while the collector is down; the oldest go first
RETRY_S = (1.0, 30.0)  # first and longest wait between attempts
CONNECT_TIMEOUT_S = 5.0

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WitnessedHead:
    """A head as the witness received it."""

    record: str
    seq: int
    mac: str
    epoch: int | None
    seal: str | None
    at: str  # when the console sent it (UTC, ISO 8601)
    host: str = ""


# -- messages -----------------------------------------------------------------------------
def head_message(record: str, head: Head, hostname: str, at: datetime, procid: int) -> bytes:
    """One RFC 5424 message for *head* (without the RFC 5425 frame)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = {
        "record": record,
        "seq": str(head.seq),
        "mac": head.mac,
        "epoch": "" if head.epoch is None else str(head.epoch),
        "seal": head.seal or "",
        "at": stamp,
    }
    sd = " ".join(f'{k}="{v}"' for k, v in fields.items())
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    host = re.sub(r"[^!-~]", "-", hostname)[:255] or "-"
    line = f"<{PRI}>1 {stamp} {host} {APP_NAME} {procid} {MSG_ID} [{SD_ID} {sd}] {MARK} {text}"
    return line.encode("utf-8")


def frame(message: bytes) -> bytes:
    """RFC 5425's octet counting: the length, a space, the message."""
    return str(len(message)).encode() + b" " + message


_FIELD = re.compile(r"\b(record|seq|mac|epoch|seal|at)=(\S*)")
_HOST = re.compile(r"^(?:<\d+>1 \S+ |\S+ )(\S+)")


def parse_witness_lines(lines: Iterable[str]) -> list[WitnessedHead]:
    """The heads in a collector's file, whatever else it holds and whatever its line
    format (the plain-text fields after the ``lfr-audit-head`` mark are read)."""
    heads = []
    for line in lines:
        at = line.find(MARK + " ")
        if at < 0:
            continue
        fields = dict(_FIELD.findall(line[at:]))
        try:
            epoch = fields.get("epoch") or None
            heads.append(
                WitnessedHead(
                    fields["record"],
                    int(fields["seq"]),
                    fields["mac"].lower(),
                    None if epoch is None else int(epoch),
                    fields.get("seal") or None,
                    fields.get("at", ""),
                    (m.group(1) if (m := _HOST.match(line)) else ""),
                )
            )
        except (KeyError, ValueError):
            continue  # a line that only mentions the mark
    return heads


def read_witness_log(path: Path) -> list[WitnessedHead]:
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        return parse_witness_lines(fh)


def compare_with_witness(
    witnessed: Sequence[WitnessedHead], record: str | None, macs: dict[int, str], last: int
) -> tuple[list[str], WitnessedHead | None]:
    """Problems: heads the witness saw that the record no longer reaches (rollback,
    truncation, emptying, replacement); and the last head it saw of this record."""
    mine = [w for w in witnessed if record is not None and w.record == record]
    if not mine:
        others = _latest_by_record(witnessed)
        if not others:
            return [], None  # the witness saw nothing at all: nothing to compare
        seen = "; ".join(
            f"record {w.record} up to entry {w.seq} (sent {w.at})" for w in others[:3]
        )
        what = f"this record ({record})" if record else "any record in this folder"
        return [
            f"the witness never saw {what}, but saw {seen}: the record was replaced or "
            "emptied"
        ], None
    latest = max(mine, key=lambda w: (w.seq, w.at))
    problems = []
    if latest.seq > last:
        problems.append(
            f"the witness saw entry {latest.seq} (sent {latest.at}), but the record ends at "
            f"entry {last}: it was rolled back to an older copy or its newest entries were "
            "removed"
        )
    for w in sorted(mine, key=lambda w: w.seq):
        if w.seq <= last and macs.get(w.seq) != w.mac:
            problems.append(
                f"entry {w.seq} is not the entry the witness saw (sent {w.at}): the record "
                "was rewritten or replaced from there"
            )
            break
    return problems, latest


def _latest_by_record(witnessed: Sequence[WitnessedHead]) -> list[WitnessedHead]:
    latest: dict[str, WitnessedHead] = {}
    for w in witnessed:
        if w.record not in latest or w.seq > latest[w.record].seq:
            latest[w.record] = w
    return sorted(latest.values(), key=lambda w: w.at, reverse=True)


# -- the sender ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WitnessStatus:
    """What the desk shows of the witness, in one line."""

    address: str
    reachable: bool | None  # None: nothing tried yet
    queued: int
    last_sent: int | None  # sequence number of the last head sent
    since: datetime | None  # unreachable since
    reason: str = ""
    dropped: int = 0

    def text(self) -> str:
        if self.reachable is False:
            since = f" since {self.since.astimezone():%H:%M:%S}" if self.since else ""
            dropped = f" ({self.dropped:,} older heads dropped)" if self.dropped else ""
            return (
                f"Witness {self.address} UNREACHABLE{since} ({self.reason}): "
                f"{self.queued:,} audit heads waiting{dropped}, retrying"
            )
        if self.queued:
            return f"Witness {self.address}: sending {self.queued:,} audit heads"
        if self.last_sent is None:
            return f"Witness {self.address}: connecting"
        return f"Witness {self.address}: up to date (audit entry {self.last_sent:,})"

    @property
    def alarming(self) -> bool:
        return self.reachable is False


def split_address(address: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets); ValueError with the reason."""
    found = re.fullmatch(r"\[?([A-Za-z0-9.\-:]+?)\]?:(\d{1,5})", address.strip())
    if not found or not 0 < int(found.group(2)) < 65536:
        raise ValueError(f"a witness address is HOST:PORT, not {address!r}")
    return found.group(1), int(found.group(2))


class WitnessSender:
    """Sends heads to the collector from a thread of its own, in order, over one TLS
    connection; queues them and retries (backing off to 30 s) while it is unreachable.

    ``send`` never blocks the caller (a decision's write must not wait on the network).
    """

    def __init__(
        self,
        address: str,
        record: str,
        ca_file: Path | None = None,
        *,
        server_name: str | None = None,
        hostname: str | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.address = address
        self.host, self.port = split_address(address)
        self.record = record
        self.server_name = server_name or self.host
        self.hostname = hostname or socket.gethostname()
        self.clock = clock
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._queue: collections.deque[tuple[Head, datetime]] = collections.deque()
        self._cond = threading.Condition()
        self._sock: ssl.SSLSocket | None = None
        self._closing = False
        self._reachable: bool | None = None
        self._since: datetime | None = None
        self._reason = ""
        self._last_sent: int | None = None
        self._dropped = 0
        self._sending = False
        self._last: tuple[Head, datetime] | None = None
        self._thread = threading.Thread(target=self._run, name="audit-witness", daemon=True)
        self._thread.start()

    def send(self, head: Head) -> None:
        with self._cond:
            if len(self._queue) >= MAX_QUEUED:
                self._queue.popleft()  # the newest heads prove more than the oldest
                self._dropped += 1
            self._queue.append((head, self.clock()))
            self._cond.notify()

    def status(self) -> WitnessStatus:
        with self._cond:
            return WitnessStatus(
                self.address,
                self._reachable,
                len(self._queue) + self._sending,
                self._last_sent,
                self._since,
                self._reason,
                self._dropped,
            )

    def flush(self, timeout: float) -> bool:
        """Wait up to *timeout* seconds for the queue to empty; True if it did."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queue and not self._sending, timeout=timeout
            )

    def close(self, timeout: float = 3.0) -> int:
        """Send what is queued (for at most *timeout* seconds), stop; return how many heads
        were left unsent (the next console to open the record sends its head)."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            left = len(self._queue) + self._sending
            self._cond.notify_all()
        self._thread.join(timeout=CONNECT_TIMEOUT_S + 1)
        self._disconnect()
        return left

    # -- the thread ---------------------------------------------------------------------
    def _run(self) -> None:
        wait = RETRY_S[0]
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing)
                if self._closing:
                    return
                head, at = self._queue[0]
                self._sending = True
                self._queue.popleft()
            try:
                self._deliver(head, at)
            except (OSError, ssl.SSLError) as exc:
                self._disconnect()
                with self._cond:
                    self._queue.appendleft((head, at))
                    self._sending = False
                    if self._reachable is not False:
                        self._since = self.clock()
                        log.warning("witness %s unreachable: %s", self.address, exc)
                    self._reachable = False
                    self._reason = _reason(exc)
                    self._cond.notify_all()
                    if self._cond.wait_for(lambda: self._closing, timeout=wait):
                        return
                wait = min(wait * 2, RETRY_S[1])
                continue
            wait = RETRY_S[0]
            with self._cond:
                self._sending = False
                self._reachable, self._since, self._reason = True, None, ""
                self._last_sent = max(self._last_sent or 0, head.seq)
                self._cond.notify_all()

    def _deliver(self, head: Head, at: datetime) -> None:
        if self._sock is not None and not self._alive(self._sock):
            self._disconnect()  # the collector closed it (restarted): say so, reconnect
        if self._sock is None:
            raw = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
            try:
                self._sock = self.context.wrap_socket(raw, server_hostname=self.server_name)
            except BaseException:
                raw.close()
                raise
            if self._last is not None and self._last[0].seq != head.seq:
                # TCP gives no receipt: the head sent just before a connection died may
                # not have arrived. Sent again first (the witness keeps both; harmless).
                self._sock.sendall(frame(self._message(*self._last)))
        self._sock.sendall(frame(self._message(head, at)))
        self._last = (head, at)

    def _message(self, head: Head, at: datetime) -> bytes:
        return head_message(self.record, head, self.hostname, at, os.getpid())

    @staticmethod
    def _alive(sock: ssl.SSLSocket) -> bool:
        """False once the collector has closed the connection (it never sends us data)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        try:
            sock.setblocking(False)
            return sock.recv(1) != b""
        except (ssl.SSLWantReadError, BlockingIOError):
            return True
        except OSError:
            return False
        finally:
            sock.settimeout(CONNECT_TIMEOUT_S)

    def _disconnect(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate was refused: {exc.verify_message}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
