"""The widget that shows faces on alert cards."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from console.qt.images import FacePhoto


def test_a_face_is_fitted_into_the_box_and_drawn_centred(qtbot):
    photo = FacePhoto(170, 170)
    qtbot.addWidget(photo)
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :] = (200, 30, 60)  # a wide image: fitted to 170 x 85
    photo.set_rgb(rgb)
    assert (photo.image().width(), photo.image().height()) == (170, 85)
    shot = photo.grab().toImage()
    assert QColor(shot.pixel(85, 85)).getRgb()[:3] == (200, 30, 60)  # the middle: the face
    assert QColor(shot.pixel(85, 10)).getRgb()[:3] != (200, 30, 60)  # above it: background


def test_text_replaces_the_image_and_no_image_leaves_the_box_empty(qtbot):
    photo = FacePhoto(340, 191)
    qtbot.addWidget(photo)
    photo.set_rgb(np.full((50, 50, 3), 255, np.uint8))
    photo.set_text("The camera frame is kept in memory only")
    assert photo.image().isNull() and photo.text().startswith("The camera frame")
    photo.set_rgb(None)
    assert photo.image().isNull() and photo.text() == ""
