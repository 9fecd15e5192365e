"""Command line: ``python -m console report REFERENCE`` and ``python -m console evaluate``.

``add_arguments`` adds both commands to the console's sub-command parser; ``run`` runs
the one chosen. Without an output file the figures are printed; ``--pdf``, ``--csv`` and
``--json`` write the files (and the figures are still printed).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from console.config import record_dir
from console.reports import export
from console.reports.evaluation import evaluate
from console.reports.integrity import Integrity
from console.reports.record import ReportError, deployment_record
from console.storage import StorageError
from console.storage.database import Database
from console.storage.reader import RecordReader
from console.storage.verification import NoRecord, verify_folder

COMMANDS = ("report", "evaluate")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="where the record (SQLite) is kept"
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help="the bundled sample deployment's record (its own folder in the data directory)",
    )
    parser.add_argument("--pdf", type=Path, metavar="FILE", help="write the report as PDF")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the figures as CSV")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    parser.add_argument(
        "--verify-key",
        metavar="KEY",
        help="also check every seal with the record's verification key (as `audit verify`)",
    )
    parser.add_argument(
        "--even-if-broken",
        action="store_true",
        help="print the figures of a record that failed verification, under a warning that "
        "says so (without it, such a record is not reported)",
    )


def add_arguments(commands: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``evaluate`` to the console's sub-commands."""
    report = commands.add_parser(
        "report", help="a deployment's record: the figures, as text, PDF, CSV or JSON"
    )
    report.add_argument("reference", help="the deployment's reference")
    _outputs(report)
    evaluation = commands.add_parser(
        "evaluate", help="the figures of the deployments of a period and site, summed"
    )
    evaluation.add_argument("--since", type=_date, metavar="DATE", help="first day (YYYY-MM-DD)")
    evaluation.add_argument("--until", type=_date, metavar="DATE", help="last day (YYYY-MM-DD)")
    evaluation.add_argument("--site", metavar="TEXT", help="only sites containing TEXT (any case)")
    _outputs(evaluation)


def run(args: argparse.Namespace) -> int:
    """Run ``report`` or ``evaluate``; return the exit code (1: the record failed
    verification and nothing was reported; 2: the report cannot be made).

    The record is verified first, as it is on disk. An intact record is opened as the
    console opens it (its figures are kept in the audit trail); a broken one is reported
    only with --even-if-broken, read as it is, under the failure's banner, keeping
    nothing."""
    from console.audit_cli import verification_key
    from console.officer_cli import open_store

    by = f"{getpass.getuser()} (command line)"
    try:
        folder = record_dir(args.data_dir, args.sample)
        if not Database.path_in(folder).exists():
            raise NoRecord.at(folder)  # not an empty record made at a mistyped folder
        checked = verify_folder(
            folder, verify_key=verification_key(args.verify_key), training=False
        )
        integrity = Integrity.of(checked)
        if not integrity.intact and not args.even_if_broken:
            print(f"error: {integrity.refusal()}", file=sys.stderr)
            return 1
        store = open_store(folder) if integrity.intact else RecordReader(folder)
        try:
            if args.command == "report":
                return _report(store, args, by, integrity)
            return _evaluate(store, args, by, integrity)
        finally:
            store.close()
    except (ReportError, StorageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _report(store, args: argparse.Namespace, by: str, integrity: Integrity) -> int:  # noqa: ANN001
    record = deployment_record(
        store, args.reference, keep=integrity.intact, by=by, integrity=integrity
    )
    print(export.record_text(record), end="")

    def pdf(path: Path) -> None:
        from console.reports.pdf import write_record_pdf  # Qt only when a PDF is asked for

        write_record_pdf(record, path)

    _write(args.pdf, pdf)
    _write(args.csv, lambda p: export.write_text(p, export.record_csv(record)))
    _write(args.json, lambda p: export.write_text(p, export.record_json(record)))
    return 0


def _evaluate(store, args: argparse.Namespace, by: str, integrity: Integrity) -> int:  # noqa: ANN001
    ev = evaluate(
        store, args.since, args.until, args.site, keep=integrity.intact, by=by,
        integrity=integrity,
    )
    print(export.evaluation_text(ev), end="")

    def pdf(path: Path) -> None:
        from console.reports.pdf import write_evaluation_pdf

        write_evaluation_pdf(ev, path)

    _write(args.pdf, pdf)
    _write(args.csv, lambda p: export.write_text(p, export.evaluation_csv(ev)))
    _write(args.json, lambda p: export.write_text(p, export.evaluation_json(ev)))
    return 0


def _write(path: Path | None, write: Callable[[Path], None]) -> None:
    if path is not None:
        write(path)
        print(f"wrote {path}")
