"""Help → Keys: every shortcut of a window, in one table (F1 or ?)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class KeysDialog(QDialog):
    """The keys of the window it belongs to; Escape or Close closes it."""

    def __init__(
        self,
        title: str,
        keys: list[tuple[str, str]],
        parent: QWidget | None = None,
        note: str = "",
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Keys · {title}")
        self.table = QTableWidget(len(keys), 2)
        self.table.setHorizontalHeaderLabels(["Key", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for row, (key, what) in enumerate(keys):
            self.table.setItem(row, 0, QTableWidgetItem(key))
            self.table.setItem(row, 1, QTableWidgetItem(what))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Keys work anywhere in the window except while typing a note. " + note
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(720, 120 + 30 * len(keys))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Every row in view: once laid out at its width, the dialog grows to its rows'
        full height (the screen's height is the limit; beyond it the list scrolls)."""
        super().showEvent(event)
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        missing = rows + self.table.horizontalHeader().height() - self.table.viewport().height()
        if missing > 0:
            screen = self.screen().availableGeometry().height() if self.screen() else 720
            self.resize(self.width(), min(screen - 40, self.height() + missing + 8))

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text())
            for r in range(self.table.rowCount())
        ]
