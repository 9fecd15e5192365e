"""The desk's smaller findings (issue 28): the camera map's plan keys checked, tile health
in step with the picture and "Good" only when checks are adequate, the score sheet and
the outcome buttons whole at a small screen, exports that fall back sensibly, one
progress estimate, plain plurals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from console.config import ConfigError, load_plan
from console.domain.training import ScoreSheet
from console.live.feed import FacesInView, FeedState, FeedStatus
from console.qt.camera_tile import CameraTile, health_text
from tests.conftest import SAMPLES

PLAN = """
reference = "T-1"
site = "Test"
watchlist = "watchlist"
authorised_by = "A"
authorised_rank = "Supt"
[[camera]]
name = "north"
source = "north.mp4"
{extra}
"""


def plan_with(tmp_path: Path, extra: str):
    (tmp_path / "watchlist").mkdir(exist_ok=True)
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.format(extra=extra))
    return load_plan(path)


def test_a_cameras_place_on_the_map_is_a_checked_plan_key(tmp_path):
    plan = plan_with(tmp_path, "position = [12.5, -40]\nfacing = 90")
    where = plan.positions["north"]
    assert (where.east_m, where.north_m, where.facing) == (12.5, -40.0, 90.0)
    assert plan_with(tmp_path, "").positions == {}
    for bad, said in (
        ('position = "here"', "camera 1 position: must be [east_m, north_m]"),
        ("position = [1, 2, 3]", "camera 1 position"),
        ("position = [1, nan]", "camera 1 position"),
        ("position = [1, 200000]", "camera 1 position"),
        ("position = [true, 2]", "camera 1 position"),
        ("position = [1, 2]\nfacing = 400", "camera 1 facing: must be degrees"),
        ('facing = "upwards"', "camera 1 facing: must be degrees"),
    ):
        with pytest.raises(ConfigError, match=said.replace("[", r"\[").replace("]", r"\]")):
            plan_with(tmp_path, bad)
    # One facing serves the map (degrees) and officers' phones (a compass word).
    worded = plan_with(tmp_path, 'position = [0, 0]\nfacing = "SW"')
    assert worded.positions["north"].facing == 225.0
    assert worded.camera_sites["north"].facing == "south-west"
    assert plan_with(tmp_path, "facing = 90").camera_sites["north"].facing == "east"
    sample = load_plan(SAMPLES / "sample_deployment.toml")
    assert set(sample.positions) == {"north", "south"}


def test_the_tiles_face_count_is_the_pictures_and_good_needs_enough_checks(qtbot):
    tile = CameraTile("north", "north.mp4")
    qtbot.addWidget(tile)
    tile.show()
    frame = np.zeros((360, 640, 3), np.uint8)
    # The newest analysis found nobody (the street emptied), but the picture on screen is
    # a moment behind, with a named face on it: the line counts the picture's faces.
    for index in range(0, 12):
        tile.video.show_faces(FacesInView([((10, 60, 60, 10), "Alex Marsh")], index))
        tile.video.show_frame(frame, 0.5, index)
    live = FeedStatus("north", FeedState.LIVE, decode_fps=25, analysed_fps=2.5, faces_in_view=0)
    tile.show_status(live)
    boxed = len(tile.video.current.boxes) if tile.video.current else 0
    assert boxed == 1 and "1 face in view" in tile.health_text, tile.health_text
    assert health_text(live, faces_on_screen=1)[0].endswith("1 face in view")
    slow = FeedStatus("north", FeedState.LIVE, decode_fps=25, analysed_fps=0.5)
    assert health_text(slow)[0].startswith("Face checks behind")
    assert "at least 1.5 face checks a second" in health_text(slow)[1]
    # One line each: a long state never takes height from the picture.
    height = tile.video.height()
    tile.show_status(FeedStatus("north", FeedState.RECONNECTING, "attempt 3 in 4.5 s: " * 8))
    qtbot.wait(10)
    assert tile.video.height() == height


def test_the_score_sheet_and_the_outcome_buttons_fit_a_small_screen(qtbot, qloop):
    from console.qt.queue_panel import IncidentPanel
    from console.qt.trainer_window import ScoreDialog

    sheet = ScoreSheet(correctly_engaged=["Alex Marsh on north at 0:12"], decision_times=[3.0])
    dialog = ScoreDialog(sheet, [], title="basic", trainee="PC 77")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    room = dialog.screen().availableGeometry()
    assert room.contains(dialog.frameGeometry()) or dialog.height() <= room.height()
    for button in (dialog.print_button, dialog.pdf_button):
        corner = button.mapTo(dialog, QPoint(button.width(), button.height()))
        assert dialog.rect().contains(corner - QPoint(1, 1)), button.text()

    panel = IncidentPanel("site")
    qtbot.addWidget(panel)
    panel.resize(panel.minimumSizeHint())
    panel.show()
    for button in panel.outcome_buttons.values():
        text = button.fontMetrics().horizontalAdvance(button.text())
        assert text <= button.width(), f"{button.text()!r} is cut"


def test_exports_open_in_documents_made_if_missing_and_then_where_the_last_went(
    tmp_path, monkeypatch
):
    from console.qt import settings

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setattr(settings, "_last_export", None)
    assert settings.export_folder() == home / "Documents" and (home / "Documents").is_dir()
    stick = tmp_path / "usb"
    stick.mkdir()
    settings.remember_export_folder(stick)
    assert settings.export_folder() == stick


def test_the_trainers_window_and_terminal_give_one_estimate(qtbot, monkeypatch):
    from console import progress
    from console.qt.trainer_window import PreparationDialog

    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    dialog = PreparationDialog("basic")
    qtbot.addWidget(dialog)
    dialog.show_progress("Enrolling the watchlist", 1, 2)
    now[0] += 60  # enrolment took a minute: it must not count in the replay's estimate
    terminal = progress.ProgressLine("replaying basic", 1000, enabled=False)
    dialog.show_progress("Working out the alerts", 0, 1000)
    now[0] += 30
    terminal.update(250)
    dialog.show_progress("Working out the alerts", 250, 1000)
    assert terminal.left_text() == "about 1 min 30 s left"
    assert dialog.stage.text().endswith(terminal.left_text())
    assert math.isclose(terminal.rate(), 250 / 30)
