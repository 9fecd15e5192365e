"""File → Sign out, as a shift change needs it: the desk locks and the next officer signs
in, while the cameras, the matching, the chime and the queue go on.

While the desk is locked nobody holds it: no key acts, the queue and cards are covered
(a passer-by at the desk sees no watchlist face), and the lock says how many incidents
are waiting. Both steps are audited (``console.live.handover``), and the next officer's
decisions are theirs.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from console.domain.officers import Officer, Permission, PermissionDenied
from console.live import handover
from console.live.feed import FeedState
from console.qt.login import LoginDialog
from console.storage import StorageError

if TYPE_CHECKING:
    from console.qt.main_window import MainWindow


def may_hold_the_desk(officer: Officer) -> None:
    """PermissionDenied for an account that may not adjudicate (trainer, admin)."""
    officer.require(Permission.ADJUDICATE)


class LockPage(QWidget):
    """What the desk shows while nobody is signed in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deskLocked")
        self.text = QLabel()
        self.text.setObjectName("lockText")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sign_in = QPushButton("Sign in to the desk…")
        self.sign_in.setObjectName("lockSignIn")
        # Near the top: the sign-in dialog opens over the middle of the window.
        layout = QVBoxLayout(self)
        layout.addSpacing(40)
        layout.addWidget(self.text)
        layout.addWidget(self.sign_in, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)


class DeskHandover:
    """Signs the officer out of the window (cameras running) and the next one in."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.dialog: LoginDialog | None = None
        self.locked = False
        self.left_by = ""
        self.page = LockPage()
        self.page.sign_in.clicked.connect(self.ask_sign_in)

    def sign_out(self) -> None:
        w = self.window
        if self.locked or w.session is None:
            return
        self.left_by = str(w.officer)
        self.locked = True
        w.lock_desk(True)
        self.describe()
        w.spawn(self._audit_sign_out())
        self.ask_sign_in()

    async def _audit_sign_out(self) -> None:
        w = self.window
        assert w.session is not None
        running = any(t.status.state == FeedState.LIVE for t in w.tiles.values())
        try:
            await handover.sign_out(w.session, running, len(w.alerts.pending))
        except StorageError as exc:
            w.alerts.show_error(f"The sign-out could not be recorded: {exc}")

    def describe(self) -> None:
        w = self.window
        waiting = len(w.alerts.pending)
        engaged = len(w.alerts.engaged)
        self.page.text.setText(
            f"<h2>Desk signed out</h2><p>Deployment <b>{html.escape(w.deployment.reference)}"
            f"</b> · {html.escape(w.deployment.site)}</p><p>{html.escape(self.left_by)} signed "
            "out. The cameras keep running and alerts keep arriving (the chime sounds): "
            f"<b>{waiting}</b> incident{'s' if waiting != 1 else ''} waiting, {engaged} "
            f"engagement{'s' if engaged != 1 else ''} awaiting an outcome.</p>"
            "<p>The next officer signs in to take the desk. (File → Quit stops the cameras.)</p>"
        )

    def ask_sign_in(self) -> None:
        w = self.window
        if w.session is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        self.dialog = LoginDialog(
            w.session.store.store.officers.authenticate,
            parent=w,
            opens=(
                f"Take the desk of deployment <b>{html.escape(w.deployment.reference)}</b> · "
                f"{html.escape(w.deployment.site)} (cameras running)"
            ),
            check=may_hold_the_desk,
        )
        self.dialog.accepted.connect(lambda: self._signed_in(self.dialog.officer))
        self.dialog.open()

    def _signed_in(self, officer: Officer | None) -> None:
        if officer is not None:
            self.window.spawn(self._take(officer))

    async def _take(self, officer: Officer) -> None:
        w = self.window
        assert w.session is not None
        try:
            await handover.sign_in(w.session, officer, self.left_by)
        except (StorageError, PermissionDenied) as exc:
            self.page.text.setText(f"<p>Not signed in: {html.escape(str(exc))}</p>")
            return
        self.locked = False
        w.officer_changed(officer)
        w.lock_desk(False)
        w.show_message(f"{officer} holds the desk from now on (after {self.left_by})")
