"""Officers on the ground, at the desk: pairing phones, who is checked in, where engaged
incidents go, each incident's steps live, and the alarms (an incident no phone has seen,
a token on a second device, a pairing brute force).

Only presents and forwards: the rules are the field service's (``console.field``).
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Outcome
from console.domain.field import STREET_WORDS
from console.domain.officers import PermissionDenied
from console.field.pairing import shown

if TYPE_CHECKING:
    from console.field.service import FieldService
    from console.qt.main_window import MainWindow

ALARM_STYLE = "background:#b3261e; color:white; font-weight:bold; padding:6px;"


def qr_pixmap(text: str, scale: int = 5) -> QPixmap:
    """The pairing URL as a QR code (segno), for a phone's camera."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=3)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


class PairDialog(QDialog):
    """Pair a phone: the officer's name, then a one-time code and its QR code."""

    def __init__(self, service: FieldService, window: MainWindow) -> None:
        super().__init__(window)
        self.service, self.window_ = service, window
        self.setWindowTitle("Pair an officer's phone")
        self.name = QLineEdit()
        self.name.setPlaceholderText("Officer's name and number, e.g. PC 4821 Ward")
        self.issue = QPushButton("Show a code")
        self.issue.clicked.connect(self._issue)
        self.code = QLabel()
        self.code.setObjectName("pairingCode")
        self.code.setStyleSheet("font-size:34px; font-weight:bold; letter-spacing:4px")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.qr = QLabel()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.left = QLabel()
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.issue)
        layout.addLayout(row)
        layout.addWidget(self.code, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.left)
        layout.addWidget(self.details)
        self._expires = 0.0
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._countdown)

    def _issue(self) -> None:
        asyncio.ensure_future(self._issue_code())

    async def _issue_code(self) -> None:
        try:
            code, lifetime = await self.service.issue_code(self.name.text(), self.window_.officer)
        except (ValueError, PermissionDenied) as exc:
            self.left.setText(f"Refused: {exc}")
            return
        url = self.service.pairing_url(code)
        self.code.setText(shown(code))
        self.qr.setPixmap(qr_pixmap(url))
        self.details.setText(
            f"For {html.escape(' '.join(self.name.text().split()))}: open {url} on the "
            f"phone (or scan the code), then type the code. Check the certificate's "
            f"fingerprint on the phone: SHA-256 {self.service.fingerprint}"
        )
        self._expires = self.service.clock() + lifetime
        self._clock.start(500)
        self._countdown()

    def _countdown(self) -> None:
        left = self._expires - self.service.clock()
        if left <= 0:
            self._clock.stop()
            self.code.setText("expired")
            self.qr.clear()
            self.left.setText("The code has expired: show a new one.")
            return
        self.left.setText(f"Valid for {int(left) // 60}:{int(left) % 60:02d}, once.")


