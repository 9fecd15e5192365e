"""A force's labelled test set: ``DIR/<person>/*.jpg`` and ``DIR/people.csv``.

- ``people.csv``: a ``person`` column naming each person's folder, then one column per
  group attribute the force has (sex, age band, ethnicity code, skin tone, capture
  conditions...). An empty cell is "not recorded": that person is in no group of that
  attribute (they still take part as a passer-by and in the padding).
- ``photos.csv`` (optional): ``person``, ``photo`` (a file name in the person's folder),
  then attributes of single photos (lighting, camera...): a probe photo's group.
- Each person's photos are taken in name order (numbers compared as numbers, so
  ``2.jpg`` comes before ``10.jpg``); the first is the enrolment photo (the custody
  image), the others walk past the cameras.

Read as hostile input: every path must stay inside DIR (symlinks resolved), every cell
is checked like a watchlist's, and every fault is listed at once. The images themselves
are opened later by the console's own guarded reader (``console.vision.enrolment``).
The set's SHA-256 covers every photo's name and bytes and both CSV files, so a report
names exactly the faces it was measured on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from console.domain.watchlist import cell_problem

PEOPLE_CSV = "people.csv"
PHOTOS_CSV = "photos.csv"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_CSV_BYTES = 16 * 2**20
MAX_PEOPLE = 100_000
MAX_VALUE = 100
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9_ \-]{0,39}")
_RESERVED = {"person", "photo"}


class TestSetError(Exception):
    """The test set cannot be used; the message lists every fault."""

    __test__ = False  # not a pytest class, whatever its name


@dataclass(frozen=True)
class Person:
    name: str  # the folder's name
    attributes: dict[str, str]  # attribute -> value ("" not recorded)
    photos: tuple[Path, ...]  # in name order; the first is the enrolment photo

    @property
    def enrolment(self) -> Path | None:
        return self.photos[0] if self.photos else None

    @property
    def probes(self) -> tuple[Path, ...]:
        return self.photos[1:]


@dataclass(frozen=True)
class TestSet:
    __test__ = False

    folder: Path
    people: tuple[Person, ...]
    person_attributes: tuple[str, ...]
    photo_attributes: tuple[str, ...]
    # (person, photo file name) -> {attribute: value} for photos.csv's attributes
    photo_labels: dict[tuple[str, str], dict[str, str]]
    sha256: str

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.person_attributes + self.photo_attributes

    def photo_value(self, person: str, photo: Path, attribute: str) -> str:
        """A probe photo's group for *attribute* ("" when not recorded)."""
        if attribute in self.photo_attributes:
            return self.photo_labels.get((person, photo.name), {}).get(attribute, "")
        return next(p for p in self.people if p.name == person).attributes.get(attribute, "")

    def composition(self) -> dict[str, dict[str, int]]:
        """People per value of each person attribute; photos per value of each photo one."""
        out: dict[str, dict[str, int]] = {}
        for a in self.person_attributes:
            counts: dict[str, int] = {}
            for p in self.people:
                value = p.attributes.get(a) or "not recorded"
                counts[value] = counts.get(value, 0) + 1
            out[a] = dict(sorted(counts.items()))
        for a in self.photo_attributes:
            counts = {}
            for p in self.people:
                for photo in p.probes:
                    value = self.photo_value(p.name, photo, a) or "not recorded"
                    counts[value] = counts.get(value, 0) + 1
            out[a] = dict(sorted(counts.items()))
        return out

    def subset(self, names: set[str]) -> TestSet:
        """The same set with only these people (for tests and for dropping a group)."""
        return TestSet(
            self.folder,
            tuple(p for p in self.people if p.name in names),
            self.person_attributes,
            self.photo_attributes,
            {k: v for k, v in self.photo_labels.items() if k[0] in names},
            self.sha256,
        )


def natural_key(name: str) -> list[object]:
    """Name order with numbers compared as numbers: 2.jpg before 10.jpg."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def load_test_set(
    folder: Path, people_csv: Path | None = None, photos_csv: Path | None = None
) -> TestSet:
    """Read and check a test set; TestSetError lists every fault.

    *people_csv* / *photos_csv*: the labels when they are kept outside the photo folder
    (a folder the force may not write to); default ``DIR/people.csv`` and, if present,
    ``DIR/photos.csv``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TestSetError(f"test set {folder} is not a folder")
    root = folder.resolve()
    problems: list[str] = []
    people_path = Path(people_csv) if people_csv else folder / PEOPLE_CSV
    header, rows = _read_csv(people_path, ("person",), problems)
    attributes = tuple(c for c in header if c != "person")
    _check_attribute_names(attributes, people_path.name, problems)
    if header and not attributes:
        problems.append(f"{people_path.name} has no attribute column besides 'person'")
    people: list[Person] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        name = row.get("person", "")
        where = f"{people_path.name} line {number}"
        cells = [p for c, v in row.items() if (p := _cell(c, v))]
        if cells:
            problems.append(f"{where}: {'; '.join(cells)}")
            continue
        person_dir, problem = _person_dir(root, name)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        if name in seen:
            problems.append(f"{where}: person {name!r} is listed twice")
            continue
        seen.add(name)
        photos = _photos(root, person_dir, problems)
        if not photos:
            problems.append(f"{where}: {name}/ holds no photo ({', '.join(PHOTO_SUFFIXES)})")
            continue
        people.append(Person(name, {a: row.get(a, "") for a in attributes}, tuple(photos)))
    if len(people) > MAX_PEOPLE:
        problems.append(f"{len(people):,} people; at most {MAX_PEOPLE:,}")
    unlisted = sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in seen
    ) if not problems else []
    if unlisted:
        shown = ", ".join(unlisted[:5]) + (" ..." if len(unlisted) > 5 else "")
        problems.append(
            f"{len(unlisted)} folder(s) are not in {people_path.name}: {shown} (every "
            "person needs a row, with empty cells for what is not recorded)"
        )
    photo_attributes: tuple[str, ...] = ()
    labels: dict[tuple[str, str], dict[str, str]] = {}
    photos_path = Path(photos_csv) if photos_csv else folder / PHOTOS_CSV
    if photos_csv or photos_path.exists():
        photo_attributes, labels = _photo_labels(photos_path, people, attributes, problems)
    if not people and not problems:
        problems.append(f"{people_path.name} lists nobody")
    if problems:
        raise TestSetError(
            f"test set {folder} refused:\n" + "\n".join(f"  {p}" for p in problems[:50])
            + (f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else "")
        )
    extra = [photos_path] if photo_attributes else []
    return TestSet(
        folder, tuple(people), attributes, photo_attributes, labels,
        _digest(root, people, [people_path, *extra]),
    )


