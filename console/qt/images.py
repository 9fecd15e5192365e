"""numpy images to Qt images, and the widget that shows a face."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be reused after)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()


class FacePhoto(QWidget):
    """A face (or a camera frame) fitted into a fixed box, or a line of text instead.

    Not a QLabel: since Qt 6.6 a label keeps its pixmap in a QIcon, and painting the icon
    copies it into Qt's global QPixmapCache, where faces would outlive their alert card,
    and a deployment's watchlist photos its conclusion (measured: the soak's memory rose
    by the cache's 10 MB limit). The image here lives exactly as long as the widget.
    """

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(width, height)
        self._image = QImage()
        self._text = ""

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        """Show ``rgb`` scaled to fit (an empty box when there is none)."""
        self._text = ""
        if rgb is None or rgb.size == 0:
            self._image = QImage()
        else:
            self._image = qimage_from_rgb(rgb).scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.update()

    def set_text(self, text: str) -> None:
        self._image, self._text = QImage(), text
        self.update()

    def image(self) -> QImage:
        return self._image

    def text(self) -> str:
        return self._text

    def sizeHint(self) -> QSize:
        return self.size()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if not self._image.isNull():
            box = QRect(0, 0, self._image.width(), self._image.height())
            box.moveCenter(self.rect().center())
            painter.drawImage(box, self._image)
        elif self._text:
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._text
            )
        painter.end()
