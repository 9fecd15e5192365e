"""A deployment's watchlist: who the console is looking for.

A watchlist folder holds ``watchlist.csv`` (columns ``subject_id,name,category,image``,
``image`` relative to the folder, more columns allowed) and the images; a subject may
have one row per photo. This module reads and checks the CSV; turning images into face
encodings is the vision layer's job (:mod:`console.vision.enrolment`). A watchlist is
accepted whole or not at all.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from console.domain.equality import watchlist_problems

REQUIRED_COLUMNS = ("subject_id", "name", "category", "image")
PROVENANCE_COLUMNS = ("provenance", "source")  # where the image came from: one is required
CSV_NAME = "watchlist.csv"
ADULT_AGE = 18
DEFAULT_MAX_SUBJECTS = 10_000
MAX_CSV_BYTES = 64 * 2**20  # 10,000 subjects with long notes fit in a tenth of this
# Longest text a cell may hold, by column; any other column: OTHER_FIELD_LIMIT.
FIELD_LIMITS = {"subject_id": 100, "name": 200, "category": 100, "image": 255, "notes": 1_000}
OTHER_FIELD_LIMIT = 1_000
# Unicode's bidirectional embedding, override and isolate controls and the implicit marks.
BIDI_CONTROLS = frozenset(
    "\u200e\u200f\u061c"
    + "".join(chr(c) for c in range(0x202A, 0x202F))
    + "".join(chr(c) for c in range(0x2066, 0x206A))
)
_CONTROL_CATEGORIES = ("Cc", "Zl", "Zp")  # C0/C1 controls, line and paragraph separators

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

    @property
    def reason(self) -> str:
        """What the subject is sought for, in the watchlist's words (optional column)."""
        return self.extra.get("reason", "")

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warning markers ("violence; weapons"): the optional ``warnings`` column, split
        at semicolons, for the officer's card."""
        text = self.extra.get("warnings", "")
        return tuple(w.strip() for w in text.split(";") if w.strip())


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
class EnrolmentQuality:
    """What a subject's enrolment photo is like, measured at import (plain numbers, no
    face). What it is expected to find follows from these and the operating point
    (``console.vision.enrolment_quality``)."""

    face_px: int  # the face's width in the photo as enrolled
    sharpness: float  # variance of the Laplacian over the face (the quality gate's scale)
    turn: float  # how far the face is turned from the camera: 0 frontal, 1 in profile
    brightness: float  # the face's mean grey level, 0-255
    contrast: float  # the face's grey-level spread (standard deviation)

    @property
    def problems(self) -> tuple[str, ...]:
        """What an officer could improve, in words (empty: a good photo)."""
        found = []
        if self.face_px < GOOD_FACE_PX:
            found.append(f"small face ({self.face_px} px wide; {GOOD_FACE_PX}+ is better)")
        if self.sharpness < GOOD_SHARPNESS:
            found.append(f"soft or blurred (sharpness {self.sharpness:.0f})")
        if self.turn > GOOD_TURN:
            found.append("face turned away from the camera")
        if self.brightness < DARK_BELOW:
            found.append("dark")
        elif self.brightness > BRIGHT_ABOVE:
            found.append("over-exposed")
        if self.contrast < FLAT_BELOW:
            found.append("flat lighting (little contrast)")
        return tuple(found)


# Photo quality an officer can act on (EnrolmentQuality.problems): below these the photo
# is worth replacing or adding to.
GOOD_FACE_PX = 100
GOOD_SHARPNESS = 60.0
GOOD_TURN = 0.35
DARK_BELOW, BRIGHT_ABOVE = 60.0, 200.0
FLAT_BELOW = 25.0


@dataclass(frozen=True)
class WatchlistSubject:
    """An enrolled subject: the row, its face encoding and a photo for adjudication."""

    entry: WatchlistEntry
    encoding: np.ndarray  # 128 floats
    photo_rgb: np.ndarray  # the face from the watchlist image, for the alert card
    image_jpeg: bytes = b""  # the whole watchlist image, for adjudication on request
    photos: int = 1  # how many watchlist images built the encoding (one row per image)
    # The second descriptor's template (unit length; console.vision.second_descriptor),
    # None where it could not be made: that subject is scored on dlib's distance alone.
    second: np.ndarray | None = None
    # What the enrolment photo(s) are like and what they are expected to find
    # (EnrolmentQuality); None for subjects made another way.
    quality: EnrolmentQuality | None = None

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
        # Second templates stacked likewise (zeros where a subject has none, masked).
        dims = next((len(s.second) for s in self.subjects if s.second is not None), 0)
        self.has_second = np.array([s.second is not None for s in self.subjects], dtype=bool)
        self.seconds = np.zeros((len(self.subjects), dims), dtype=np.float64)
        for i, s in enumerate(self.subjects):
            if s.second is not None and len(s.second) == dims:
                self.seconds[i] = s.second
            else:
                self.has_second[i] = False

    def __len__(self) -> int:
        return len(self.subjects)

    def subject(self, subject_id: str) -> WatchlistSubject:
        for s in self.subjects:
            if s.subject_id == subject_id:
                return s
        raise KeyError(subject_id)


