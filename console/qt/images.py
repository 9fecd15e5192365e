"""numpy images to Qt images, and the widget that shows a face."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (the array may be reused after)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()


# analysis.scene() downscales frames wider than this to this width.
SCENE_WIDTH = 960


def mark_face(
    scene_rgb: np.ndarray, bbox: tuple[int, int, int, int], name: str, frame_width: int | None
) -> np.ndarray:
    """The scene frame with the matched face boxed and named (a copy).

    *bbox* is in the camera's full-frame pixels; the scene is the frame downscaled to
    at most SCENE_WIDTH. Unmarked when the frame's width is not known and the scene was
    downscaled: a box in the wrong place is worse than none.
    """
    width = scene_rgb.shape[1]
    if frame_width:
        k = width / frame_width
    elif width < SCENE_WIDTH:
        k = 1.0  # not downscaled
    else:
        return scene_rgb
    top, right, bottom, left = (int(round(v * k)) for v in bbox)
    marked = scene_rgb.copy()
    thick = max(2, width // 320)
    cv2.rectangle(marked, (left, top), (right, bottom), (255, 77, 77), thick)
    scale = max(0.5, width / 1280)
    (tw, th), base = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y = min(marked.shape[0] - base - 2, bottom + th + 6)
    cv2.rectangle(marked, (left, y - th - 4), (left + tw + 6, y + base), (0, 0, 0), -1)
    cv2.putText(
        marked, name, (left + 3, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 77, 77), 1, cv2.LINE_AA
    )
    return marked


class FacePhoto(QWidget):
    """A face (or a camera frame) fitted into its box, or a line of text instead.

    Not a QLabel: since Qt 6.6 a label keeps its pixmap in a QIcon, and painting the icon
    copies it into Qt's global QPixmapCache, where faces would outlive their alert card,
    and a deployment's watchlist photos its conclusion (measured: the soak's memory rose
    by the cache's 10 MB limit). The image here lives exactly as long as the widget.

    With ``smallest``, the box gives way down to that side when its layout is short of
    room (the card on a 1280x720 screen): the face shrinks, the words beside it never
    overlap it. Without, the box is fixed.
    """

    def __init__(
        self, width: int, height: int, parent: QWidget | None = None, smallest: int | None = None
    ) -> None:
        super().__init__(parent)
        self._hint = QSize(width, height)
        if smallest is None:
            self.setFixedSize(width, height)
        else:
            self.setMinimumSize(smallest, smallest)
            self.setMaximumSize(width, height)
            self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._source = QImage()  # as given; _image is it fitted to the box's size now
        self._image = QImage()
        self._text = ""

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        """Show ``rgb`` scaled to fit (an empty box when there is none)."""
        self._text = ""
        empty = rgb is None or rgb.size == 0
        self._source = QImage() if empty else qimage_from_rgb(rgb)
        self._fit()

    def set_text(self, text: str) -> None:
        self._source, self._image, self._text = QImage(), QImage(), text
        self.update()

    def image(self) -> QImage:
        return self._image

    def text(self) -> str:
        return self._text

    def sizeHint(self) -> QSize:
        return self._hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        # Scaled once per size, not per paint: the card repaints at every sighting.
        if self._source.isNull():
            self._image = QImage()
        else:
            self._image = self._source.scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self.update()

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
