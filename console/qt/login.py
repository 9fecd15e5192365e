"""The login dialog: officers sign in with their local account.

It says what it opens (the deployment, or the trainer), Return signs in from either
field, and after a refusal the focus is back in the field to retype, whose old message
goes as soon as the officer types again.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.domain.officers import Officer, PermissionDenied
from console.storage import LoginFailed


class LoginDialog(QDialog):
    def __init__(
        self,
        authenticate: Callable[[str, str], Officer],
        hint: str = "",
        username: str = "",
        parent: QWidget | None = None,
        opens: str = "",
        check: Callable[[Officer], None] | None = None,
    ) -> None:
        """*opens*: what signing in opens, in words ("deployment X at Y"); *check* raises
        PermissionDenied for an account that may not use it (a trainer at a desk)."""
        super().__init__(parent)
        self.setWindowTitle("LFR console: sign in")
        self._authenticate = authenticate
        self._check = check
        self.officer: Officer | None = None
        self.opens = QLabel(opens)
        self.opens.setObjectName("signInOpens")
        self.opens.setWordWrap(True)
        self.opens.setVisible(bool(opens))
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setObjectName("signInError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#eb5757; font-weight:bold")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._try)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign in")
        # Return signs in from either field, once: the fields answer it themselves, and
        # the dialog's default-button handling (which Qt moves with the focus, and which
        # was lost after a click on Sign in) is switched off (keyPressEvent). An empty
        # field is asked for, not tried: a try without a password counts as a failure.
        for button in buttons.buttons():
            button.setAutoDefault(False)
        for field in (self.username, self.password):
            field.textEdited.connect(lambda _: self.error.clear())
            field.returnPressed.connect(self._try)
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(self.opens)
        layout.addLayout(form)
        if hint:
            note = QLabel(hint)
            note.setWordWrap(True)
            note.setStyleSheet("color:#8a94a6")
            layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)
        self._focus_field()

    def _focus_field(self) -> None:
        field = self.password if self.username.text().strip() else self.username
        field.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # answered by the field it was typed in (returnPressed)
            return
        super().keyPressEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.ok_button.setDefault(False)  # the button box makes it default on show
        self._focus_field()

    def _try(self) -> None:
        self.error.clear()
        if not self.username.text().strip():
            self.username.setFocus()
            self.error.setText("Type your username, then your password")
            return
        if not self.password.text():
            self.password.setFocus()  # Return in the username field moves on
            return
        try:
            officer = self._authenticate(self.username.text().strip(), self.password.text())
            if self._check is not None:
                self._check(officer)
        except (LoginFailed, PermissionDenied) as exc:
            # Throttled or locked (LoginThrottled) says how long to wait; the text is kept
            # as written (capitalize() would lower-case "UTC").
            message = str(exc)
            self.error.setText(message[:1].upper() + message[1:])
            self.password.clear()
            self._focus_field()
            return
        self.officer = officer
        self.accept()
