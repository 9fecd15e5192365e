"""The console's window: camera tiles on the left, the adjudication queue on the right.

Its parts live beside it: the keys (``desk_keys``), the handover at a shift change
(``handover``), the camera views beyond the wall (``camera_views``), the watchlist import
(``watchlist_import``), the card and queue (``incident_card``, ``queue_panel``). The window
presents the monitoring session (it is the session's listener) and forwards decisions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QPixmapCache
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import DeploymentPlan
from console.domain.alerts import Adjudication, AdjudicationError, Alert, Decision, Outcome
from console.domain.deployments import Deployment, DeploymentState, SafeguardError
from console.domain.incidents import RecentDecision, RecentOutcome, UndoRefused
from console.domain.officers import Officer, PermissionDenied
from console.domain.policy import FalseAlertRate, SitePolicy
from console.domain.watchlist import Watchlist
from console.equality.approval import bar_text as equality_report_text
from console.live.corrections import may_correct
from console.live.feed import FacesInView, FeedStatus
from console.live.moments import AlertMoments
from console.live.session import MonitoringSession, PartlyRecorded
from console.qt.camera_tile import CameraTile
from console.qt.camera_views import CameraViews
from console.qt.deployment_bar import DeploymentBar
from console.qt.desk_corrections import DeskCorrections
from console.qt.desk_keys import DESK_KEYS, GUARD_NOTE, DeskKeys
from console.qt.equality_dialog import ask_and_record as ask_equality_monitoring
from console.qt.handover import DeskHandover
from console.qt.help import KeysDialog
from console.qt.incident_card import SubjectFacts, plural
from console.qt.queue_panel import IncidentPanel
from console.qt.settings import window_settings
from console.qt.sound import AlertSound
from console.qt.theme import add_theme_menu
from console.qt.tile_grid import TileGrid
from console.qt.watchlist_import import WatchlistImport
from console.storage import StorageError

log = logging.getLogger(__name__)

# How the window ended, as the close future reports it to the application.
QUIT = "quit"
# Every key of the window, for Help → Keys (F1); the desk's own are in desk_keys.
KEYS = [
    *DESK_KEYS,
    ("Ctrl+Z", "Undo the last decision (within 5 s); just after an outcome, correct it"),
    ("Double-click a camera, or click it and Enter; Ctrl+1 … Ctrl+8",
     "That camera over the whole window, the others listed beside it"),
    ("Ctrl+Shift+1 … Ctrl+Shift+8",
     "That camera in a window of its own (a second monitor); again: back on the wall"),
    ("M", "Mute or unmute the alert sound"),
    ("H", "Alert history (a supervisor corrects decisions and outcomes there)"),
    ("Ctrl+Q", "Quit (asks first during a deployment: the cameras stop)"),
]
MESSAGE_SECONDS = 20.0  # how long a status bar message stays
MUTED = "SOUND OFF [M]"  # plain text: a loudspeaker glyph is missing from many fonts


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
        # Resolved with QUIT once the window has closed.
        self.closed: asyncio.Future[str] = asyncio.get_event_loop().create_future()
        self._close_confirmed = False
        self.close_box: QMessageBox | None = None
        self.conclude_box: QMessageBox | None = None
        self.history = None
        self._footfall: QTimer | None = None  # the operating point at the footfall seen
        self._tasks: set[asyncio.Task] = set()
        self.recent_outcome: RecentOutcome | None = None
        self.moments = AlertMoments()  # the alert moments' frames: memory only
        self.settings = window_settings(record_path)
        self._record_path = record_path
        self._restored = False
        policy = policy or SitePolicy()

        self.bar = DeploymentBar(officer, policy=policy)
        self.bar.confirm_requested.connect(lambda: self._act("confirm_officers_present"))
        self.bar.start_requested.connect(lambda: self._act("start"))
        self.bar.conclude_requested.connect(self.ask_conclude)
        self.bar.rate_requested.connect(
            lambda one_in, reason: self._act(
                "change_false_alert_rate", FalseAlertRate(one_in), reason
            )
        )
        self.watchlist_import = WatchlistImport(self)
        self.bar.import_requested.connect(self.watchlist_import.choose)
        self.bar.show_deployment(deployment, None)
        # Nothing editable has the focus when the window opens: a key typed by the
        # officer must act on the queue, never change the false-alert rate.
        self.bar.rate.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self.tiles: dict[str, CameraTile] = {}
        for spec in plan.cameras:
            tile = CameraTile(spec.camera, spec.shown_location)
            tile.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click there frees a text field
            self.tiles[spec.camera] = tile
        self.tile_grid = TileGrid(list(self.tiles.values()))
        self.views = CameraViews(self)  # enlarged over the window, popped out, the map
        self.corrections = DeskCorrections(self)

        self.alerts = IncidentPanel(deployment.site, policy.pending_warning_seconds)
        card = self.alerts.card
        card.frame_width = self._frame_width
        card.subject_facts = self._subject_facts
        card.clip_of = self.moments.clip
        self.alerts.on_left = lambda incident: self.moments.forget(incident.alert_ids)
        self.alerts.undo_requested.connect(self.undo)
        self.alerts.auto_open.setChecked(self.settings.value("desk/auto_open", "false") == "true")
        self.alerts.auto_open_changed.connect(
            lambda on: self.settings.setValue("desk/auto_open", "true" if on else "false")
        )
        self.sound = AlertSound()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.views.wall)
        self.splitter.addWidget(self.alerts)
        # A bigger or smaller window changes the wall, never the queue: the officer's
        # card and keys stay where they were.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        desk = QWidget()
        column = QVBoxLayout(desk)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.bar)
        column.addWidget(self.splitter, 1)
        self.handover = DeskHandover(self)
        self.pages = QStackedWidget()
        self.pages.addWidget(desk)
        self.pages.addWidget(self.handover.page)
        self.setCentralWidget(self.pages)
        self._menus(record_path)
        self.keys = DeskKeys(self, self._window_keys())

        self.deployment_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        # Always there while muted: an officer coming back to the desk must see it.
        self.mute_label = QLabel(MUTED)
        self.mute_label.setObjectName("muted")
        self.mute_label.setStyleSheet("background:#b3261e; color:white; padding:1px 6px")
        self.mute_label.hide()
        self.statusBar().addPermanentWidget(self.mute_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.deployment_label)
        self._describe()
        screen = QApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        if room is not None and room.width() > 0:
            self.resize(min(1500, room.width()), min(860, room.height()))
        else:
            self.resize(1500, 860)
        self.alerts.list.setFocus()

    def _menus(self, record_path: str) -> None:
        menu = self.menuBar().addMenu("&File")
        self.sign_out_action = menu.addAction(
            "&Sign out (the cameras keep running)…", self.handover.sign_out
        )
        menu.addSeparator()
        self.quit_action = menu.addAction("&Quit", "Ctrl+Q", self.close)
        # The bar's actions from the keyboard too (Alt+D).
        self.deployment_menu = self.menuBar().addMenu("&Deployment")
        self.deployment_menu.addAction(
            "&Confirm officers on the ground", self.bar.confirm_requested.emit
        )
        self.deployment_menu.addAction("&Start deployment", self.bar.start_requested.emit)
        self.deployment_menu.addAction("Change the false-alert &rate…", self.bar.ask_rate)
        self.deployment_menu.addAction("&Import watchlist…", self.watchlist_import.choose)
        self.deployment_menu.addSeparator()
        self.deployment_menu.addAction("Con&clude deployment…", self.ask_conclude)
        self.reports_menu = self.menuBar().addMenu("&Reports")
        self.reports_menu.addAction("Alert history… [H]", self.open_history)
        self.reports_menu.addAction("Deployment record…", self.open_record)
        self.reports_menu.addAction("Evaluation…", self.open_evaluation)
        self.reports_menu.addAction("Watchlist photos…", self.show_watchlist_photos)
        self.view_menu = self.menuBar().addMenu("&View")
        self._camera_actions("Enlarge {camera}", "Ctrl", self.tile_grid.enlarge)
        self.view_menu.addAction("Every camera [Esc]", self.tile_grid.restore)
        self.view_menu.addSeparator()
        self._camera_actions("{camera} in its own window", "Ctrl+Shift", self.views.pop_out)
        self.view_menu.addAction("Camera map…", self.views.show_map)
        self.view_menu.addSeparator()
        self.theme_actions = add_theme_menu(self.view_menu, window_settings(record_path))
        help_menu = self.menuBar().addMenu("&Help")
        self.keys_action = help_menu.addAction("Keys… [F1]", self.show_keys)

    def _window_keys(self) -> dict[str, object]:
        keys: dict[str, object] = {
            "M": self._toggle_mute,
            "H": self.open_history,
            "Ctrl+Z": self.undo,
            "F1": self.show_keys,
            "?": self.show_keys,
        }
        for n, tile in enumerate(self.tiles.values(), start=1):
            if n <= 8:
                keys[f"Ctrl+{n}"] = lambda t=tile: self.tile_grid.enlarge(t)
                keys[f"Ctrl+Shift+{n}"] = lambda t=tile: self.views.pop_out(t)
        return keys

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
        if self.alerts.isVisible():
            self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.sync()

    def show_keys(self) -> None:
        self.keys_dialog = KeysDialog("console", KEYS, self, note=GUARD_NOTE)
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
        size = plural(len(self.watchlist), "subject") if self.watchlist is not None else "loading"
        if d.concluded_at is not None:
            size = "deleted"
        # Short: the status bar's messages share the line with it.
        holder = "desk signed out" if self.handover.locked else str(self.officer)
        self.deployment_label.setText(f"{d.reference} · {holder} · watchlist {size}")
        self.deployment_label.setToolTip(f"record: {self._record_path}")
        self.setWindowTitle(f"LFR console · {d.reference} · {d.site} · {self.officer}")

    def attach(self, session: MonitoringSession) -> None:
        self.session = session
        self.watchlist = session.watchlist
        self.deployment_changed(session.deployment)
        self.bar.name_equality_report(equality_report_text(session))
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
        self.moments.frame(camera, index, preview_rgb, scale)

    def _frame_width(self, camera: str) -> int | None:
        tile = self.tiles.get(camera)
        size = tile.video.frame_size if tile is not None else None
        return size[0] if size else None

    def feed_faces(self, camera: str, faces: FacesInView) -> None:
        self.tiles[camera].video.show_faces(faces)
        self.moments.faces(camera, faces.frame_index, faces.boxes)

    def feed_status(self, status: FeedStatus) -> None:
        self.tiles[status.camera].show_status(status)
        self.views.status_changed()

    def photo(self, subject_id: str) -> np.ndarray | None:
        try:
            if self.watchlist is None:
                return None
            return self.watchlist.subject(subject_id).photo_rgb
        except KeyError:
            return None

    def _subject_facts(self, subject_id: str) -> SubjectFacts | None:
        """The watchlist's other fields for the card (gone with the watchlist)."""
        try:
            if self.watchlist is None:
                return None
            entry = self.watchlist.subject(subject_id).entry
        except (KeyError, ValueError):
            return None
        try:
            born = entry.date_of_birth
        except ValueError:
            born = None
        return SubjectFacts(born, entry.reason, entry.warnings, entry.notes)

    def alert_raised(self, alert: Alert, is_new: bool) -> None:
        self.moments.alert(alert)
        self.alerts.show_alert(alert, self.photo(alert.subject_id))
        if is_new:
            self.sound.play()
            self.show_message(f"ALERT: {alert.subject_name} on {alert.camera}")
        self.history_changed()
        if self.handover.locked:
            self.handover.describe()

    def alert_restored(self, alert: Alert, adjudication: Adjudication | None) -> None:
        """Open work from before a restart comes back into the queue as it was."""
        engaged = adjudication is not None and adjudication.decision == Decision.ENGAGE
        self.alerts.show_alert(
            alert, self.photo(alert.subject_id), adjudication.decided_at if engaged else None
        )

    def storage_failed(self, message: str) -> None:
        self.alerts.show_error(message)

    def deployment_changed(self, deployment: Deployment) -> None:
        self.deployment = deployment
        if self.session is not None:
            self.watchlist = self.session.watchlist
        if deployment.concluded_at is not None:
            # The watchlist is deleted: its photos leave every card, the tiles go blank
            # (their last frame shows passers-by), the replays' frames go, and Qt's
            # global cache of recently painted images is emptied too.
            self.watchlist = None
            self.alerts.deployment_concluded(deployment.concluded_at)
            self.moments.clear()
            for tile in self.tiles.values():
                tile.video.clear()
            if self._footfall is not None:
                self._footfall.stop()
            QPixmapCache.clear()
        self.bar.show_deployment(deployment, len(self.watchlist) if self.watchlist else (
            None if self.session is None else 0))
        self._describe()

    # -- safeguarded actions --------------------------------------------------------------
    def _act(self, action: str, *args: object) -> None:
        """Run a session action; a refusal is shown on the bar, in the officer's words."""
        if self.session is None:
            return
        self.spawn(self._run_action(action, *args))

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
        if action == "change_false_alert_rate":
            self._show_operating_point()
        if action == "conclude":
            deleted = result.get("subjects_deleted", 0) if isinstance(result, dict) else 0
            self.bar.show_note(
                f"Deployment concluded: cameras stopped, watchlist of "
                f"{plural(deleted, 'subject')} deleted.",
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
            f"{plural(incidents, 'incident')} ({plural(undecided, 'alert')}) "
            f"{'is' if incidents == 1 else 'are'} still undecided: they stay in the record as "
            "not adjudicated, and no decision can be taken on them afterwards."
            if undecided
            else "Every alert has been decided."
        )
        if engaged:
            left += (
                f" {plural(engaged, 'engagement')} still await{'s' if engaged == 1 else ''} "
                "an outcome (still recordable)."
            )
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

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- focus and the desk's keys (DeskWindow) -----------------------------------------------
    def focus_queue(self) -> None:
        """Keys act on the queue: focus returns there after any text entry or dialog."""
        if self.isVisible() and not self.isActiveWindow():
            self.activateWindow()  # a dialog just closed: the window's keys work again
        self.alerts.list.setFocus()

    def escape(self) -> None:
        """Escape: an enlarged camera goes back to the wall; a dismiss waiting for its
        reason is cancelled; focus back on the queue."""
        self.tile_grid.restore()
        self.alerts.card.cancel_reason()
        self.focus_queue()

    def decisions_closed(self) -> str:
        """Why no decision may be taken now ("" when one may)."""
        if self.handover.locked:
            return "The desk is signed out: sign in to take it"
        if not self.alerts.isVisible():
            return "The queue is hidden behind the enlarged camera: Esc brings it back"
        if self.deployment.state == DeploymentState.CONCLUDED:
            return (
                "The deployment has concluded: no new decision is taken (outcomes of "
                "engagements still are)"
            )
        if self.session is None:
            return "The console is still opening"
        return ""

    # -- decisions ------------------------------------------------------------------
    def decide(self, incident_id: str, decision: Decision, note: str) -> None:
        """The desk's keys checked that this is the card on screen; record it."""
        incident = self.alerts.incident(incident_id)
        if incident is None or incident.engaged or self.session is None:
            return
        if self.alerts.is_busy(incident_id):
            return  # already being recorded: a second key press adds nothing
        self.alerts.set_busy(incident_id, True, "Recording…")
        self.spawn(self._record(incident_id, decision, note))

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
        self.recent_outcome = None
        self.history_changed()
        at = decided_at.astimezone().strftime("%H:%M:%S")
        self.show_message(
            f"{decision.label} recorded for {name} ({plural(len(recorded), 'alert')}) by "
            f"{self.officer} at {at}"
        )
        self.focus_queue()

    def undo(self) -> None:
        """Ctrl+Z: the decision just made is taken back; an outcome just recorded is
        corrected (it cannot be taken back: officers on the ground acted on it)."""
        recent = self.alerts.recent
        if self.session is None:
            return
        outcome = self.recent_outcome
        if recent is None and outcome is not None:
            if outcome.undo_open(self.session.now(), str(self.officer)):
                self.corrections.correct_outcome_now(outcome)
                return
            self.recent_outcome = None
        if recent is None:
            self.show_message(
                "Nothing to undo: a decision can be undone for 5 s; after that a supervisor "
                "corrects it in the history (H), with a reason"
            )
            return
        self.alerts.hide_undo()
        self.spawn(self._undo(recent))

    async def _undo(self, recent: RecentDecision) -> None:
        assert self.session is not None
        try:
            await self.session.undo(recent)
        except (UndoRefused, StorageError, PermissionDenied) as exc:
            self.alerts.show_error(f"Not undone: {exc}")
            return
        self.alerts.queue.remove(recent.incident.incident_id)  # if it was engaged
        self.alerts.put_back(recent.incident)
        self.history_changed()
        self.show_message(
            f"{recent.decision.label} for {recent.incident.subject_name} undone: decide it "
            "again (recorded as a correction)"
        )
        self.focus_queue()

    def report_outcome(self, incident_id: str, outcome: Outcome) -> None:
        incident = self.alerts.incident(incident_id)
        if incident is None or not incident.engaged or self.session is None:
            return
        if self.alerts.is_busy(incident_id):
            return
        self.alerts.set_busy(incident_id, True)
        self.spawn(self._record_outcome(incident_id, outcome))

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
        self.recent_outcome = RecentOutcome(incident, outcome, str(self.officer),
                                            self.session.now())
        self.history_changed()
        self.show_message(
            f"Outcome '{outcome.label}' recorded for {name} by {self.officer} "
            "(Ctrl+Z within 5 s corrects it)"
        )
        try:  # equality monitoring, when the site policy asks for it (#27): never required
            if await ask_equality_monitoring(self, self.session, done, name):
                self.show_message(f"Equality monitoring recorded for the engagement on {name}")
        except StorageError as exc:
            self.alerts.show_error(f"Equality monitoring NOT recorded for {name}: {exc}")
        self.focus_queue()

    # -- handover ------------------------------------------------------------------------------
    def lock_desk(self, locked: bool) -> None:
        """Signed out: the desk is covered and no key acts; the cameras run on."""
        self.alerts.card.cancel_reason("Dismiss cancelled: the desk was signed out")
        self.alerts.hide_undo()
        self.recent_outcome = None
        self.tile_grid.restore()
        self.pages.setCurrentIndex(1 if locked else 0)
        self.keys.set_enabled(not locked)
        self._describe()
        for menu in (self.deployment_menu, self.reports_menu, self.view_menu):
            menu.setEnabled(not locked)
        self.sign_out_action.setEnabled(not locked)
        if self.history is not None:
            self.history.close()
        if not locked:
            self.focus_queue()

    def officer_changed(self, officer: Officer) -> None:
        """The next officer holds the desk: what they may do, and nothing seen before."""
        self.officer = officer
        self.bar.set_officer(officer)
        self.alerts.on_screen.seen.clear()
        self.alerts.choose_target(None)
        self._describe()

    # -- reports ---------------------------------------------------------------------------------
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

    def _camera_actions(self, label: str, modifiers: str, act: Callable[[CameraTile], None]
                        ) -> None:
        """One View-menu action a camera, with its key for the first eight."""
        for n, tile in enumerate(self.tiles.values(), start=1):
            key = f" [{modifiers}+{n}]" if n <= 8 else ""
            self.view_menu.addAction(
                label.format(camera=tile.camera) + key, lambda t=tile: act(t)
            )

    def show_watchlist_photos(self) -> None:
        """Each subject's photo quality, and where a second photo would help (issue 24)."""
        from console.qt.enrolment_dialog import show_enrolment_report

        if self.session is not None:
            self.enrolment_report = show_enrolment_report(
                self, self.session.watchlist, self.session.deployment.threshold)

    def open_evaluation(self) -> None:
        if self.session is None:
            return
        from console.qt.record_view import open_evaluation_view

        self.evaluation_view = open_evaluation_view(
            self.session.store.store, self, str(self.officer)
        )

    def open_history(self) -> None:
        """H: the one history window, over the camera wall (never over the queue)."""
        if self.session is None:
            return
        from console.qt.history_view import HistoryDialog

        history = self.history
        if history is None or not history.isVisible():
            self.history = HistoryDialog(
                self.session.store.store,
                self.deployment.reference,
                self,
                self.photo,
                corrector=self.corrections.correct if may_correct(self.officer) else None,
                spawn=self.spawn,
            )
            self.history.finished.connect(lambda _: self.focus_queue())
            self.history.place_over(self.views.wall)
            self.history.show()
        else:  # H again: the open history comes to the front, not a second copy
            history.reload()
        self.history.raise_()
        self.history.activateWindow()

    def history_changed(self) -> None:
        """An alert or a decision reached the record: an open history shows it at once."""
        history = self.history
        if history is not None and history.isVisible():
            history.reload()

    # -- closing ------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._needs_confirmation():
            event.ignore()
            self._ask_close()
            return
        for dialog in (self.close_box, self.conclude_box, self.history,
                       self.keys.replay_window, self.handover.dialog):
            if dialog is not None:
                dialog.close()
        self.views.close()
        self.moments.close()
        self.save_layout()
        if not self.closed.done():
            self.closed.set_result(QUIT)
        super().closeEvent(event)

    def _needs_confirmation(self) -> bool:
        live = self.session is not None and self.deployment.is_active
        return live and not self._close_confirmed

    def _ask_close(self) -> None:
        """Closing during a deployment stops its cameras: say so, and ask."""
        if self.close_box is not None and self.close_box.isVisible():
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Close the console",
            f"Close the console during deployment {self.deployment.reference}? The cameras "
            "stop. When the console opens again they stay paused until officers on the "
            "ground are confirmed again. (To hand the desk to another officer, use File → "
            "Sign out: the cameras keep running.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("&Close the console (cameras stop)")
        box.finished.connect(self._close_answered)
        self.close_box = box
        box.open()

    def _close_answered(self, result: int) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self._close_confirmed = True
            self.close()
        else:
            self.focus_queue()
