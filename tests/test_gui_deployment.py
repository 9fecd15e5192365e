"""Signing in and the deployment's safeguarded actions, through the real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt

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
    assert not bar.conclude_button.isEnabled() and not bar.threshold_button.isEnabled()
    click(qtbot, bar.start_button)
    qtbot.waitUntil(lambda: "Refused" in bar.message.text())
    assert "Refused: confirm that officers are present on the ground" in bar.message.text()
    assert console.session.feeds[0].counters.frames_decoded == 0


def test_a_supervisor_starts_then_concludes_and_the_watchlist_goes(qtbot, open_sample):
    console = open_sample(start=True)
    bar, tiles = console.window.bar, console.window.tiles
    qtbot.waitUntil(lambda: all("LIVE" in t.state_text for t in tiles.values()), timeout=15_000)
    assert "ACTIVE" in bar.state_label.text()
    assert "watchlist 2 subjects" in bar.summary.text()
    click(qtbot, bar.conclude_button)
    qtbot.waitUntil(lambda: "CONCLUDED" in bar.state_label.text(), timeout=10_000)
    assert "watchlist of 2 subjects deleted" in bar.message.text()
    assert "watchlist 0 subjects" in bar.summary.text()
    assert all("concluded: cameras are off" in t.state_text for t in tiles.values())
