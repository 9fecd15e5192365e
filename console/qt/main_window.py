"""The console's window: camera tiles on the left, the adjudication queue on the right."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QPixmapCache
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
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
from console.domain.deployments import Deployment, DeploymentState, SafeguardError
from console.domain.incidents import RecentDecision, UndoRefused
from console.domain.officers import Officer, Permission, PermissionDenied
from console.domain.policy import FalseAlertRate, SitePolicy
from console.domain.watchlist import Watchlist, WatchlistError
from console.live.feed import FacesInView, FeedStatus
from console.live.session import MonitoringSession, PartlyRecorded
from console.live.setup import import_watchlist
from console.qt.camera_tile import CameraTile
from console.qt.deployment_bar import DeploymentBar
from console.qt.help import KeysDialog
from console.qt.keys import install_shortcuts
from console.qt.queue_panel import DECISION_KEYS, OUTCOME_KEYS, IncidentPanel
from console.qt.settings import window_settings
from console.qt.sound import AlertSound
from console.qt.theme import add_theme_menu
from console.qt.tile_grid import TileGrid
from console.storage import StorageError

log = logging.getLogger(__name__)

# How the window ended, as the close future reports it to the application.
QUIT = "quit"
SIGN_OUT = "sign out"
# Every key of the window, for Help → Keys (F1); the bindings are in _install_keys.
KEYS = [
    ("E", "Engage the selected incident (officers approach)"),
    ("D", "Dismiss it: type the reason, then Return"),
    ("F", "False match: the person is not the subject"),
    ("1 / 2 / 3 / 4", "Outcome of an engagement: arrested / advice / not located / false"),
    ("Ctrl+Z", "Undo the last decision (within its window)"),
    ("Up / Down, PgUp / PgDown, Home / End", "Move through the queue"),
    ("V", "Show or hide the camera frame of the selected incident"),
    ("Double-click a camera, or click it and Enter", "Enlarge that camera"),
    ("Ctrl+1 … Ctrl+8", "Enlarge camera 1 … 8"),
    ("Escape", "Back to every camera; cancel a dismissal waiting for its reason"),
    ("M", "Mute or unmute the alert sound"),
    ("H", "Alert history"),
    ("F1 or ?", "This list of keys"),
    ("Ctrl+Q", "Quit (asks first during a deployment)"),
]


MESSAGE_SECONDS = 20.0  # how long a status bar message stays


class MainWindow(QMainWindow):
    """Presents a MonitoringSession (it is the session's listener) and forwards decisions."""

    def __init__(
        self,
        plan: DeploymentPlan,
        deployment: Deployment,
        officer: Officer,
        record_path: str,
        policy: SitePolicy | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.deployment = deployment
        self.officer = officer
        self.session: MonitoringSession | None = None
        self.watchlist: Watchlist | None = None
        # Resolved with QUIT or SIGN_OUT once the window has closed.
        self.closed: asyncio.Future[str] = asyncio.get_event_loop().create_future()
        self._ending = QUIT
        self._close_confirmed = False
        self.close_box: QMessageBox | None = None
        self.conclude_box: QMessageBox | None = None
        self._footfall: QTimer | None = None  # the operating point at the footfall seen
        self._tasks: set[asyncio.Task] = set()
        self.setWindowTitle(f"LFR console · {deployment.reference} · {deployment.site}")

        self.bar = DeploymentBar(officer)
        self.bar.confirm_requested.connect(lambda: self._act("confirm_officers_present"))
        self.bar.start_requested.connect(lambda: self._act("start"))
        self.bar.conclude_requested.connect(self.ask_conclude)
        self.bar.rate_requested.connect(
            lambda one_in: self._act("change_false_alert_rate", FalseAlertRate(one_in))
        )
        self.bar.import_requested.connect(self._choose_watchlist)
        self.bar.show_deployment(deployment, 0)
        # Nothing editable has the focus when the window opens: a key typed by the
        # officer must act on the queue, never change the false-alert rate.
        self.bar.rate.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self.tiles: dict[str, CameraTile] = {}
        for spec in plan.cameras:
            tile = CameraTile(spec.camera, spec.shown_location)
            tile.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click there frees a text field
            self.tiles[spec.camera] = tile
        self.tile_grid = TileGrid(list(self.tiles.values()))
        policy = policy or SitePolicy()
        self.alerts = IncidentPanel(deployment.site, policy.pending_warning_seconds)
        self.alerts.decide_requested.connect(self._decide)
        self.alerts.outcome_requested.connect(self._report_outcome)
        self.alerts.undo_requested.connect(self.undo)
        self.alerts.card.decided.connect(self._decide_selected)
        self.alerts.card.frame_width = self._frame_width
        self.alerts.card.note.returnPressed.connect(self._after_text_entry)
        self.sound = AlertSound()
        self._install_keys()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tile_grid)
        self.splitter.addWidget(self.alerts)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.bar)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        menu = self.menuBar().addMenu("&File")
        self.sign_out_action = menu.addAction("Sign out", self.sign_out)
        menu.addSeparator()
        self.quit_action = menu.addAction("Quit", "Ctrl+Q", self.close)
        reports = self.menuBar().addMenu("&Reports")
        reports.addAction("Alert history… [H]", self.open_history)
        reports.addAction("Deployment record…", self.open_record)
        reports.addAction("Evaluation…", self.open_evaluation)
        reports.addAction("Watchlist photos…", self.show_watchlist_photos)
        self.view_menu = self.menuBar().addMenu("&View")
        for n, tile in enumerate(self.tiles.values(), start=1):
            self.view_menu.addAction(
                f"Enlarge {tile.camera} [Ctrl+{n}]" if n <= 8 else f"Enlarge {tile.camera}",
                lambda t=tile: self.tile_grid.enlarge(t),
            )
        self.view_menu.addAction("Every camera [Esc]", self.tile_grid.restore)
        self.view_menu.addSeparator()
        self.theme_actions = add_theme_menu(self.view_menu, window_settings(record_path))
        help_menu = self.menuBar().addMenu("&Help")
        self.keys_action = help_menu.addAction("Keys… [F1]", self.show_keys)
        self.deployment_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        # Always there while muted: an officer coming back to the desk must see it.
        self.mute_label = QLabel("🔇 Sound off [M]")
        self.mute_label.setObjectName("muted")
        self.mute_label.hide()
        self.statusBar().addPermanentWidget(self.mute_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.deployment_label)
        self.settings = window_settings(record_path)
        self._record_path = record_path
        self._restored = False
        self._describe()
        screen = QApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        if room is not None and room.width() > 0:
            self.resize(min(1500, room.width()), min(860, room.height()))
        else:
            self.resize(1500, 860)
        self.alerts.list.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._restored:
            self._restored = True
            geometry = self.settings.value("main/geometry")
            if geometry is not None:
                self.restoreGeometry(geometry)
            splitter = self.settings.value("main/splitter")
            if splitter is None or not self.splitter.restoreState(splitter):
                # The queue gets about half the width: its card and list need ~700 px.
                total = self.splitter.width() or self.width()
                panel = max(self.alerts.minimumSizeHint().width(), min(820, total // 2))
                self.splitter.setSizes([max(1, total - panel), panel])
        self.focus_queue()
        QTimer.singleShot(0, self._fit_screen)

    def save_layout(self) -> None:
        """The window's place and size and the wall/queue split, for next time."""
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.sync()

    def show_keys(self) -> None:
        self.keys_dialog = KeysDialog("console", KEYS, self)
        self.keys_dialog.finished.connect(lambda _: self.focus_queue())
        self.keys_dialog.open()

    def _fit_screen(self) -> None:
        """Never wider or taller than the screen (1280x720 included): the layout reflows."""
        screen = self.screen()
        if screen is None:
            return
        room = screen.availableGeometry()
        if self.width() > room.width() or self.height() > room.height():
            self.resize(min(self.width(), room.width()), min(self.height(), room.height()))

    def _describe(self) -> None:
        d = self.deployment
        size = f"{len(self.watchlist)} subjects" if self.watchlist is not None else "loading"
        if d.concluded_at is not None:
            size = "deleted"
        # Short: the status bar's messages share the line with it.
        self.deployment_label.setText(f"{d.reference} · {self.officer} · watchlist {size}")
        self.deployment_label.setToolTip(f"record: {self._record_path}")

    def attach(self, session: MonitoringSession) -> None:
        self.session = session
        self.watchlist = session.watchlist
        self.deployment_changed(session.deployment)
        # The operating point in words, at the footfall the cameras are seeing.
        self._footfall = QTimer(self)
        self._footfall.timeout.connect(self._show_operating_point)
        self._footfall.start(10_000)

    def _show_operating_point(self) -> None:
        session = self.session
        if session is None or self.deployment.state == DeploymentState.CONCLUDED:
            return
        self.bar.show_operating_point(
            session.deployment.threshold, len(session.watchlist), session.passers_by_per_hour()
        )

    def show_message(self, text: str, seconds: float = MESSAGE_SECONDS) -> None:
        """A line in the status bar that fades: it must not outlive what it describes."""
        self.statusBar().showMessage(text, int(seconds * 1000))

    def show_progress(self, what: str, done: int, total: int) -> None:
        """A progress bar in the status bar while a long job (enrolment) runs."""
        self.progress.setFormat(f"{what}: %v/%m")
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    # -- SessionListener ------------------------------------------------------------
    def feed_frame(
        self, camera: str, preview_rgb: np.ndarray, scale: float, index: int | None = None
    ) -> None:
        if self.deployment.state == DeploymentState.CONCLUDED:
            return  # a frame still in flight at conclusion is not shown
        tile = self.tiles[camera]
        tile.video.show_frame(preview_rgb, scale, index)
        self.tile_grid.frame_shown(tile)

    def _frame_width(self, camera: str) -> int | None:
        tile = self.tiles.get(camera)
        size = tile.video.frame_size if tile is not None else None
        return size[0] if size else None

    def feed_faces(self, camera: str, faces: FacesInView) -> None:
        self.tiles[camera].video.show_faces(faces)

    def feed_status(self, status: FeedStatus) -> None:
        self.tiles[status.camera].show_status(status)

    def _photo(self, subject_id: str) -> np.ndarray | None:
        try:
            if self.watchlist is None:
                return None
            return self.watchlist.subject(subject_id).photo_rgb
        except KeyError:
            return None

    def alert_raised(self, alert: Alert, is_new: bool) -> None:
        self.alerts.show_alert(alert, self._photo(alert.subject_id))
        if is_new:
            self.sound.play()
            self.show_message(f"ALERT: {alert.subject_name} on {alert.camera}")
        self._history_changed()

    def alert_restored(self, alert: Alert, adjudication: Adjudication | None) -> None:
        """Open work from before a restart comes back into the queue as it was."""
        engaged = adjudication is not None and adjudication.decision == Decision.ENGAGE
        self.alerts.show_alert(
            alert, self._photo(alert.subject_id), adjudication.decided_at if engaged else None
        )

    def storage_failed(self, message: str) -> None:
        self.alerts.show_error(message)

    def deployment_changed(self, deployment: Deployment) -> None:
        self.deployment = deployment
        if self.session is not None:
            self.watchlist = self.session.watchlist
        if deployment.concluded_at is not None:
            # The watchlist is deleted: its photos leave every card, the tiles go blank
            # (their last frame shows passers-by), and Qt's global cache of recently
            # painted images is emptied too.
            self.watchlist = None
            self.alerts.deployment_concluded(deployment.concluded_at)
            for tile in self.tiles.values():
                tile.video.clear()
            if self._footfall is not None:
                self._footfall.stop()
            QPixmapCache.clear()
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
        finally:
            self.focus_queue()
        notes = {
            "confirm_officers_present": "Officers on the ground confirmed.",
            "start": "Deployment started: cameras are live.",
            "change_false_alert_rate": (
                f"False-alert rate set to {args[0]} passers-by." if args else ""
            ),
        }
        if action == "confirm_officers_present" and self.deployment.is_active:
            notes[action] = "Officers on the ground confirmed: cameras are live again."
        if action == "conclude":
            deleted = result.get("subjects_deleted", 0) if isinstance(result, dict) else 0
            self.bar.show_note(
                f"Deployment concluded: cameras stopped, watchlist of {deleted} subjects deleted.",
                seconds=None,
            )
        else:
            self.bar.show_note(notes.get(action, ""))

    def undecided_alerts(self) -> int:
        return sum(len(i.alerts) for i in self.alerts.pending)

    def ask_conclude(self) -> None:
        """Concluding is final: ask first, saying what is left undecided."""
        if self.session is None:
            return
        undecided = self.undecided_alerts()
        incidents = len(self.alerts.pending)
        engaged = len(self.alerts.engaged)
        left = (
            f"{incidents} incident(s) ({undecided} alert(s)) are still undecided: they stay "
            "in the record as not adjudicated, and no decision can be taken on them "
            "afterwards."
            if undecided
            else "Every alert has been decided."
        )
        if engaged:
            left += f" {engaged} engagement(s) still await their outcome (still recordable)."
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Conclude deployment",
            f"Conclude {self.deployment.reference}? The cameras stop and the watchlist is "
            "deleted. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setInformativeText(left)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText(
            f"Conclude ({incidents} undecided)" if incidents else "Conclude"
        )
        box.finished.connect(self._conclude_answered)
        self.conclude_box = box
        box.open()  # not exec(): the feeds keep running while the officer reads it

    def _conclude_answered(self, result: int) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self._act("conclude")
        else:
            self.focus_queue()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- focus ------------------------------------------------------------------------------
    def focus_queue(self) -> None:
        """Keys act on the queue: focus returns there after any text entry or dialog."""
        if self.isVisible() and not self.isActiveWindow():
            self.activateWindow()  # a dialog just closed: the window's keys work again
        self.alerts.list.setFocus()

    def _after_text_entry(self) -> None:
        if not self.alerts.card.awaiting_reason:
            self.focus_queue()

    def cancel_pending_entry(self) -> None:
        """Escape: an enlarged camera goes back to the wall; a dismiss waiting for its
        reason is cancelled; focus back on the queue."""
        self.tile_grid.restore()
        card = self.alerts.card
        if card.awaiting_reason:
            card.awaiting_reason = False
            card.note.clear()
            card.status.setText("Dismiss cancelled")
        self.focus_queue()

    # -- decisions ------------------------------------------------------------------
    def _decide_selected(self, decision: Decision) -> None:
        incident = self.alerts.selected
        if incident is None:
            # Said where the officer looks, so a reason is not typed into nothing (the
            # letters would act as keys).
            self.show_message(f"No alert is selected: nothing to {decision.label.lower()}")
            return
        self._decide(incident.incident_id, decision)

    def _decide(self, incident_id: str, decision: Decision) -> None:
        incident = self.alerts.incident(incident_id)
        card = self.alerts.card
        if incident is None or incident.engaged or self.session is None:
            return
        if self.deployment.state == DeploymentState.CONCLUDED:
            # Refused before it reaches the record: a rule of the deployment, not a fault.
            self.show_message(
                "The deployment has concluded: no new decision is taken (outcomes of "
                "engagements still are)"
            )
            return
        if incident_id in self.alerts._busy:
            return  # already being recorded: a second key press adds nothing
        note = card.note.text().strip() if card.incident is incident else ""
        if decision == Decision.DISMISS and not note:
            # A dismissal needs a reason: ask for it where the officer is looking.
            card.awaiting_reason = True
            card.status.setText(
                "A reason is needed to dismiss: type it, then press Return (Esc cancels)"
            )
            card.note.setFocus()
            return
        self.alerts.set_busy(incident_id, True, "Recording…")
        self._spawn(self._record(incident_id, decision, note))

    async def _record(self, incident_id: str, decision: Decision, note: str) -> None:
        assert self.session is not None
        incident = self.alerts.incident(incident_id)
        if incident is None:
            return
        name, ids = incident.subject_name, incident.alert_ids
        try:
            recorded = await self.session.decide_incident(ids, decision, note, incident_id)
        except PartlyRecorded as exc:
            done = [a.alert_id for a in exc.recorded]
            self.alerts.remove_alerts(incident_id, done)
            self.alerts.set_busy(incident_id, False, "Not recorded: see the message above")
            self.alerts.show_error(
                f"Decision recorded for {len(done)} of {len(ids)} alerts of {name}, NOT for "
                f"the rest: {exc}"
            )
            return
        except (StorageError, PermissionDenied, AdjudicationError, SafeguardError) as exc:
            self.alerts.set_busy(incident_id, False, f"Not recorded: {exc}")
            self.alerts.show_error(f"Decision NOT recorded for {name}: {exc}")
            self.focus_queue()
            return
        decided_at = recorded[0].decided_at if recorded else datetime.now(UTC)
        if decision == Decision.ENGAGE:
            self.alerts.mark_engaged(incident_id, decided_at)
        else:
            self.alerts.remove(incident_id)
        # The undo window opens when the whole incident is on disk, as the officer sees it.
        self.alerts.offer_undo(
            RecentDecision(incident, decision, str(self.officer), self.session.now())
        )
        self._history_changed()
        at = decided_at.astimezone().strftime("%H:%M:%S")
        self.show_message(
            f"{decision.label} recorded for {name} ({len(recorded)} alert(s)) by "
            f"{self.officer} at {at}"
        )
        self.focus_queue()

    def undo(self) -> None:
        recent = self.alerts.recent
        if self.session is None:
            return
        if recent is None:
            self.show_message(
                "Nothing to undo: a decision can be undone for 5 s; after that a supervisor "
                "corrects it in the history (H), with a reason"
            )
            return
        self.alerts.hide_undo()
        self._spawn(self._undo(recent))

    async def _undo(self, recent: RecentDecision) -> None:
        assert self.session is not None
        try:
            await self.session.undo(recent)
        except (UndoRefused, StorageError, PermissionDenied) as exc:
            self.alerts.show_error(f"Not undone: {exc}")
            return
        self.alerts.queue.remove(recent.incident.incident_id)  # if it was engaged
        self.alerts.put_back(recent.incident)
        self._history_changed()
        self.show_message(
            f"{recent.decision.label} for {recent.incident.subject_name} undone: decide it "
            "again (recorded as a correction)"
        )
        self.focus_queue()

    def _report_outcome(self, incident_id: str, outcome: Outcome) -> None:
        incident = self.alerts.incident(incident_id)
        if incident is None or not incident.engaged or self.session is None:
            return
        if incident_id in self.alerts._busy:
            return
        self.alerts.set_busy(incident_id, True)
        self._spawn(self._record_outcome(incident_id, outcome))

    async def _record_outcome(self, incident_id: str, outcome: Outcome) -> None:
        assert self.session is not None
        incident = self.alerts.incident(incident_id)
        if incident is None:
            return
        name = incident.subject_name
        done: list[str] = []
        try:
            for alert_id in incident.alert_ids:
                await self.session.record_outcome(alert_id, outcome)
                done.append(alert_id)
        except (StorageError, PermissionDenied) as exc:
            self.alerts.remove_alerts(incident_id, done)
            self.alerts.set_busy(incident_id, False)
            self.alerts.show_error(f"Outcome NOT recorded for {name}: {exc}")
            return
        self.alerts.remove(incident_id)
        if self.alerts.recent is not None and self.alerts.recent.incident is incident:
            self.alerts.hide_undo()  # an engagement with an outcome is not undone
        self._history_changed()
        self.show_message(f"Outcome '{outcome.label}' recorded for {name} by {self.officer}")
        self.focus_queue()

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
        self.show_watchlist_photos()  # issue 24: where a second photo would help

    def show_watchlist_photos(self) -> None:
        from console.qt.enrolment_dialog import show_enrolment_report

        if self.session is not None:
            self.enrolment_report = show_enrolment_report(
                self, self.session.watchlist, self.session.deployment.threshold)

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
        panel = self.alerts
        bindings: dict[str, Callable[[], None]] = {
            "Up": lambda: panel.move_selection(-1),
            "Down": lambda: panel.move_selection(1),
            "PgUp": lambda: panel.move_selection(-panel.page_step()),
            "PgDown": lambda: panel.move_selection(panel.page_step()),
            "Home": panel.select_first,
            "End": panel.select_last,
            "V": panel.card.toggle_scene,
            "M": self._toggle_mute,
            "H": self.open_history,
            "Escape": self.cancel_pending_entry,
            "Ctrl+Z": self.undo,
            "F1": self.show_keys,
            "?": self.show_keys,
        }
        for n, tile in enumerate(self.tiles.values(), start=1):
            if n <= 8:
                bindings[f"Ctrl+{n}"] = lambda t=tile: self.tile_grid.enlarge(t)
        for decision, key in DECISION_KEYS.items():
            bindings[key] = lambda d=decision: self._decide_selected(d)
        for outcome, key in OUTCOME_KEYS.items():
            bindings[key] = lambda o=outcome: self._outcome_selected(o)
        self.shortcuts = install_shortcuts(self, bindings)

    def _outcome_selected(self, outcome: Outcome) -> None:
        incident = self.alerts.selected_engaged()
        if incident is not None:
            self._report_outcome(incident.incident_id, outcome)

    def _toggle_mute(self) -> None:
        muted = self.sound.toggle_mute()
        self.mute_label.setVisible(muted)
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

        history = getattr(self, "history", None)
        if history is None or not history.isVisible():
            self.history = HistoryDialog(
                self.session.store.store, self.deployment.reference, self, self._photo
            )
            self.history.show()
        else:  # H again: the open history comes to the front, not a second copy
            history.reload()
        self.history.raise_()
        self.history.activateWindow()

    def _history_changed(self) -> None:
        """An alert or a decision reached the record: an open history shows it at once."""
        history = getattr(self, "history", None)
        if history is not None and history.isVisible():
            history.reload()

    # -- closing ------------------------------------------------------------------------
    def sign_out(self) -> None:
        """File → Sign out: close as Quit does (asking first during a deployment), then the
        sign-in dialog comes back for the next officer."""
        self._ending = SIGN_OUT
        self.close()  # if it asks first, a No sets it back to quit

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._needs_confirmation():
            event.ignore()
            self._ask_close()
            return
        for dialog in (self.close_box, self.conclude_box, getattr(self, "history", None)):
            if dialog is not None:
                dialog.close()
        self.save_layout()
        if not self.closed.done():
            self.closed.set_result(self._ending)
        super().closeEvent(event)

    def _needs_confirmation(self) -> bool:
        live = self.session is not None and self.deployment.is_active
        return live and not self._close_confirmed

    def _ask_close(self) -> None:
        """Closing during a deployment stops its cameras: say so, and ask."""
        if self.close_box is not None and self.close_box.isVisible():
            return
        what = "Sign out" if self._ending == SIGN_OUT else "Close the console"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            what,
            f"{what} during deployment {self.deployment.reference}? The cameras stop. "
            "When the console opens again they stay paused until officers on the ground "
            "are confirmed again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText(f"{what} (cameras stop)")
        box.finished.connect(self._close_answered)
        self.close_box = box
        box.open()

    def _close_answered(self, result: int) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self._close_confirmed = True
            self.close()
        else:
            self._ending = QUIT
            self.focus_queue()
