"""The record's verification key, shown once when the console creates the record: as
text and as a QR code, to be kept off the machine (it is written nowhere)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QMessageBox, QWidget

from console.storage.key_sheet import ADVICE, HEADING, qr_png
from console.storage.sealing import VerificationKey


def verification_key_box(vk: VerificationKey, parent: QWidget | None = None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("LFR console: the record's verification key")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText(f"{HEADING}\n\n{vk.spaced()}")
    box.setInformativeText(ADVICE)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy it
    pixmap = QPixmap()
    pixmap.loadFromData(qr_png(vk, scale=4), "PNG")
    box.setIconPixmap(pixmap)
    box.setObjectName("verificationKey")
    return box


def show_verification_key(vk: VerificationKey, parent: QWidget | None = None) -> None:
    """Modal: the officer who made the record sees the key before anything else."""
    verification_key_box(vk, parent).exec()
