"""A report says whether the record it was made from verified: a broken record is never
reported as if it were whole.

Every report (``report``, ``evaluate``, the record and evaluation windows) verifies the
record first (``console.storage.verification``). When verification fails it refuses, or
(asked explicitly: ``--even-if-broken``) prints the figures under a banner that says the
record failed verification and where. When it passes, the report says what was checked:
on this machine without the verification key the seals of past epochs are not, and the
report says so in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.storage.verification import AuditReport

if TYPE_CHECKING:
    from console.storage import Store


class RecordBrokenError(Exception):
    """The record failed verification: nothing is reported from it (unless asked)."""

    def __init__(self, integrity: Integrity) -> None:
        super().__init__(integrity.refusal())
        self.integrity = integrity


@dataclass(frozen=True)
class Integrity:
    """What verifying the record found, as a report prints it."""

    problems: tuple[str, ...]
    sealed_checked: bool
    entries: int
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, report: AuditReport) -> Integrity:
        return cls(report.problems, report.sealed_checked, report.entries)

    @property
    def intact(self) -> bool:
        return not self.problems

    def banner(self) -> str | None:
        """The warning printed above (and below) figures from a broken record."""
        if self.intact:
            return None
        more = len(self.problems) - 1
        also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return (
            f"THIS RECORD FAILED VERIFICATION: {self.problems[0]}{also}. The figures are "
            "printed as the damaged record holds them; they may not be what happened. "
            "`python -m console audit verify` lists every problem."
        )

    def note(self) -> str:
        """One line on what was checked, for an intact record's notes."""
        when = self.checked_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
        if not self.intact:
            return self.banner() or ""
        if self.sealed_checked:
            return f"The record verified at {when}: every seal checked with the verification key."
        return (
            f"The record verified at {when} on this machine: its chain, sealed head and every "
            "row behind these figures are consistent; the seals of earlier epochs need the "
            "verification key (python -m console audit verify --verify-key)."
        )

    def refusal(self) -> str:
        more = f"; {len(self.problems) - 1} more" if len(self.problems) > 1 else ""
        return (
            f"the record failed verification: {self.problems[0]}{more}. Nothing is reported "
            "from it: `python -m console audit verify` lists every problem; add "
            "--even-if-broken to print the figures under a warning that says so"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "verified": self.intact,
            "seals_checked_with_verification_key": self.sealed_checked,
            "checked_at": self.checked_at.isoformat(),
            "problems": list(self.problems),
        }


def check_record(store: Store, max_age_s: float | None = None) -> Integrity:
    """Verify the record behind *store* (nothing changes). Reports call this first; it is
    remembered for as long as neither the database nor its head has changed (a window
    refreshed every few seconds does not verify an unchanged record again), and, with
    *max_age_s*, for that long even if it has (a live record's window, which says when
    it was verified, re-reads the figures every few seconds and verifies once a minute)."""
    key = _state(store)
    cached = _cache.get(id(store))
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None and max_age_s is not None and cached[1].intact:
        age = (datetime.now(UTC) - cached[1].checked_at).total_seconds()
        if age < max_age_s:
            return cached[1]
    integrity = Integrity.of(store.audit.verify())
    _cache[id(store)] = (key, integrity)
    return integrity


def require_intact(integrity: Integrity, even_if_broken: bool) -> None:
    if not integrity.intact and not even_if_broken:
        raise RecordBrokenError(integrity)


_cache: dict[int, tuple[tuple, Integrity]] = {}


def _state(store: Store) -> tuple:
    """What changes when the record does: commits by any connection (data_version), this
    connection's own changes, and the head file."""
    with store.db.lock:
        version = store.db.conn.execute("PRAGMA data_version").fetchone()[0]
        changes = store.db.conn.total_changes
    try:
        head = store.audit.head_path.stat()
        head_state = (head.st_mtime_ns, head.st_size, head.st_ino)
    except OSError:
        head_state = None
    return (id(store.db.conn), version, changes, head_state)
