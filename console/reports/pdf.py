"""Records and evaluations as PDF: Qt's QTextDocument laid out on A4 pages and printed
page by page on a QPdfWriter: every table's header row repeated on each page it runs on
to, no row cut across two pages, and the page number at each foot.

Imports Qt: the command line imports this module only when a PDF is asked for, so the
other reports run without it. Without a running application one is made on Qt's
offscreen platform (a report needs fonts, not a screen).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextCursor,
    QTextDocument,
    QTextFrame,
    QTextTable,
)

from console.reports.charts import chart_image
from console.reports.evaluation import Evaluation
from console.reports.html import cut_tables, evaluation_html, record_html, signature
from console.reports.record import DeploymentRecord
from console.reports.series import (
    BarChart,
    alerts_over_time,
    alerts_per_camera,
    alerts_per_deployment,
    arrests_per_deployment,
    false_alert_rate_per_deployment,
)

# In the document's pixels (96 per inch). The page is A4 with 2 cm margins all round, so
# the text is 170 mm (642 px) wide and 257 mm tall, less a line at the foot for the page
# number.
CHART_SIZE = (636, 200)
HALF_SIZE = (CHART_SIZE[0] // 2 - 6, CHART_SIZE[1])
PAGE_PX = (642.0, 950.0)  # the text area of a page, in the document's pixels
MARGIN_MM = 20.0
DOC_DPI = 96.0
_app: QGuiApplication | None = None
Charts = dict[str, tuple[BarChart, tuple[int, int]]]


def _ensure_app() -> None:
    global _app
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QGuiApplication([])


def split_rows(doc: QTextDocument) -> list[tuple[QTextTable, int]]:
    """Table rows the pagination cuts in two (a row's top on one page, its foot on the
    next), in document order."""
    layout = doc.documentLayout()
    height = doc.pageSize().height()
    cut = []
    for table in _tables(doc.rootFrame()):
        for row in range(table.rows()):
            tops, feet = [], []
            for column in range(table.columns()):
                cell = table.cellAt(row, column)
                block, last = cell.firstCursorPosition().block(), cell.lastCursorPosition().block()
                while block.isValid():
                    rect = layout.blockBoundingRect(block)
                    tops.append(rect.top())
                    feet.append(rect.bottom())
                    if block == last:
                        break
                    block = block.next()
            if tops and int(min(tops) // height) != int((max(feet) - 0.5) // height):
                cut.append((table, row))
    return cut


def _tables(frame: QTextFrame) -> list[QTextTable]:
    found = []
    for child in frame.childFrames():
        if isinstance(child, QTextTable):
            found.append(child)
        found += _tables(child)
    return found


def _signature(table: QTextTable) -> str | None:
    """The header row's texts, as ``html.signature`` wrote them; None without one."""
    if table.format().headerRowCount() < 1:
        return None
    texts = []
    for column in range(table.columns()):
        cell = table.cellAt(0, column)
        cursor = cell.firstCursorPosition()
        cursor.setPosition(cell.lastCursorPosition().position(), QTextCursor.MoveMode.KeepAnchor)
        texts.append(cursor.selectedText())
    return signature(texts)


def paginate(write_html: Callable[[], str], charts: Charts, rounds: int = 60) -> QTextDocument:
    """Lay the HTML out on pages; where a row of a long table would run across a page's
    foot, write the HTML again with that table cut before the row (the rest starts on a
    new page under its own header row), until no row is cut. (Qt repeats a table's
    header row on each page the table runs on to, but it splits rows.)"""
    cuts: dict[str, set[int]] = {}
    doc = QTextDocument()
    for _ in range(rounds):
        with cut_tables(cuts):
            doc = _document(write_html(), charts)
        seen: dict[str, int] = {}
        chunks: dict[int, tuple[str, int]] = {}  # by where each table begins
        for table in _tables(doc.rootFrame()):
            if (sig := _signature(table)) is not None:
                chunks[table.firstPosition()] = (sig, seen.get(sig, 0))
                seen[sig] = seen.get(sig, 0) + 1
        cut = next(
            ((t, r) for t, r in split_rows(doc) if r >= 1 and t.firstPosition() in chunks), None
        )  # a header row, or a table without one (the short ones), is left as it is
        if cut is None:
            return doc
        sig, chunk = chunks[cut[0].firstPosition()]
        starts = [0, *sorted(cuts.get(sig, ()))]
        if chunk >= len(starts):
            return doc
        # One cut at a time, the first: everything after it moves.
        cuts.setdefault(sig, set()).add(starts[chunk] + cut[1] - 1)
    return doc


