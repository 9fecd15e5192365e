"""Painting a ``BarChart`` with QPainter, on a widget, an image or a PDF page.

Imports Qt: only the record view and ``console.reports.pdf`` import this module, so the
figures and the CSV/JSON exports run without Qt.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from console.reports.series import BarChart

# The alert card's colours: green engage, grey dismiss, red false match.
COLOURS = {
    "engaged": "#1e7b34",
    "dismissed": "#5f6368",
    "false": "#b3261e",
    "confirmed_false": "#d9822b",
    "undecided": "#c8c8c8",
}
FALLBACK = "#2b5797"
TEXT = QColor("#222222")
MUTED = QColor("#666666")
GRID = QColor("#e3e3e3")


def _ticks(top: float) -> list[float]:
    """0 and 'nice' steps (1, 2 or 5 times a power of ten) up to at least *top*."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if top >= 1 and step < 1:
        step = 1.0  # counts: no half alerts on the axis
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _label(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if decimals else f"{value:,.0f}"


def paint_bar_chart(painter: QPainter, rect: QRectF, chart: BarChart, font_px: int = 11) -> None:
    """Title, legend, axis and bars (stacked) inside *rect*, in logical units."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(rect, QColor("white"))
    font = QFont(painter.font())
    font.setPixelSize(font_px)
    title_font = QFont(font)
    title_font.setBold(True)
    title_font.setPixelSize(round(font_px * 1.2))
    fm = QFontMetricsF(font)
    line = fm.height()
    pad = line * 0.5

    y = rect.top() + pad
    painter.setFont(title_font)
    painter.setPen(TEXT)
    painter.drawText(
        QPointF(rect.left() + pad, y + QFontMetricsF(title_font).ascent()), chart.title
    )
    y += QFontMetricsF(title_font).height() + pad * 0.5
    painter.setFont(font)
    if chart.note:
        painter.setPen(MUTED)
        painter.drawText(QPointF(rect.left() + pad, y + fm.ascent()), chart.note)
        y += line + pad * 0.5

    # Legend: only the series that have a bar somewhere, so a calm chart stays calm.
    shown = [s for s in chart.series if any(s.values)] if not chart.is_empty else []
    x = rect.left() + pad
    for s in shown:
        width = line * 0.8 + pad * 0.5 + fm.horizontalAdvance(s.label) + line
        if x + width > rect.right() and x > rect.left() + pad:
            x, y = rect.left() + pad, y + line
        painter.fillRect(QRectF(x, y + line * 0.15, line * 0.7, line * 0.7), _colour(s.key))
        painter.setPen(TEXT)
        painter.drawText(QPointF(x + line * 0.8 + pad * 0.5, y + fm.ascent()), s.label)
        x += width
    if shown:
        y += line + pad

    if chart.is_empty:
        painter.setPen(MUTED)
        area = QRectF(rect.left(), y, rect.width(), rect.bottom() - y)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, chart.empty_text)
        painter.restore()
        return

    # Category labels may have two lines (a deployment's date, then its reference).
    label_lines = max(c.count("\n") + 1 for c in chart.categories)
    ticks = _ticks(max(chart.totals))
    axis_w = max(fm.horizontalAdvance(_label(t, chart.decimals)) for t in ticks) + pad
    plot = QRectF(
        rect.left() + pad + axis_w,
        y + line,  # room for the value above the tallest bar
        rect.width() - 2 * pad - axis_w,
        rect.bottom() - y - line - line * (label_lines + 0.6),
    )
    if plot.height() < line or plot.width() < line:
        painter.restore()
        return
    top = ticks[-1]

    def y_of(v: float) -> float:
        return plot.bottom() - v / top * plot.height()

    for t in ticks:
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(plot.left(), y_of(t)), QPointF(plot.right(), y_of(t)))
        painter.setPen(MUTED)
        label_rect = QRectF(
            rect.left(), y_of(t) - line / 2, plot.left() - pad * 0.5 - rect.left(), line
        )
        painter.drawText(
            label_rect,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            _label(t, chart.decimals),
        )

    n = len(chart.categories)
    slot = plot.width() / n
    bar_w = min(slot * 0.7, line * 5)  # two deployments should not look like two walls
    # Label every k-th bar so the labels never overlap.
    widest = max(fm.horizontalAdvance(part) for c in chart.categories for part in c.split("\n"))
    widest += pad
    every = max(1, math.ceil(widest / slot))
    totals_fit = max(fm.horizontalAdvance(_label(t, chart.decimals)) for t in chart.totals) < slot
    totals = chart.totals
    last_right = -math.inf
    for i, category in enumerate(chart.categories):
        left = plot.left() + i * slot + (slot - bar_w) / 2
        base = 0.0
        for s in chart.series:
            v = s.values[i]
            if v <= 0:
                continue
            painter.fillRect(
                QRectF(left, y_of(base + v), bar_w, y_of(base) - y_of(base + v)), _colour(s.key)
            )
            base += v
        painter.setPen(TEXT)
        if totals[i] > 0 and totals_fit:
            painter.drawText(
                QRectF(left - slot, y_of(totals[i]) - line, bar_w + 2 * slot, line),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                _label(totals[i], chart.decimals),
            )
        # Centred under the bar, but kept inside the chart at either end (and then left out
        # if it would run into its neighbour).
        x = min(max(left + bar_w / 2 - widest / 2, rect.left()), rect.right() - widest)
        if i % every == 0 and x >= last_right:
            last_right = x + widest
            painter.setPen(MUTED)
            painter.drawText(
                QRectF(x, plot.bottom() + pad * 0.4, widest, line * label_lines),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                category,
            )
    painter.setPen(QPen(MUTED, 1))
    painter.drawLine(plot.bottomLeft(), plot.bottomRight())
    painter.restore()


def _colour(key: str) -> QColor:
    return QColor(COLOURS.get(key, FALLBACK))


def chart_image(chart: BarChart, width: int, height: int, scale: float = 3.0) -> QImage:
    """The chart drawn on an image *scale* times the logical size (sharp when printed)."""
    image = QImage(round(width * scale), round(height * scale), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.scale(scale, scale)
    paint_bar_chart(painter, QRectF(0, 0, width, height), chart)
    painter.end()
    return image


class ChartView(QWidget):
    """A chart in the console: repainted from its BarChart whenever Qt asks."""

    def __init__(self, chart: BarChart | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = chart
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_chart(self, chart: BarChart | None) -> None:
        self.chart = chart
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        if self.chart is not None:
            paint_bar_chart(painter, QRectF(self.rect()), self.chart)
        painter.end()
