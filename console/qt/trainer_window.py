"""Trainer mode: a scenario plays on every camera in sync; the trainee works its alerts on
the console's own wall and queue (tiles, face boxes, incident cards, the outcome step);
a score sheet follows, to print or export. Nothing touches the deployment record:
decisions go to the separate training record."""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QTextDocument
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision, Outcome
from console.domain.training import Expectation, ScoreSheet, TraineeDecision, score
from console.domain.watchlist import Watchlist
from console.live.feed import FacesInView, FeedState, FeedStatus
from console.live.moments import AlertMoments
from console.live.overlay import DelayedPicture
from console.progress import ProgressLine
from console.qt.camera_tile import CameraTile
from console.qt.desk_keys import DESK_KEYS, GUARD_NOTE, DeskKeys
from console.qt.help import KeysDialog
from console.qt.incident_card import SubjectFacts, plural
from console.qt.queue_panel import IncidentPanel
from console.qt.settings import export_folder, remember_export_folder
from console.qt.tile_grid import TileGrid
from console.storage.training import TrainingRecords
from console.training.scenario_player import SPEEDS, ScenarioPlayer
from console.training.scenarios import DEFAULT_PASS_MARK

TRAINER_KEYS = [
    ("Space", "Play or pause the scenario"),
    (".", "One frame forward (paused)"),
    *DESK_KEYS,
    ("Double-click a camera, or click it and Enter", "Enlarge that camera"),
    ("Ctrl+Q", "Quit the trainer"),
]


def scenario_clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


