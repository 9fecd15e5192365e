"""The deployment's alert history: every alert, its decision and outcome, with images."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
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

from console.history_export import export_csv, export_json, row
from console.qt.images import qimage_from_rgb
from console.storage import Store
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


class HistoryDialog(QDialog):
    def __init__(self, store: Store, deployment: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Alert history · {deployment}")
        self.resize(1200, 600)
        self.store = store
        self.deployment = deployment
        self.records: list[AlertRecord] = []
        self.camera = QComboBox()
        self.decision = QComboBox()
        self.subject = QComboBox()
        for combo in (self.camera, self.decision, self.subject):
            combo.currentTextChanged.connect(self.apply_filters)
        self.table = QTableWidget()
        self.table.setColumnCount(len(SHOWN) + 1)
        self.table.setHorizontalHeaderLabels(["Live", *[title for _, title in SHOWN]])
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

    def reload(self) -> None:
        self.records = self.store.alerts.history(self.deployment)
        options = {
            self.camera: sorted({r.alert.camera for r in self.records}),
            self.decision: ["pending", "engage", "dismiss", "false_match"],
            self.subject: sorted({r.alert.subject_name for r in self.records}),
        }
        for combo, values in options.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([ANY, *values])
            combo.blockSignals(False)
        self.apply_filters()

    def visible_records(self) -> list[AlertRecord]:
        def keep(r: AlertRecord) -> bool:
            decision = r.decision.value if r.decision else "pending"
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
            thumb = QTableWidgetItem()
            if record.alert.crop_rgb is not None:
                thumb.setIcon(QIcon(QPixmap.fromImage(qimage_from_rgb(record.alert.crop_rgb))))
            self.table.setItem(i, 0, thumb)
            for j, (key, _) in enumerate(SHOWN, start=1):
                text = str(values[key])
                if key == "raised_at":
                    text = record.alert.raised_at.astimezone().strftime("%H:%M:%S")
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.alert.alert_id)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.status.setText(f"{len(shown)} of {len(self.records)} alerts shown")

    def export(self, kind: str, path: Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export alerts", f"{self.deployment}_alerts.{kind}"
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
