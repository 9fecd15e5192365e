"""The console's window: camera tiles on the left, the alert queue on the right."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.config import DeploymentPlan
from console.domain.alerts import Alert, Decision
from console.domain.deployments import Deployment, SafeguardError
from console.domain.officers import Officer, PermissionDenied
from console.domain.watchlist import Watchlist
from console.live.feed import FacesInView, FeedStatus
from console.live.session import MonitoringSession
from console.qt.alert_panel import AlertPanel
from console.qt.camera_tile import CameraTile
from console.qt.deployment_bar import DeploymentBar
from console.storage import AlreadyDecided, StorageError

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Presents a MonitoringSession (it is the session's listener) and forwards decisions."""

    def __init__(
        self, plan: DeploymentPlan, deployment: Deployment, officer: Officer, record_path: str
    ) -> None:
        super().__init__()
        self.plan = plan
        self.deployment = deployment
        self.officer = officer
        self.session: MonitoringSession | None = None
        self.watchlist: Watchlist | None = None
        self.closed: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        self._tasks: set[asyncio.Task] = set()
        self.setWindowTitle(f"LFR console · {deployment.reference} · {deployment.site}")

        self.bar = DeploymentBar(officer)
        self.bar.confirm_requested.connect(lambda: self._act("confirm_officers_present"))
        self.bar.start_requested.connect(lambda: self._act("start"))
        self.bar.conclude_requested.connect(lambda: self._act("conclude"))
        self.bar.threshold_requested.connect(lambda v: self._act("change_threshold", v))
        self.bar.show_deployment(deployment, 0)

        self.tiles: dict[str, CameraTile] = {}
        grid_holder = QWidget()
        grid = QGridLayout(grid_holder)
        for i, spec in enumerate(plan.cameras):
            tile = CameraTile(spec.camera, spec.shown_location)
            self.tiles[spec.camera] = tile
            grid.addWidget(tile, i // 2, i % 2)
        self.alerts = AlertPanel()
        self.alerts.decided.connect(self._decide)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(grid_holder)
        splitter.addWidget(self.alerts)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.bar)
        column.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.deployment_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.deployment_label)
        self._record_path = record_path
        self._describe()
        self.resize(1500, 760)

    def _describe(self) -> None:
        d = self.deployment
        size = f"{len(self.watchlist)} subjects" if self.watchlist is not None else "loading"
        self.deployment_label.setText(
            f"{d.reference} · officer {self.officer} · watchlist {size} · "
            f"record: {self._record_path}"
        )

    def attach(self, session: MonitoringSession) -> None:
        self.session = session
        self.watchlist = session.watchlist
        self.deployment_changed(session.deployment)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def show_progress(self, what: str, done: int, total: int) -> None:
        """A progress bar in the status bar while a long job (enrolment) runs."""
        self.progress.setFormat(f"{what}: %v/%m")
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    # -- SessionListener ------------------------------------------------------------
    def feed_frame(self, camera: str, preview_rgb: np.ndarray, scale: float) -> None:
        self.tiles[camera].video.show_frame(preview_rgb, scale)

    def feed_faces(self, camera: str, faces: FacesInView) -> None:
        self.tiles[camera].video.show_faces(faces)

    def feed_status(self, status: FeedStatus) -> None:
        self.tiles[status.camera].show_status(status)

    def alert_raised(self, alert: Alert, is_new: bool) -> None:
        subject = None
        if self.watchlist is not None:
            subject = self.watchlist.subject(alert.subject_id)
        self.alerts.show_alert(alert, subject)
        if is_new:
            self.show_message(f"ALERT: {alert.subject_name} on {alert.camera}")

    def storage_failed(self, message: str) -> None:
        self.alerts.show_error(message)

    def deployment_changed(self, deployment: Deployment) -> None:
        self.deployment = deployment
        if self.session is not None:
            self.watchlist = self.session.watchlist
        self.bar.show_deployment(deployment, len(self.watchlist) if self.watchlist else 0)
        self._describe()

    # -- safeguarded actions --------------------------------------------------------------
    def _act(self, action: str, *args: object) -> None:
        """Run a session action; a refusal is shown on the bar, in the officer's words."""
        if self.session is None:
            return
        self._spawn(self._run_action(action, *args))

    async def _run_action(self, action: str, *args: object) -> None:
        assert self.session is not None
        try:
            result = await getattr(self.session, action)(*args)
        except (SafeguardError, PermissionDenied, StorageError) as exc:
            self.bar.show_refusal(f"Refused: {exc}")
            return
        notes = {
            "confirm_officers_present": "Officers on the ground confirmed.",
            "start": "Deployment started: cameras are live.",
            "change_threshold": f"Threshold set to {args[0]:.3f}." if args else "",
        }
        if action == "conclude":
            deleted = result.get("subjects_deleted", 0) if isinstance(result, dict) else 0
            self.bar.show_note(
                f"Deployment concluded: cameras stopped, watchlist of {deleted} subjects deleted."
            )
        else:
            self.bar.show_note(notes.get(action, ""))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- decisions ------------------------------------------------------------------
    def _decide(self, alert_id: str, decision: Decision) -> None:
        card = self.alerts.card(alert_id)
        if card is None or self.session is None:
            return
        card.set_busy(True, "Recording…")
        self._spawn(self._record(alert_id, decision))

    async def _record(self, alert_id: str, decision: Decision) -> None:
        assert self.session is not None
        alert = self.session.pending.get(alert_id)
        name = alert.subject_name if alert else alert_id
        try:
            adjudication = await self.session.adjudicate(alert_id, decision)
        except AlreadyDecided as exc:
            self.alerts.remove(alert_id)
            self.show_message(str(exc))
            return
        except (StorageError, PermissionDenied) as exc:
            card = self.alerts.card(alert_id)
            if card is not None:
                card.set_busy(False, "Not recorded: see the message above")
            self.alerts.show_error(f"Decision NOT recorded for {name}: {exc}")
            return
        self.alerts.remove(alert_id)
        at = adjudication.decided_at.astimezone().strftime("%H:%M:%S")
        self.show_message(f"{decision.label} recorded for {name} by {self.officer} at {at}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.closed.done():
            self.closed.set_result(None)
        super().closeEvent(event)
