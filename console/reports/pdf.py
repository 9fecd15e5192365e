"""Records and evaluations as PDF: Qt's QTextDocument printed on a QPdfWriter (A4).

Imports Qt: the command line imports this module only when a PDF is asked for, so the
other reports run without it. Without a running application one is made on Qt's
offscreen platform (a report needs fonts, not a screen).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QTextDocument,
)

from console.reports.charts import chart_image
from console.reports.evaluation import Evaluation
from console.reports.html import evaluation_html, record_html
from console.reports.record import DeploymentRecord
from console.reports.series import (
    BarChart,
    alerts_over_time,
    alerts_per_camera,
    alerts_per_deployment,
    arrests_per_deployment,
    false_alert_rate_per_deployment,
)

# In the document's pixels (96 per inch). QTextDocument.print_ keeps margins of 2 cm on
# each side of the page, so the text is 170 mm (642 px) wide on A4.
CHART_SIZE = (636, 200)
HALF_SIZE = (CHART_SIZE[0] // 2 - 6, CHART_SIZE[1])
_app: QGuiApplication | None = None


def _ensure_app() -> None:
    global _app
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _app = QGuiApplication([])


def _print(doc: QTextDocument, path: Path, title: str) -> None:
    # Made 0600 before Qt opens it (Qt truncates an existing file and keeps its mode):
    # a record is the deployment's particulars, not for every user of the machine.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("LFR console")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    # No margins of the writer's own: print_ adds 2 cm all round (and the page numbers).
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    doc.print_(writer)


Charts = dict[str, tuple[BarChart, tuple[int, int]]]


def _document(html: str, charts: Charts) -> QTextDocument:
    """The HTML with its charts, each drawn at the size the HTML shows it (so the lettering
    is the same size in every chart)."""
    doc = QTextDocument()
    doc.setDefaultFont(QFont("DejaVu Sans", 9))
    for name, (chart, size) in charts.items():
        doc.addResource(
            QTextDocument.ResourceType.ImageResource.value,
            QUrl(f"chart:{name}"),
            chart_image(chart, *size),
        )
    doc.setHtml(html)
    return doc


def write_record_pdf(record: DeploymentRecord, path: Path) -> None:
    _ensure_app()
    charts: Charts = {
        "time": (alerts_over_time(record), CHART_SIZE),
        "camera": (alerts_per_camera(record), (CHART_SIZE[0], CHART_SIZE[1] * 4 // 5)),
    }
    doc = _document(record_html(record, CHART_SIZE), charts)
    _print(doc, Path(path), f"Deployment record {record.reference}")


def write_evaluation_pdf(evaluation: Evaluation, path: Path) -> None:
    _ensure_app()
    charts: Charts = {
        "alerts": (alerts_per_deployment(evaluation), CHART_SIZE),
        "arrests": (arrests_per_deployment(evaluation), HALF_SIZE),
        "rate": (false_alert_rate_per_deployment(evaluation), HALF_SIZE),
    }
    doc = _document(evaluation_html(evaluation, CHART_SIZE, HALF_SIZE), charts)
    _print(doc, Path(path), "Evaluation")
