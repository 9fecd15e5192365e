"""A hostile watchlist folder: every attack is refused with a row-numbered message, never a
traceback, and no file outside the folder is read.

The malicious files are built here, in tmp_path: a PNG whose header claims 30,000 x 30,000
pixels is a few dozen bytes (nothing gigabyte-sized is ever allocated).
"""

from __future__ import annotations

import io
import shutil
import unicodedata
import zlib
from pathlib import Path

import pytest
from PIL import Image

from console.domain.watchlist import WatchlistError, read_watchlist_csv
from console.vision import enrolment
from console.vision.enrolment import enrol_watchlist
from tests.conftest import SOURCE_IMAGES

HEADER = "subject_id,name,category,image,source"
# Unicode's bidirectional controls (written out here, not imported from the code under test).
BIDI = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def write_csv(folder: Path, rows: list[str], header: str = HEADER, encoding: str = "utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "watchlist.csv").write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return folder


def reasons_of(caught: pytest.ExceptionInfo[WatchlistError]) -> dict[int, str]:
    return {r.row: r.reason for r in caught.value.rejections}


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG with its IHDR patched to claim width x height (CRC recomputed)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"  # 8-byte signature, then the IHDR chunk's length and type
    data[16:20] = width.to_bytes(4, "big")
    data[20:24] = height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


@pytest.fixture
def folder(tmp_path) -> Path:
    """A watchlist folder with one good image, inside tmp_path (whose other files are
    outside the folder)."""
    folder = tmp_path / "watchlist"
    folder.mkdir()
    shutil.copy(SOURCE_IMAGES / "obama.jpg", folder / "a.jpg")
    return folder


# -- images must be inside the folder -------------------------------------------------------


def test_image_paths_outside_the_folder_are_refused_and_never_opened(folder, monkeypatch):
    outside = folder.parent / "outside.jpg"
    shutil.copy(SOURCE_IMAGES / "biden.jpg", outside)  # a face: enrolled today if reached
    (folder / "link.jpg").symlink_to(outside)
    (folder / "passwd.jpg").symlink_to("/etc/passwd")
    write_csv(
        folder,
        [
            "S1,Ann,wanted by the courts,../../../../../../../../etc/passwd,custody",
            "S2,Bob,wanted by the courts,/etc/passwd,custody",
            "S3,Cat,wanted by the courts,../outside.jpg,custody",
            f"S4,Dan,wanted by the courts,{outside},custody",
            "S5,Eve,wanted by the courts,link.jpg,custody",
            "S6,Fay,wanted by the courts,passwd.jpg,custody",
            "S7,Gus,wanted by the courts,a.jpg,custody",
        ],
    )
    opened: list[str] = []
    real_read_bytes = Path.read_bytes

    def spy(path: Path) -> bytes:
        opened.append(str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", spy)
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    reasons = reasons_of(caught)
    assert set(reasons) == {1, 2, 3, 4, 5, 6}, "the image inside the folder is fine"
    assert "absolute path" in reasons[2] and "absolute path" in reasons[4]
    for row in (1, 3, 5, 6):
        assert "outside the watchlist folder" in reasons[row]
    inside = folder.resolve()
    assert opened and all(Path(p).resolve().is_relative_to(inside) for p in opened), opened


def test_a_symlink_that_stays_inside_the_folder_is_followed(folder):
    (folder / "photos").mkdir()
    (folder / "photos" / "alias.jpg").symlink_to(folder / "a.jpg")
    write_csv(folder, ["S1,Ann,wanted by the courts,photos/alias.jpg,custody"])
    (entry,) = read_watchlist_csv(folder)
    assert entry.image_path == (folder / "a.jpg").resolve()


# -- images are checked before and while they are decoded ----------------------------------


@pytest.mark.parametrize("size", [(30_000, 30_000), (8_000, 6_000)])
def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded(folder, monkeypatch, size):
    (folder / "huge.png").write_bytes(png_claiming(*size))

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image over the pixel limit was decoded")

    monkeypatch.setattr(enrolment.cv2, "imdecode", no_decoding)
    monkeypatch.setattr(enrolment.cv2, "imread", no_decoding)
    write_csv(folder, ["S1,Ann,wanted by the courts,huge.png,custody"])
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    reason = reasons_of(caught)[1]
    assert "too large" in reason and "40 megapixels" in reason


def test_a_jpeg_cut_in_half_is_refused(folder):
    data = (SOURCE_IMAGES / "obama.jpg").read_bytes()
    (folder / "half.jpg").write_bytes(data[: len(data) // 2])
    write_csv(
        folder,
        [
            "S1,Ann,wanted by the courts,a.jpg,custody",
            "S2,Bob,wanted by the courts,half.jpg,custody",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    reasons = reasons_of(caught)
    assert set(reasons) == {2}
    assert "truncated or corrupt" in reasons[2]


def test_a_png_with_corrupt_pixel_data_is_refused(folder):
    buf = io.BytesIO()
    Image.open(SOURCE_IMAGES / "obama.jpg").save(buf, "PNG")
    data = bytearray(buf.getvalue())
    start = data.index(b"IDAT") + 4 + 2000
    data[start : start + 64] = bytes(64)  # zeros over compressed pixels: a disk error
    (folder / "bad.png").write_bytes(bytes(data))
    write_csv(folder, ["S1,Ann,wanted by the courts,bad.png,custody"])
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    assert "truncated or corrupt" in reasons_of(caught)[1]


def test_a_file_that_is_not_an_image_is_refused_with_the_formats_allowed(folder):
    (folder / "script.jpg").write_text("#!/bin/sh\necho hi\n")
    write_csv(folder, ["S1,Ann,wanted by the courts,script.jpg,custody"])
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    assert "cannot be read: not a JPEG, PNG" in reasons_of(caught)[1]


# -- every CSV fault is a message, not a traceback ------------------------------------------


def test_a_row_with_extra_fields_is_a_row_message(folder):
    write_csv(
        folder,
        [
            "S1,Ann,wanted by the courts,a.jpg,custody",
            "S2,Smith, Bob,wanted by the courts,a.jpg,custody",
            "S3,Cat,wanted by the courts,a.jpg,custody,x,y",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reasons = reasons_of(caught)
    assert set(reasons) == {2, 3}
    assert "has 6 fields but the header has 5 columns" in reasons[2]
    assert "has 7 fields" in reasons[3]


def test_a_latin1_file_is_refused_naming_the_encoding_and_line(folder):
    write_csv(
        folder,
        ["S1,Ann,wanted by the courts,a.jpg,custody", "S2,Zoë Brontë,victim or witness,a.jpg,x"],
        encoding="latin-1",
    )
    with pytest.raises(WatchlistError, match=r"not UTF-8 text: byte 0xEB at line 3"):
        read_watchlist_csv(folder)


def test_a_utf8_file_with_a_byte_order_mark_is_read(folder):
    (folder / "watchlist.csv").write_bytes(
        ("\ufeff" + HEADER + "\nS1,Zoë Brontë,victim or witness,a.jpg,custody\n").encode()
    )
    (entry,) = read_watchlist_csv(folder)
    assert entry.name == "Zoë Brontë"


def test_a_field_over_the_csv_modules_limit_is_a_message(folder):
    write_csv(folder, [f"S1,{'A' * 140_000},wanted by the courts,a.jpg,custody"])
    with pytest.raises(WatchlistError, match="cannot be read as CSV at line 2"):
        read_watchlist_csv(folder)


def test_long_names_and_notes_are_refused(folder):
    write_csv(
        folder,
        [
            f"S1,{'A' * 100_000},wanted by the courts,a.jpg,custody,",
            f"S2,Bob,wanted by the courts,a.jpg,custody,{'n' * 1_001}",
            f"S3,{'C' * 200},wanted by the courts,a.jpg,custody,{'n' * 1_000}",
        ],
        header=HEADER + ",notes",
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reasons = reasons_of(caught)
    assert set(reasons) == {1, 2}, "at the limit is allowed"
    assert "name is 100,000 characters long; at most 200" in reasons[1]
    assert "notes is 1,001 characters long; at most 1,000" in reasons[2]
    assert len(str(caught.value)) < 2_000, "the message does not repeat the long name"


@pytest.mark.parametrize(
    ("name", "notes", "what", "code"),
    [
        ("Ann\u202eyeknom", "", "name contains a bidirectional control", "U+202E"),
        ("Ann\u2066x\u2069", "", "name contains a bidirectional control", "U+2066"),
        ("Ann\u200f", "", "name contains a bidirectional control", "U+200F"),
        ("Ann\u061c", "", "name contains a bidirectional control", "U+061C"),
        ("Ann\x07", "", "name contains a control character", "U+0007"),
        ('"Ann\nBob"', "", "name contains a control character", "U+000A"),
        ("Ann", "see \x1b[31mred\x1b[0m", "notes contains a control character", "U+001B"),
        ("Ann", "x\u202dy", "notes contains a bidirectional control", "U+202D"),
    ],
)
def test_control_and_bidi_characters_are_refused(folder, name, notes, what, code):
    write_csv(
        folder,
        [f"S1,{name},wanted by the courts,a.jpg,custody,{notes}"],
        header=HEADER + ",notes",
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reason = reasons_of(caught)[1]
    assert what in reason and code in reason
    shown = str(caught.value)
    assert not any(ch in BIDI for ch in shown), "the message must not carry them"
    assert all(unicodedata.category(ch) != "Cc" for ch in shown.replace("\n", ""))


def test_other_scripts_and_accents_are_accepted(folder):
    write_csv(
        folder,
        [
            "S1,Zoë Ó Briain,wanted by the courts,a.jpg,custody",
            "S2,محمد علي,wanted by the courts,a.jpg,custody",
            "S3,李小龍,wanted by the courts,a.jpg,custody",
        ],
    )
    names = [e.name for e in read_watchlist_csv(folder)]
    assert names == ["Zoë Ó Briain", "محمد علي", "李小龍"]
