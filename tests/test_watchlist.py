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


# -- several photos of one subject ----------------------------------------------------------


def several_photos_folder(tmp_path: Path, rows: list[str] | None = None) -> Path:
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        shutil.copy(SOURCE_IMAGES / name, tmp_path / name)
    return write_watchlist(
        tmp_path,
        rows
        or [
            "S1,Ann,wanted by the courts,obama.jpg,custody 2024",
            "S2,Bob,missing person at risk,biden.jpg,custody",
            "S1,Ann,wanted by the courts,obama2.jpg,custody 2025",
        ],
    )


def test_a_subject_with_several_photos_gets_one_template_of_them_all(tmp_path):
    from console.domain.watchlist import WatchlistEntry
    from console.vision.enrolment import enrol_image
    from console.vision.templates import combine_encodings

    folder = several_photos_folder(tmp_path)
    watchlist = enrol_watchlist(folder)
    assert [s.subject_id for s in watchlist.subjects] == ["S1", "S2"]
    assert watchlist.encodings.shape == (2, 128)
    ann, bob = watchlist.subjects
    assert (ann.photos, bob.photos) == (2, 1)

    def alone(image: str):
        return enrol_image(WatchlistEntry(1, "S1", "Ann", "c", (folder / image).resolve()))

    first, second = alone("obama.jpg"), alone("obama2.jpg")
    assert not np.allclose(first.encoding, second.encoding)
    expected = combine_encodings([first.encoding, second.encoding])
    np.testing.assert_allclose(ann.encoding, expected)
    np.testing.assert_allclose(watchlist.encodings[0], expected)
    # The card shows the first row's face and image; the entry is the first row's.
    np.testing.assert_array_equal(ann.photo_rgb, first.photo_rgb)
    assert ann.image_jpeg == first.image_jpeg and ann.entry.row == 1
    assert ann.entry.provenance == "custody 2024"
    np.testing.assert_allclose(bob.encoding, alone("biden.jpg").encoding)


def test_the_template_is_the_mean_of_the_encodings():
    from console.vision.templates import combine_encodings

    a, b = np.zeros(128), np.full(128, 0.5)
    np.testing.assert_allclose(combine_encodings([a, b]), np.full(128, 0.25))
    np.testing.assert_allclose(combine_encodings([b]), b)
    with pytest.raises(ValueError):
        combine_encodings([])


def test_rows_of_one_subject_must_agree_and_not_repeat_an_image(tmp_path):
    folder = several_photos_folder(
        tmp_path,
        [
            "S1,Ann,wanted by the courts,obama.jpg,custody",
            "S1,Anne,wanted by the courts,obama2.jpg,custody",
            "S1,Ann,missing person at risk,obama3.jpg,custody",
            "S1,Ann,wanted by the courts,obama.jpg,custody",
            "S1,Ann,Wanted by the courts,obama3.jpg,custody",
        ],
    )
    with pytest.raises(WatchlistError) as caught:
        read_watchlist_csv(folder)
    reasons = {r.row: r.reason for r in caught.value.rejections}
    assert set(reasons) == {2, 3, 4}, "a category's other spelling still agrees"
    assert "earlier row (row 1) with a different name" in reasons[2]
    assert "with a different category" in reasons[3]
    assert "listed twice for this subject" in reasons[4]


def test_a_bad_photo_of_a_subject_refuses_the_watchlist_naming_its_row(tmp_path):
    folder = several_photos_folder(
        tmp_path,
        [
            "S1,Ann,wanted by the courts,obama.jpg,custody",
            "S1,Ann,wanted by the courts,blank.jpg,custody",
        ],
    )
    cv2.imwrite(str(folder / "blank.jpg"), np.full((400, 300, 3), 128, np.uint8))
    with pytest.raises(WatchlistError) as caught:
        enrol_watchlist(folder)
    (rejection,) = caught.value.rejections
    assert rejection.row == 2 and "no face found" in rejection.reason


def test_the_size_cap_counts_subjects_not_photos(tmp_path):
    folder = several_photos_folder(tmp_path)  # 3 rows, 2 subjects
    assert len(enrol_watchlist(folder, max_subjects=2)) == 2
    with pytest.raises(WatchlistError, match="2 subjects exceed the configured cap of 1"):
        enrol_watchlist(folder, max_subjects=1)


def test_several_photos_enrol_the_same_on_the_process_pool(tmp_path, process_pool):
    folder = several_photos_folder(tmp_path)
    serial = enrol_watchlist(folder)
    pooled = enrol_watchlist(folder, pool=process_pool)
    assert [s.photos for s in pooled.subjects] == [2, 1]
    np.testing.assert_allclose(pooled.encodings, serial.encodings)


def test_enrolment_is_jittered_and_the_same_photo_always_gives_the_same_template(tmp_path):
    """dlib's own jitter never reseeds: one photo enrolled twice differed by 0.04. The
    console's copies come from a fixed seed, so a re-imported watchlist matches alike."""
    from console.domain.watchlist import WatchlistEntry
    from console.vision.analysis import encode_faces
    from console.vision.enrolment import _bounded, enrol_image, find_faces, read_image

    photo = SOURCE_IMAGES / "obama.jpg"
    entry = WatchlistEntry(1, "S1", "Ann", "c", photo)
    first, again = enrol_image(entry), enrol_image(entry)
    np.testing.assert_array_equal(first.encoding, again.encoding)
    image = _bounded(read_image(photo))
    (plain,) = encode_faces(image, find_faces(image))
    # Jittered: near the photo's single encoding, but not it.
    assert 0.005 < np.linalg.norm(first.encoding - plain) < 0.15
