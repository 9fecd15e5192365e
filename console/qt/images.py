"""numpy images to Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be reused after)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def pixmap_from_rgb(rgb: np.ndarray | None, side: int) -> QPixmap:
    """A pixmap fitted into a side x side square, or an empty one."""
    if rgb is None or rgb.size == 0:
        return QPixmap()
    return QPixmap.fromImage(qimage_from_rgb(rgb)).scaled(
        side,
        side,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
