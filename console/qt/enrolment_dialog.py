"""The watchlist's photos after import: how good each is, and where a second photo of a
subject would help most (issue 24). Presents ``console.vision.enrolment_quality``'s
figures; decides nothing. Modeless: the feeds and the desk's keys carry on while it is
open."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.watchlist import Watchlist
from console.qt.incident_card import plural
from console.vision.enrolment_quality import SubjectOutlook, watchlist_report

COLUMNS = ("Subject", "Name", "Photos", "Found now", "With a second photo", "Gain",
           "Photo quality")


def _percent(x: float) -> str:
    return "–" if x != x else f"{x:.0%}"  # NaN: no calibration to say


class EnrolmentDialog(QDialog):
    """Every subject, those a second photo would help most first."""

    def __init__(self, watchlist: Watchlist, threshold: float, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Watchlist photos: where a second photo would help")
        self.setObjectName("enrolmentDialog")
        report = watchlist_report(watchlist, threshold)
        # One-photo subjects by expected gain, then the rest (already two photos).
        self.rows: list[SubjectOutlook] = sorted(
            report, key=lambda o: (o.photos >= 2, -o.gain, o.share_now, o.subject_id)
        )
        self.summary = QLabel(self._summary(report))
        self.summary.setWordWrap(True)
        self.table = QTableWidget(len(self.rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        for r, o in enumerate(self.rows):
            gain = f"+{o.gain:.0%}" if o.photos < 2 and o.gain == o.gain else ""
            cells = (o.subject_id, o.name, str(o.photos), _percent(o.share_now),
                     _percent(o.share_with_another) if o.photos < 2 else "",
                     gain, "; ".join(o.problems) or "good")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (2, 3, 4, 5):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(900, 480)

    @staticmethod
    def _summary(report: list[SubjectOutlook]) -> str:
        if not report:
            return "The watchlist is empty."
        single = [o for o in report if o.photos < 2]
        helped = [o for o in single if o.gain >= 0.03]
        now = sum(o.share_now for o in report) / len(report)
        text = (
            f"{len(report)} subjects; the console is expected to find about {_percent(now)} "
            "of their walks past a camera at this operating point (measured on people it was "
            "calibrated on; colour photos, so treat it as an estimate)."
        )
        if helped:
            after = (sum(o.share_now for o in report) + sum(o.gain for o in helped)) / len(report)
            text += (
                f" A second photo of the {plural(len(helped), 'subject')} marked with a gain would "
                f"raise that to about {_percent(after)}: add one as another row of the "
                "watchlist CSV (same subject id) and import again."
            )
        with_problems = sum(bool(o.problems) for o in report)
        if with_problems:
            has = "has" if with_problems == 1 else "have"
            text += (f" {plural(with_problems, 'photo')} {has} a problem an officer could fix "
                     "(last column).")
        return text


def show_enrolment_report(parent: QWidget, watchlist: Watchlist, threshold: float
                          ) -> EnrolmentDialog:
    """Show the report beside the window (the caller keeps the reference): modeless and
    without taking the focus, so the desk's keys still go to the window."""
    dialog = EnrolmentDialog(watchlist, threshold, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    dialog.show()
    return dialog
