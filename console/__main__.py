"""The LFR console: python -m console COMMAND (run, officer, policy, report, evaluate,
evaluate-matcher, uat, train, audit, watchlist, replay); python -m console COMMAND --help
for its options.

Long commands (replay, uat, train, watchlist) show a progress line on stderr when it is a
terminal; --quiet turns it off."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from dataclasses import replace
from pathlib import Path

from console import audit_cli, officer_cli
from console.config import (
    DEFAULT_FALSE_ALERT_RATE,
    SAMPLE_DEPLOYMENT,
    ConfigError,
    DeploymentPlan,
    data_dir,
    load_plan,
    record_dir,
)
from console.domain.deployments import SafeguardError
from console.domain.policy import FalseAlertRate, OperatingPointError
from console.domain.watchlist import WatchlistError
from console.equality import cli as equality_cli
from console.reports import cli as reports_cli
from console.storage import StorageError
from console.training import trainer, uat
from console.vision.operating_point import threshold_for
from console.vision.sources import SourceError, SourceSpec


def _camera(text: str) -> SourceSpec:
    try:
        return SourceSpec.parse(text, Path.cwd())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m console",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="open the console window on a deployment")
    run.add_argument(
        "--deployment",
        type=Path,
        default=SAMPLE_DEPLOYMENT,
        help="deployment file (TOML); default: the bundled sample deployment",
    )
    run.add_argument(
        "--camera",
        action="append",
        type=_camera,
        default=[],
        metavar="NAME=SOURCE",
        help="add or replace a camera: a video file, an rtsp:// or http:// URL, "
        "or a webcam index (repeatable)",
    )
    run.add_argument("--watchlist", type=Path, help="watchlist folder (overrides the file)")
    run.add_argument(
        "--false-alert-rate",
        type=_rate,
        metavar="'1 in N'",
        help="at most one false alert in N passers-by (overrides the file; the site "
        "policy's loosest still applies)",
    )
    run.add_argument("--data-dir", type=Path, help="where the record (SQLite) is kept")
    _engine_arguments(run)

    officer_cli.add_arguments(commands)

    policy = commands.add_parser(
        "policy", help="the site policy: the safeguards no plan can loosen (an admin sets it)"
    )
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_commands.add_parser("show", help="print the policy in force").add_argument(
        "--data-dir", type=Path
    )
    change = policy_commands.add_parser("set", help="change settings: an admin signs in")
    change.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    change.add_argument("--admin", metavar="USERNAME", required=True)
    change.add_argument(
        "--password-stdin", action="store_true", help="read the admin's password from stdin"
    )
    change.add_argument("--data-dir", type=Path)

    reports_cli.add_arguments(commands)
    matcher_check = commands.add_parser(
        "evaluate-matcher", help=equality_cli.HELP, description=equality_cli.__doc__
    )
    equality_cli.add_arguments(matcher_check)

    uat_parser = commands.add_parser("uat", help=uat.HELP, description=uat.__doc__)
    uat.add_arguments(uat_parser)
    train_parser = commands.add_parser("train", help=trainer.HELP, description=trainer.__doc__)
    trainer.add_arguments(train_parser)

    audit_cli.add_arguments(commands)

    watchlist = commands.add_parser(
        "watchlist", help="check a watchlist folder: enrol every image, list rejected rows"
    )
    watchlist.add_argument("folder", type=Path)
    watchlist.add_argument(
        "--false-alert-rate", type=_rate, default=DEFAULT_FALSE_ALERT_RATE, metavar="'1 in N'",
        help="the operating point the photo report's expected shares are for (default 1 in "
        "1,000 passers-by)",
    )

    replay = commands.add_parser("replay", help="run the pipeline headless on video files")
    replay.add_argument(
        "--camera", action="append", type=_camera, required=True, metavar="NAME=PATH"
    )
    replay.add_argument("--watchlist", type=Path, required=True)
    replay.add_argument(
        "--false-alert-rate",
        type=_rate,
        default=DEFAULT_FALSE_ALERT_RATE,
        metavar="'1 in N'",
        help="the operating point (default 1 in 1,000 passers-by); the match distance "
        "follows from it and the watchlist's size",
    )
    replay.add_argument(
        "--threshold", type=float, help="a fixed match distance instead (expert use)"
    )
    replay.add_argument(
        "--analyses-per-second",
        type=float,
        default=5.0,
        help="frames analysed per second of video (default 5)",
    )
    replay.add_argument("--out", type=Path, help="write alerts here (JSON lines); default stdout")
    _engine_arguments(replay)
    replay.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="CAMERA=LABEL",
        help="run a camera on the Ray node labelled LABEL (ray start --labels "
        "lfr-node=LABEL); repeatable",
    )
    for long_command in (uat_parser, train_parser, watchlist, replay, matcher_check):
        # SUPPRESS: an absent --quiet after the command leaves one given before it.
        long_command.add_argument(
            "--quiet",
            action="store_true",
            default=argparse.SUPPRESS,
            help="no progress line on stderr (there is none when stderr is not a terminal)",
        )
    return parser


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=None,
        help="where the cameras are analysed: local (this computer's pool, the default) "
        "or ray (a Ray cluster; docs/cluster.md)",
    )
    parser.add_argument(
        "--ray-address", metavar="HOST:PORT", help="the Ray cluster's head (its GCS port)"
    )
    parser.add_argument(
        "--ray-token-file",
        type=Path,
        metavar="FILE",
        help="the cluster's token (a 0600 file); default $RAY_AUTH_TOKEN_PATH",
    )


def main(argv: list[str] | None = None) -> int:
    # Every file the console writes (the record, exports, PDFs, settings) is its user's
    # alone, whatever the shell's umask; the modules that write them also set 0600.
    os.umask(0o077)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    if args.quiet:
        from console.progress import set_quiet

        set_quiet()
    try:
        if args.command == "replay":
            return _replay(args)
        if args.command == "watchlist":
            return _check_watchlist(args)
        if args.command == "evaluate-matcher":
            return _evaluate_matcher(args)
        if args.command == "officer":
            return officer_cli.run(args)
        if args.command == "audit":
            return audit_cli.run(args)
        if args.command == "policy":
            return _policy(args)
        if args.command in reports_cli.COMMANDS:
            return reports_cli.run(args)
        if args.command == "uat":
            return uat.run(args)
        if args.command == "train":
            return trainer.run(args)
        return _run(args)
    except (ConfigError, WatchlistError, SourceError, StorageError, SafeguardError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from console.engine import EngineError

        if not isinstance(exc, EngineError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _policy(args: argparse.Namespace) -> int:
    """Show the site policy, or change it after an admin signs in (audited)."""
    from console.domain.officers import PermissionDenied
    from console.storage.database import Database
    from console.storage.verification import NoRecord

    folder = data_dir(args.data_dir)
    if not Database.path_in(folder).exists():
        raise NoRecord(f"no record at {folder}")
    store = officer_cli.open_store(folder)  # (a record from before sealing shows its new key)
    try:
        if args.policy_command == "set":
            settings = dict(_setting(text) for text in args.settings)
            admin = store.officers.authenticate(
                args.admin,
                officer_cli.Passwords(args.password_stdin).existing(
                    f"password for admin {args.admin}: "
                ),
                officer_cli.terminal_source(),
            )
            store.policy.change(admin, **settings)
        for key, value in store.policy.current().to_mapping().items():
            print(f"{key} = {value}")
    except PermissionDenied as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"settings are KEY=VALUE, not {text!r}")
    return key.strip(), value.strip()


def _rate(text: str) -> FalseAlertRate:
    try:
        return FalseAlertRate.parse(text)
    except OperatingPointError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run(args: argparse.Namespace) -> int:
    from console.qt.app import run_console

    plan: DeploymentPlan = load_plan(args.deployment).with_cameras(args.camera)
    if args.watchlist:
        plan = replace(plan, watchlist=args.watchlist.resolve())
    check_sample_sources(plan, args.deployment)
    if args.false_alert_rate is not None:
        plan = replace(plan, false_alert_rate=args.false_alert_rate)
    if not plan.cameras:
        raise ConfigError("no cameras: give --camera NAME=SOURCE or a deployment file with cameras")
    engine = _engine_settings(args, plan)
    plan = replace(
        plan,
        engine=engine.kind,
        ray_address=engine.address,
        ray_token_file=engine.token_file,
        placements=engine.placements,
    )
    if engine.kind == "ray":
        from console.engine.ray_backend import preflight

        # A cluster that cannot be reached or refuses the token is said before the window
        # opens (within seconds); the actors start only when the deployment does.
        preflight(engine)
    folder = record_folder(plan, args.deployment, args.data_dir)
    writable_data_folder(folder)
    return run_console(plan, folder)


def check_sample_sources(plan: DeploymentPlan, plan_file: Path) -> None:
    """The bundled sample runs only on its own videos and watchlist: its accounts and
    passwords are published, so a real camera or a real watchlist under it would be a
    deployment anyone could sign in to."""
    if not plan.sample:
        return
    bundled = load_plan(SAMPLE_DEPLOYMENT)
    own = {c.camera: (c.kind, c.location) for c in bundled.cameras}
    foreign = [
        c.camera for c in plan.cameras if own.get(c.camera) != (c.kind, c.location)
    ]
    problems = []
    if foreign:
        problems.append(f"camera {', '.join(foreign)} is not one of its sample videos")
    if Path(plan.watchlist).resolve() != Path(bundled.watchlist).resolve():
        problems.append(f"the watchlist {plan.watchlist} is not its sample watchlist")
    if problems:
        raise ConfigError(
            f"the sample deployment ({plan_file}) runs only on its own sample videos and "
            f"watchlist: {'; '.join(problems)}. Its accounts and passwords are published: "
            "plan a deployment of your own (docs/supervisor.md) for real cameras or a real "
            "watchlist"
        )


def writable_data_folder(folder: Path) -> None:
    """A clear refusal, before any window opens, when the record cannot be written."""
    from console.storage.files import check_writable

    check_writable(folder)


def record_folder(plan: DeploymentPlan, plan_file: Path, override: Path | None) -> Path:
    """Where a run keeps its record. The bundled sample (and only the bundled file, whatever
    another plan says of itself) keeps its own record in a ``sample`` folder of the data
    directory, ``--data-dir`` included: its published sample accounts are seeded there and
    never into the data directory itself."""
    if plan.sample and Path(plan_file).resolve() != SAMPLE_DEPLOYMENT.resolve():
        raise ConfigError(
            f"{plan_file} says it is the sample deployment; only the bundled sample is"
        )
    return record_dir(override, plan.sample)


def _evaluate_matcher(args: argparse.Namespace) -> int:
    """Per-group FNIR and FPIR on a force's labelled faces (docs/equality.md)."""
    return equality_cli.run(args)


