"""Deployment records and the pilot's evaluation in the console, with charts and exports.

Both windows read the record through ``console.reports`` each time they are shown or
refreshed: a report is never stored, so alerts deleted under retention drop out of them
(see ``console.reports.record``). The reads are a few small queries on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.deployments import DeploymentState
from console.qt.settings import export_folder, remember_export_folder
from console.reports import export
from console.reports.charts import ChartView
from console.reports.evaluation import Evaluation, checked_evaluation, sites
from console.reports.figures import figure_rows
from console.reports.integrity import RecordBrokenError
from console.reports.record import (
    DEFAULT_ACTOR,
    DeploymentRecord,
    ReportError,
    checked_record,
    references,
)
from console.reports.series import (
    alerts_over_time,
    alerts_per_camera,
    alerts_per_deployment,
    arrests_per_deployment,
    false_alert_rate_per_deployment,
)
from console.storage import StorageError, Store

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LIVE_REFRESH_MS = 5000


def _fill(
    table: QTableWidget,
    headings: list[str],
    rows: list[list[str]],
    numeric_from: int = 1,
    tips: list[str] | None = None,
) -> None:
    """Replace a read-only table's contents; numbers right-aligned."""
    table.clear()
    table.setColumnCount(len(headings))
    table.setHorizontalHeaderLabels(headings)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c >= numeric_from:
                item.setTextAlignment(RIGHT)
            if tips and c == 0 and tips[r]:
                item.setToolTip(tips[r])
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def _table() -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    # Compact rows: the figures should fit without scrolling on a desk monitor.
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.setWordWrap(False)
    return table


class _Exports:
    """The export buttons and where their files go; the subclass says what to write."""

    def _export_buttons(self, owner: QWidget) -> QHBoxLayout:
        self.pdf_button = QPushButton("Export PDF…")
        self.csv_button = QPushButton("Export CSV…")
        self.json_button = QPushButton("Export JSON…")
        self.close_button = QPushButton("Close")
        self.pdf_button.clicked.connect(lambda: self.export_pdf())
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.json_button.clicked.connect(lambda: self.export_json())
        self.close_button.clicked.connect(owner.close)
        row = QHBoxLayout()
        row.addStretch(1)
        for button in (self.pdf_button, self.csv_button, self.json_button, self.close_button):
            row.addWidget(button)
        self._owner = owner
        return row

    def _file_stem(self) -> str:
        raise NotImplementedError

    def _write(self, kind: str, path: Path | None, write: Callable[[Path], None]) -> Path | None:
        """Ask where (unless told), write, and say so; a failure is shown, not raised."""
        if path is None:
            filters = {"pdf": "PDF (*.pdf)", "csv": "CSV (*.csv)", "json": "JSON (*.json)"}
            chosen, _ = QFileDialog.getSaveFileName(
                self._owner,
                f"Export {kind.upper()}",
                str(export_folder() / f"{self._file_stem()}.{kind}"),
                filters[kind],
            )
            if not chosen:
                return None
            path = Path(chosen)
            remember_export_folder(path.parent)
        try:
            write(path)
        except OSError as exc:
            QMessageBox.warning(self._owner, "Export failed", f"Could not write {path}: {exc}")
            return None
        self.status.setText(f"Written to {path}")
        return path