class TrainerWindow(QMainWindow):
    def __init__(
        self,
        scenario: str,
        player: ScenarioPlayer,
        watchlist: Watchlist,
        expectations: list[Expectation],
        records: TrainingRecords,
        trainee: str,
        title: str = "",
        pass_mark: float = DEFAULT_PASS_MARK,
        names: dict[str, str] | None = None,
        trainer: str = "",
    ) -> None:
        super().__init__()
        self.trainer = trainer  # who signed in to run it
        self.scenario = scenario
        self.title = title or scenario
        self.pass_mark = pass_mark
        self.player = player
        self.watchlist = watchlist
        self.expectations = expectations
        self.records = records
        self.trainee = trainee
        self.names = {s.subject_id: s.name for s in watchlist.subjects} | (names or {})
        self.run_id = records.start_run(trainee, scenario)
        self.shown_at: dict[str, float] = {}
        self.decisions: list[TraineeDecision] = []
        self.outcomes: dict[str, Outcome] = {}  # alert id -> outcome reported
        self.raised: list[Alert] = []
        self.sheet: ScoreSheet | None = None
        self.score_dialog: ScoreDialog | None = None
        self.closed: asyncio.Future[None] = asyncio.get_event_loop().create_future()
        self.moments = AlertMoments()  # the alert moments' frames, for the card's replay
        self.setWindowTitle(
            f"LFR console · TRAINING · {self.title} · {trainee}"
            + (f" · run by {trainer}" if trainer else "")
        )

        self.play_button = QPushButton("Play [Space]")
        self.play_button.clicked.connect(self.toggle_play)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed = QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentText(f"{player.speed:g}x")
        self.speed.currentIndexChanged.connect(lambda i: player.set_speed(SPEEDS[i]))
        self.speed.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.step_button = QPushButton("Step [.]")
        self.step_button.clicked.connect(player.step)
        self.step_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.sliderReleased.connect(self._seek_from_slider)
        self.clock = QLabel("0:00 / 0:00")
        self.finish_button = QPushButton("Finish and score")
        self.finish_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.finish_button.clicked.connect(self.finish)
        controls = QHBoxLayout()
        banner = QLabel(" TRAINING: nothing here is a real deployment ")
        banner.setStyleSheet("background:#6a1b9a; color:white; font-weight:bold; padding:4px")
        for w in (banner, self.play_button, self.speed, self.step_button):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.clock)
        controls.addWidget(self.finish_button)

        # The console's own wall: tiles, boxes on their frames, enlarge with Enter/double-click.
        self.tiles: dict[str, CameraTile] = {}
        for spec in player.specs:
            tile = CameraTile(spec.camera, Path(spec.location).name)
            tile.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            # Frame indices are positions in the scenario's files: a seek keeps the faces.
            tile.video.picture = DelayedPicture(replayable=True)
            self.tiles[spec.camera] = tile
        self.tile_grid = TileGrid(list(self.tiles.values()))
        # The console's own queue and cards, outcome step included.
        self.alerts = IncidentPanel(f"training: {self.title}", overdue_after_s=60)
        self.alerts.card.time_text = lambda a: f"at {scenario_clock(a.t)} in the scenario"
        self.alerts.card.clip_of = self.moments.clip
        self.alerts.card.subject_facts = self._subject_facts
        self.alerts.on_left = lambda incident: self.moments.forget(incident.alert_ids)
        self.alerts.keys.setText(
            "Keys: Space play/pause · . step · N open the next · ↑/↓ choose · E engage · "
            "D dismiss · F false match · 1-4 outcome (Shift+↑/↓ choose the engagement) · "
            "V replay · F1 all keys"
        )
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tile_grid)
        self.splitter.addWidget(self.alerts)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        column = QVBoxLayout(central)
        column.addLayout(controls)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("Finish and score", self.finish)
        file_menu.addAction("Quit", "Ctrl+Q", self.close)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("Keys… [F1]", self.show_keys)
        screen = self.screen()
        room = screen.availableGeometry() if screen is not None else None
        if room is not None and room.width() > 0:
            self.resize(min(1500, room.width()), min(860, room.height()))
        else:
            self.resize(1500, 860)
        self.keys = DeskKeys(
            self,
            {"Space": self.toggle_play, ".": self.player.step, "F1": self.show_keys,
             "?": self.show_keys},
        )
        self.startTimer(200)

    def show_keys(self) -> None:
        self.keys_dialog = KeysDialog("trainer", TRAINER_KEYS, self, note=GUARD_NOTE)
        self.keys_dialog.finished.connect(lambda _: self.focus_queue())
        self.keys_dialog.open()

    def show_message(self, text: str, seconds: float = 20.0) -> None:
        self.statusBar().showMessage(text, int(seconds * 1000))

    def focus_queue(self) -> None:
        if self.isVisible() and not self.isActiveWindow():
            self.activateWindow()
        self.alerts.list.setFocus()

    def escape(self) -> None:
        self.tile_grid.restore()
        self.alerts.card.cancel_reason()
        self.focus_queue()

    def decisions_closed(self) -> str:
        return ""

    def _subject_facts(self, subject_id: str) -> SubjectFacts | None:
        try:
            entry = self.watchlist.subject(subject_id).entry
            return SubjectFacts(entry.date_of_birth, entry.reason, entry.warnings, entry.notes)
        except (KeyError, ValueError):
            return None

    # -- the player's listener ---------------------------------------------------------------
    def feed_frame(self, camera: str, preview_rgb, scale: float, index: int | None = None) -> None:
        tile = self.tiles[camera]
        tile.video.show_frame(preview_rgb, scale, index)
        self.tile_grid.frame_shown(tile)
        self.moments.frame(camera, index, preview_rgb, scale)

    def feed_faces(self, camera: str, faces: FacesInView) -> None:
        self.tiles[camera].video.show_faces(faces)
        self.moments.faces(camera, faces.frame_index, faces.boxes)

    def feed_status(self, status: FeedStatus) -> None:
        tile = self.tiles[status.camera]
        tile.show_status(status)
        self._show_play_state(tile)
        tile.health_label.setToolTip("Training: the alerts were worked out beforehand.")

    def _show_play_state(self, tile: CameraTile) -> None:
        """A scenario is played, not live: whether it moves, and its clock."""
        if tile.status.state == FeedState.LIVE:
            state = "PLAYING" if self.player.playing else "PAUSED"
            colour = "#27ae60" if self.player.playing else "#f2c94c"
            tile.state_label.set_rich(
                f"<span style='color:{colour}'>●</span> ",
                f"{state} · scenario {scenario_clock(self.player.position)}",
            )
        tile.health_label.set_full_text(f"Scenario playback at {self.player.speed:g}x")

    def alert_revealed(self, alert: Alert) -> None:
        # Worked out beforehand: for the trainee it is raised now, as it would be live.
        alert = replace(alert, raised_at=datetime.now(UTC))
        try:
            photo = self.watchlist.subject(alert.subject_id).photo_rgb
        except KeyError:
            photo = None
        self.raised.append(alert)
        self.shown_at[alert.alert_id] = time.monotonic()
        self.moments.alert(alert)
        self.alerts.show_alert(alert, photo)

    # -- controls ----------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.playing:
            self.player.pause()
        else:
            self.player.play()
        self.play_button.setText("Pause [Space]" if self.player.playing else "Play [Space]")

    def _seek_from_slider(self) -> None:
        self.player.seek(self.slider.value() / 1000 * self.player.duration)

    def timerEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.player.duration and not self.slider.isSliderDown():
            self.slider.setValue(int(1000 * self.player.position / self.player.duration))
        self.clock.setText(
            f"{scenario_clock(self.player.position)} / {scenario_clock(self.player.duration)}"
        )
        if not self.player.playing and self.play_button.text().startswith("Pause"):
            self.play_button.setText("Play [Space]")  # the scenario reached its end
        for tile in self.tiles.values():
            self._show_play_state(tile)

    # -- decisions and score -----------------------------------------------------------------
    def decide(self, incident_id: str, decision: Decision, note: str) -> None:
        """The desk's keys checked that this is the card on screen; score it."""
        incident = self.alerts.incident(incident_id)
        if incident is None or incident.engaged:
            return
        first_shown = min(self.shown_at.get(a.alert_id, time.monotonic()) for a in incident.alerts)
        seconds = time.monotonic() - first_shown
        for a in incident.alerts:
            d = TraineeDecision(a.alert_id, a.camera, a.subject_id, a.t, decision, seconds)
            self.records.record(self.run_id, d)
            self.decisions.append(d)
        self.alerts.card.note.clear()
        if decision == Decision.ENGAGE:
            self.alerts.mark_engaged(incident_id)  # the outcome step follows, as live
        else:
            self.alerts.remove(incident_id)
        self.show_message(f"{decision.label}: {incident.subject_name}")
        self.focus_queue()

    def report_outcome(self, incident_id: str, outcome: Outcome) -> None:
        incident = self.alerts.incident(incident_id)
        if incident is None or not incident.engaged:
            return
        for a in incident.alerts:
            self.outcomes[a.alert_id] = outcome
        self.alerts.remove(incident_id)
        self.show_message(f"Outcome {outcome.label}: {incident.subject_name}")
        self.focus_queue()

    def finish(self) -> ScoreSheet:
        self.player.pause()
        raised = [(a.alert_id, a.camera, a.subject_id, a.t) for a in self.raised]
        self.sheet = score(self.expectations, self.decisions, raised, self.names)
        self.records.finish(self.run_id, self.sheet)
        engaged = {d.alert_id for d in self.decisions if d.decision == Decision.ENGAGE}
        self.score_dialog = ScoreDialog(
            self.sheet,
            self.records.runs(self.scenario),
            title=self.title,
            trainee=self.trainee,
            pass_mark=self.pass_mark,
            outcomes=(len(engaged & set(self.outcomes)), len(engaged)),
            parent=self,
        )
        self.score_dialog.show()
        return self.sheet

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        # The player stops with the window: no frame may reach a closed window.
        self.player.pause()
        self.player.listener = _Discard()
        self.moments.close()
        if self.score_dialog is not None:
            self.score_dialog.close()
        if not self.closed.done():
            self.closed.set_result(None)
        super().closeEvent(event)