def _check_watchlist(args: argparse.Namespace) -> int:
    import time

    from console.progress import ProgressLine
    from console.vision.enrolment import enrol_watchlist
    from console.vision.pool import AnalysisPool

    started = time.monotonic()
    line = ProgressLine("enrolling watchlist", 0, unit="images")
    with AnalysisPool() as pool:
        try:
            watchlist = enrol_watchlist(args.folder, line.update, pool)
        finally:
            line.finish()
    print(
        f"watchlist {args.folder}: {len(watchlist)} subjects accepted "
        f"in {time.monotonic() - started:.1f} s"
    )
    _print_photo_report(watchlist, args.false_alert_rate)
    return 0


def _print_photo_report(watchlist, rate) -> None:  # noqa: ANN001 (issue 24)
    """Each subject's photo quality and expected share found, one photo against two;
    those a second photo would help most first."""
    from console.vision.enrolment_quality import second_photo_candidates, watchlist_report

    threshold = threshold_for(rate, len(watchlist))
    print(f"photos, at {rate} passers-by (match distance {threshold:.3f}):")
    for outlook in watchlist_report(watchlist, threshold):
        print(f"  {outlook.describe()}")
    helped = [o for o in second_photo_candidates(watchlist, threshold) if o.gain >= 0.03]
    if helped:
        print("a second photo would help most: " + ", ".join(
            f"{o.subject_id} (+{o.gain:.0%})" for o in helped[:10]))


