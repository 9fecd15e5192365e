"""Guards against a PySide6 release that decrefs None in QPainter calls.

PySide6 6.12.0 on Python 3.11 drops a reference to None on every void QPainter call;
after a few minutes of video the interpreter aborts ("deallocating None"). This test
paints a tile thousands of times and fails if None loses references.
"""

from __future__ import annotations

import sys

import numpy as np

from console.live.feed import FacesInView
from console.qt.camera_tile import VideoView


def test_painting_frames_does_not_leak_references_to_none(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    frame = np.zeros((360, 640, 3), np.uint8)
    view.show_faces(FacesInView([((10, 110, 110, 10), "Ann"), ((20, 220, 120, 120), None)], 0))
    view.show_frame(frame, 0.5, 0)
    view.message = "LIVE"
    before = sys.getrefcount(None)
    for _ in range(2000):
        view.repaint()
    assert sys.getrefcount(None) - before > -100
