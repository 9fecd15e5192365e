"""The deployment bar: what is deployed, under whose authority, and its safeguarded actions.

The operating point is said in plain words (false alerts among people walking past, and
how many watchlisted people it is expected to find), never as a distance; the rates
offered are only those the site policy allows; a change is previewed, and asks for a
reason, before it is set. Every line keeps its height: a message never moves the wall.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.domain.deployments import Deployment, DeploymentState
from console.domain.officers import Officer, Permission
from console.domain.policy import FalseAlertRate, SitePolicy
from console.qt.labels import ElidedLabel, WrappedLabel
from console.vision.operating_point import (
    OperatingPoint,
    _fmt,  # the figures as the accuracy notes print them
    nearest_rate,
    operating_point,
)

__all__ = ["DeploymentBar", "ElidedLabel", "RateDialog", "plain_words"]

NOTE_SECONDS = 10.0  # how long a confirmation stays on the bar
# The false-alert rates a supervisor picks from (passers-by per false alert); only those
# the site policy allows are offered.
RATE_CHOICES = (100, 1_000, 10_000, 100_000, 1_000_000)

STATE_STYLE = {
    DeploymentState.PLANNED: "background:#f2c94c; color:#222",
    DeploymentState.ACTIVE: "background:#27ae60; color:white",
    DeploymentState.CONCLUDED: "background:#777; color:white",
}


def _hm(t) -> str:
    return t.astimezone().strftime("%d %b %H:%M") if t else "-"


def plain_words(point: OperatingPoint, passers_by_per_hour: float | None = None) -> str:
    """The operating point as an officer says it: false alerts among people walking past,
    and the share of watchlisted people it should find. No distances."""
    per_1000 = _fmt(point.expected_false_per_1000)
    alerts = "false alert" if per_1000 in ("1", "1.0") else "false alerts"
    text = f"about {per_1000} {alerts} per 1,000 people walking past"
    if passers_by_per_hour is not None:
        text += (
            f" ({_fmt(point.false_alerts_per_hour(passers_by_per_hour))} an hour at the "
            f"{passers_by_per_hour:,.0f} people an hour seen)"
        )
    text += f"; finds about {point.expected_share_found:.0%} of watchlisted people"
    if point.extrapolated:
        text += " (beyond the measured range: an estimate)"
    return text


class DeploymentBar(QFrame):
    confirm_requested = Signal()
    start_requested = Signal()
    conclude_requested = Signal()
    rate_requested = Signal(int, str)  # one false alert in this many passers-by; reason
    import_requested = Signal()

    def __init__(
        self, officer: Officer, parent: QWidget | None = None, policy: SitePolicy | None = None
    ) -> None:
        super().__init__(parent)
        self.officer = officer
        self.policy = policy or SitePolicy()
        self.setObjectName("deploymentBar")
        self.watchlist_size: int | None = None
        self.threshold = 0.0
        self.passers_by_per_hour: float | None = None
        self.concluded = False
        self.state_label = QLabel()
        self.state_label.setObjectName("deploymentState")
        self.summary = QLabel()
        # One line, cut with an ellipsis and whole in its tooltip: a long message never
        # wraps and pushes the camera wall down.
        self.message = ElidedLabel()
        self.message.setObjectName("safeguardMessage")
        self.confirm_button = QPushButton("Confirm officers on the ground")
        self.start_button = QPushButton("Start deployment")
        self.conclude_button = QPushButton("Conclude deployment")
        self.import_button = QPushButton("Import watchlist…")
        self.import_button.clicked.connect(self.import_requested)
        self.rate = QComboBox()
        for one_in in RATE_CHOICES:
            if not FalseAlertRate(one_in).is_looser_than(self.policy.loosest_false_alert_rate):
                self.rate.addItem(f"1 in {one_in:,}", one_in)
        self.rate_button = QPushButton("Set…")
        self.rate_button.setToolTip("Preview the new rate, give a reason, then set it")
        # What the rate means, in words: two lines at most, whole in the tooltip, and
        # always the same height, so a new figure never moves the camera wall.
        self.operating = WrappedLabel(2)
        self.operating.setObjectName("operatingPoint")
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(lambda: self.message.set_full_text(""))
        self.confirm_button.clicked.connect(self.confirm_requested)
        self.start_button.clicked.connect(self.start_requested)
        self.conclude_button.clicked.connect(self.conclude_requested)
        self.rate_button.clicked.connect(self.ask_rate)
        self.rate_dialog: RateDialog | None = None

        self.summary.setWordWrap(True)  # a long site name must not widen the window
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        self.set_officer(officer)

    def set_officer(self, officer: Officer) -> None:
        """The officer at the desk (a handover changes who may do what)."""
        self.officer = officer
        supervisor = officer.may(Permission.CHANGE_THRESHOLD)
        why = (
            "the deployment has concluded"
            if self.concluded
            else ("" if supervisor else "a supervisor changes the false-alert rate")
        )
        for widget in (self.rate, self.rate_button):
            widget.setEnabled(not why)
            widget.setToolTip(why or "Preview the new rate, give a reason, then set it")
        self.conclude_button.setEnabled(officer.may(Permission.CONCLUDE_DEPLOYMENT))
        self.import_button.setEnabled(officer.may(Permission.IMPORT_WATCHLIST))

    def show_deployment(self, d: Deployment, watchlist_size: int | None) -> None:
        """*watchlist_size*: None while the watchlist is still being loaded."""
        self.state_label.setText(f" {d.state.value.upper()} ")
        self.state_label.setStyleSheet(STATE_STYLE[d.state] + "; padding:4px; font-weight:bold")
        head = (
            f"<b>{html.escape(d.reference)}</b> · {html.escape(d.site)} · authorised by "
            f"{html.escape(d.authorised_rank)} {html.escape(d.authorised_by)}"
        )
        self.concluded = d.state == DeploymentState.CONCLUDED
        if self.concluded:
            self.summary.setText(f"{head} · concluded {_hm(d.concluded_at)} · watchlist deleted")
            self.operating.set_full_text(
                "Operating point: none (the deployment has concluded; its watchlist is deleted)"
            )
        else:
            created = _hm(d.watchlist_created_at) if d.watchlist_created_at else "none"
            present = d.officers_present_confirmed_by or "not confirmed"
            size = "loading" if watchlist_size is None else _subjects(watchlist_size)
            self.summary.setText(
                f"{head} · planned {_hm(d.planned_start)} to {_hm(d.planned_end)} · "
                f"watchlist {size}, built {created} · officers on the ground: "
                f"{html.escape(present)}"
            )
            self.show_operating_point(d.threshold, watchlist_size, self.passers_by_per_hour)
        planned = d.state == DeploymentState.PLANNED
        self.confirm_button.setVisible(
            d.state != DeploymentState.CONCLUDED and d.officers_present_confirmed_by is None
        )
        self.start_button.setVisible(planned)
        self.import_button.setVisible(planned)
        self.conclude_button.setVisible(d.state == DeploymentState.ACTIVE)
        self.set_officer(self.officer)

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
        self,
        threshold: float,
        watchlist_size: int | None,
        passers_by_per_hour: float | None = None,
    ) -> None:
        """The rate the threshold stands for against this watchlist, in plain words."""
        self.threshold, self.watchlist_size = threshold, watchlist_size
        self.passers_by_per_hour = passers_by_per_hour
        if watchlist_size is None:
            self.operating.set_full_text(
                "Operating point: set once the watchlist has loaded (its size decides it)"
            )
            return
        if watchlist_size == 0:
            self.operating.set_full_text(
                "Operating point: none yet, the watchlist is empty (import one first)"
            )
            return
        point = operating_point(nearest_rate(threshold, watchlist_size), watchlist_size)
        index = self.rate.findData(min(
            (self.rate.itemData(i) for i in range(self.rate.count())),
            key=lambda r: abs(r - point.rate.one_in),
            default=None,
        ))
        if index >= 0:
            self.rate.setCurrentIndex(index)
        self.operating.set_full_text(
            f"Operating point: 1 false alert in {point.rate.one_in:,} people walking past, "
            f"against {_subjects(watchlist_size)}: {plain_words(point, passers_by_per_hour)}"
        )

    def ask_rate(self) -> None:
        """Set…: the chosen rate previewed beside the one in force, with a reason to give."""
        if not self.rate_button.isEnabled():
            self.show_refusal(f"Refused: {self.rate_button.toolTip()}")
            return
        if self.watchlist_size is None:
            self.show_refusal("Refused: the watchlist is still loading")
            return
        one_in = int(self.rate.currentData())
        self.rate_dialog = RateDialog(
            FalseAlertRate(one_in),
            self.threshold,
            max(1, self.watchlist_size or 1),
            self.passers_by_per_hour,
            self,
        )
        self.rate_dialog.accepted.connect(
            lambda: self.rate_requested.emit(one_in, self.rate_dialog.reason.text().strip())
        )
        self.rate_dialog.open()

    def show_refusal(self, text: str) -> None:
        """A refusal stays until the next message: the officer must read it."""
        self._note_timer.stop()
        self.message.setStyleSheet("color:#eb5757; font-weight:bold")
        self.message.set_full_text(text)

    def show_note(self, text: str, seconds: float | None = NOTE_SECONDS) -> None:
        """A confirmation (started, confirmed, rate set) fades after *seconds* (None:
        it stays, as the conclusion's does)."""
        self._note_timer.stop()
        self.message.setStyleSheet("color:#27ae60")
        self.message.set_full_text(text)
        if seconds is not None:
            self._note_timer.start(int(seconds * 1000))


def _subjects(n: int) -> str:
    return f"{n:,} subject{'s' if n != 1 else ''}"


class RateDialog(QDialog):
    """The false-alert rate chosen, previewed against the one in force; a reason asked."""

    def __init__(
        self,
        rate: FalseAlertRate,
        threshold: float,
        watchlist_size: int,
        passers_by_per_hour: float | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change the false-alert rate")
        self.setObjectName("rateDialog")
        now = operating_point(nearest_rate(threshold, watchlist_size), watchlist_size)
        new = operating_point(rate, watchlist_size)
        stricter = new.rate.one_in > now.rate.one_in
        effect = (
            "Fewer false alerts, and fewer watchlisted people found."
            if stricter
            else "More watchlisted people found, and more false alerts."
        )
        self.preview = QLabel(
            f"<b>Now:</b> 1 in {now.rate.one_in:,}: "
            f"{html.escape(plain_words(now, passers_by_per_hour))}<br>"
            f"<b>After:</b> 1 in {new.rate.one_in:,}: "
            f"{html.escape(plain_words(new, passers_by_per_hour))}<br>{effect} It applies from "
            "the next face checked, on every camera, and is recorded with your reason."
        )
        self.preview.setObjectName("ratePreview")
        self.preview.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("rateReason")
        self.reason.setPlaceholderText("Reason for the change (required)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(f"Set 1 in {rate.one_in:,}")
        self.ok.setEnabled(False)
        self.reason.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        self.reason.returnPressed.connect(lambda: self.ok.isEnabled() and self.accept())
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview)
        layout.addWidget(self.reason)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
        self.reason.setFocus(Qt.FocusReason.OtherFocusReason)