def _engine_settings(args: argparse.Namespace, plan: DeploymentPlan | None = None):  # noqa: ANN202
    """The engine from the command line over the plan's (engine, ray_address,
    ray_token_file, a camera's node)."""
    from console.engine import EngineSettings, Placement

    placements = dict(plan.placements) if plan is not None else {}
    for text in getattr(args, "node", []):
        camera, sep, label = text.partition("=")
        if not sep or not camera.strip() or not label.strip():
            raise ConfigError(f"--node takes CAMERA=LABEL, not {text!r}")
        placements[camera.strip()] = Placement(label.strip())
    return EngineSettings(
        kind=args.engine or (plan.engine if plan is not None else "local"),
        address=args.ray_address or (plan.ray_address if plan is not None else None),
        token_file=args.ray_token_file or (plan.ray_token_file if plan is not None else None),
        placements=placements,
    )


def _replay(args: argparse.Namespace) -> int:
    from console.engine import open_engine
    from console.progress import ProgressLine, video_frames
    from console.replay import write_alerts
    from console.vision.enrolment import enrol_watchlist
    from console.vision.pool import AnalysisPool

    for spec in args.camera:
        if spec.kind != "file":
            raise ConfigError(f"replay takes video files; {spec.camera} is a {spec.kind}")
    settings = _engine_settings(args)
    if settings.kind == "local" and args.node:
        raise ConfigError("--node places cameras on a Ray cluster's nodes: add --engine ray")
    # A cluster that cannot be reached or refuses the token is reported before enrolling.
    engine = open_engine(settings) if settings.kind == "ray" else None
    with AnalysisPool() as pool, contextlib.ExitStack() as stack:
        if engine is not None:
            stack.callback(engine.close)
        watchlist = enrol_watchlist(args.watchlist, pool=pool)
        threshold = args.threshold
        if threshold is None:
            threshold = threshold_for(args.false_alert_rate, len(watchlist))
        elif not (math.isfinite(threshold) and 0 < threshold <= 1):
            raise ConfigError(f"--threshold must be in (0, 1], not {threshold}")
        line = ProgressLine("replaying", sum(video_frames(c.location) for c in args.camera))
        try:
            alerts, summary = (engine or open_engine(settings, pool)).replay(
                args.camera, watchlist, threshold, args.analyses_per_second, line.advance
            )
        finally:
            line.finish()
    if args.out:
        with args.out.open("w") as out:
            write_alerts(alerts, out)
    else:
        write_alerts(alerts, sys.stdout)
    print("\n".join(summary.lines()), file=sys.stderr if not args.out else sys.stdout)
    print(
        json.dumps({k: v for k, v in vars(summary).items() if k not in ("cameras", "receipt")}),
        file=sys.stderr if not args.out else sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
