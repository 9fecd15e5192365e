"""The deployment bar: what is deployed, under whose authority, and its safeguarded actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.domain.deployments import Deployment, DeploymentState
from console.domain.officers import Officer, Permission
from console.vision.operating_point import nearest_rate, operating_point

NOTE_SECONDS = 10.0  # how long a confirmation stays on the bar
# The false-alert rates a supervisor picks from (passers-by per false alert).
RATE_CHOICES = (100, 1_000, 10_000, 100_000, 1_000_000)

STATE_STYLE = {
    DeploymentState.PLANNED: "background:#f2c94c; color:#222",
    DeploymentState.ACTIVE: "background:#27ae60; color:white",
    DeploymentState.CONCLUDED: "background:#777; color:white",
}


def _hm(t) -> str:
    return t.astimezone().strftime("%d %b %H:%M") if t else "-"


class DeploymentBar(QFrame):
    confirm_requested = Signal()
    start_requested = Signal()
    conclude_requested = Signal()
    rate_requested = Signal(int)  # one false alert in this many passers-by
    import_requested = Signal()

    def __init__(self, officer: Officer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.officer = officer
        self.setObjectName("deploymentBar")
        self.state_label = QLabel()
        self.state_label.setObjectName("deploymentState")
        self.summary = QLabel()
        self.message = QLabel()
        self.message.setObjectName("safeguardMessage")
        self.message.setWordWrap(True)
        self.confirm_button = QPushButton("Confirm officers on the ground")
        self.start_button = QPushButton("Start deployment")
        self.conclude_button = QPushButton("Conclude deployment")
        self.import_button = QPushButton("Import watchlist…")
        self.import_button.clicked.connect(self.import_requested)
        self.import_button.setEnabled(officer.may(Permission.IMPORT_WATCHLIST))
        self.rate = QComboBox()
        for one_in in RATE_CHOICES:
            self.rate.addItem(f"1 in {one_in:,}", one_in)
        self.rate_button = QPushButton("Set false-alert rate")
        # What the rate means, in words: one line, cut with an ellipsis and given in full
        # in its tooltip, so a new figure never moves the camera wall.
        self.operating = ElidedLabel()
        self.operating.setObjectName("operatingPoint")
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        # Emptied, not hidden: the label holds the row's stretch, the buttons stay put.
        self._note_timer.timeout.connect(self.message.clear)
        self.confirm_button.clicked.connect(self.confirm_requested)
        self.start_button.clicked.connect(self.start_requested)
        self.conclude_button.clicked.connect(self.conclude_requested)
        self.rate_button.clicked.connect(
            lambda: self.rate_requested.emit(int(self.rate.currentData()))
        )
        supervisor = officer.may(Permission.CHANGE_THRESHOLD)
        for widget in (self.rate, self.rate_button):
            widget.setEnabled(supervisor)
            widget.setToolTip("" if supervisor else "a supervisor changes the false-alert rate")
        self.conclude_button.setEnabled(officer.may(Permission.CONCLUDE_DEPLOYMENT))

        self.summary.setWordWrap(True)  # a long site name must not widen the window
        facts = QHBoxLayout()
        facts.addWidget(self.state_label)
        facts.addWidget(self.summary, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.message, 1)
        actions.addWidget(QLabel("False alerts"))
        actions.addWidget(self.rate)
        actions.addWidget(self.rate_button)
        actions.addSpacing(16)
        actions.addWidget(self.import_button)
        actions.addWidget(self.confirm_button)
        actions.addWidget(self.start_button)
        actions.addWidget(self.conclude_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(facts)
        layout.addWidget(self.operating)
        layout.addLayout(actions)

    def show_deployment(self, d: Deployment, watchlist_size: int) -> None:
        self.state_label.setText(f" {d.state.value.upper()} ")
        self.state_label.setStyleSheet(STATE_STYLE[d.state] + "; padding:4px; font-weight:bold")
        head = (
            f"<b>{d.reference}</b> · {d.site} · authorised by {d.authorised_rank} {d.authorised_by}"
        )
        if d.state == DeploymentState.CONCLUDED:
            self.summary.setText(f"{head} · concluded {_hm(d.concluded_at)} · watchlist deleted")
            self.operating.set_full_text(
                "Operating point: none (the deployment has concluded; its watchlist is deleted)"
            )
        else:
            created = _hm(d.watchlist_created_at) if d.watchlist_created_at else "none"
            present = d.officers_present_confirmed_by or "not confirmed"
            self.summary.setText(
                f"{head} · planned {_hm(d.planned_start)} to {_hm(d.planned_end)} · "
                f"watchlist {watchlist_size} subjects, built {created} · officers on the "
                f"ground: {present}"
            )
            self.show_operating_point(d.threshold, watchlist_size)
        planned = d.state == DeploymentState.PLANNED
        self.confirm_button.setVisible(
            d.state != DeploymentState.CONCLUDED and d.officers_present_confirmed_by is None
        )
        self.start_button.setVisible(planned)
        self.import_button.setVisible(planned)
        self.conclude_button.setVisible(d.state == DeploymentState.ACTIVE)
        if d.state == DeploymentState.CONCLUDED:
            for w in (self.rate, self.rate_button):
                w.setEnabled(False)

    def name_equality_report(self, text: str) -> None:
        """The per-group evaluation the deployment relies on (#27), under the facts."""
        label = self.findChild(QLabel, "equalityReport")
        if label is None:
            label = QLabel()
            label.setObjectName("equalityReport")
            label.setWordWrap(True)
            self.layout().insertWidget(1, label)
        label.setText(text)
        label.setVisible(bool(text))

    def show_operating_point(
        self, threshold: float, watchlist_size: int, passers_by_per_hour: float | None = None
    ) -> None:
        """The rate the threshold stands for against this watchlist, in words."""
        size = max(1, watchlist_size)
        point = operating_point(nearest_rate(threshold, size), size)
        nearest = min(RATE_CHOICES, key=lambda r: abs(r - point.rate.one_in))
        self.rate.setCurrentIndex(RATE_CHOICES.index(nearest))
        self.operating.set_full_text("Operating point: " + point.describe(passers_by_per_hour))

    def show_refusal(self, text: str) -> None:
        """A refusal stays until the next message: the officer must read it."""
        self._note_timer.stop()
        self.message.setStyleSheet("color:#b3261e; font-weight:bold")
        self.message.setText(text)
        self.message.show()

    def show_note(self, text: str, seconds: float | None = NOTE_SECONDS) -> None:
        """A confirmation (started, confirmed, rate set) fades after *seconds* (None:
        it stays, as the conclusion's does)."""
        self._note_timer.stop()
        self.message.setStyleSheet("color:#1e5b34")
        self.message.setText(text)
        self.message.show()
        if seconds is not None:
            self._note_timer.start(int(seconds * 1000))


class ElidedLabel(QLabel):
    """One line of text cut to the label's width with an ellipsis; the whole text is its
    tooltip. It never asks for more width than it is given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        self.setText(
            metrics.elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(40, self.width()))
        )