class _Discard:
    """A listener for a player whose window has closed: everything is dropped."""

    def feed_frame(self, *args: object) -> None: ...
    def feed_faces(self, *args: object) -> None: ...
    def feed_status(self, *args: object) -> None: ...


class PreparationDialog(QDialog):
    """Shown while the scenario's alerts are worked out (a minute or two): what, how far."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Preparing {title}")
        self.stage = QLabel("Starting…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{html.escape(title)}</b>"))
        layout.addWidget(self.stage)
        layout.addWidget(self.bar)
        self.resize(460, 120)
        self._line: ProgressLine | None = None

    def show_progress(self, stage: str, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        if self._line is None or self._line.what != stage:
            # Each stage its own estimate, measured as the terminal's progress line
            # measures it (console.progress): the two never disagree.
            self._line = ProgressLine(stage, total, enabled=False)
        self._line.update(done, total)
        text = f"{stage}: {done} of {total}"
        if stage.startswith("Working") and (left := self._line.left_text()):
            text += f" · {left}"
        self.stage.setText(text)


PLAIN = {
    "score_percent": "Score (%)",
    "correctly_engaged": "Correctly engaged",
    "missed_or_wrongly_dismissed": "Missed or wrongly dismissed",
    "false_matches_called": "Lookalikes called a false match",
    "wrong_engagements": "Wrong engagements",
    "undecided_alerts": "Alerts left undecided",
    "mean_time_to_decide_s": "Mean time to decide (s)",
    "worst_time_to_decide_s": "Slowest decision (s)",
}


class ScoreDialog(QDialog):
    """The trainee's score sheet, beside earlier runs: print it or export it as PDF."""

    def __init__(
        self,
        sheet: ScoreSheet,
        runs: list[dict],
        title: str = "",
        trainee: str = "",
        pass_mark: float = DEFAULT_PASS_MARK,
        outcomes: tuple[int, int] = (0, 0),
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Score sheet · {title}")
        self.sheet, self.title, self.trainee = sheet, title, trainee
        self.pass_mark, self.outcomes = pass_mark, outcomes
        self.passed = sheet.passed(pass_mark)
        self.when = datetime.now().strftime("%d %b %Y %H:%M")
        self.text = QTextBrowser()
        self.text.setHtml(self.to_html())
        self.text.setOpenLinks(False)
        self.summary = self.text  # the figures, as the trainer reads them
        keys = ["trainee", "started_at", *PLAIN]
        self.runs = QTableWidget(len(runs), len(keys))
        self.runs.setHorizontalHeaderLabels(["Trainee", "Started", *PLAIN.values()])
        self.runs.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.runs.setWordWrap(True)
        for i, run in enumerate(runs):
            for j, key in enumerate(keys):
                value = run.get(key, "")
                if key == "started_at" and value:
                    value = str(value)[:16].replace("T", " ")
                self.runs.setItem(i, j, QTableWidgetItem("" if value is None else str(value)))
        header = self.runs.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self.print_sheet)
        self.pdf_button = QPushButton("Export PDF…")
        self.pdf_button.clicked.connect(lambda: self.export_pdf())
        close = QPushButton("Close [Esc]")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.print_button, self.pdf_button, close):
            buttons.addWidget(b)
        self.runs.setMaximumHeight(170)
        self.runs.setMinimumHeight(90)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(QLabel("Runs of this scenario (newest first):"))
        layout.addWidget(self.runs)
        layout.addLayout(buttons)
        self.resize(900, 760)
        self.fit_screen()

    def fit_screen(self) -> None:
        """At 1280x720 the sheet's buttons stay on screen: the sheet scrolls instead."""
        screen = self.screen()
        if screen is None:
            return
        room = screen.availableGeometry()
        width = min(900, room.width() - 40)
        height = min(760, room.height() - 60)  # the window's frame and title
        self.resize(width, height)
        self.move(room.left() + (room.width() - width) // 2, room.top() + 20)

    def to_html(self) -> str:
        s = self.sheet
        result = "PASS" if self.passed else "NOT YET PASSED"
        colour = "#1e7b34" if self.passed else "#b3261e"
        rows = "".join(
            f"<tr><td>{html.escape(PLAIN[k])}</td><td align='right'><b>"
            f"{'-' if v is None else v}</b></td></tr>"
            for k, v in s.summary().items()
            if k in PLAIN
        )
        done, engaged = self.outcomes
        rows += (
            f"<tr><td>Engagements with their outcome reported</td>"
            f"<td align='right'><b>{done} of {engaged}</b></td></tr>"
        )
        lists = [
            ("Correctly engaged", s.correctly_engaged),
            ("Missed", s.missed),
            ("Wrongly dismissed", s.wrongly_dismissed),
            ("Lookalikes called a false match", s.false_matches_called),
            ("Wrong engagements", s.wrong_engagements),
        ]
        details = "".join(
            f"<p><b>{t}</b>: {html.escape(', '.join(items)) or '-'}</p>" for t, items in lists
        )
        return (
            f"<h2>Score sheet: {html.escape(self.title)}</h2>"
            f"<p>Trainee <b>{html.escape(self.trainee)}</b> · {self.when}</p>"
            f"<p style='font-size:14pt; color:{colour}'><b>{result}</b>: "
            f"{s.percent:.0f} % of {plural(s.judged, 'call')} right "
            f"(pass mark {self.pass_mark:.0f} %)</p>"
            f"<table cellpadding='4'>{rows}</table>{details}"
        )

    def _document(self) -> QTextDocument:
        doc = QTextDocument()
        doc.setHtml(self.to_html())
        return doc

    def export_pdf(self, path: Path | None = None) -> Path | None:
        from PySide6.QtPrintSupport import QPrinter

        if path is None:
            name = f"score-{self.title}-{self.trainee}.pdf".replace(" ", "_").replace("/", "-")
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export score sheet", str(export_folder() / name), "PDF (*.pdf)"
            )
            if not chosen:
                return None
            path = Path(chosen)
            remember_export_folder(path.parent)
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(path))
        self._document().print_(printer)
        return path

    def print_sheet(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._document().print_(printer)

    def export(self, path: Path) -> Path:
        import json
        from dataclasses import asdict

        path.write_text(
            json.dumps(asdict(self.sheet) | {"summary": self.sheet.summary()}, indent=2)
        )
        return path