def second_columns(subject: WatchlistSubject) -> tuple[bytes | None, str]:
    """How the record keeps a subject's second template and photo quality."""
    second = (
        None if subject.second is None
        else np.asarray(subject.second, dtype=np.float64).tobytes()
    )
    quality = {} if subject.quality is None else dataclasses.asdict(subject.quality)
    return second, json.dumps({**quality, "photos": subject.photos})


def with_second_columns(subject: WatchlistSubject, second: bytes | None, quality: str
                        ) -> WatchlistSubject:
    """The subject with what ``second_columns`` kept (a malformed record keeps none)."""
    try:
        data = json.loads(quality)
        photos = int(data.pop("photos", 1))
        kept = EnrolmentQuality(**data) if data else None
    except (ValueError, TypeError):
        photos, kept = subject.photos, None
    vector = None if second is None else np.frombuffer(second, np.float64)
    return dataclasses.replace(subject, second=vector, quality=kept, photos=max(1, photos))


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
    whole is unusable (missing, too big, not UTF-8, malformed CSV, no such columns, no rows).

    A subject may have several rows, one per photo: they must agree on name, category and
    date of birth. Image paths must lead to a file inside *folder* (symlinks resolved).
    """
    folder = Path(folder)
    csv_path = folder / CSV_NAME
    rows = _read_rows(folder, csv_path)
    root = folder.resolve()

    entries: list[WatchlistEntry] = []
    rejections: list[RowRejection] = []
    first_row: dict[str, WatchlistEntry] = {}  # a subject's first accepted row
    images: set[tuple[str, Path]] = set()
    for number, row in enumerate(rows, start=1):
        if isinstance(row, str):  # the row cannot be read as the header's columns
            rejections.append(RowRejection(number, "", row))
            continue
        subject_id = row["subject_id"]
        # Text checks first: the other messages quote cells, which must be safe to show.
        problems = [p for c, v in row.items() if (p := cell_problem(c, v))]
        if problems:
            rejections.append(RowRejection(number, _clean_id(subject_id), "; ".join(problems)))
            continue
        problems = [f"{c} is empty" for c in REQUIRED_COLUMNS if not row[c]]
        if row["category"] and row["category"].lower() not in _CATEGORY_LOOKUP:
            problems.append(
                f"category {_shown(row['category'])} is not allowed "
                f"(allowed: {', '.join(CATEGORIES)})"
            )
        else:
            row["category"] = _CATEGORY_LOOKUP.get(row["category"].lower(), row["category"])
        if not any(row.get(c) for c in PROVENANCE_COLUMNS):
            problems.append("provenance is missing (a 'provenance' or 'source' column)")
        problems += watchlist_problems(row)  # optional equality columns (codes)
        dob = row.get("date_of_birth") or row.get("dob") or ""
        if dob:
            try:
                date.fromisoformat(dob)
            except ValueError:
                problems.append(f"date of birth {_shown(dob)} is not YYYY-MM-DD")
        image_path: Path | None = None
        if row["image"]:
            image_path, problem = _image_in(root, row["image"])
            if problem:
                problems.append(problem)
        earlier = first_row.get(subject_id)
        if earlier is not None:
            differs = [
                what
                for what, theirs, ours in (
                    ("name", earlier.name, row["name"]),
                    ("category", earlier.category, row["category"]),
                    ("date of birth", _dob_text(earlier.extra), dob),
                )
                if theirs != ours
            ]
            if differs:
                problems.append(
                    f"subject_id {_shown(subject_id)} is used by an earlier row "
                    f"(row {earlier.row}) with a different {' and '.join(differs)}; "
                    "the rows of one subject (one per photo) must agree"
                )
            elif image_path is not None and (subject_id, image_path) in images:
                problems.append(f"image {_shown(row['image'])} is listed twice for this subject")
        if problems or image_path is None:
            rejections.append(RowRejection(number, subject_id, "; ".join(problems)))
            continue
        extra = {k: v for k, v in row.items() if k not in REQUIRED_COLUMNS}
        entry = WatchlistEntry(number, subject_id, row["name"], row["category"], image_path, extra)
        first_row.setdefault(subject_id, entry)
        images.add((subject_id, image_path))
        entries.append(entry)
    if not rows:
        raise WatchlistError(folder, [], f"watchlist refused: {csv_path} has no subjects")
    return entries, rejections


def cell_problem(column: str, value: str) -> str:
    """Why a cell's text cannot be accepted ("" if it can): too long, or holding control
    or bidirectional-override characters (which can make a name read differently on
    screen from what is stored, or break the layout of a card, log or export)."""
    limit = FIELD_LIMITS.get(column, OTHER_FIELD_LIMIT)
    if len(value) > limit:
        return f"{column} is {len(value):,} characters long; at most {limit:,} are allowed"
    for i, ch in enumerate(value, start=1):
        if ch in BIDI_CONTROLS:
            return (
                f"{column} contains a bidirectional control character (U+{ord(ch):04X}) at "
                f"character {i}; it can make text show in a misleading order"
            )
        if unicodedata.category(ch) in _CONTROL_CATEGORIES:
            return f"{column} contains a control character (U+{ord(ch):04X}) at character {i}"
    return ""


def _read_rows(folder: Path, csv_path: Path) -> list[dict[str, str] | str]:
    """The data rows as {column: stripped text}, or, for a row whose fields do not fit the
    header, why not. Raises WatchlistError for a file that cannot be read as a whole."""

    def refuse(reason: str) -> WatchlistError:
        return WatchlistError(folder, [], f"watchlist refused: {csv_path} {reason}")

    if not csv_path.is_file():
        raise refuse("not found")
    size = csv_path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise refuse(f"is {size / 2**20:,.0f} MiB; at most {MAX_CSV_BYTES // 2**20} MiB")
    data = csv_path.read_bytes()
    offset = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = offset + exc.start
        line = data[:at].count(b"\n") + 1
        raise refuse(
            f"is not UTF-8 text: byte 0x{data[at]:02X} at line {line} (byte {at:,}) cannot be "
            "decoded; save the file as CSV UTF-8 (a spreadsheet's 'CSV UTF-8' option)"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[dict[str, str] | str] = []
    try:
        header = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise refuse(f"lacks column(s) {', '.join(missing)}")
        width = len(header)
        for record in reader:
            if None in record:  # more fields than the header has columns
                extra = len(record[None])  # type: ignore[index]
                rows.append(
                    f"has {width + extra} fields but the header has {width} columns "
                    "(an unquoted comma in a name or note?)"
                )
                continue
            rows.append({(k or "").strip(): (v or "").strip() for k, v in record.items()})
    except csv.Error as exc:
        # The DictReader's own line_num is only updated after a good row.
        line = reader.reader.line_num
        raise refuse(f"cannot be read as CSV at line {line}: {exc}") from None
    return rows


def _image_in(root: Path, text: str) -> tuple[Path | None, str]:
    """The image file *text* names inside the watchlist folder *root*, or why not.

    Resolved (symlinks followed) before the check, so neither ``../``, an absolute path
    nor a link can lead enrolment to read a file outside the folder; the resolved path
    is what enrolment opens.
    """
    shown = _shown(text)
    if Path(text).is_absolute():
        return None, f"image {shown} is an absolute path; give it relative to the watchlist folder"
    try:
        path = (root / text).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None, f"image {shown} cannot be resolved"
    if not path.is_relative_to(root):
        return None, f"image {shown} is outside the watchlist folder"
    if not path.is_file():
        return None, f"image {shown} not found"
    return path, ""


def _shown(value: str, limit: int = 60) -> str:
    """A cell quoted for a message: repr escapes control characters; long text is cut."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _clean_id(subject_id: str) -> str:
    return subject_id if not cell_problem("subject_id", subject_id) else ""


def _dob_text(extra: dict[str, str]) -> str:
    return extra.get("date_of_birth") or extra.get("dob") or ""


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
    subjects = len({e.subject_id for e in entries})  # a subject may have several photos
    if subjects > max_subjects:
        rejections.append(
            RowRejection(0, "", f"{subjects} subjects exceed the configured cap of {max_subjects}")
        )
    return rejections