class RecordView(_Exports, QDialog):
    """One deployment's record: particulars, figures, charts, cameras and alerts held."""

    def __init__(
        self,
        store: Store,
        reference: str | None = None,
        parent: QWidget | None = None,
        by: str = DEFAULT_ACTOR,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.by = by
        self.record: DeploymentRecord | None = None
        self.setWindowTitle("Deployment record")

        self.chooser = QComboBox()
        for d in reversed(references(store)):  # the latest first
            self.chooser.addItem(f"{d.reference} · {d.site}", d.reference)
        self.refresh_button = QPushButton("Refresh")
        top = QHBoxLayout()
        top.addWidget(QLabel("Deployment:"))
        top.addWidget(self.chooser, 1)
        top.addWidget(self.refresh_button)

        self.heading = QLabel()
        font = QFont(self.heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.facts = QFormLayout()
        self.fact_labels: dict[str, QLabel] = {}
        self.figures = _table()
        self.notes = QLabel()
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setWordWrap(True)
        self.notes.setObjectName("recordNotes")
        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(self.heading)
        column.addLayout(self.facts)
        column.addWidget(self.figures, 1)
        column.addWidget(self.notes)

        self.time_chart = ChartView()
        self.camera_chart = ChartView()
        self.cameras = _table()
        self.alerts = _table()
        tabs = QTabWidget()
        tabs.addTab(self.cameras, "Per camera")
        tabs.addTab(self.alerts, "Alerts held")
        right = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.time_chart, self.camera_chart, tabs):
            right.addWidget(widget)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([440, 840])

        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        bottom = self._export_buttons(self)
        bottom.insertWidget(0, self.status, 1)
        layout.addLayout(bottom)
        self.resize(1280, 820)

        # An active deployment's figures are live: its record is read again every few
        # seconds (without keeping its figures in the audit trail each time).
        self.live_timer = QTimer(self)
        self.live_timer.timeout.connect(self._refresh_if_active)
        self.live_timer.start(LIVE_REFRESH_MS)
        self.chooser.currentIndexChanged.connect(lambda _: self.show_record(self._chosen()))
        self.refresh_button.clicked.connect(lambda: self.show_record(self._chosen()))
        if reference is not None and (i := self.chooser.findData(reference)) >= 0:
            self.chooser.setCurrentIndex(i)
        if self.chooser.count():
            self.show_record(self._chosen())
        else:
            self.heading.setText("No deployments in the record")

    def _chosen(self) -> str:
        return str(self.chooser.currentData())

    def _refresh_if_active(self) -> None:
        record = self.record
        if record is not None and record.deployment.state == DeploymentState.ACTIVE:
            self.show_record(record.reference, keep=False)

    def show_record(self, reference: str, keep: bool = True) -> None:
        """Recompute the record from the database and show it."""
        try:  # verified first: a broken record is refused, never shown as if whole
            record = checked_record(
                self.store, reference, keep=keep, by=self.by, max_age_s=None if keep else 60
            )
        except RecordBrokenError as exc:
            self.record = None
            self.heading.setText(f"Deployment record {reference}: the record failed verification")
            self.notes.setText(str(exc))
            for table in (self.figures, self.cameras, self.alerts):
                table.setRowCount(0)
            for chart in (self.time_chart, self.camera_chart):
                chart.set_chart(None)  # nothing drawn
            self.status.setText("Nothing is shown from a record that failed verification.")
            return
        except (ReportError, StorageError) as exc:
            self.status.setText(f"Cannot show {reference}: {exc}")
            return
        self.record = record
        self.setWindowTitle(f"Deployment record · {record.reference}")
        self.heading.setText(f"Deployment record {record.reference}")
        for label, text in record.facts():
            if label not in self.fact_labels:
                self.fact_labels[label] = QLabel()
                # Names and sites are the plan's words, shown as written, never as markup.
                self.fact_labels[label].setTextFormat(Qt.TextFormat.PlainText)
                self.fact_labels[label].setTextInteractionFlags(
                    Qt.TextInteractionFlag.TextSelectableByMouse
                )
                self.facts.addRow(f"{label}:", self.fact_labels[label])
            self.fact_labels[label].setText(text)
        rows = figure_rows(record.figures)
        _fill(
            self.figures,
            ["Figure", "Value"],
            [[r.label, r.text] for r in rows],
            tips=[r.definition for r in rows],
        )
        self.figures.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.notes.setText("\n".join(record.notes))
        self.time_chart.set_chart(alerts_over_time(record))
        self.camera_chart.set_chart(alerts_per_camera(record))
        cams = [
            [str(c["camera"]), *(f"{c[k]:,.0f}" for k, _ in export.CAMERA_COLUMNS)]
            for c in export.camera_rows(record.figures)
        ]
        _fill(self.cameras, ["Camera", *(label for _, label in export.CAMERA_COLUMNS)], cams)
        _fill(
            self.alerts,
            list(export.ALERT_HEADINGS),
            [list(r) for r in export.alert_table(record)],
            numeric_from=5,
        )
        self.status.setText("")

    def figure_text(self, label: str) -> str | None:
        """The value shown beside a figure's label (for tests and screen readers alike)."""
        for row in range(self.figures.rowCount()):
            if self.figures.item(row, 0).text() == label:
                return self.figures.item(row, 1).text()
        return None

    # -- exports ---------------------------------------------------------------------
    def _file_stem(self) -> str:
        return f"{self.record.reference if self.record else 'deployment'}-record"

    def export_pdf(self, path: Path | None = None) -> Path | None:
        from console.reports.pdf import write_record_pdf

        if self.record is None:
            return None
        record = self.record
        return self._write("pdf", path, lambda p: write_record_pdf(record, p))

    def export_csv(self, path: Path | None = None) -> Path | None:
        if self.record is None:
            return None
        text = export.record_csv(self.record)
        return self._write("csv", path, lambda p: export.write_text(p, text))

    def export_json(self, path: Path | None = None) -> Path | None:
        if self.record is None:
            return None
        text = export.record_json(self.record)
        return self._write("json", path, lambda p: export.write_text(p, text))


class EvaluationView(_Exports, QDialog):
    """The deployments of a period and site, side by side and summed, with the trends."""

    def __init__(
        self, store: Store, parent: QWidget | None = None, by: str = DEFAULT_ACTOR
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.by = by
        self.evaluation: Evaluation | None = None
        self._records: list[RecordView] = []
        self.setWindowTitle("Evaluation")

        self.since_check = QCheckBox("From")
        self.since = QDateEdit(QDate.currentDate().addMonths(-3))
        self.until_check = QCheckBox("to")
        self.until = QDateEdit(QDate.currentDate())
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.site = QComboBox()
        self.site.setEditable(True)
        self.site.addItem("")  # all sites
        self.site.addItems(sites(store))
        self.apply_button = QPushButton("Show")
        filters = QHBoxLayout()
        for widget in (self.since_check, self.since, self.until_check, self.until):
            filters.addWidget(widget)
        filters.addWidget(QLabel("Site contains:"))
        filters.addWidget(self.site, 1)
        filters.addWidget(self.apply_button)

        self.scope = QLabel()
        self.headline: dict[str, QLabel] = {}
        headline = QGridLayout()
        names = [
            "Deployments",
            "Arrests",
            "Arrests per deployment",
            "Minutes of use per arrest",
            "False alerts per 1,000 faces seen",
        ]
        for i, name in enumerate(names):
            value = QLabel("—")
            font = QFont(value.font())
            font.setPointSizeF(font.pointSizeF() * 1.6)
            font.setBold(True)
            value.setFont(font)
            headline.addWidget(value, 0, i)
            headline.addWidget(QLabel(name), 1, i)
            self.headline[name] = value

        self.table = _table()
        self.table.horizontalHeader().sectionDoubleClicked.connect(self._open_record)
        self.table.setToolTip("Double-click a deployment's heading to open its record")
        self.alerts_chart = ChartView()
        self.arrests_chart = ChartView()
        self.rate_chart = ChartView()
        charts = QSplitter(Qt.Orientation.Vertical)
        for chart in (self.alerts_chart, self.arrests_chart, self.rate_chart):
            charts.addWidget(chart)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(charts)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)

        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.scope)
        layout.addLayout(headline)
        layout.addWidget(splitter, 1)
        bottom = self._export_buttons(self)
        bottom.insertWidget(0, self.status, 1)
        layout.addLayout(bottom)
        self.resize(1280, 820)
        self.apply_button.clicked.connect(self.refresh)
        self.refresh()

    def _period(self) -> tuple[date | None, date | None, str | None]:
        since = self.since.date().toPython() if self.since_check.isChecked() else None
        until = self.until.date().toPython() if self.until_check.isChecked() else None
        return since, until, self.site.currentText().strip() or None

    def refresh(self) -> None:
        """Recompute the evaluation for the chosen period and site, and show it."""
        since, until, site = self._period()
        try:  # verified first, like every report
            ev = checked_evaluation(self.store, since, until, site, keep=True, by=self.by)
        except (RecordBrokenError, StorageError) as exc:
            self.evaluation = None
            self.status.setText(f"Cannot evaluate: {exc}")
            return
        self.evaluation = ev
        self.scope.setText(ev.scope())
        for name, text in ev.headline.texts().items():
            self.headline[name].setText(text)
        total = figure_rows(ev.total)
        per = [figure_rows(r.figures) for r in ev.records]
        _fill(
            self.table,
            ["Figure", "Total", *(r.reference for r in ev.records)],
            [[row.label, row.text, *(p[i].text for p in per)] for i, row in enumerate(total)],
            tips=[row.definition for row in total],
        )
        self.alerts_chart.set_chart(alerts_per_deployment(ev))
        self.arrests_chart.set_chart(arrests_per_deployment(ev))
        self.rate_chart.set_chart(false_alert_rate_per_deployment(ev))
        notes = [n for r in ev.records for n in r.notes if "retention" in n]
        self.status.setText(
            "Some alerts have been deleted under retention: their deployments show the counts "
            "kept, and medians over all deployments are unknown."
            if notes
            else ""
        )

    def _open_record(self, column: int) -> None:
        if self.evaluation is None or column < 2:
            return
        reference = self.evaluation.records[column - 2].reference
        view = RecordView(self.store, reference, self, self.by)
        self._records.append(view)
        view.show()

    def _file_stem(self) -> str:
        since, until, _ = self._period()
        return f"evaluation-{since or 'start'}-{until or 'today'}"

    def export_pdf(self, path: Path | None = None) -> Path | None:
        from console.reports.pdf import write_evaluation_pdf

        if self.evaluation is None:
            return None
        ev = self.evaluation
        return self._write("pdf", path, lambda p: write_evaluation_pdf(ev, p))

    def export_csv(self, path: Path | None = None) -> Path | None:
        if self.evaluation is None:
            return None
        text = export.evaluation_csv(self.evaluation)
        return self._write("csv", path, lambda p: export.write_text(p, text))

    def export_json(self, path: Path | None = None) -> Path | None:
        if self.evaluation is None:
            return None
        text = export.evaluation_json(self.evaluation)
        return self._write("json", path, lambda p: export.write_text(p, text))


def open_record_view(
    store: Store, reference: str | None, parent: QWidget | None = None, by: str = DEFAULT_ACTOR
) -> RecordView:
    """Show a deployment's record (non-modal); *by* is who the kept counts are audited to."""
    view = RecordView(store, reference, parent, by)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.show()
    return view


def open_evaluation_view(
    store: Store, parent: QWidget | None = None, by: str = DEFAULT_ACTOR
) -> EvaluationView:
    view = EvaluationView(store, parent, by)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.show()
    return view