def _read_csv(
    path: Path, required: tuple[str, ...], problems: list[str]
) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        problems.append(f"{path} not found")
        return [], []
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        problems.append(f"{path.name} is {size / 2**20:,.0f} MiB; at most "
                        f"{MAX_CSV_BYTES // 2**20} MiB")
        return [], []
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name} is not UTF-8 text (byte {exc.start:,})")
        return [], []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [(c or "").strip() for c in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            problems.append(f"{path.name} lacks column(s) {', '.join(missing)}")
            return header, []
        if len(set(header)) != len(header):
            problems.append(f"{path.name} names a column twice")
            return header, []
        rows = []
        for record in reader:
            if None in record:
                problems.append(f"{path.name} line {reader.line_num}: more fields than columns")
                continue
            rows.append({(k or "").strip(): (v or "").strip() for k, v in record.items()})
    except csv.Error as exc:
        problems.append(f"{path.name} cannot be read as CSV at line {reader.line_num}: {exc}")
        return [], []
    return header, rows


def _check_attribute_names(names: tuple[str, ...], where: str, problems: list[str]) -> None:
    for name in names:
        if not _ATTRIBUTE.fullmatch(name) or name in _RESERVED:
            problems.append(
                f"{where}: column {name[:60]!r} is not an attribute name (a letter, then "
                "up to 39 letters, digits, spaces, '_' or '-')"
            )


def _cell(column: str, value: str) -> str:
    if len(value) > MAX_VALUE:
        return f"{column} is {len(value):,} characters long; at most {MAX_VALUE}"
    return cell_problem(column, value)


def _person_dir(root: Path, name: str) -> tuple[Path, str]:
    if not name:
        return root, "person is empty"
    if name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        return root, f"person {name[:60]!r} is not a folder name"
    try:
        path = (root / name).resolve()
    except (OSError, RuntimeError):
        return root, f"{name}/ cannot be resolved"
    if path.parent != root:
        return root, f"{name}/ leads outside the test set"
    if not path.is_dir():
        return root, f"no folder {name}/ in the test set"
    return path, ""


def _photos(root: Path, person_dir: Path, problems: list[str]) -> list[Path]:
    photos = []
    for entry in sorted(person_dir.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        try:
            real = entry.resolve()
        except (OSError, RuntimeError):
            problems.append(f"{person_dir.name}/{entry.name} cannot be resolved")
            continue
        if not real.is_relative_to(root) or not real.is_file():
            problems.append(f"{person_dir.name}/{entry.name} is not a file inside the test set")
            continue
        photos.append(real)
    return photos


def _photo_labels(
    path: Path, people: list[Person], person_attributes: tuple[str, ...], problems: list[str]
) -> tuple[tuple[str, ...], dict[tuple[str, str], dict[str, str]]]:
    header, rows = _read_csv(path, ("person", "photo"), problems)
    attributes = tuple(c for c in header if c not in ("person", "photo"))
    _check_attribute_names(attributes, path.name, problems)
    clash = sorted(set(attributes) & set(person_attributes))
    if clash:
        problems.append(f"{path.name}: {', '.join(clash)} is already a column of people.csv")
    photos = {(p.name, ph.name) for p in people for ph in p.photos}
    enrolment = {(p.name, p.photos[0].name) for p in people if p.photos}
    labels: dict[tuple[str, str], dict[str, str]] = {}
    for number, row in enumerate(rows, start=2):
        where = f"{path.name} line {number}"
        cells = [p for c, v in row.items() if (p := _cell(c, v))]
        if cells:
            problems.append(f"{where}: {'; '.join(cells)}")
            continue
        key = (row["person"], row["photo"])
        if key not in photos:
            problems.append(f"{where}: no photo {row['photo'][:60]!r} of {row['person'][:60]!r}")
        elif key in labels:
            problems.append(f"{where}: photo {row['photo']!r} of {row['person']!r} listed twice")
        elif key not in enrolment:  # the enrolment photo is never a probe: its labels unused
            labels[key] = {a: row.get(a, "") for a in attributes}
    return attributes, labels


def _digest(root: Path, people: list[Person], csvs: list[Path]) -> str:
    """SHA-256 over every photo's path (relative to the set) and bytes, and the CSVs."""
    h = hashlib.sha256()
    for p in sorted(people, key=lambda p: p.name):
        for photo in p.photos:
            h.update(str(photo.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(photo.read_bytes()).digest())
    for path in csvs:
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
