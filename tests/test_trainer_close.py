"""Closing the trainer's window ends `console train` cleanly: exit 0, no traceback (Qt used
to stop the event loop with the last window, under the coroutine still closing)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, SAMPLES

DRIVER = """
import asyncio, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow
from console.training import trainer

class Player:
    closed = False
    async def close(self):
        await asyncio.sleep(0.2)  # the player's own shutdown takes a moment
        Player.closed = True

class Window(QMainWindow):
    def __init__(self):
        super().__init__()
        self.player = Player()
        self.closed = asyncio.get_event_loop().create_future()
    def closeEvent(self, event):
        self.closed.done() or self.closed.set_result(None)
        super().closeEvent(event)

async def fake_open(scenario, pool, records, trainee, speed=1.0, trainer=""):
    window = Window()
    window.show()
    QTimer.singleShot(300, window.close)  # the trainer closes the window
    return window

class NoPool:
    def __enter__(self): return self
    def __exit__(self, *exc): pass

trainer.open_trainer = fake_open
trainer.sign_in_trainer = lambda data_dir, scenario: "Sample Trainer (trainer, trainer)"
import console.vision.pool as pool_module
pool_module.AnalysisPool = NoPool
args = trainer.argparse.Namespace(
    scenario=sys.argv[1], trainee="PC 1", speed=1.0, data_dir=sys.argv[2]
)
code = trainer.run(args)
print("exit", code, "player closed", Player.closed)
"""


def test_closing_the_trainer_window_ends_the_command_without_a_traceback(tmp_path):
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(SAMPLES / "scenarios" / "basic"), str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "exit 0 player closed True" in done.stdout
