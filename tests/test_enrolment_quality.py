"""Enrolment that helps the officer (issue 24): each watchlist photo's quality is
measured at import, each subject's expected share found with one photo and two is
reported, and the planning screen lists where a second photo would help most."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from console.domain.watchlist import EnrolmentQuality, Watchlist, WatchlistEntry, WatchlistSubject
from console.qt.enrolment_dialog import EnrolmentDialog
from console.vision import enrolment_quality
from console.vision.enrolment import enrol_image, find_faces
from console.vision.enrolment_quality import GOOD, POOR, ShareTable, measure
from console.vision.templates import landmarks

FACES = Path(__file__).resolve().parents[1] / "sample_streams" / "source_images"


def _photo(name: str = "obama.jpg") -> tuple[np.ndarray, tuple]:
    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    (box,) = find_faces(image)
    return image, box


def test_quality_sees_blur_dark_and_small_faces():
    image, box = _photo()
    good = measure(image, box, landmarks(image, box))
    assert good.problems == () and good.turn < 0.2
    blurred = cv2.GaussianBlur(image, (0, 0), 6)
    assert any("blurred" in p for p in measure(blurred, box, None).problems)
    dark = (image * 0.2).astype(np.uint8)
    assert "dark" in measure(dark, box, None).problems
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    (small_box,) = find_faces(small)
    assert any("small face" in p for p in measure(small, small_box, None).problems)


def test_turn_follows_the_landmarks():
    eyes_and_nose = np.array([[0, 0], [10, 0], [30, 0], [40, 0], [20, 10]], float)
    image, box = _photo()
    assert measure(image, box, eyes_and_nose).turn == pytest.approx(0.0)
    turned = eyes_and_nose.copy()
    turned[4, 0] = 32  # the nose under one eye: turned half way
    assert measure(image, box, turned).turn == pytest.approx(12 / 15)


def test_import_measures_each_photo(tmp_path):
    image, _ = _photo()
    path = tmp_path / "s.jpg"
    cv2.imwrite(str(path), image)
    entry = WatchlistEntry(1, "S1", "A Person", "wanted by the courts", path, {"source": "t"})
    subject = enrol_image(entry)
    assert isinstance(subject, WatchlistSubject)
    assert subject.quality is not None and subject.quality.face_px >= 100
    assert subject.quality.problems == ()


TABLE = ShareTable(
    np.array([0.3, 0.6]),
    {(GOOD, 1): np.array([0.5, 0.9]), (GOOD, 2): np.array([0.6, 0.95]),
     (POOR, 1): np.array([0.3, 0.7]), (POOR, 2): np.array([0.5, 0.9])},
    {GOOD: 10, POOR: 7},
)


def _subject(sid: str, photos: int, quality: EnrolmentQuality) -> WatchlistSubject:
    entry = WatchlistEntry(1, sid, f"Name {sid}", "wanted by the courts", Path("x.jpg"))
    return WatchlistSubject(entry, np.zeros(128), np.zeros((2, 2, 3), np.uint8), photos=photos,
                            quality=quality)


GOOD_Q = EnrolmentQuality(160, 300.0, 0.05, 120.0, 50.0)
DARK_Q = EnrolmentQuality(160, 300.0, 0.05, 30.0, 50.0)


def test_second_photo_candidates_put_the_biggest_gain_first(monkeypatch):
    monkeypatch.setattr(enrolment_quality, "shipped_shares", lambda: TABLE)
    listed = Watchlist(Path("."), [_subject("G", 1, GOOD_Q), _subject("D", 1, DARK_Q),
                                   _subject("TWO", 2, DARK_Q)])
    ranked = enrolment_quality.second_photo_candidates(listed, 0.45)
    assert [o.subject_id for o in ranked] == ["D", "G"]  # two photos already: not listed
    dark = ranked[0]
    assert dark.share_now == pytest.approx(0.5) and dark.share_with_another == pytest.approx(0.7)
    assert "dark" in dark.describe() and "with a second photo" in dark.describe()


def test_planning_screen_lists_where_a_second_photo_helps(qtbot, monkeypatch):
    monkeypatch.setattr(enrolment_quality, "shipped_shares", lambda: TABLE)
    listed = Watchlist(Path("."), [_subject("G", 1, GOOD_Q), _subject("TWO", 2, DARK_Q),
                                   _subject("D", 1, DARK_Q)])
    dialog = EnrolmentDialog(listed, 0.45)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    shown = [[table.item(r, c).text() for c in range(table.columnCount())]
             for r in range(table.rowCount())]
    assert [row[0] for row in shown] == ["D", "G", "TWO"]
    assert shown[0][3:6] == ["50%", "70%", "+20%"] and shown[0][6] == "dark"
    assert shown[2][4] == "" and shown[2][5] == ""  # two photos: nothing to add
    assert "second photo of the 2 subjects" in dialog.summary.text()


def test_the_report_does_not_take_the_desks_keys(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMainWindow

    from console.qt.enrolment_dialog import show_enrolment_report

    monkeypatch.setattr(enrolment_quality, "shipped_shares", lambda: TABLE)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    dialog = show_enrolment_report(window, Watchlist(Path("."), [_subject("D", 1, DARK_Q)]), 0.45)
    qtbot.waitExposed(dialog)
    assert dialog.isVisible() and not dialog.isModal()