class FieldPanel(QDockWidget):
    """The desk's view of the ground team (a FieldListener)."""

    def __init__(self, service: FieldService, window: MainWindow) -> None:
        super().__init__("Officers on the ground", window)
        self.setObjectName("fieldPanel")
        self.service, self.window_ = service, window
        self.address = QLabel()
        self.address.setWordWrap(True)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.presence = QLabel()
        self.presence.setObjectName("fieldPresence")
        self.alarm = QLabel()
        self.alarm.setObjectName("fieldAlarm")
        self.alarm.setWordWrap(True)
        self.alarm.setStyleSheet(ALARM_STYLE)
        self.alarm.hide()
        self.phones = QListWidget()
        self.phones.setObjectName("fieldPhones")
        self.phones.setMaximumHeight(66)  # three phones; more scroll
        self.pair = QPushButton("Pair a phone…")
        self.pair.clicked.connect(self.open_pairing)
        self.revoke = QPushButton("Revoke")
        self.revoke.clicked.connect(self._revoke)
        self.target = QComboBox()
        self.target.setObjectName("fieldTarget")
        self.target.currentIndexChanged.connect(self._target_chosen)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.alarm)
        layout.addWidget(self.presence)
        layout.addWidget(self.phones)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pair)
        buttons.addWidget(self.revoke)
        buttons.addWidget(QLabel("Send engaged incidents to:"))
        buttons.addWidget(self.target, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.address)
        self.setWidget(body)
        self._alarms: list[str] = []
        self._ticker = QTimer(self)
        self._ticker.timeout.connect(self.field_changed)
        self._ticker.start(1000)
        self.field_changed()

    # -- FieldListener -----------------------------------------------------------------
    def field_changed(self) -> None:
        s = self.service
        self.address.setText(
            f"Phones reach the desk at <b>{html.escape(s.address or 'not listening')}</b> · "
            f"certificate SHA-256 <small>{html.escape(s.fingerprint)}</small>"
        )
        who = s.present()
        if s.concluded:  # the purge receipt: each phone, its token ended, its page cleared
            self.presence.setText("<b>Deployment concluded.</b><br>" + "<br>".join(
                html.escape(line) for line in s.receipt or ["No phone was paired."]))
            self.pair.setEnabled(False)
            self.revoke.setEnabled(False)
        else:
            self.presence.setText(
                f"<b>Checked in:</b> {html.escape(who)}" if who else
                f"<b style='color:#b3261e'>Nobody checked in</b> · "
                f"{html.escape(s.absence())}"
            )
        now = s.clock()
        chosen = self.phones.currentItem().data(Qt.ItemDataRole.UserRole) if (
            self.phones.currentItem()) else None
        self.phones.clear()
        for phone in s.phones.values():
            heard = (f"heard {now - phone.last_heard:.0f} s ago" if phone.last_heard is not None
                     else "not yet checked in")
            state = "CHECKED IN" if phone.checked_in else "not checked in"
            item = QListWidgetItem(f"{phone.officer} · phone {phone.device} · {state} · {heard}")
            item.setData(Qt.ItemDataRole.UserRole, phone.device)
            self.phones.addItem(item)
            if phone.device == chosen:
                self.phones.setCurrentItem(item)
        self._fill_targets()
        self.window_.alerts.refresh()

    def field_alarm(self, message: str) -> None:
        self._alarms = [message, *[a for a in self._alarms if a != message]][:3]
        self.alarm.setText("\n".join(self._alarms))
        self.alarm.show()
        self.window_.alerts.show_error(message)
        self.window_.sound.play()

    def field_outcome(self, incident_id: str, outcome: Outcome, officer: str) -> None:
        incident = self.window_.alerts.incident(incident_id)
        name = incident.subject_name if incident is not None else "the incident"
        self.window_.alerts.remove(incident_id)
        self.window_.history_changed()
        self.window_.show_message(
            f"Outcome '{STREET_WORDS[outcome]}' recorded on the street for {name} by {officer}"
        )

    # -- the desk's actions -----------------------------------------------------------
    def open_pairing(self) -> PairDialog:
        self.dialog = PairDialog(self.service, self.window_)
        self.dialog.open()
        return self.dialog

    def _revoke(self) -> None:
        item = self.phones.currentItem()
        if item is None:
            return
        asyncio.ensure_future(self._revoke_phone(item.data(Qt.ItemDataRole.UserRole)))

    async def _revoke_phone(self, device: str) -> None:
        try:
            await self.service.revoke(device, self.window_.officer)
        except PermissionDenied as exc:
            self.window_.show_message(f"Refused: {exc}")

    def _fill_targets(self) -> None:
        wanted = [(None, "Every checked-in officer")] + [
            (p.device, p.officer) for p in self.service.phones.values()]
        shown_now = [(self.target.itemData(i), self.target.itemText(i))
                     for i in range(self.target.count())]
        if shown_now == wanted:
            return
        self.target.blockSignals(True)
        self.target.clear()
        for device, text in wanted:
            self.target.addItem(text, device)
        index = self.target.findData(self.service.target)
        self.target.setCurrentIndex(max(0, index))
        self.target.blockSignals(False)

    def _target_chosen(self, index: int) -> None:
        self.service.target = self.target.itemData(index)

    def steps(self, incident_id: str) -> tuple[str, bool] | None:
        return self.service.steps_text(incident_id)


def attach_field_panel(window: MainWindow, service: FieldService) -> FieldPanel:
    """The panel docked under the queue; engaged incidents show their steps."""
    panel = FieldPanel(service, window)
    service.listener = panel
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panel)
    window.alerts.field_steps = panel.steps
    window.field_panel = panel
    return panel
