"""A deployment's watchlist: who the console is looking for.

A watchlist folder holds ``watchlist.csv`` (columns ``subject_id,name,category,image``,
``image`` relative to the folder, more columns allowed) and the images. This module
reads and checks the CSV; turning images into face encodings is the vision layer's job
(:mod:`console.vision.enrolment`). A watchlist is accepted whole or not at all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REQUIRED_COLUMNS = ("subject_id", "name", "category", "image")
CSV_NAME = "watchlist.csv"


@dataclass(frozen=True)
class WatchlistEntry:
    """One row of ``watchlist.csv``, before its image has been enrolled."""

    row: int  # 1-based data row, as a person counts rows in a spreadsheet
    subject_id: str
    name: str
    category: str
    image_path: Path
    extra: dict[str, str] = field(default_factory=dict)


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
    if rejections:
        raise WatchlistError(folder, rejections)
    if not entries:
        raise WatchlistError(folder, [], f"watchlist refused: {csv_path} has no subjects")
    return entries
