"""The console's window: camera tiles on the left, the alert queue on the right."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QPixmapCache
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.config import DeploymentPlan
from console.domain.alerts import Adjudication, AdjudicationError, Alert, Decision, Outcome
from console.domain.deployments import Deployment, SafeguardError
from console.domain.officers import Officer, Permission, PermissionDenied
from console.domain.watchlist import Watchlist, WatchlistError, WatchlistSubject
from console.live.feed import FacesInView, FeedStatus
from console.live.session import MonitoringSession
from console.live.setup import import_watchlist
from console.qt.alert_panel import DECISION_KEYS, OUTCOME_KEYS, AlertPanel
from console.qt.camera_tile import CameraTile
from console.qt.deployment_bar import DeploymentBar
from console.qt.keys import install_shortcuts
from console.qt.sound import AlertSound
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
        self.bar.import_requested.connect(self._choose_watchlist)
        self.bar.show_deployment(deployment, 0)

        self.tiles: dict[str, CameraTile] = {}
        grid_holder = QWidget()
        grid = QGridLayout(grid_holder)
        for i, spec in enumerate(plan.cameras):
            tile = CameraTile(spec.camera, spec.shown_location)
            self.tiles[spec.camera] = tile
            grid.addWidget(tile, i // 2, i % 2)
        self.alerts = AlertPanel(overdue_after_s=plan.safeguards.pending_warning_s)
        self.alerts.decided.connect(self._decide)
        self.alerts.outcome_reported.connect(self._report_outcome)
        self.sound = AlertSound()
        self._install_keys()
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
        reports = self.menuBar().addMenu("&Reports")
        reports.addAction("Alert history… [H]", self.open_history)
        reports.addAction("Deployment record…", self.open_record)
        reports.addAction("Evaluation…", self.open_evaluation)
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

    def _subject(self, subject_id: str) -> WatchlistSubject | None:
        try:
            return self.watchlist.subject(subject_id) if self.watchlist is not None else None
        except KeyError:
            return None

    def alert_raised(self, alert: Alert, is_new: bool) -> None:
        self.alerts.show_alert(alert, self._subject(alert.subject_id), self.deployment.site)
        if is_new:
            self.sound.play()
            self.show_message(f"ALERT: {alert.subject_name} on {alert.camera}")

    def alert_restored(self, alert: Alert, adjudication: Adjudication | None) -> None:
        """Open work from before a restart comes back into the queue as it was."""
        self.alerts.show_alert(alert, self._subject(alert.subject_id), self.deployment.site)
        if adjudication is not None and adjudication.decision == Decision.ENGAGE:
            self.alerts.mark_engaged(alert.alert_id)

    def storage_failed(self, message: str) -> None:
        self.alerts.show_error(message)

    def deployment_changed(self, deployment: Deployment) -> None:
        self.deployment = deployment
        if deployment.concluded_at is not None:
            # Qt keeps recently painted icons (the history's thumbnails) in a global cache:
            # nothing of the deployment's faces may stay in memory after it concludes.
            QPixmapCache.clear()
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
        if card is None or card.engaged or self.session is None:
            return
        note = card.note.text().strip()
        if decision == Decision.DISMISS and not note:
            # A dismissal needs a reason: ask for it where the officer is looking.
            card.awaiting_reason = True
            card.status.setText("A reason is needed to dismiss: type it, then press Return")
            card.note.setFocus()
            return
        card.set_busy(True, "Recording…")
        self._spawn(self._record(alert_id, decision, note))

    async def _record(self, alert_id: str, decision: Decision, note: str) -> None:
        assert self.session is not None
        card = self.alerts.card(alert_id)
        name = card.alert.subject_name if card else alert_id
        try:
            adjudication = await self.session.adjudicate(alert_id, decision, note)
        except AlreadyDecided as exc:
            self.alerts.remove(alert_id)
            self.show_message(str(exc))
            return
        except (StorageError, PermissionDenied, AdjudicationError) as exc:
            if card is not None:
                card.set_busy(False, "Not recorded: see the message above")
            self.alerts.show_error(f"Decision NOT recorded for {name}: {exc}")
            return
        if decision == Decision.ENGAGE:
            self.alerts.mark_engaged(alert_id)
            if card is not None:
                card.set_busy(False, "Engaged: awaiting the outcome from officers on the ground")
        else:
            self.alerts.remove(alert_id)
        at = adjudication.decided_at.astimezone().strftime("%H:%M:%S")
        self.show_message(f"{decision.label} recorded for {name} by {self.officer} at {at}")
        self.alerts.setFocus()

    def _report_outcome(self, alert_id: str, outcome: Outcome) -> None:
        card = self.alerts.card(alert_id)
        if card is None or not card.engaged or self.session is None:
            return
        card.set_busy(True, "Recording…")
        self._spawn(self._record_outcome(alert_id, outcome, card.note.text().strip()))

    async def _record_outcome(self, alert_id: str, outcome: Outcome, note: str) -> None:
        assert self.session is not None
        card = self.alerts.card(alert_id)
        name = card.alert.subject_name if card else alert_id
        try:
            await self.session.record_outcome(alert_id, outcome, note)
        except (StorageError, PermissionDenied) as exc:
            if card is not None:
                card.set_busy(False, "Not recorded: see the message above")
            self.alerts.show_error(f"Outcome NOT recorded for {name}: {exc}")
            return
        self.alerts.remove(alert_id)
        self.show_message(f"Outcome '{outcome.label}' recorded for {name} by {self.officer}")

    # -- watchlist import -----------------------------------------------------------------
    def _choose_watchlist(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Watchlist folder", str(self.plan.watchlist)
        )
        if folder:
            self._spawn(self.import_watchlist(Path(folder)))

    async def import_watchlist(self, folder: Path, minors_allowed: dict[str, str] | None = None):
        """Enrol a watchlist folder into the planned deployment, with progress; a refusal
        lists every rejected row. A supervisor may then override the under-18 rule."""
        if self.session is None:
            return
        session = self.session
        store = session.store.store
        plan = replace(self.plan, watchlist=folder)
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(self.show_progress, "Enrolling watchlist", done, total)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="import") as waiter:
                deployment = await loop.run_in_executor(
                    waiter,
                    lambda: import_watchlist(
                        store,
                        plan,
                        session.deployment,
                        self.officer,
                        session.pool,
                        progress,
                        minors_allowed,
                    ),
                )
        except WatchlistError as exc:
            self.bar.show_refusal(f"Watchlist refused: {len(exc.rejections)} row(s) rejected")
            self.rejections = exc
            minors = [r for r in exc.rejections if "under 18" in r.reason]
            if (
                minors
                and len(minors) == len(exc.rejections)
                and self.officer.may(Permission.OVERRIDE)
            ):
                if self._confirm_minors(minors):
                    allowed = {r.subject_id: str(self.officer) for r in minors}
                    await self.import_watchlist(folder, allowed)
                return
            self._show_rejections(exc)
            return
        except (StorageError, PermissionDenied) as exc:
            self.bar.show_refusal(f"Refused: {exc}")
            return
        session.use_watchlist(deployment, store.deployments.load_watchlist(deployment.reference))
        self.bar.show_note(f"Watchlist imported: {len(session.watchlist)} subjects.")

    def _show_rejections(self, exc: WatchlistError) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Watchlist refused",
            str(exc).splitlines()[0],
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setDetailedText("\n".join(str(r) for r in exc.rejections))
        box.setInformativeText("Nothing was imported. Fix the rows listed, then import again.")
        box.open()  # not exec(): the event loop (and the feeds) keep running
        self.rejections_box = box

    def _confirm_minors(self, minors: list) -> bool:
        names = ", ".join(r.subject_id for r in minors)
        answer = QMessageBox.question(
            self,
            "Under-18 subjects",
            f"{len(minors)} subject(s) are under 18 ({names}). As supervisor, override the "
            "rule for them? The override is recorded in the audit trail.",
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- keyboard -------------------------------------------------------------------------
    def _install_keys(self) -> None:
        """Keyboard first: the officer can work the whole queue without a mouse."""
        bindings: dict[str, Callable[[], None]] = {
            "Up": lambda: self.alerts.move_selection(-1),
            "Down": lambda: self.alerts.move_selection(1),
            "V": lambda: self.alerts.selected and self.alerts.selected.toggle_scene(),
            "M": self._toggle_mute,
            "H": self.open_history,
        }
        for decision, key in DECISION_KEYS.items():
            bindings[key] = lambda d=decision: self._decide_selected(d)
        for outcome, key in OUTCOME_KEYS.items():
            bindings[key] = lambda o=outcome: self._outcome_selected(o)
        self.shortcuts = install_shortcuts(self, bindings)

    def _decide_selected(self, decision: Decision) -> None:
        card = self.alerts.selected
        if card is not None and not card.engaged:
            self._decide(card.alert_id, decision)

    def _outcome_selected(self, outcome: Outcome) -> None:
        card = self.alerts.selected
        if card is not None and card.engaged:
            self._report_outcome(card.alert_id, outcome)

    def _toggle_mute(self) -> None:
        muted = self.sound.toggle_mute()
        self.show_message("Alert sound muted" if muted else "Alert sound on")

    def open_record(self) -> None:
        if self.session is None:
            return
        from console.qt.record_view import open_record_view

        self.record_view = open_record_view(
            self.session.store.store, self.deployment.reference, self, str(self.officer)
        )

    def open_evaluation(self) -> None:
        if self.session is None:
            return
        from console.qt.record_view import open_evaluation_view

        self.evaluation_view = open_evaluation_view(
            self.session.store.store, self, str(self.officer)
        )

    def open_history(self) -> None:
        if self.session is None:
            return
        from console.qt.history_view import HistoryDialog

        self.history = HistoryDialog(self.session.store.store, self.deployment.reference, self)
        self.history.show()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self.closed.done():
            self.closed.set_result(None)
        super().closeEvent(event)
