"""Alert cards and the panel that queues them for adjudication."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision
from console.domain.watchlist import WatchlistSubject
from console.qt.images import pixmap_from_rgb

PHOTO_SIDE = 150


class AlertCard(QFrame):
    """One alert: the live crop beside the watchlist photo, the facts, three decisions."""

    decided = Signal(str, object)  # alert_id, Decision

    def __init__(
        self, alert: Alert, subject: WatchlistSubject | None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.alert_id = alert.alert_id
        self.setObjectName("alertCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.live_photo = QLabel()
        self.watchlist_photo = QLabel()
        for label, caption in ((self.live_photo, "live"), (self.watchlist_photo, "watchlist")):
            label.setFixedSize(PHOTO_SIDE, PHOTO_SIDE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setToolTip(caption)
        if subject is not None:
            self.watchlist_photo.setPixmap(pixmap_from_rgb(subject.photo_rgb, PHOTO_SIDE))
        self.heading = QLabel()
        self.heading.setObjectName("alertHeading")
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.status = QLabel()
        self.buttons: dict[Decision, QPushButton] = {}
        buttons = QHBoxLayout()
        for decision in Decision:
            button = QPushButton(decision.label)
            button.setObjectName(f"decide-{decision.value}")
            button.clicked.connect(lambda _=False, d=decision: self.decided.emit(self.alert_id, d))
            buttons.addWidget(button)
            self.buttons[decision] = button

        grid = QGridLayout(self)
        grid.addWidget(self.heading, 0, 0, 1, 2)
        grid.addWidget(self.live_photo, 1, 0)
        grid.addWidget(self.watchlist_photo, 1, 1)
        grid.addWidget(_caption("Live"), 2, 0)
        grid.addWidget(_caption("Watchlist"), 2, 1)
        grid.addWidget(self.facts, 3, 0, 1, 2)
        grid.addLayout(buttons, 4, 0, 1, 2)
        grid.addWidget(self.status, 5, 0, 1, 2)
        self.show_alert(alert)

    def show_alert(self, alert: Alert) -> None:
        """Show the alert's current best evidence (it may improve while the sighting lasts)."""
        self.heading.setText(f"<b>{alert.subject_name}</b> · {alert.category}")
        self.live_photo.setPixmap(pixmap_from_rgb(alert.crop_rgb, PHOTO_SIDE))
        raised = alert.raised_at.astimezone().strftime("%H:%M:%S")
        self.facts.setText(
            f"Camera <b>{alert.camera}</b> · raised {raised} · video {alert.t:.1f} s<br>"
            f"Distance <b>{alert.distance:.3f}</b> (threshold {alert.threshold:.2f}) · "
            f"{alert.frames_seen} frame(s)"
        )

    def set_busy(self, busy: bool, message: str = "") -> None:
        for button in self.buttons.values():
            button.setEnabled(not busy)
        self.status.setText(message)


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #888")
    return label


class AlertPanel(QWidget):
    """The pending queue: newest alert on top, a count, and a banner for errors."""

    decided = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(PHOTO_SIDE * 2 + 80)
        self.title = QLabel()
        self.title.setObjectName("pendingTitle")
        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c1b1b; color:white; padding:6px;")
        self.banner.hide()
        self._cards: dict[str, AlertCard] = {}
        self._errors: list[str] = []
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        holder = QWidget()
        holder.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        self._update_title()

    @property
    def cards(self) -> list[AlertCard]:
        """Cards in the order shown, top first."""
        return [
            w
            for i in range(self._list.count())
            if isinstance(w := self._list.itemAt(i).widget(), AlertCard)
        ]

    def card(self, alert_id: str) -> AlertCard | None:
        return self._cards.get(alert_id)

    def show_alert(self, alert: Alert, subject: WatchlistSubject | None) -> None:
        card = self._cards.get(alert.alert_id)
        if card is not None:
            card.show_alert(alert)
            return
        card = AlertCard(alert, subject)
        card.decided.connect(self.decided)
        self._cards[alert.alert_id] = card
        self._list.insertWidget(0, card)
        self._update_title()

    def remove(self, alert_id: str) -> None:
        card = self._cards.pop(alert_id, None)
        if card is not None:
            self._list.removeWidget(card)
            card.deleteLater()
        self._update_title()

    def show_error(self, message: str) -> None:
        """Keep the last few errors, newest first: a later one must not hide an earlier one."""
        self._errors = [message, *[e for e in self._errors if e != message]][:4]
        self.banner.setText("\n".join(self._errors))
        self.banner.show()

    def _update_title(self) -> None:
        n = len(self._cards)
        self.title.setText(f"<h3>Pending alerts: {n}</h3>")
