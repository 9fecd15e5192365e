"""The correction dialog: a decision or an outcome, decided again with a reason.

It says what is in force and who recorded it, offers the other values, and records
nothing until a reason is given. The correction covers every alert of the incident (one
person, one decision) unless the supervisor narrows it to the alert chosen.
"""

from __future__ import annotations

import html
from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

# Alt+letter chooses a value from the keyboard (the first letter, unless taken).
MNEMONICS = {"Confirmed false": "Con&firmed false", "Not located": "&Not located"}


def _with_mnemonic(label: str) -> str:
    return MNEMONICS.get(label, "&" + label)


class CorrectionDialog(QDialog):
    """Choose the corrected value and give the reason; ``value`` and ``reason`` after OK."""

    def __init__(
        self,
        what: str,  # "decision" or "outcome"
        subject: str,
        current: StrEnum,
        recorded_by: str,
        choices: list[StrEnum],
        incident_alerts: int,
        parent: QWidget | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Correct the {what} · {subject}")
        self.setObjectName("correctionDialog")
        self.value: StrEnum | None = None
        label = getattr(current, "label", str(current))
        heading = QLabel(
            f"<b>{html.escape(subject)}</b>: the {what} in force is "
            f"<b>{html.escape(label)}</b>, recorded by {html.escape(recorded_by)}.<br>"
            "The correction follows it in the record; the original stays, with who "
            "corrected it, when and why."
        )
        heading.setWordWrap(True)
        self.group = QButtonGroup(self)
        self.options: dict[StrEnum, QRadioButton] = {}
        box = QVBoxLayout()
        for value in choices:
            button = QRadioButton(_with_mnemonic(getattr(value, "label", str(value))))
            button.setObjectName(f"correct-{value.value}")
            button.setEnabled(value != current)
            self.group.addButton(button)
            self.options[value] = button
            box.addWidget(button)
        self.reason = QLineEdit(reason)
        self.reason.setObjectName("correctionReason")
        self.reason.setPlaceholderText("Reason for the correction (required)")
        self.whole = QCheckBox(
            f"Correct all {incident_alerts} alerts of this incident (one person, one {what})"
        )
        self.whole.setChecked(True)
        self.whole.setVisible(incident_alerts > 1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Record the correction")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(self._check)
        self.group.buttonToggled.connect(lambda *_: self._check())
        self.reason.returnPressed.connect(self._accept)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(QLabel(f"Corrected {what}:"))
        layout.addLayout(box)
        layout.addWidget(self.reason)
        layout.addWidget(self.whole)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self._check()
        self.reason.setFocus(Qt.FocusReason.OtherFocusReason)

    def chosen(self) -> StrEnum | None:
        return next((v for v, b in self.options.items() if b.isChecked()), None)

    def _check(self) -> None:
        self.ok.setEnabled(self.chosen() is not None and bool(self.reason.text().strip()))

    def choose(self, value: StrEnum) -> None:
        self.options[value].setChecked(True)

    def _accept(self) -> None:
        if not self.ok.isEnabled():
            return
        self.value = self.chosen()
        self.accept()
