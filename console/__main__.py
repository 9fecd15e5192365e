"""Command line: ``python -m console run|replay|uat|train|watchlist|officer|audit``."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from console import train, uat
from console.config import (
    DEFAULT_THRESHOLD,
    SAMPLE_DEPLOYMENT,
    ConfigError,
    DeploymentPlan,
    data_dir,
    load_plan,
)
from console.domain.officers import Role
from console.domain.watchlist import WatchlistError
from console.reports import cli as reports_cli
from console.storage import StorageError
from console.vision.sources import SourceError, SourceSpec


def _camera(text: str) -> SourceSpec:
    try:
        return SourceSpec.parse(text, Path.cwd())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

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
    run.add_argument("--threshold", type=float, help="match threshold (overrides the file)")
    run.add_argument("--data-dir", type=Path, help="where the record (SQLite) is kept")

    officer = commands.add_parser("officer", help="manage officer accounts")
    officer_commands = officer.add_subparsers(dest="officer_command", required=True)
    add = officer_commands.add_parser("add", help="add an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 'PC 4821 Ward'")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--data-dir", type=Path)

    reports_cli.add_arguments(commands)

    uat.add_arguments(commands.add_parser("uat", help=uat.HELP, description=uat.__doc__))
    train.add_arguments(commands.add_parser("train", help=train.HELP, description=train.__doc__))

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="check the hash chain of the audit trail")
    verify.add_argument("--data-dir", type=Path)
    show = audit_commands.add_parser("show", help="print the audit trail")
    show.add_argument("--data-dir", type=Path)

    watchlist = commands.add_parser(
        "watchlist", help="check a watchlist folder: enrol every image, list rejected rows"
    )
    watchlist.add_argument("folder", type=Path)

    replay = commands.add_parser("replay", help="run the pipeline headless on video files")
    replay.add_argument(
        "--camera", action="append", type=_camera, required=True, metavar="NAME=PATH"
    )
    replay.add_argument("--watchlist", type=Path, required=True)
    replay.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    replay.add_argument(
        "--analyses-per-second",
        type=float,
        default=5.0,
        help="frames analysed per second of video (default 5)",
    )
    replay.add_argument("--out", type=Path, help="write alerts here (JSON lines); default stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        if args.command == "replay":
            return _replay(args)
        if args.command == "watchlist":
            return _check_watchlist(args)
        if args.command == "officer":
            return _add_officer(args)
        if args.command == "audit":
            return _audit(args)
        if args.command in reports_cli.COMMANDS:
            return reports_cli.run(args)
        if args.command == "uat":
            return uat.run(args)
        if args.command == "train":
            return train.run(args)
        return _run(args)
    except (ConfigError, WatchlistError, SourceError, StorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from console.qt.app import run_console

    plan: DeploymentPlan = load_plan(args.deployment).with_cameras(args.camera)
    if args.watchlist:
        plan = replace(plan, watchlist=args.watchlist.resolve())
    if args.threshold is not None:
        plan = replace(plan, threshold=args.threshold)
    if not plan.cameras:
        raise ConfigError("no cameras: give --camera NAME=SOURCE or a deployment file with cameras")
    return run_console(plan, data_dir(args.data_dir, sample=plan.sample))


def _add_officer(args: argparse.Namespace) -> int:
    from console.storage import Store

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    store = Store.in_dir(data_dir(args.data_dir))
    officer = store.officers.add(
        args.username,
        args.name,
        Role(args.role),
        password,
        by=f"{getpass.getuser()} (command line)",
    )
    print(f"added {officer} to {store.path}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from console.storage import Store

    store = Store.in_dir(data_dir(args.data_dir))
    if args.audit_command == "show":
        for e in store.audit.entries():
            print(f"{e.seq:6d} {e.at} {e.actor}: {e.action} {json.dumps(e.details)}")
        return 0
    report = store.audit.verify()
    if report.intact:
        print(f"audit trail intact: {report.entries} entries ({store.path})")
        return 0
    print(f"audit trail BROKEN: {report.first_problem} ({store.path})")
    return 1


def _check_watchlist(args: argparse.Namespace) -> int:
    import time

    from console.vision.enrolment import enrol_watchlist
    from console.vision.pool import AnalysisPool

    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(
            f"\renrolled {done}/{total} images ({time.monotonic() - started:.1f} s)",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    with AnalysisPool() as pool:
        watchlist = enrol_watchlist(args.folder, progress, pool)
    print(
        f"watchlist {args.folder}: {len(watchlist)} subjects accepted "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from console.replay import replay, write_alerts
    from console.vision.enrolment import enrol_watchlist
    from console.vision.pool import AnalysisPool

    for spec in args.camera:
        if spec.kind != "file":
            raise ConfigError(f"replay takes video files; {spec.camera} is a {spec.kind}")
    with AnalysisPool() as pool:
        watchlist = enrol_watchlist(args.watchlist, pool=pool)
        alerts, summary = replay(
            args.camera, watchlist, pool, args.threshold, args.analyses_per_second
        )
    if args.out:
        with args.out.open("w") as out:
            write_alerts(alerts, out)
    else:
        write_alerts(alerts, sys.stdout)
    print("\n".join(summary.lines()), file=sys.stderr if not args.out else sys.stdout)
    print(
        json.dumps({k: v for k, v in vars(summary).items() if k != "cameras"}),
        file=sys.stderr if not args.out else sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