def _print(doc: QTextDocument, path: Path, title: str) -> None:
    """Print the paginated document page by page: the pages exactly as laid out (rows
    whole, headers repeated), with "Page n of N" at each foot."""
    # Made 0600 before Qt opens it (Qt truncates an existing file and keeps its mode):
    # a record is the deployment's particulars, not for every user of the machine.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("LFR console")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    painter = QPainter(writer)
    try:
        for page in range(doc.pageCount()):
            if page:
                writer.newPage()
            _draw_page(painter, doc, page, title, writer.logicalDpiX())
    finally:
        painter.end()


def page_images(doc: QTextDocument, title: str, dpi: float = 72.0) -> list[QImage]:
    """The pages as images, drawn exactly as they are printed (to look at them)."""
    size = QPageSize(QPageSize.PageSizeId.A4).sizePoints()
    images = []
    for page in range(doc.pageCount()):
        image = QImage(
            round(size.width() * dpi / 72), round(size.height() * dpi / 72),
            QImage.Format.Format_RGB32,
        )
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        try:
            _draw_page(painter, doc, page, title, dpi)
        finally:
            painter.end()
        images.append(image)
    return images


def _draw_page(painter: QPainter, doc: QTextDocument, page: int, title: str, dpi: float) -> None:
    scale = dpi / DOC_DPI
    margin = MARGIN_MM / 25.4 * dpi
    width, height = doc.pageSize().width(), doc.pageSize().height()
    painter.save()
    painter.translate(margin, margin)
    painter.scale(scale, scale)
    painter.setClipRect(QRectF(0, 0, width, height))
    painter.translate(0, -page * height)
    doc.drawContents(painter, QRectF(0, page * height, width, height))
    painter.restore()
    painter.save()
    painter.translate(margin, margin)
    painter.scale(scale, scale)
    painter.setFont(QFont("DejaVu Sans", 7))
    painter.drawText(
        QRectF(0, height + 4, width, 16),
        int(Qt.AlignmentFlag.AlignRight),
        f"{title} · page {page + 1} of {doc.pageCount()}",
    )
    painter.restore()


def _document(html: str, charts: Charts) -> QTextDocument:
    """The HTML with its charts, each drawn at the size the HTML shows it (so the lettering
    is the same size in every chart), laid out on A4 pages."""
    doc = QTextDocument()
    doc.setDefaultFont(QFont("DejaVu Sans", 9))
    for name, (chart, size) in charts.items():
        doc.addResource(
            QTextDocument.ResourceType.ImageResource.value,
            QUrl(f"chart:{name}"),
            chart_image(chart, *size),
        )
    doc.setHtml(html)
    doc.setPageSize(QSizeF(*PAGE_PX))
    return doc


def record_document(record: DeploymentRecord) -> QTextDocument:
    _ensure_app()
    charts: Charts = {
        "time": (alerts_over_time(record), CHART_SIZE),
        "camera": (alerts_per_camera(record), (CHART_SIZE[0], CHART_SIZE[1] * 4 // 5)),
    }
    return paginate(lambda: record_html(record, CHART_SIZE), charts)


def write_record_pdf(record: DeploymentRecord, path: Path) -> None:
    _print(record_document(record), Path(path), f"Deployment record {record.reference}")


def evaluation_document(evaluation: Evaluation) -> QTextDocument:
    _ensure_app()
    charts: Charts = {
        "alerts": (alerts_per_deployment(evaluation), CHART_SIZE),
        "arrests": (arrests_per_deployment(evaluation), HALF_SIZE),
        "rate": (false_alert_rate_per_deployment(evaluation), HALF_SIZE),
    }
    return paginate(lambda: evaluation_html(evaluation, CHART_SIZE, HALF_SIZE), charts)


def write_evaluation_pdf(evaluation: Evaluation, path: Path) -> None:
    _print(evaluation_document(evaluation), Path(path), "Evaluation")
