"""The deployment bar: what is deployed, under whose authority, and its safeguarded actions."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.deployments import Deployment, DeploymentState
from console.domain.officers import Officer, Permission

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
    threshold_requested = Signal(float)
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
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.01)
        self.threshold.setRange(0.05, 1.0)
        self.threshold_button = QPushButton("Set threshold")
        self.confirm_button.clicked.connect(self.confirm_requested)
        self.start_button.clicked.connect(self.start_requested)
        self.conclude_button.clicked.connect(self.conclude_requested)
        self.threshold_button.clicked.connect(
            lambda: self.threshold_requested.emit(self.threshold.value())
        )
        supervisor = officer.may(Permission.CHANGE_THRESHOLD)
        for widget in (self.threshold, self.threshold_button):
            widget.setEnabled(supervisor)
            widget.setToolTip("" if supervisor else "a supervisor changes the threshold")
        self.conclude_button.setEnabled(officer.may(Permission.CONCLUDE_DEPLOYMENT))

        self.summary.setWordWrap(True)  # a long site name must not widen the window
        facts = QHBoxLayout()
        facts.addWidget(self.state_label)
        facts.addWidget(self.summary, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.message, 1)
        actions.addWidget(QLabel("Threshold"))
        actions.addWidget(self.threshold)
        actions.addWidget(self.threshold_button)
        actions.addSpacing(16)
        actions.addWidget(self.import_button)
        actions.addWidget(self.confirm_button)
        actions.addWidget(self.start_button)
        actions.addWidget(self.conclude_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(facts)
        layout.addLayout(actions)

    def show_deployment(self, d: Deployment, watchlist_size: int) -> None:
        self.state_label.setText(f" {d.state.value.upper()} ")
        self.state_label.setStyleSheet(STATE_STYLE[d.state] + "; padding:4px; font-weight:bold")
        created = _hm(d.watchlist_created_at) if d.watchlist_created_at else "none"
        present = d.officers_present_confirmed_by or "not confirmed"
        self.summary.setText(
            f"<b>{d.reference}</b> · {d.site} · authorised by {d.authorised_rank} "
            f"{d.authorised_by} · planned {_hm(d.planned_start)} to {_hm(d.planned_end)} · "
            f"watchlist {watchlist_size} subjects, built {created} · officers on the ground: "
            f"{present}"
        )
        self.threshold.setValue(d.threshold)
        planned = d.state == DeploymentState.PLANNED
        self.confirm_button.setVisible(
            d.state != DeploymentState.CONCLUDED and d.officers_present_confirmed_by is None
        )
        self.start_button.setVisible(planned)
        self.import_button.setVisible(planned)
        self.conclude_button.setVisible(d.state == DeploymentState.ACTIVE)
        if d.state == DeploymentState.CONCLUDED:
            for w in (self.threshold, self.threshold_button):
                w.setEnabled(False)

    def show_refusal(self, text: str) -> None:
        self.message.setStyleSheet("color:#b3261e; font-weight:bold")
        self.message.setText(text)
        self.message.show()

    def show_note(self, text: str) -> None:
        self.message.setStyleSheet("color:#1e5b34")
        self.message.setText(text)
        self.message.show()
