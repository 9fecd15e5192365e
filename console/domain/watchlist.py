"""A deployment's watchlist: who the console is looking for.

A watchlist folder holds ``watchlist.csv`` (columns ``subject_id,name,category,image``,
``image`` relative to the folder, more columns allowed) and the images. This module
reads and checks the CSV; turning images into face encodings is the vision layer's job
(:mod:`console.vision.enrolment`). A watchlist is accepted whole or not at all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

REQUIRED_COLUMNS = ("subject_id", "name", "category", "image")
PROVENANCE_COLUMNS = ("provenance", "source")  # where the image came from: one is required
CSV_NAME = "watchlist.csv"
ADULT_AGE = 18
DEFAULT_MAX_SUBJECTS = 10_000

# The College of Policing's categories of people who may be on an LFR watchlist.
CATEGORIES = {
    "wanted by the courts": "wanted by the courts",
    "suspected of an offence": "suspected of an offence",
    "bail or order": "subject to bail conditions, a court order or other restriction",
    "missing person at risk": "missing person at risk",
    "risk of harm": "at risk of causing harm to themselves or others",
    "victim or witness": "victim of an offence, or a witness with important information",
}
# Accept the short key or the full wording, in any case.
_CATEGORY_LOOKUP = {k: k for k in CATEGORIES} | {v: k for k, v in CATEGORIES.items()}
_CATEGORY_LOOKUP |= {
    "subject to bail conditions or an order": "bail or order",
    "risk of harm to self or others": "risk of harm",
}


@dataclass(frozen=True)
class WatchlistEntry:
    """One row of ``watchlist.csv``, before its image has been enrolled."""

    row: int  # 1-based data row, as a person counts rows in a spreadsheet
    subject_id: str
    name: str
    category: str
    image_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def provenance(self) -> str:
        return next((self.extra[c] for c in PROVENANCE_COLUMNS if self.extra.get(c)), "")

    @property
    def date_of_birth(self) -> date | None:
        text = self.extra.get("date_of_birth") or self.extra.get("dob") or ""
        return date.fromisoformat(text) if text else None

    @property
    def notes(self) -> str:
        return self.extra.get("notes", "")


@dataclass(frozen=True)
class RowRejection:
    """Why one row of a watchlist could not be accepted."""

    row: int
    subject_id: str
    reason: str

    def __str__(self) -> str:
        who = f" ({self.subject_id})" if self.subject_id else ""
        return f"row {self.row}{who}: {self.reason}"


class WatchlistError(Exception):
    """The watchlist was refused; ``rejections`` lists every faulty row."""

    def __init__(self, folder: Path, rejections: list[RowRejection], message: str = "") -> None:
        self.folder = folder
        self.rejections = rejections
        lines = [message or f"watchlist {folder} refused: {len(rejections)} row(s) rejected"]
        lines += [f"  {r}" for r in rejections]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class WatchlistSubject:
    """An enrolled subject: the row, its face encoding and a photo for adjudication."""

    entry: WatchlistEntry
    encoding: np.ndarray  # 128 floats
    photo_rgb: np.ndarray  # the face from the watchlist image, for the alert card
    image_jpeg: bytes = b""  # the whole watchlist image, for adjudication on request

    @property
    def subject_id(self) -> str:
        return self.entry.subject_id

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def category(self) -> str:
        return self.entry.category


@dataclass
class Watchlist:
    """The enrolled subjects of one deployment, with their encodings stacked for matching."""

    folder: Path
    subjects: list[WatchlistSubject]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.subjects:
            self.encodings = np.stack([s.encoding for s in self.subjects]).astype(np.float64)
        else:
            self.encodings = np.zeros((0, 128), dtype=np.float64)

    def __len__(self) -> int:
        return len(self.subjects)

    def subject(self, subject_id: str) -> WatchlistSubject:
        for s in self.subjects:
            if s.subject_id == subject_id:
                return s
        raise KeyError(subject_id)


def read_watchlist_csv(folder: Path) -> list[WatchlistEntry]:
    """Read and check ``watchlist.csv`` in *folder*; images are only checked to exist.

    Raises :class:`WatchlistError` listing every faulty row, so the person fixing the
    file sees all problems at once rather than one per attempt.
    """
    entries, rejections = parse_watchlist_csv(folder)
    if rejections:
        raise WatchlistError(Path(folder), rejections)
    return entries


def parse_watchlist_csv(folder: Path) -> tuple[list[WatchlistEntry], list[RowRejection]]:
    """The good rows and the rejected ones; raises WatchlistError only if the file as a
    whole is unusable (missing, no such columns, no rows)."""
    folder = Path(folder)
    csv_path = folder / CSV_NAME
    if not csv_path.is_file():
        raise WatchlistError(folder, [], f"watchlist refused: {csv_path} not found")
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise WatchlistError(
                folder, [], f"watchlist refused: {csv_path} lacks column(s) {', '.join(missing)}"
            )
        rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]

    entries: list[WatchlistEntry] = []
    rejections: list[RowRejection] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        subject_id = row["subject_id"]
        problems = [f"{c} is empty" for c in REQUIRED_COLUMNS if not row[c]]
        if subject_id and subject_id in seen:
            problems.append(f"subject_id {subject_id!r} is used by an earlier row")
        if row["category"] and row["category"].lower() not in _CATEGORY_LOOKUP:
            problems.append(
                f"category {row['category']!r} is not allowed (allowed: {', '.join(CATEGORIES)})"
            )
        else:
            row["category"] = _CATEGORY_LOOKUP.get(row["category"].lower(), row["category"])
        if not any(row.get(c) for c in PROVENANCE_COLUMNS):
            problems.append("provenance is missing (a 'provenance' or 'source' column)")
        dob = row.get("date_of_birth") or row.get("dob") or ""
        if dob:
            try:
                date.fromisoformat(dob)
            except ValueError:
                problems.append(f"date of birth {dob!r} is not YYYY-MM-DD")
        image_path = folder / row["image"]
        if row["image"] and not image_path.is_file():
            problems.append(f"image {row['image']!r} not found")
        if problems:
            rejections.append(RowRejection(number, subject_id, "; ".join(problems)))
            continue
        seen.add(subject_id)
        extra = {k: v for k, v in row.items() if k not in REQUIRED_COLUMNS}
        entries.append(
            WatchlistEntry(number, subject_id, row["name"], row["category"], image_path, extra)
        )
    if not rows:
        raise WatchlistError(folder, [], f"watchlist refused: {csv_path} has no subjects")
    return entries, rejections


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_policy(
    entries: list[WatchlistEntry],
    deployment_day: date,
    minors_allowed: frozenset[str] = frozenset(),
    max_subjects: int = DEFAULT_MAX_SUBJECTS,
) -> list[RowRejection]:
    """Rules that need the deployment: no under-18s without an override, a size cap.

    *minors_allowed* holds subject ids a supervisor has overridden (the caller audits it).
    """
    rejections = []
    for e in entries:
        born = e.date_of_birth
        minor = born is not None and age_on(born, deployment_day) < ADULT_AGE
        if minor and e.subject_id not in minors_allowed:
            rejections.append(
                RowRejection(
                    e.row,
                    e.subject_id,
                    f"under {ADULT_AGE} on the deployment day: refused unless a supervisor "
                    "overrides",
                )
            )
    if len(entries) > max_subjects:
        rejections.append(
            RowRejection(
                0, "", f"{len(entries)} subjects exceed the configured cap of {max_subjects}"
            )
        )
    return rejections
