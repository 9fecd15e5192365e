"""The new-alert sound, which the officer can mute.

QtMultimedia is not in PySide6-Essentials, so the chime is played by the desktop's own
player when there is one (PulseAudio/PipeWire/ALSA), without blocking, and falls back to
the system bell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QProcess
from PySide6.QtWidgets import QApplication

CHIME = Path(__file__).resolve().parents[2] / "resources" / "sounds" / "alert.wav"
PLAYERS = ("paplay", "pw-play", "aplay")


class AlertSound:
    def __init__(self) -> None:
        self.muted = False
        self.played = 0  # how many times the chime was asked for (tests, diagnostics)
        self._player = next((p for p in map(shutil.which, PLAYERS) if p), None)
        self._processes: list[QProcess] = []

    def toggle_mute(self) -> bool:
        self.muted = not self.muted
        return self.muted

    def play(self) -> None:
        if self.muted:
            return
        self.played += 1
        if self._player and CHIME.is_file():
            process = QProcess()
            self._processes.append(process)
            process.finished.connect(lambda *_: self._forget(process))
            process.errorOccurred.connect(lambda error: self._on_error(process, error))
            process.start(
                self._player, ["-q", str(CHIME)] if "aplay" in self._player else [str(CHIME)]
            )
        else:
            QApplication.beep()

    def _on_error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        # A player that cannot start never finishes: without this, every alert of a long
        # deployment would leave one QProcess behind.
        if error == QProcess.ProcessError.FailedToStart:
            self._forget(process)

    def _forget(self, process: QProcess) -> None:
        if process in self._processes:
            self._processes.remove(process)
            process.deleteLater()
