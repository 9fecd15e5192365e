"""Trainer mode: a scenario plays on every camera in sync; the trainee adjudicates its
alerts as in a live deployment; a score sheet follows. Nothing touches the deployment
record: decisions go to the separate training record."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.alerts import Alert, Decision
from console.domain.training import Expectation, ScoreSheet, TraineeDecision, score
from console.domain.watchlist import Watchlist
from console.live.feed import FacesInView, FeedStatus
from console.qt.alert_panel import DECISION_KEYS, AlertPanel
from console.qt.camera_tile import CameraTile
from console.qt.keys import install_shortcuts
from console.storage.training import TrainingRecords
from console.training.scenario_player import SPEEDS, ScenarioPlayer


class TrainerWindow(QMainWindow):
    def __init__(
        self,
        scenario: str,
        player: ScenarioPlayer,
        watchlist: Watchlist,
        expectations: list[Expectation],
        records: TrainingRecords,
        trainee: str,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.player = player
        self.watchlist = watchlist
        self.expectations = expectations
        self.records = records
        self.trainee = trainee
        self.run_id = records.start_run(trainee, scenario)
        self.shown_at: dict[str, float] = {}
        self.decisions: list[TraineeDecision] = []
        self.raised: list[Alert] = []
        self.sheet: ScoreSheet | None = None
        self.setWindowTitle(f"LFR console · TRAINING · {scenario} · {trainee}")

        self.play_button = QPushButton("Play [Space]")
        self.play_button.clicked.connect(self.toggle_play)
        self.speed = QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentText(f"{player.speed:g}x")
        self.speed.currentIndexChanged.connect(lambda i: player.set_speed(SPEEDS[i]))
        self.step_button = QPushButton("Step [.]")
        self.step_button.clicked.connect(player.step)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.sliderReleased.connect(self._seek_from_slider)
        self.clock = QLabel("0.0 s")
        self.finish_button = QPushButton("Finish and score")
        self.finish_button.clicked.connect(self.finish)
        controls = QHBoxLayout()
        banner = QLabel(" TRAINING: nothing here is a real deployment ")
        banner.setStyleSheet("background:#6a1b9a; color:white; font-weight:bold; padding:4px")
        for w in (banner, self.play_button, self.speed, self.step_button):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.clock)
        controls.addWidget(self.finish_button)

        self.tiles: dict[str, CameraTile] = {}
        grid_holder = QWidget()
        grid = QGridLayout(grid_holder)
        for i, spec in enumerate(player.specs):
            tile = CameraTile(spec.camera, Path(spec.location).name)
            self.tiles[spec.camera] = tile
            grid.addWidget(tile, i // 2, i % 2)
        self.alerts = AlertPanel(overdue_after_s=60)
        self.alerts.decided.connect(self._decide)
        self.alerts.keys.setText(
            "Keys: Space play/pause · . step · ↑/↓ select · E engage · D dismiss · F false match"
        )
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(grid_holder)
        splitter.addWidget(self.alerts)
        splitter.setStretchFactor(0, 3)
        central = QWidget()
        column = QVBoxLayout(central)
        column.addLayout(controls)
        column.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.resize(1500, 800)
        self._keys()
        self.startTimer(200)

    def _keys(self) -> None:
        bindings = {
            "Space": self.toggle_play,
            ".": self.player.step,
            "Up": lambda: self.alerts.move_selection(-1),
            "Down": lambda: self.alerts.move_selection(1),
        }
        for decision, key in DECISION_KEYS.items():
            bindings[key] = lambda d=decision: self._decide_selected(d)
        self.shortcuts = install_shortcuts(self, bindings)

    # -- the player's listener ---------------------------------------------------------------
    def feed_frame(self, camera: str, preview_rgb, scale: float, index: int | None = None) -> None:
        self.tiles[camera].video.show_frame(preview_rgb, scale, index)

    def feed_faces(self, camera: str, faces: FacesInView) -> None:
        self.tiles[camera].video.show_faces(faces)

    def feed_status(self, status: FeedStatus) -> None:
        self.tiles[status.camera].show_status(status)

    def alert_revealed(self, alert: Alert) -> None:
        # Worked out beforehand: for the trainee it is raised now, as it would be live.
        alert = replace(alert, raised_at=datetime.now(UTC))
        try:
            subject = self.watchlist.subject(alert.subject_id)
        except KeyError:
            subject = None
        self.raised.append(alert)
        self.shown_at[alert.alert_id] = time.monotonic()
        self.alerts.show_alert(alert, subject, self.scenario)

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
        self.clock.setText(f"{self.player.position:5.1f} / {self.player.duration:.1f} s")

    # -- decisions and score -----------------------------------------------------------------
    def _decide_selected(self, decision: Decision) -> None:
        card = self.alerts.selected
        if card is not None:
            self._decide(card.alert_id, decision)

    def _decide(self, alert_id: str, decision: Decision) -> None:
        card = self.alerts.card(alert_id)
        if card is None:
            return
        a = card.alert
        seconds = time.monotonic() - self.shown_at.get(alert_id, time.monotonic())
        d = TraineeDecision(alert_id, a.camera, a.subject_id, a.t, decision, seconds)
        self.records.record(self.run_id, d)
        self.decisions.append(d)
        self.alerts.remove(alert_id)

    def finish(self) -> ScoreSheet:
        self.player.pause()
        raised = [(a.alert_id, a.camera, a.subject_id, a.t) for a in self.raised]
        self.sheet = score(self.expectations, self.decisions, raised)
        self.records.finish(self.run_id, self.sheet)
        self.score_dialog = ScoreDialog(self.sheet, self.records.runs(self.scenario), self)
        self.score_dialog.show()
        return self.sheet

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.closed = True
        super().closeEvent(event)


class ScoreDialog(QDialog):
    """The trainee's score sheet, beside earlier runs of the same scenario."""

    def __init__(self, sheet: ScoreSheet, runs: list[dict], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Score sheet")
        self.sheet = sheet
        summary = sheet.summary()
        self.summary = QLabel(
            "<br>".join(f"{k.replace('_', ' ')}: <b>{v}</b>" for k, v in summary.items())
        )
        details = [
            ("Correctly engaged", sheet.correctly_engaged),
            ("Missed", sheet.missed),
            ("Wrongly dismissed", sheet.wrongly_dismissed),
            ("False matches called", sheet.false_matches_called),
            ("Wrong engagements", sheet.wrong_engagements),
        ]
        self.details = QLabel(
            "<br>".join(f"{t}: {', '.join(items) or '-'}" for t, items in details)
        )
        self.details.setWordWrap(True)
        keys = ["trainee", "started_at", *summary]
        self.runs = QTableWidget(len(runs), len(keys))
        self.runs.setHorizontalHeaderLabels([k.replace("_", " ") for k in keys])
        for i, run in enumerate(runs):
            for j, key in enumerate(keys):
                self.runs.setItem(i, j, QTableWidgetItem(str(run.get(key, ""))))
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.details)
        layout.addWidget(QLabel("Runs of this scenario (newest first):"))
        layout.addWidget(self.runs)
        self.resize(900, 500)

    def export(self, path: Path) -> Path:
        from dataclasses import asdict

        path.write_text(
            json.dumps(asdict(self.sheet) | {"summary": self.sheet.summary()}, indent=2)
        )
        return path
