"""Labels that keep their height: text that changes never moves what is below it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of text cut to the label's width with an ellipsis; the whole text is its
    tooltip. It never asks for more width than it is given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.prefix = ""  # rich text drawn before the text (a coloured dot), never cut
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def set_rich(self, prefix_html: str, text: str) -> None:
        """*prefix_html* then *text* (plain, cut to fit)."""
        self.prefix = prefix_html
        self.setTextFormat(Qt.TextFormat.RichText)
        self.set_full_text(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        room = max(40, self.width() - (3 * metrics.averageCharWidth() if self.prefix else 0))
        cut = metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, room)
        self.setText(self.prefix + html.escape(cut, quote=False) if self.prefix else cut)


class WrappedLabel(QLabel):
    """Up to *lines* lines of wrapped text, always that height (the rest cut with an
    ellipsis, whole in the tooltip): what follows it never moves."""

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines = lines
        self.full_text = ""
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 4)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        room = max(40, self.width()) * self.lines - metrics.averageCharWidth() * 6
        self.setText(metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, room))
