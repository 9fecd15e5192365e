"""The audit witness on the desk: one line in the status bar, red while the log collector
cannot be reached (the audit heads wait in a queue and are sent when it answers)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow

from console.storage.witness import WitnessStatus

REFRESH_MS = 2000


def show_witness_status(
    window: QMainWindow, status: Callable[[], WitnessStatus | None]
) -> QLabel | None:
    """A permanent status-bar label kept up to date from *status* (the record's witness);
    none when the site policy names no witness."""
    if status() is None:
        return None
    label = QLabel()
    label.setObjectName("witnessStatus")
    label.setTextFormat(Qt.TextFormat.PlainText)

    def refresh() -> None:
        now = status()
        if now is None:
            return
        label.setText(now.text())
        label.setStyleSheet("color:#b3261e; font-weight:bold" if now.alarming else "")

    timer = QTimer(label)
    timer.timeout.connect(refresh)
    timer.start(REFRESH_MS)
    refresh()
    window.statusBar().addPermanentWidget(label)
    return label
