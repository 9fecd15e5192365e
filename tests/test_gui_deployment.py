"""Signing in and the deployment's safeguarded actions, through the real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from console.domain.officers import Role
from console.qt.login import LoginDialog
from console.storage import Store
from tests.conftest import pause_like_a_person


def click(qtbot, button) -> None:
    pause_like_a_person(qtbot)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_login_refuses_a_wrong_password_then_signs_in(qtbot, tmp_path):
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PC 4821 Ward", Role.OPERATOR, "correct horse", "test")
    dialog = LoginDialog(store.officers.authenticate)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.username, "ward")
    qtbot.keyClicks(dialog.password, "wrong horse")
    click(qtbot, dialog.ok_button)
    assert "wrong password" in dialog.error.text().lower()
    assert dialog.officer is None and dialog.password.text() == ""
    qtbot.keyClicks(dialog.password, "correct horse")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.officer is not None and dialog.officer.role == Role.OPERATOR
    assert dialog.result() == LoginDialog.DialogCode.Accepted


def test_an_operator_cannot_start_unconfirmed_nor_conclude(qtbot, open_sample):
    console = open_sample(start=False, role=Role.OPERATOR)
    bar, tiles = console.window.bar, console.window.tiles
    assert all("deployment not started" in t.state_text for t in tiles.values())
    assert not bar.conclude_button.isEnabled() and not bar.rate_button.isEnabled()
    click(qtbot, bar.start_button)
    qtbot.waitUntil(lambda: "Refused" in bar.message.full_text)
    assert "Refused: confirm that officers are present on the ground" in bar.message.full_text
    assert console.session.feeds[0].counters.frames_decoded == 0


def test_a_supervisor_starts_then_concludes_and_the_watchlist_goes(qtbot, open_sample):
    console = open_sample(start=True)
    bar, tiles = console.window.bar, console.window.tiles
    qtbot.waitUntil(lambda: all("LIVE" in t.state_text for t in tiles.values()), timeout=15_000)
    assert "ACTIVE" in bar.state_label.text()
    assert "watchlist 2 subjects" in bar.summary.text()
    click(qtbot, bar.conclude_button)
    box = console.window.conclude_box  # concluding is final: the console asks first
    qtbot.waitUntil(box.isVisible)
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: "CONCLUDED" in bar.state_label.text(), timeout=10_000)
    assert "watchlist of 2 subjects deleted" in bar.message.full_text
    assert "watchlist deleted" in bar.summary.text()
    assert "none" in bar.operating.full_text and "2 subjects" not in bar.operating.full_text
    assert all("concluded: cameras are off" in t.state_text for t in tiles.values())


def bad_watchlist(folder):
    """One row of each kind the import refuses, and one good row."""
    import shutil

    import cv2
    import numpy as np

    from tests.conftest import SOURCE_IMAGES

    folder.mkdir()
    obama = cv2.imread(str(SOURCE_IMAGES / "obama.jpg"))
    cv2.imwrite(str(folder / "good.jpg"), obama)
    cv2.imwrite(str(folder / "two.jpg"), np.hstack([obama, obama[:, ::-1]]))
    cv2.imwrite(str(folder / "blank.jpg"), np.full((300, 300, 3), 120, np.uint8))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    shutil.copy(folder / "good.jpg", folder / "minor.jpg")
    (folder / "watchlist.csv").write_text(
        "subject_id,name,category,image,source,date_of_birth\n"
        "G1,Good,wanted by the courts,good.jpg,custody,\n"
        "T2,Two,wanted by the courts,two.jpg,custody,\n"
        "B3,Blank,wanted by the courts,blank.jpg,custody,\n"
        "X4,Broken,wanted by the courts,broken.jpg,custody,\n"
        "C5,Category,looks dodgy,good.jpg,custody,\n"
        "P6,Provenance,wanted by the courts,good.jpg,,\n"
        "G1,Duplicate,wanted by the courts,good.jpg,custody,\n"
        "M8,Minor,missing person at risk,minor.jpg,custody,2015-01-01\n"
    )
    return folder


def test_a_bad_watchlist_is_refused_whole_with_every_row_and_reason(qtbot, open_sample, tmp_path):
    from tests.conftest import run_on_loop

    console = open_sample(start=False, role=Role.OPERATOR)
    before = len(console.session.watchlist)
    importing = console.window.watchlist_import
    run_on_loop(qtbot, importing.run(bad_watchlist(tmp_path / "bad")), 60_000)
    bar = console.window.bar
    assert "Watchlist refused: 7 rows rejected" in bar.message.full_text
    reasons = {r.row: r.reason for r in importing.rejections.rejections}
    assert "2 faces found" in reasons[2]
    assert "no face found" in reasons[3]
    assert "cannot be read" in reasons[4]
    assert "not allowed" in reasons[5]
    assert "provenance is missing" in reasons[6]
    assert "earlier row" in reasons[7]
    assert "under 18" in reasons[8]
    assert "row 8 (M8)" in importing.rejections_box.detailedText()
    assert len(console.session.watchlist) == before, "nothing half-imported"
