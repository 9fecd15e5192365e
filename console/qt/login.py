"""The login dialog: officers sign in with their local account."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.officers import Officer
from console.storage import LoginFailed


class LoginDialog(QDialog):
    def __init__(
        self,
        authenticate: Callable[[str, str], Officer],
        hint: str = "",
        username: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("LFR console: sign in")
        self._authenticate = authenticate
        self.officer: Officer | None = None
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setStyleSheet("color:#b3261e")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._try)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setDefault(True)  # Return signs in
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if hint:
            note = QLabel(hint)
            note.setWordWrap(True)
            note.setStyleSheet("color:#555")
            layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def _try(self) -> None:
        try:
            self.officer = self._authenticate(self.username.text().strip(), self.password.text())
        except LoginFailed as exc:
            # Throttled or locked (LoginThrottled) says how long to wait; the text is kept
            # as written (capitalize() would lower-case "UTC").
            message = str(exc)
            self.error.setText(message[:1].upper() + message[1:])
            self.password.clear()
            return
        self.accept()
