"""``python -m console audit verify|show``: the record checked, or printed, as it is on
disk: never created, never repaired.

verify exits 0 only when nothing is wrong **and** every seal was checked with the
verification key; 3 when nothing is wrong but the seals could not be checked (no key
given: said plainly, with what that leaves undetected); 1 when the record is broken
(the first problem first); 2 when there is no record or it cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.config import record_dir
from console.storage import StorageError
from console.storage.database import Database, open_existing
from console.storage.heads import Head
from console.storage.sealing import VerificationKey
from console.storage.verification import AuditReport, NoRecord, verify_folder
from console.storage.witness import read_witness_log

UNVERIFIED = 3


def add_arguments(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser("audit", help="the audit trail")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser(
        "verify",
        help="check the record: every seal (with --verify-key), the sealed head, the "
        "safeguard triggers, every alert, decision, count and account against its audit "
        "entry, and (with --witness-log) every head the witness saw",
    )
    verify.add_argument(
        "--verify-key",
        metavar="KEY",
        help="the record's verification key as shown when it was created (lfr1-...), "
        "@FILE to read it from a file (e.g. on removable media), or - for stdin",
    )
    verify.add_argument(
        "--witness-log",
        type=Path,
        metavar="FILE",
        help="the witness's file (the log collector's): finds a rollback, truncation, "
        "emptying or replacement of the record",
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SEQ:MAC",
        help="an audit head kept outside (e.g. printed on a deployment record); repeatable",
    )
    show = sub.add_parser("show", help="print the audit trail")
    for command in (verify, show):
        command.add_argument("--data-dir", type=Path, help="the data directory given to run")
        command.add_argument(
            "--sample",
            action="store_true",
            help="the bundled sample deployment's record (kept in a 'sample' folder of the "
            "data directory)",
        )


def verification_key(text: str | None) -> VerificationKey | None:
    """--verify-key's value: the key, @FILE or - (stdin); StorageError if it is not one."""
    if text is None:
        return None
    if text == "-":
        text = sys.stdin.readline()
    elif text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="ascii", errors="replace")[:4096]
        except OSError as exc:
            raise StorageError(f"cannot read the verification key {text[1:]}: {exc}") from exc
    try:
        return VerificationKey.parse(text)
    except ValueError as exc:
        raise StorageError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    folder = record_dir(args.data_dir, args.sample)
    db_path = Database.path_in(folder)
    try:
        if args.audit_command == "show":
            return _show(folder, db_path)
        anchors = [Head.parse(a) for a in args.anchor]
        vk = verification_key(args.verify_key)
        witness = None
        if args.witness_log is not None:
            try:
                witness = read_witness_log(args.witness_log)
            except OSError as exc:
                raise StorageError(
                    f"cannot read the witness log {args.witness_log}: {exc}"
                ) from exc
        report = verify_folder(folder, anchors, verify_key=vk, witness=witness)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:  # NoRecord included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _print(report, db_path, witness is not None)


def _show(folder: Path, db_path: Path) -> int:
    if not db_path.exists():
        raise NoRecord.at(folder)
    conn = open_existing(db_path)
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(audit)")}
        epoch = "epoch" if "epoch" in columns else "NULL"  # a record from before sealing
        rows = conn.execute(
            f"SELECT seq, at, actor, action, details, {epoch} FROM audit ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    for seq, at, actor, action, details, epoch in rows:
        sealed = f"[e{epoch}]" if epoch is not None else "[unsealed]"
        print(f"{seq:6d} {at} {sealed} {actor}: {action} {details}")
    return 0


def _print(report: AuditReport, db_path: Path, witnessed: bool) -> int:
    if not report.intact:
        print(f"audit trail BROKEN: {report.first_problem} ({db_path})")
        for problem in report.problems[1:10]:
            print(f"  also: {problem}")
        if len(report.problems) > 10:
            print(f"  and {len(report.problems) - 10} more problems")
        _witness_line(report, witnessed)
        return 1
    head = f", head {report.head}" if report.head else ""
    record = f", record {report.record_id}" if report.record_id else ""
    if report.sealed_checked:
        print(
            f"audit trail intact: {report.entries} entries{head}{record}; every seal "
            f"checked with the verification key ({db_path})"
        )
    else:
        print(f"audit trail consistent: {report.entries} entries{head}{record} ({db_path})")
        print("NOT VERIFIED: the seals were not checked against the verification key.")
    _witness_line(report, witnessed)
    for note in report.unchecked:
        print(f"  not checked: {note}")
    return 0 if report.sealed_checked else UNVERIFIED


def _witness_line(report: AuditReport, witnessed: bool) -> None:
    if not witnessed:
        return
    if report.witnessed is None:
        print("witness: the log holds no head of this record")
        return
    w = report.witnessed
    state = "the record reaches it" if report.intact else "see above"
    print(f"witness: the last head it saw is entry {w.seq} ({w.seq}:{w.mac}), sent {w.at}; "
          f"{state}")
