"""Watchlist folders: every bad row is reported with its reason, nothing half-imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.domain.watchlist import WatchlistError, read_watchlist_csv
from console.vision.enrolment import enrol_watchlist
from tests.conftest import SOURCE_IMAGES


def write_watchlist(folder: Path, rows: list[str], header: str = "subject_id,name,category,image"):
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
    folder = write_watchlist(tmp_path, ["A,Ann,x"], header="subject_id,name,category")
    with pytest.raises(WatchlistError, match="lacks column"):
        read_watchlist_csv(folder)


def test_csv_problems_are_listed_per_row(tmp_path):
    shutil.copy(SOURCE_IMAGES / "obama.jpg", tmp_path / "a.jpg")
    folder = write_watchlist(
        tmp_path,
        [
            "S1,Ann,wanted,a.jpg",
            "S1,Bob,wanted,a.jpg",
            "S3,,wanted,a.jpg",
            "S4,Dee,wanted,gone.jpg",
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
            "G1,Good,wanted,good.jpg",
            "T2,Two,wanted,two.jpg",
            "B3,Blank,wanted,blank.jpg",
            "X4,Broken,wanted,broken.jpg",
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
    folder = write_watchlist(tmp_path, ["S1,Ann,wanted,a.jpg", "S2,Bob,missing,b.jpg"])
    watchlist = enrol_watchlist(folder)
    assert len(watchlist) == 2
    assert watchlist.subject("S2").name == "Bob"
