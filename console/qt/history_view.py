"""The deployment's alert history: every alert, the decision and outcome in force, with
images; a supervisor corrects a decision or an outcome here, with a reason.

The Decision and Outcome columns show what is in force (a correction supersedes the
original, marked ✎); a click on a row shows the original, every correction, who made it,
when and why. The window opens over the camera wall, never over the queue, and closing
it gives the keys back to the desk.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Decision, Outcome
from console.history_export import export_csv, export_json, row
from console.qt.correction_dialog import CorrectionDialog
from console.qt.images import qimage_from_rgb
from console.qt.settings import export_folder, remember_export_folder
from console.storage import StorageError, Store
from console.storage.alerts import AlertRecord
from console.storage.outcome_corrections import OutcomeCorrections, decision_corrections

# What is in force comes right after who it is about, so that it is in view at any width
# (a correction behind a horizontal scroll was issue 28's finding 10).
SHOWN = [
    ("raised_at", "Raised"),
    ("camera", "Camera"),
    ("subject_name", "Subject"),
    ("in_force", "Decision (in force)"),
    ("outcome_in_force", "Outcome (in force)"),
    ("decided_by", "Decided by"),
    ("category", "Category"),
    ("distance", "Distance"),
    ("seconds_to_adjudication", "s to decide"),
    ("seconds_to_outcome", "s to outcome"),
    ("decision_note", "Note"),
]
ANY = "(any)"
PENDING = "Not yet decided"
THUMB = 96  # big enough to compare two faces at a glance
# The record's words for the officer's: "false match", never "false_match".
WORDS = {d.value: d.label for d in Decision} | {o.value: o.label for o in Outcome}
LIVE_EVERY_MS = 1000
FILTERS = {"csv": "CSV spreadsheet (*.csv)", "json": "JSON file (*.json)"}
CORRECTED = " ✎"

# (what, alert ids, new value, reason, was) -> the correction, awaited by the window.
Corrector = Callable[[str, list[str], object, str, object], Awaitable[object]]


def _fingerprint(r: AlertRecord) -> tuple:
    return (r.alert.alert_id, r.decision, r.outcome is not None, r.correction is not None)


def _icon(rgb: np.ndarray | None) -> QIcon:
    if rgb is None or rgb.size == 0:
        return QIcon()
    return QIcon(QPixmap.fromImage(qimage_from_rgb(rgb)))


def _hms(t) -> str:
    return t.astimezone().strftime("%H:%M:%S")


class HistoryDialog(QDialog):
    """Every alert of the deployment, live: the window updates as alerts and decisions come."""

    def __init__(
        self,
        store: Store,
        deployment: str,
        parent: QWidget | None = None,
        photo: Callable[[str], np.ndarray | None] | None = None,
        corrector: Corrector | None = None,
        spawn: Callable[[Awaitable[object]], None] | None = None,
    ) -> None:
        """*corrector*: how a correction is recorded (None: this officer may not correct);
        *spawn* runs its coroutine on the window's loop."""
        super().__init__(parent)
        self.setWindowTitle(f"Alert history · {deployment}")
        self.setObjectName("history")
        self.resize(1000, 640)
        self.store = store
        self.deployment = deployment
        self.photo = photo or (lambda subject_id: None)
        self.corrector = corrector
        self.spawn = spawn
        self.records: list[AlertRecord] = []
        self.outcomes_in_force: dict[str, Outcome] = {}
        self.incident_of: dict[str, str] = {}
        self.correction_dialog: CorrectionDialog | None = None
        self.outcome_store = OutcomeCorrections(store.db, store.audit)
        self.camera = QComboBox()
        self.decision = QComboBox()
        self.subject = QComboBox()
        for combo in (self.camera, self.decision, self.subject):
            combo.currentTextChanged.connect(self.apply_filters)
        self.table = QTableWidget()
        self.table.setObjectName("historyTable")
        self.table.setColumnCount(len(SHOWN) + 2)
        self.table.setHorizontalHeaderLabels(
            ["Camera face", "Watchlist photo", *[title for _, title in SHOWN]]
        )
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._show_details)
        self.table.cellDoubleClicked.connect(lambda *_: self.correct("decision"))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.details = QLabel()
        self.details.setObjectName("historyDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumHeight(3 * self.fontMetrics().lineSpacing())
        self.correct_decision = QPushButton("Correct &decision…")
        self.correct_outcome = QPushButton("Correct &outcome…")
        self.correct_decision.clicked.connect(lambda: self.correct("decision"))
        self.correct_outcome.clicked.connect(lambda: self.correct("outcome"))
        for button in (self.correct_decision, self.correct_outcome):
            button.setEnabled(False)
            button.setToolTip(
                "Choose a row first" if corrector else "A supervisor corrects decisions"
            )
        self.images = QCheckBox("with images")
        self.csv_button = QPushButton("Export CSV…")
        self.json_button = QPushButton("Export JSON…")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.json_button.clicked.connect(lambda: self.export("json"))
        self.status = QLabel()
        # Two short rows rather than one long one: the window fits over the camera wall of
        # a 1280-pixel screen.
        filters = QHBoxLayout()
        for label, combo in (
            ("Camera", self.camera),
            ("Decision", self.decision),
            ("Subject", self.subject),
        ):
            filters.addWidget(QLabel(label))
            filters.addWidget(combo, 1)
        for combo in (self.camera, self.decision, self.subject):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        corrections = QVBoxLayout()
        corrections.addWidget(self.correct_decision)
        corrections.addWidget(self.correct_outcome)
        corrections.addStretch(1)
        chosen = QHBoxLayout()
        chosen.addWidget(self.details, 1)
        chosen.addLayout(corrections)
        exports = QHBoxLayout()
        exports.addWidget(self.status, 1)
        exports.addWidget(self.images)
        exports.addWidget(self.csv_button)
        exports.addWidget(self.json_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(chosen)
        layout.addLayout(exports)
        self.reload()
        # Live: an alert is saved a moment after it is shown, decisions come from the
        # queue; the table follows the record (rebuilt only when something changed).
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.refresh)
        self._poll.start(LIVE_EVERY_MS)
        self.table.setFocus()  # the arrow keys choose a row at once

    # -- reading ------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.isVisible():
            return
        try:
            records = self.store.alerts.history(self.deployment)
            outcomes = self.outcome_store.in_force([r.alert.alert_id for r in records])
        except StorageError as exc:  # the console closed its record: nothing more to follow
            self._poll.stop()
            self.status.setText(f"No longer updated: {exc}")
            return
        changed = [_fingerprint(r) for r in records] != [_fingerprint(r) for r in self.records]
        if changed or outcomes != self.outcomes_in_force:
            self.reload()

    def reload(self) -> None:
        """Read the record again (a new alert, a decision): the filters chosen stay."""
        chosen = self.chosen_record()
        self.records = self.store.alerts.history(self.deployment)
        ids = [r.alert.alert_id for r in self.records]
        self.outcomes_in_force = self.outcome_store.in_force(ids)
        self.incident_of = self._incidents()
        options = {
            self.camera: sorted({r.alert.camera for r in self.records}),
            self.decision: [PENDING, *(d.label for d in Decision)],
            self.subject: sorted({r.alert.subject_name for r in self.records}),
        }
        for combo, values in options.items():
            chosen_text = combo.currentText() or ANY
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([ANY, *values])
            combo.setCurrentText(chosen_text if chosen_text in values else ANY)
            combo.blockSignals(False)
        self.apply_filters()
        if chosen is not None:
            self.select_alert(chosen.alert.alert_id)

    def _incidents(self) -> dict[str, str]:
        """Each decided alert's incident, as its decision's audit entry names it."""
        found = {}
        for entry in self.store.audit.entries():
            if entry.action == "alert adjudicated" and "alert_id" in entry.details:
                alert_id = entry.details["alert_id"]
                found[alert_id] = entry.details.get("incident") or alert_id
        return found

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

    def outcome_in_force(self, record: AlertRecord) -> Outcome | None:
        corrected = self.outcomes_in_force.get(record.alert.alert_id)
        return corrected or (record.outcome.outcome if record.outcome else None)

    def apply_filters(self) -> None:
        shown = self.visible_records()
        self.table.setRowCount(len(shown))
        for i, record in enumerate(shown):
            values = row(record)
            decision = record.decision
            values["in_force"] = (decision.label if decision else "") + (
                CORRECTED if record.correction else ""
            )
            if record.correction is not None:
                values["decided_by"] = f"{record.correction.officer} (correction)"
            outcome = self.outcome_in_force(record)
            values["outcome_in_force"] = (outcome.label if outcome else "") + (
                CORRECTED if record.alert.alert_id in self.outcomes_in_force else ""
            )
            live = QTableWidgetItem()
            live.setIcon(_icon(record.alert.crop_rgb))
            live.setData(Qt.ItemDataRole.UserRole, record.alert.alert_id)
            self.table.setItem(i, 0, live)
            listed = QTableWidgetItem()
            listed.setIcon(_icon(self.photo(record.alert.subject_id)))
            self.table.setItem(i, 1, listed)
            for j, (key, _) in enumerate(SHOWN, start=2):
                text = str(values[key])
                if key == "raised_at":
                    text = _hms(record.alert.raised_at)
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, record.alert.alert_id)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        for column in (0, 1):
            self.table.setColumnWidth(column, THUMB + 16)
        note = self.table.columnCount() - 1
        self.table.setColumnWidth(note, min(self.table.columnWidth(note), 240))
        self.status.setText(f"{len(shown)} of {len(self.records)} alerts shown")
        self._show_details()

    # -- one row: what is in force, the original, the corrections ------------------------------
    def chosen_record(self) -> AlertRecord | None:
        items = self.table.selectedItems() if self.table.rowCount() else []
        if not items:
            return None
        alert_id = self.table.item(items[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((r for r in self.records if r.alert.alert_id == alert_id), None)

    def select_alert(self, alert_id: str) -> bool:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == alert_id:
                self.table.selectRow(r)
                return True
        return False

    def incident_alerts(self, record: AlertRecord) -> list[AlertRecord]:
        incident = self.incident_of.get(record.alert.alert_id)
        if incident is None:
            return [record]
        return [r for r in self.records if self.incident_of.get(r.alert.alert_id) == incident]

    def _show_details(self) -> None:
        record = self.chosen_record()
        may = self.corrector is not None
        self.correct_decision.setEnabled(may and record is not None and record.adjudication
                                         is not None)
        self.correct_outcome.setEnabled(
            may and record is not None and self.outcome_in_force(record) is not None
        )
        if record is None:
            self.details.setText("<i>Choose an alert to see its decision, outcome and any "
                                 "correction.</i>")
            return
        self.details.setText(self.details_html(record))

    def details_html(self, record: AlertRecord) -> str:
        a, d, o = record.alert, record.adjudication, record.outcome
        lines = [f"<b>{html.escape(a.subject_name)}</b> on {html.escape(a.camera)} at "
                 f"{_hms(a.raised_at)}"]
        if d is None:
            lines.append("Not yet decided.")
            return "<br>".join(lines)
        decision = record.decision
        assert decision is not None
        lines.append(f"Decision in force: <b>{decision.label}</b>")
        note = f" (note: {html.escape(d.note)})" if d.note else ""
        lines.append(
            f"Original: {d.decision.label} by {html.escape(d.officer)} at {_hms(d.decided_at)}"
            + note
        )
        for c in decision_corrections(self.store.db, [a.alert_id]).get(a.alert_id, []):
            lines.append(
                f"Corrected to {c.decision.label} by {html.escape(c.officer)} at "
                f"{_hms(c.corrected_at)}: {html.escape(c.reason)}"
            )
        if o is not None:
            lines.append(
                f"Outcome: {o.outcome.label} by {html.escape(o.officer)} at {_hms(o.recorded_at)}"
            )
            for c in self.outcome_store.history([a.alert_id]).get(a.alert_id, []):
                lines.append(
                    f"Outcome corrected to {c.outcome.label} by {html.escape(c.officer)} at "
                    f"{_hms(c.corrected_at)}: {html.escape(c.reason)}"
                )
        n = len(self.incident_alerts(record))
        if n > 1:
            lines.append(f"One of {n} alerts of this incident (decided together).")
        return "<br>".join(lines)

    def _context_menu(self, point: QPoint) -> None:
        if self.chosen_record() is None:
            return
        menu = QMenu(self)
        menu.addAction("Correct decision…", lambda: self.correct("decision")).setEnabled(
            self.correct_decision.isEnabled()
        )
        menu.addAction("Correct outcome…", lambda: self.correct("outcome")).setEnabled(
            self.correct_outcome.isEnabled()
        )
        menu.popup(self.table.viewport().mapToGlobal(point))

    # -- correcting -----------------------------------------------------------------------------
    def correct(self, what: str) -> CorrectionDialog | None:
        """Open the correction dialog for the chosen row's decision (or outcome)."""
        record = self.chosen_record()
        if record is None or record.adjudication is None:
            return None
        if self.corrector is None:
            self.status.setText("A supervisor corrects decisions and outcomes, with a reason.")
            return None
        if what == "decision":
            current, choices = record.decision, list(Decision)
            by = (record.correction.officer if record.correction else record.adjudication.officer)
        else:
            current, choices = self.outcome_in_force(record), list(Outcome)
            if current is None:
                return None
            by = record.outcome.officer if record.outcome else ""
        whole = self.incident_alerts(record)
        dialog = CorrectionDialog(
            what, record.alert.subject_name, current, by, choices, len(whole), self
        )
        dialog.accepted.connect(lambda: self._corrected(dialog, what, record, whole, current))
        dialog.finished.connect(lambda _: self.table.setFocus())
        self.correction_dialog = dialog
        dialog.open()
        return dialog

    def _corrected(self, dialog, what, record, whole, current) -> None:
        records = whole if dialog.whole.isChecked() else [record]
        ids = [r.alert.alert_id for r in records]
        value, reason = dialog.value, dialog.reason.text().strip()
        assert self.corrector is not None and value is not None

        async def run() -> None:
            try:
                await self.corrector(what, ids, value, reason, current)
            except Exception as exc:  # shown, never a traceback: StorageError, refusals
                self.status.setText(f"NOT corrected: {exc}")
                return
            self.reload()
            self.select_alert(record.alert.alert_id)
            label = getattr(value, "label", str(value))
            self.status.setText(
                f"{what.capitalize()} corrected to {label} for {len(ids)} alert"
                f"{'s' if len(ids) != 1 else ''}, with your reason"
            )

        if self.spawn is not None:
            self.spawn(run())

    # -- placing and closing --------------------------------------------------------------------
    def place_over(self, area: QWidget) -> None:
        """Open over *area* (the camera wall), never over the queue beside it."""
        top_left = area.mapToGlobal(QPoint(0, 0))
        width = max(self.minimumSizeHint().width(), area.width())
        self.resize(width, max(420, area.height()))
        # Its frame (title bar, borders) inside the area too.
        frame = self.frameGeometry().size() - self.geometry().size()
        self.move(top_left)
        if frame.width() > 0:
            self.resize(max(self.minimumSizeHint().width(), width - frame.width()),
                        max(420, area.height() - frame.height()))

    # -- exporting ------------------------------------------------------------------------------
    def export(self, kind: str, path: Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Export alerts",
                str(export_folder() / f"{self.deployment}_alerts.{kind}"),
                FILTERS[kind],
            )
            if not chosen:
                return None
            path = Path(chosen)
            remember_export_folder(path.parent)
        records = self.visible_records()
        if kind == "csv":
            export_csv(records, path, self.images.isChecked())
        else:
            export_json(records, path, self.deployment, self.images.isChecked())
        self.status.setText(f"Exported {len(records)} alerts to {path}")
        return path
