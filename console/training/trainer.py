"""``python -m console train SCENARIO_DIR --trainee NAME``: trainer mode.

The scenario's alerts are worked out first by the same headless replay the acceptance
runner uses (deterministic, on the videos' clock); then every camera plays in sync with
one set of controls and the trainee adjudicates. The score sheet is saved in the
separate training record (``training.db``), never in a deployment's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from console.domain.alerts import Decision
from console.domain.training import Expectation
from console.training.scenarios import Expect, Scenario

HELP = "play a scenario in sync on every camera for a trainee to adjudicate, then score it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario folder (or its scenario.toml)")
    parser.add_argument("--trainee", required=True, help="who is being trained")
    parser.add_argument("--speed", type=float, default=1.0, choices=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--data-dir", type=Path, help="where the training record is kept")


def expectations(scenario: Scenario) -> list[Expectation]:
    """What a trainee should decide: engage the watchlisted, call out the lookalikes."""
    out = []
    for a in scenario.appearances:
        if a.expect == Expect.ALERT and a.decision == Decision.ENGAGE:
            out.append(Expectation(a.person, a.camera, a.visible_from, a.visible_to, a.decision))
        elif a.lookalike_of:
            out.append(
                Expectation(
                    a.lookalike_of, a.camera, a.visible_from, a.visible_to, Decision.FALSE_MATCH
                )
            )
    return out


async def open_trainer(
    scenario: Scenario, pool, records, trainee: str, speed: float = 1.0, trainer: str = ""
):
    """Work out the alerts (a progress bar meanwhile), then show the trainer window with
    the scenario's first frame, ready to play."""
    from console.qt.trainer_window import PreparationDialog, TrainerWindow
    from console.training.scenario_player import ScenarioPlayer
    from console.training.uat import replay_scenario
    from console.vision.enrolment import enrol_watchlist
    from console.vision.sources import SourceSpec

    loop = asyncio.get_running_loop()
    preparing = PreparationDialog(scenario.title or scenario.name)
    preparing.show()

    def progress(stage: str, done: int, total: int) -> None:  # on worker threads
        loop.call_soon_threadsafe(preparing.show_progress, stage, done, total)

    views: dict[str, dict[int, list]] = {}
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="prepare") as waiter:
            alerts, _ = await loop.run_in_executor(
                waiter, replay_scenario, scenario, pool, progress, views
            )
            watchlist = await loop.run_in_executor(
                waiter, lambda: enrol_watchlist(scenario.watchlist, pool=pool)
            )
    finally:
        preparing.close()
    specs = [SourceSpec(c.name, str(c.video)) for c in scenario.cameras]
    player = ScenarioPlayer(specs, alerts, listener=None, on_alert=None, views=views)  # type: ignore[arg-type]
    player.set_speed(speed)
    names = {a.person: a.name for a in scenario.appearances if getattr(a, "name", "")}
    window = TrainerWindow(
        scenario.name,
        player,
        watchlist,
        expectations(scenario),
        records,
        trainee,
        title=scenario.title or scenario.name,
        pass_mark=scenario.pass_mark,
        names=names,
        trainer=trainer,
    )
    player.listener, player.on_alert = window, window.alert_revealed
    window.show()
    player.start()
    return window


def sign_in_trainer(data_dir: Path | None, scenario: Scenario):
    """The trainer signs in (a trainer account) before anything is prepared: the Officer,
    or the command's exit code (2: no accounts to sign in with, 1: cancelled).

    Accounts are the record's in the data folder; the bundled scenarios sign in against
    the bundled sample's record, whose sample accounts include a trainer."""
    import html

    from console.config import REPO_ROOT, record_dir
    from console.config import data_dir as default_dir
    from console.domain.officers import Permission
    from console.live.setup import SAMPLE_ACCOUNTS, seed_sample_accounts
    from console.qt.login import LoginDialog
    from console.storage import StorageError, Store

    bundled = Path(scenario.folder).resolve().is_relative_to(REPO_ROOT / "sample_streams")
    folder = record_dir(data_dir, sample=True) if bundled else default_dir(data_dir)
    try:
        store = Store.in_dir(folder)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if bundled:
            seed_sample_accounts(store)
        if not store.officers.count():
            print(
                f"error: no officer accounts in {folder}: an admin creates a trainer's with "
                "`python -m console officer add USERNAME --name NAME --role trainer "
                "--admin ADMIN`",
                file=sys.stderr,
            )
            return 2
        hint = ""
        if bundled:
            _, _, password = SAMPLE_ACCOUNTS["trainer"]
            hint = f"Sample account for the bundled scenarios: trainer / {password}"
        dialog = LoginDialog(
            store.officers.authenticate,
            hint,
            "trainer" if bundled else "",
            opens=f"Trainer: <b>{html.escape(scenario.title or scenario.name)}</b> "
            "(a training run, never a real deployment)",
            check=lambda officer: officer.require(Permission.RUN_SCENARIOS),
        )
        if dialog.exec() != LoginDialog.DialogCode.Accepted or dialog.officer is None:
            return 1
        return dialog.officer
    finally:
        store.close()


def run(args: argparse.Namespace) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from console.config import data_dir
    from console.storage.training import TrainingRecords
    from console.training.scenarios import ScenarioError, load_scenario
    from console.vision.pool import AnalysisPool

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from console.qt.app import application_argv
    from console.qt.settings import window_settings
    from console.qt.theme import DEFAULT_THEME, apply_theme

    app = QApplication.instance() or QApplication(application_argv())
    # The loop ends when main() returns, after the player has stopped; were Qt to quit
    # with the last window, the loop would stop under it ("Event loop stopped before
    # Future completed", the traceback trainers saw on closing).
    app.setQuitOnLastWindowClosed(False)
    folder = data_dir(args.data_dir)
    apply_theme(app, str(window_settings(folder).value("theme", DEFAULT_THEME)))
    signed_in = sign_in_trainer(args.data_dir, scenario)
    if isinstance(signed_in, int):
        return signed_in
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    records = TrainingRecords(folder)
    if records.verification_key is not None:  # the folder's first record: shown this once
        from console.storage.key_sheet import announce

        announce(records.verification_key, sys.stdout)

    async def main() -> int:
        with AnalysisPool() as pool:
            window = await open_trainer(
                scenario, pool, records, args.trainee, args.speed, trainer=str(signed_in)
            )
            await window.closed
            # Stop the player before the pool and the loop go: nothing left running.
            await window.player.close()
        return 0

    with loop:
        try:
            return loop.run_until_complete(main())
        finally:
            records.close()
