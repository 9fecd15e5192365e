"""Watchlist folders: every bad row is reported with its reason, nothing half-imported."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.domain.watchlist import WatchlistError, read_watchlist_csv
from console.vision.enrolment import enrol_watchlist
from tests.conftest import SOURCE_IMAGES

HEADER = "subject_id,name,category,image,source"


def write_watchlist(folder: Path, rows: list[str], header: str = HEADER):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "watchlist.csv").write_text("\n".join([header, *rows]) + "\n")
    return folder


def test_sample_watchlist_enrols_every_subject(sample_watchlist):
    assert [s.subject_id for s in sample_watchlist.subjects] == ["WL-0001", "WL-0002"]
    assert sample_watchlist.encodings.shape == (2, 128)
    assert all(s.photo_rgb.size > 0 for s in sample_watchlist.subjects)


def test_extra_columns_are_kept(sample_watchlist):
    assert "source" in sample_watchlist.subjects[0].entry.extra


def test_missing_column_is_refused(tmp_path):
    folder = write_watchlist(tmp_path, ["A,Ann,x"], header="subject_id,name,category,source")
    with pytest.raises(WatchlistError, match="lacks column"):
        read_watchlist_csv(folder)


def test_csv_problems_are_listed_per_row(tmp_path):
    shutil.copy(SOURCE_IMAGES / "obama.jpg", tmp_path / "a.jpg")
    folder = write_watchlist(
        tmp_path,
        [
            "S1,Ann,wanted by the courts,a.jpg,custody",
            "S1,Bob,wanted by the courts,a.jpg,custody",
            "S3,,wanted by the courts,a.jpg,custody",
            "S4,Dee,wanted by the courts,gone.jpg,custody",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reasons = {r.row: r.reason for r in caught.value.rejections}
    assert set(reasons) == {2, 3, 4}
    assert "earlier row" in reasons[2]
    assert "name is empty" in reasons[3]
    assert "not found" in reasons[4]


def test_bad_images_are_rejected_with_reasons_and_nothing_is_imported(tmp_path):
    obama = cv2.imread(str(SOURCE_IMAGES / "obama.jpg"))
    biden = cv2.imread(str(SOURCE_IMAGES / "biden.jpg"))
    biden = cv2.resize(biden, (obama.shape[0] * biden.shape[1] // biden.shape[0], obama.shape[0]))
    cv2.imwrite(str(tmp_path / "good.jpg"), obama)
    cv2.imwrite(str(tmp_path / "two.jpg"), np.hstack([obama, biden]))
    cv2.imwrite(str(tmp_path / "blank.jpg"), np.full((400, 300, 3), 128, np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"this is not a JPEG")
    folder = write_watchlist(
        tmp_path,
        [
            "G1,Good,wanted by the courts,good.jpg,custody",
            "T2,Two,wanted by the courts,two.jpg,custody",
            "B3,Blank,wanted by the courts,blank.jpg,custody",
            "X4,Broken,wanted by the courts,broken.jpg,custody",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    reasons = {r.row: r.reason for r in caught.value.rejections}
    assert set(reasons) == {2, 3, 4}, "the good row must not be rejected"
    assert "2 faces found" in reasons[2]
    assert "no face found" in reasons[3]
    assert "cannot be read" in reasons[4]
    assert "row 2 (T2)" in str(caught.value)


def test_a_clean_folder_is_accepted_whole(tmp_path):
    shutil.copy(SOURCE_IMAGES / "obama.jpg", tmp_path / "a.jpg")
    shutil.copy(SOURCE_IMAGES / "biden.jpg", tmp_path / "b.jpg")
    folder = write_watchlist(
        tmp_path,
        [
            "S1,Ann,wanted by the courts,a.jpg,custody",
            "S2,Bob,missing person at risk,b.jpg,custody",
        ],
    )
    watchlist = enrol_watchlist(folder)
    assert len(watchlist) == 2
    assert watchlist.subject("S2").name == "Bob"


def test_policy_rows_are_rejected_with_reasons(tmp_path):
    shutil.copy(SOURCE_IMAGES / "obama.jpg", tmp_path / "a.jpg")
    folder = write_watchlist(
        tmp_path,
        [
            "S1,Ann,wanted by the courts,a.jpg,custody,",
            "S2,Bob,looks suspicious,a.jpg,custody,",
            "S3,Cat,missing person at risk,a.jpg,,",
            "S4,Dan,missing person at risk,a.jpg,custody,20XX-01-01",
        ],
        header="subject_id,name,category,image,source,date_of_birth",
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reasons = {r.row: r.reason for r in caught.value.rejections}
    assert set(reasons) == {2, 3, 4}
    assert "'looks suspicious' is not allowed" in reasons[2]
    assert "provenance is missing" in reasons[3]
    assert "not YYYY-MM-DD" in reasons[4]


def minors_folder(tmp_path):
    shutil.copy(SOURCE_IMAGES / "obama.jpg", tmp_path / "a.jpg")
    shutil.copy(SOURCE_IMAGES / "biden.jpg", tmp_path / "b.jpg")
    return write_watchlist(
        tmp_path,
        [
            "A1,Adult,wanted by the courts,a.jpg,custody,1990-05-01",
            "M2,Minor,missing person at risk,b.jpg,custody,2010-12-01",
        ],
        header="subject_id,name,category,image,source,date_of_birth",
    )


def test_under_18s_are_refused_unless_a_supervisor_overrides(tmp_path):
    folder = minors_folder(tmp_path)
    day = date(2026, 11, 27)
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder, deployment_day=day)
    (rejection,) = caught.value.rejections
    assert rejection.row == 2 and "under 18" in rejection.reason
    watchlist = enrol_watchlist(folder, deployment_day=day, minors_allowed=frozenset({"M2"}))
    assert [s.subject_id for s in watchlist.subjects] == ["A1", "M2"]
    # The day they turn 18 they are an adult.
    assert len(enrol_watchlist(folder, deployment_day=date(2028, 12, 1))) == 2


def test_the_size_cap_refuses_the_whole_watchlist(tmp_path):
    folder = minors_folder(tmp_path)
    with pytest.raises(WatchlistError, match="exceed the configured cap of 1"):
        enrol_watchlist(folder, deployment_day=date(2030, 1, 1), max_subjects=1)


def test_small_or_blurred_faces_are_refused(tmp_path):
    obama = cv2.imread(str(SOURCE_IMAGES / "obama.jpg"))
    small = cv2.resize(obama, None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA)
    canvas = np.full((400, 400, 3), 90, np.uint8)
    canvas[150 : 150 + small.shape[0], 150 : 150 + small.shape[1]] = small
    cv2.imwrite(str(tmp_path / "small.jpg"), canvas)
    cv2.imwrite(str(tmp_path / "blur.jpg"), cv2.GaussianBlur(obama, (0, 0), 9))
    folder = write_watchlist(
        tmp_path,
        [
            "S1,Small,wanted by the courts,small.jpg,cctv",
            "S2,Blur,wanted by the courts,blur.jpg,cctv",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    reasons = {r.row: r.reason for r in caught.value.rejections}
    assert "36 px wide; at least 50 are needed" in reasons[1]
    assert "too blurred" in reasons[2]
