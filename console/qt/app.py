"""Start the console: a Qt application whose event loop is asyncio's, through qasync."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from console.config import DeploymentPlan, plan_engine
from console.domain.deployments import SafeguardError
from console.domain.officers import Officer, PermissionDenied
from console.domain.watchlist import WatchlistError
from console.live.session import MonitoringSession
from console.live.setup import SAMPLE_ACCOUNTS, prepare, resolve_deployment, seed_sample_accounts
from console.qt.login import LoginDialog
from console.qt.main_window import SIGN_OUT, MainWindow
from console.qt.settings import window_settings
from console.qt.theme import DEFAULT_THEME, apply_theme
from console.storage import AsyncStore, StorageError, Store
from console.storage.console_log import CLOSED, SIGNED_OUT
from console.vision.pool import AnalysisPool

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def apply_look(app: QApplication, data_dir: Path | None = None) -> None:
    """The theme the officer chose last (dark, the control-room look, by default)."""
    name = DEFAULT_THEME
    if data_dir is not None:
        name = str(window_settings(data_dir / "console.db").value("theme", DEFAULT_THEME))
    apply_theme(app, name)


@dataclass
class Console:
    window: MainWindow
    session: MonitoringSession
    pool: AnalysisPool
    store: AsyncStore

    closed: bool = False

    async def close(self, how: str = CLOSED) -> None:
        """Stop the feeds and workers' use, audit the close (or sign-out), close the record."""
        if self.closed:
            return
        self.closed = True
        await self.session.close(how)
        self.store.close()


async def open_console(
    plan: DeploymentPlan,
    store: Store,
    officer: Officer,
    pool: AnalysisPool,
    clock: Clock = lambda: datetime.now(UTC),
) -> Console:
    """Show the window on the plan's deployment, importing its watchlist if it needs one.

    Raises WatchlistError, SafeguardError or StorageError with a message for the officer.
    """
    loop = asyncio.get_running_loop()
    now = clock()
    # The window shows at once, on the deployment as planned; the watchlist import that
    # may follow takes seconds to minutes and shows its progress in it.
    planned = resolve_deployment(store, plan, officer, now)
    window = MainWindow(plan, planned, officer, str(store.path), store.policy.current())
    window.show()

    def progress(done: int, total: int) -> None:  # called on the enrolling thread
        loop.call_soon_threadsafe(window.show_progress, "Enrolling watchlist", done, total)

    try:
        # A plain thread waits on the pool's workers; qasync's default executor would be
        # a QThread that Qt complains about if it outlives the application.
        with ThreadPoolExecutor(1, thread_name_prefix="enrol") as waiter:
            deployment, watchlist = await loop.run_in_executor(
                waiter, prepare, store, plan, officer, pool, now, progress
            )
    except Exception:
        window.close()
        raise
    astore = AsyncStore(store)
    session = MonitoringSession(
        deployment,
        plan.cameras,
        watchlist,
        pool,
        astore,
        officer,
        window,
        policy=store.policy.current(),
        clock=clock,
        engine=plan_engine(plan),
    )
    window.attach(session)
    session.open()
    window.show_message(f"{deployment.reference}: {len(watchlist)} watchlist subjects")
    return Console(window, session, pool, astore)


def login_dialog(store: Store, plan: DeploymentPlan) -> LoginDialog:
    hint, username = "", ""
    if plan.sample:
        hint = "Sample accounts: " + ", ".join(
            f"{u} / {p}" for u, (_, _, p) in SAMPLE_ACCOUNTS.items()
        )
        username = "supervisor"
    return LoginDialog(store.officers.authenticate, hint, username)


def log_in(store: Store, plan: DeploymentPlan) -> Officer | None:
    dialog = login_dialog(store, plan)
    return dialog.officer if dialog.exec() == QDialog.DialogCode.Accepted else None


async def sign_in_again(store: Store, plan: DeploymentPlan) -> Officer | None:
    """The sign-in dialog after a sign-out, awaited on the running loop (not exec())."""
    dialog = login_dialog(store, plan)
    answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    dialog.finished.connect(lambda result: answered.done() or answered.set_result(result))
    dialog.open()
    result = await answered
    return dialog.officer if result == QDialog.DialogCode.Accepted else None


APP_ID = "lfr-console"


def application_argv() -> list[str]:
    """The process's arguments under the application's own name: Qt names the window's
    class (what a window manager or task bar shows) after argv[0], which is
    ``__main__.py`` when run with ``python -m console``."""
    return [APP_ID, *sys.argv[1:]]


def run_console(plan: DeploymentPlan, data_dir: Path) -> int:
    """Run the console until its window closes; return the process exit code."""
    app = QApplication.instance() or QApplication(application_argv())
    app.setApplicationName("LFR console")
    app.setDesktopFileName(APP_ID)
    # The loop ends when _run returns, after the feeds and workers have stopped; were Qt
    # to quit with the last window, the loop would stop under a pending close
    # ("Event loop stopped before Future completed").
    app.setQuitOnLastWindowClosed(False)
    apply_look(app, data_dir)
    store = Store.in_dir(data_dir)  # retention: the site policy's
    if plan.sample:
        seed_sample_accounts(store)
    if not store.officers.count():
        print(
            f"error: no officer accounts in {data_dir}: create the first admin with "
            "`python -m console officer add USERNAME --name NAME --role admin`, then the "
            "officers' accounts with `officer add ... --admin USERNAME`",
            file=sys.stderr,
        )
        return 2
    officer = log_in(store, plan)
    if officer is None:
        return 1
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(_run(plan, store, officer, data_dir))


async def _run(plan: DeploymentPlan, store: Store, officer: Officer, data_dir: Path) -> int:
    with AnalysisPool() as pool:
        while True:
            try:
                console = await open_console(plan, store, officer, pool)
            except (WatchlistError, SafeguardError, StorageError, PermissionDenied) as exc:
                QMessageBox.critical(None, "LFR console cannot start", str(exc))
                print(f"error: {exc}", file=sys.stderr)
                return 2
            ending = await console.window.closed
            await console.close(SIGNED_OUT if ending == SIGN_OUT else CLOSED)
            if ending != SIGN_OUT:
                return 0
            store = Store.in_dir(data_dir)
            signed_in = await sign_in_again(store, plan)
            if signed_in is None:
                store.close()
                return 0
            officer = signed_in
