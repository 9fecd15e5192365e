"""Start the console: a Qt application whose event loop is asyncio's, through qasync."""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import qasync
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from console.config import DeploymentConfig
from console.domain.watchlist import WatchlistError
from console.live.session import MonitoringSession
from console.qt.main_window import MainWindow
from console.storage import AsyncStore, StorageError, Store
from console.vision.enrolment import enrol_watchlist
from console.vision.pool import AnalysisPool

log = logging.getLogger(__name__)

DB_NAME = "console.db"
RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def apply_look(app: QApplication) -> None:
    """The style sheet and icon from resources/ (the console still runs without them)."""
    style = RESOURCES / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    icon = RESOURCES / "icons" / "app.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


@dataclass
class Console:
    window: MainWindow
    session: MonitoringSession
    pool: AnalysisPool
    store: AsyncStore

    async def close(self) -> None:
        await self.session.stop()
        self.store.close()


async def open_console(
    deployment: DeploymentConfig, data_dir: Path, officer: str, pool: AnalysisPool
) -> Console:
    """Show the window, enrol the watchlist on the pool, open the record, start the feeds.

    Raises WatchlistError or StorageError with a message for the officer.
    """
    record = Path(data_dir) / DB_NAME
    window = MainWindow(deployment, officer, str(record))
    window.show()
    loop = asyncio.get_running_loop()

    def progress(done: int, total: int) -> None:  # called on the enrolling thread
        loop.call_soon_threadsafe(window.show_progress, "Enrolling watchlist", done, total)

    try:
        # A plain thread waits on the pool's workers; qasync's default executor would be
        # a QThread that Qt complains about if it outlives the application.
        with ThreadPoolExecutor(1, thread_name_prefix="enrol") as waiter:
            watchlist = await loop.run_in_executor(
                waiter, enrol_watchlist, deployment.watchlist, progress, pool
            )
        store = AsyncStore(Store(record))
    except Exception:
        window.close()
        raise
    session = MonitoringSession(deployment, watchlist, pool, store, officer, window)
    window.attach(session)
    session.start()
    window.show_message(f"Monitoring: {len(watchlist)} watchlist subjects")
    return Console(window, session, pool, store)


def run_console(deployment: DeploymentConfig, data_dir: Path, officer: str) -> int:
    """Run the console until its window closes; return the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("LFR console")
    apply_look(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(_run(deployment, data_dir, officer))


async def _run(deployment: DeploymentConfig, data_dir: Path, officer: str) -> int:
    with AnalysisPool() as pool:
        try:
            console = await open_console(deployment, data_dir, officer, pool)
        except (WatchlistError, StorageError) as exc:
            QMessageBox.critical(None, "LFR console cannot start", str(exc))
            print(exc, file=sys.stderr)
            return 2
        await console.window.closed
        await console.close()
    return 0
