"""The deployment's alert history: every alert, its decision and outcome, with images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Decision, Outcome
from console.history_export import export_csv, export_json, row
from console.qt.images import qimage_from_rgb
from console.qt.settings import documents_folder
from console.storage import StorageError, Store
from console.storage.alerts import AlertRecord

SHOWN = [
    ("raised_at", "Raised"),
    ("camera", "Camera"),
    ("subject_name", "Subject"),
    ("category", "Category"),
    ("distance", "Distance"),
    ("decision", "Decision"),
    ("decided_by", "By"),
    ("decision_note", "Note"),
    ("outcome", "Outcome"),
    ("seconds_to_adjudication", "s to decide"),
    ("seconds_to_outcome", "s to outcome"),
    ("corrected_to", "Corrected to"),
]
ANY = "(any)"
PENDING = "Not yet decided"
THUMB = 96  # big enough to compare two faces at a glance
# The record's words for the officer's: "false match", never "false_match".
WORDS = {d.value: d.label for d in Decision} | {o.value: o.label for o in Outcome}
LIVE_EVERY_MS = 1000
FILTERS = {"csv": "CSV spreadsheet (*.csv)", "json": "JSON file (*.json)"}


def _fingerprint(r: AlertRecord) -> tuple:
    return (r.alert.alert_id, r.decision, r.outcome is not None, r.correction is not None)


def _icon(rgb: np.ndarray | None) -> QIcon:
    if rgb is None or rgb.size == 0:
        return QIcon()
    return QIcon(QPixmap.fromImage(qimage_from_rgb(rgb)))


class HistoryDialog(QDialog):
    """Every alert of the deployment, live: the window updates as alerts and decisions come."""

    def __init__(
        self,
        store: Store,
        deployment: str,
        parent: QWidget | None = None,
        photo: Callable[[str], np.ndarray | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alert history · {deployment}")
        self.resize(1200, 640)
        self.store = store
        self.deployment = deployment
        self.photo = photo or (lambda subject_id: None)
        self.records: list[AlertRecord] = []
        self.camera = QComboBox()
        self.decision = QComboBox()
        self.subject = QComboBox()
        for combo in (self.camera, self.decision, self.subject):
            combo.currentTextChanged.connect(self.apply_filters)
        self.table = QTableWidget()
        self.table.setColumnCount(len(SHOWN) + 2)
        self.table.setHorizontalHeaderLabels(
            ["Camera face", "Watchlist photo", *[title for _, title in SHOWN]]
        )
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.images = QCheckBox("with images")
        self.csv_button = QPushButton("Export CSV…")
        self.json_button = QPushButton("Export JSON…")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.json_button.clicked.connect(lambda: self.export("json"))
        self.status = QLabel()
        filters = QHBoxLayout()
        for label, combo in (
            ("Camera", self.camera),
            ("Decision", self.decision),
            ("Subject", self.subject),
        ):
            filters.addWidget(QLabel(label))
            filters.addWidget(combo)
        filters.addStretch(1)
        filters.addWidget(self.images)
        filters.addWidget(self.csv_button)
        filters.addWidget(self.json_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.reload()
        # Live: an alert is saved a moment after it is shown, decisions come from the
        # queue; the table follows the record (rebuilt only when something changed).
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.refresh)
        self._poll.start(LIVE_EVERY_MS)

    def refresh(self) -> None:
        if not self.isVisible():
            return
        try:
            records = self.store.alerts.history(self.deployment)
        except StorageError as exc:  # the console closed its record: nothing more to follow
            self._poll.stop()
            self.status.setText(f"No longer updated: {exc}")
            return
        if [_fingerprint(r) for r in records] != [_fingerprint(r) for r in self.records]:
            self.reload()

    def reload(self) -> None:
        """Read the record again (a new alert, a decision): the filters chosen stay."""
        self.records = self.store.alerts.history(self.deployment)
        options = {
            self.camera: sorted({r.alert.camera for r in self.records}),
            self.decision: [PENDING, *(d.label for d in Decision)],
            self.subject: sorted({r.alert.subject_name for r in self.records}),
        }
        for combo, values in options.items():
            chosen = combo.currentText() or ANY
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([ANY, *values])
            combo.setCurrentText(chosen if chosen in values else ANY)
            combo.blockSignals(False)
        self.apply_filters()

    def visible_records(self) -> list[AlertRecord]:
        def keep(r: AlertRecord) -> bool:
            decision = r.decision.label if r.decision else PENDING
            return all(
                (
                    self.camera.currentText() in (ANY, r.alert.camera),
                    self.decision.currentText() in (ANY, decision),
                    self.subject.currentText() in (ANY, r.alert.subject_name),
                )
            )

        return [r for r in self.records if keep(r)]

    def apply_filters(self) -> None:
        shown = self.visible_records()
        self.table.setRowCount(len(shown))
        for i, record in enumerate(shown):
            values = row(record)
            live = QTableWidgetItem()
            live.setIcon(_icon(record.alert.crop_rgb))
            self.table.setItem(i, 0, live)
            listed = QTableWidgetItem()
            listed.setIcon(_icon(self.photo(record.alert.subject_id)))
            self.table.setItem(i, 1, listed)
            for j, (key, _) in enumerate(SHOWN, start=2):
                text = str(values[key])
                if key in ("decision", "outcome", "corrected_to"):
                    text = WORDS.get(text, text)
                elif key == "raised_at":
                    text = record.alert.raised_at.astimezone().strftime("%H:%M:%S")
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.alert.alert_id)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        for column in (0, 1):
            self.table.setColumnWidth(column, THUMB + 16)
        self.status.setText(f"{len(shown)} of {len(self.records)} alerts shown")

    def export(self, kind: str, path: Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Export alerts",
                str(documents_folder() / f"{self.deployment}_alerts.{kind}"),
                FILTERS[kind],
            )
            if not chosen:
                return None
            path = Path(chosen)
        records = self.visible_records()
        if kind == "csv":
            export_csv(records, path, self.images.isChecked())
        else:
            export_json(records, path, self.deployment, self.images.isChecked())
        self.status.setText(f"Exported {len(records)} alerts to {path}")
        return path
