"""The video wall and the window around it, driven as an officer would: tiles that keep
their camera's shape on 2/4/6/8 cameras, enlarging a camera and coming back, health in
plain words, a window that never widens itself and remembers its layout, the keys list,
the mute indicator, save dialogs in Documents, a history that follows the record."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton, QWidget

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.live.feed import FeedState, FeedStatus
from console.qt.camera_tile import CameraTile, health_text
from console.qt.help import KeysDialog
from console.qt.settings import documents_folder
from console.qt.tile_grid import TileGrid, best_columns
from tests.conftest import pause_like_a_person
from tests.test_queue_gui import raise_alert

FRAME = np.zeros((360, 640, 3), np.uint8)  # a 16:9 preview (1280x720 at half scale)


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier, target=None) -> None:
    pause_like_a_person(qtbot)
    target = target or QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def wall(qtbot, count: int, width: int, height: int) -> TileGrid:
    tiles = [CameraTile(f"cam{i + 1}", f"cam{i + 1}.mp4") for i in range(count)]
    grid = TileGrid(tiles)
    qtbot.addWidget(grid)
    grid.resize(width, height)
    grid.show()
    for tile in tiles:
        tile.video.show_frame(FRAME, 0.5, 0)
        grid.frame_shown(tile)
    qtbot.waitExposed(grid)
    return grid


@pytest.mark.parametrize(
    ("count", "width", "height", "columns"),
    [
        (2, 1000, 800, 1),  # a tall wall: one above the other
        (2, 1400, 500, 2),  # a wide one: side by side
        (4, 1200, 700, 2),
        (6, 1400, 650, 3),
        (8, 1800, 700, 4),
    ],
)
def test_tiles_keep_the_cameras_shape_and_the_grid_follows_the_count_and_the_room(
    qtbot, count, width, height, columns
):
    grid = wall(qtbot, count, width, height)
    assert grid.columns == columns
    for tile in grid.tiles:
        video = tile.video
        assert tile.isVisible()
        # The picture fills its widget: no black bars beyond a few pixels of rounding.
        assert abs(video.width() / video.height() - 16 / 9) < 0.08, (video.width(), video.height())
        assert grid.rect().contains(tile.geometry()), "a tile never leaves the wall"
    if count > columns:  # the rows touch: no band of empty wall between them
        first, below = grid.tiles[0].geometry(), grid.tiles[columns].geometry()
        assert below.top() - first.bottom() <= 8


def test_best_columns_gives_the_most_picture():
    assert best_columns(1, 800, 600, 16 / 9, 60) == 1
    assert best_columns(4, 1920, 400, 16 / 9, 60) == 4  # a letterbox strip: one row
    assert best_columns(4, 500, 1600, 16 / 9, 60) == 1  # a tall column


def test_double_click_or_enter_enlarges_a_camera_and_escape_brings_the_wall_back(qtbot):
    grid = wall(qtbot, 4, 1200, 700)
    small = grid.tiles[2].size()
    qtbot.mouseDClick(grid.tiles[2], Qt.MouseButton.LeftButton)
    assert grid.enlarged is grid.tiles[2]
    assert [t.isVisible() for t in grid.tiles] == [False, False, True, False]
    assert grid.tiles[2].width() > 1.8 * small.width()
    # Escape is the window's key (a shortcut); here the wall is on its own.
    grid.restore()
    assert grid.enlarged is None and all(t.isVisible() for t in grid.tiles)
    qtbot.mouseClick(grid.tiles[1], Qt.MouseButton.LeftButton)
    grid.tiles[1].setFocus()
    qtbot.keyClick(grid.tiles[1], Qt.Key.Key_Return)
    assert grid.enlarged is grid.tiles[1]


def test_health_is_in_plain_words_and_the_counts_since_the_start_are_in_the_tooltip():
    status = FeedStatus(
        "north",
        FeedState.LIVE,
        decode_fps=24.8,
        analysed_fps=2.9,
        dropped=11049,
        faces_in_view=1,
        frames_decoded=12000,
        bad_frames=3,
        frames_analysed=951,
    )
    line, tooltip = health_text(status)
    assert line.startswith("Good · picture 25 fps · faces checked 2.9/s · 1 face in view")
    assert "11049" not in line and "dropped" not in line
    assert "11049 not checked" in tooltip and "12000 frames" in tooltip
    shaky = replace(status, reconnects_last_hour=2, stalls_last_hour=1)
    line, _ = health_text(shaky)
    assert line.startswith("Unsteady link") and "2 reconnections and 1 stall" in line
    behind = replace(status, analysed_fps=0.1)
    assert health_text(behind)[0].startswith("Face checks behind")


def test_a_long_health_line_wraps_in_a_narrow_tile_rather_than_widening_it(qtbot):
    tile = CameraTile("north", "rtsp://a-very-long-host-name.example.org:8554/some/stream/path")
    qtbot.addWidget(tile)
    tile.show_status(
        FeedStatus(
            "north", FeedState.LIVE, decode_fps=25, reconnects_last_hour=12, stalls_last_hour=7
        )
    )
    assert tile.minimumSizeHint().width() <= 200


# -- the console window -------------------------------------------------------------------


def test_the_window_fits_1280x720_with_eight_cameras_and_long_names(qtbot, open_sample, tmp_path):
    plan = load_plan(SAMPLE_DEPLOYMENT)
    cameras = [
        replace(plan.cameras[i % 2], camera=f"camera-{i}-at-the-far-end-of-the-high-street")
        for i in range(8)
    ]
    console = open_sample(replace(plan, cameras=cameras), start=False)
    window = console.window
    assert window.minimumSizeHint().width() <= 1280
    assert window.minimumSizeHint().height() <= 720
    window.resize(1280, 720)
    qtbot.wait(50)
    assert window.width() <= 1280
    assert window.tile_grid.columns >= 2


def test_layout_is_remembered_keys_listed_mute_shown_and_saves_go_to_documents(
    qtbot, open_sample, tmp_path, monkeypatch
):
    console = open_sample(start=False, data_dir=tmp_path)
    window = console.window
    qtbot.waitExposed(window)

    # F1 lists every key the window answers to.
    press(qtbot, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "keys_dialog", None), KeysDialog))
    dialog = window.keys_dialog
    qtbot.waitUntil(dialog.isVisible)
    listed = " ".join(k for k, _ in dialog.rows())
    for shortcut in window.keys.shortcuts:
        key = shortcut.key().toString()
        if key.startswith("Ctrl+") and key[-1].isdigit():
            key = "Ctrl+1"
        assert key in listed, f"{key} is not in Help → Keys"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())

    # M mutes, and the status bar says so until M again.
    queue = window.alerts.list
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    press(qtbot, Qt.Key.Key_M, target=queue)
    assert window.mute_label.isVisible() and "SOUND OFF" in window.mute_label.text()
    press(qtbot, Qt.Key.Key_M, target=queue)
    assert not window.mute_label.isVisible()

    # Ctrl+2 enlarges the second camera over the whole window, the other listed beside
    # it; Escape brings the wall and the queue back.
    press(qtbot, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier, target=queue)
    assert window.tile_grid.enlarged is window.tiles["south"]
    assert not window.alerts.isVisible() and window.views.camera_list.isVisible()
    listed = [b.text() for b in window.views.camera_list.findChildren(QPushButton)]
    assert any(t.startswith("north") for t in listed)
    press(qtbot, Qt.Key.Key_Escape)
    assert window.tile_grid.enlarged is None and window.alerts.isVisible()

    # Save dialogs open in Documents, with the file type's filter.
    asked = []

    def fake_save(parent, title, where, filters=""):
        asked.append((where, filters))
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    window.session = console.session
    window.open_history()
    window.history.export("csv")
    where, filters = asked[-1]
    assert Path(where).parent == documents_folder() and where.endswith(".csv")
    assert "*.csv" in filters
    window.history.close()

    # Geometry and the wall/queue split come back next time (once the desk's layout has
    # settled after the enlarged camera: its minimum holds the wall and the queue again).
    needed = window.alerts.minimumSizeHint().width() + window.views.wall.minimumSizeHint().width()
    qtbot.waitUntil(lambda: window.minimumSizeHint().width() > needed)
    wanted = (window.minimumSizeHint().width() + 40, window.minimumSizeHint().height() + 30)
    window.resize(*wanted)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == wanted)
    window.splitter.setSizes([300, wanted[0] - 300])
    sizes = window.splitter.sizes()
    window.save_layout()
    from console.qt.main_window import MainWindow

    record = str(console.store.store.path)
    again = MainWindow(window.plan, window.deployment, window.officer, record)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    # The test screen (800x600) is narrower than the window's minimum: the window comes
    # back as tall as it was, as wide as the screen allows, and the queue keeps its width
    # (or, where that was narrower than the card and list need, their minimum).
    queue = max(sizes[1], again.alerts.minimumSizeHint().width())
    qtbot.waitUntil(lambda: again.splitter.sizes()[1] == queue)
    assert again.height() == wanted[1]
    assert again.width() == max(again.minimumSizeHint().width(), min(wanted[0], 800))


def test_history_follows_the_record_live_in_plain_words_with_both_faces(
    qtbot, open_sample, tmp_path
):
    console = open_sample(data_dir=tmp_path)
    window = console.window
    window.open_history()
    history = window.history
    qtbot.waitUntil(history.isVisible)
    assert history.table.rowCount() == 0
    raise_alert(console.session, 1, 1, "north", 5)  # Alex Marsh: on the watchlist
    qtbot.waitUntil(lambda: history.table.rowCount() == 1, timeout=5_000)
    assert not history.table.item(0, 0).icon().isNull(), "the camera's face"
    assert not history.table.item(0, 1).icon().isNull(), "the watchlist photo"
    assert history.table.iconSize().width() >= 96
    window.focus_queue()
    press(qtbot, Qt.Key.Key_N)  # open it
    qtbot.wait(650)  # look at it
    press(qtbot, Qt.Key.Key_F)  # a false match
    table = history.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    column = headers.index("Decision (in force)")
    qtbot.waitUntil(lambda: history.table.item(0, column).text() == "False match", timeout=5_000)
    assert "false_match" not in history.decision.itemText(2) + history.decision.itemText(3)


def test_the_window_is_dark_by_default_and_the_light_theme_can_be_chosen(qtbot, open_sample):
    from console.qt.theme import apply_theme, current_theme

    apply_theme(QApplication.instance())
    console = open_sample(start=False)
    window = console.window
    assert current_theme() == "dark"
    assert window.palette().window().color().lightness() < 60
    light = next(a for a in window.theme_actions.actions() if a.data() == "light")
    light.trigger()
    assert current_theme() == "light"
    assert window.palette().window().color().lightness() > 180
    dark = next(a for a in window.theme_actions.actions() if a.data() == "dark")
    dark.trigger()
    assert QWidget().palette().window().color().lightness() < 60


def test_stray_keys_say_what_they_did_and_h_keeps_one_history(qtbot, open_sample, tmp_path):
    """Found by a new operator: H opened a second history window; D or Ctrl+Z with nothing
    to act on said nothing (a reason then typed into nowhere acts as keys); the keys list
    was cut at 7 of its rows; the window settings file was readable by everyone."""
    console = open_sample(start=False, data_dir=tmp_path)
    window = console.window
    window.resize(1280, 720)
    qtbot.waitExposed(window)
    window.focus_queue()
    queue = window.alerts.list

    press(qtbot, Qt.Key.Key_D, target=queue)
    assert "No incident is open: nothing to dismiss" in window.statusBar().currentMessage()
    assert not window.alerts.card.awaiting_reason and queue.hasFocus()
    press(qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, target=queue)
    assert "Nothing to undo" in window.statusBar().currentMessage()
    assert "supervisor corrects it in the history" in window.statusBar().currentMessage()
    qtbot.wait(1600)  # letters right after a refused D are a reason typed into nothing

    press(qtbot, Qt.Key.Key_H, target=queue)
    qtbot.waitUntil(lambda: getattr(window, "history", None) is not None)
    first = window.history
    qtbot.waitUntil(first.isVisible)
    window.activateWindow()
    press(qtbot, Qt.Key.Key_H, target=queue)
    assert window.history is first
    from console.qt.history_view import HistoryDialog

    shown = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, HistoryDialog) and w.parent() is window
    ]
    assert [w for w in shown if w.isVisible()] == [first]
    first.close()

    # A desktop font as big as the real window's (the offscreen one is small): rows as
    # tall as the ones the operator saw cut.
    font = QApplication.font()
    big = QFont(font)
    big.setPointSizeF(font.pointSizeF() * 1.6)
    QApplication.setFont(big)
    try:
        window.activateWindow()
        press(qtbot, Qt.Key.Key_F1, target=queue)
        qtbot.waitUntil(lambda: isinstance(getattr(window, "keys_dialog", None), KeysDialog))
        dialog = window.keys_dialog
        qtbot.waitUntil(dialog.isVisible)
        table = dialog.table
        last = table.rowCount() - 1
        assert table.rowCount() >= 14
        assert table.viewport().rect().contains(table.visualItemRect(table.item(last, 1))), (
            "every key is in view without scrolling"
        )
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    finally:
        QApplication.setFont(font)

    window.save_layout()
    settings = tmp_path / "window-settings.ini"
    assert settings.exists() and settings.stat().st_mode & 0o777 == 0o600


def test_the_window_class_is_the_consoles_name_not_the_module_file():
    from console.qt.app import APP_ID, application_argv

    assert application_argv()[0] == APP_ID == "lfr-console"
