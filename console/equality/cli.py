"""The per-group evaluation of the console's matcher on a force's own labelled faces:
FNIR and FPIR per group and operating point, with intervals over people, whether groups
differ, and the report for the approval pack (docs/equality.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.equality.evaluator import OFFERED_RATES, WATCHLIST_SIZES
from console.equality.testset import TestSetError

HELP = "per-group FNIR and FPIR of the matcher on a labelled test set (approval pack)"


def _numbers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace("_", "").split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: whole numbers separated by commas") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: whole numbers of at least 1")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test-set", type=Path, required=True, metavar="DIR",
                        help="DIR/<person>/*.jpg (the first by name is enrolled) and "
                        "DIR/people.csv (person, then one column per group attribute)")
    parser.add_argument("--people", type=Path, metavar="FILE",
                        help="people.csv kept elsewhere (default DIR/people.csv)")
    parser.add_argument("--photos", type=Path, metavar="FILE",
                        help="photos.csv: attributes of single photos (default "
                        "DIR/photos.csv when present)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every figure as JSON")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the report as HTML")
    parser.add_argument("--pdf", type=Path, metavar="FILE", help="write the report as PDF")
    parser.add_argument("--raw", type=Path, metavar="FILE",
                        help="write every search, frame by frame (nearest subject, distance), "
                        "as JSON lines: to recompute any figure independently")
    parser.add_argument("--rates", type=_numbers, default=list(OFFERED_RATES), metavar="N,N",
                        help="false-alert rates, as N of '1 in N' (default: those the "
                        "deployment bar offers)")
    parser.add_argument("--watchlist-sizes", type=_numbers, default=list(WATCHLIST_SIZES),
                        metavar="N,N", help="watchlist sizes (default 1,20,100,1000)")


def run(args: argparse.Namespace) -> int:
    from console.equality import report as reports
    from console.equality.evaluator import evaluate, observe
    from console.equality.testset import load_test_set
    from console.progress import ProgressLine
    from console.vision.operating_point import FalseAlertRate
    from console.vision.pool import AnalysisPool

    try:
        for one_in in args.rates:
            FalseAlertRate(one_in)
        test_set = load_test_set(args.test_set, args.people, args.photos)
        line = ProgressLine("walking the test set past the camera", 0, unit="photos")
        with AnalysisPool() as pool:
            try:
                observed = observe(test_set, pool, line.update)
            finally:
                line.finish()
        line = ProgressLine("judging searches", 0, unit="watchlist sizes")
        try:
            ev = evaluate(observed, args.rates, args.watchlist_sizes,
                          keep_frames=args.raw is not None, progress=line.update)
        finally:
            line.finish()
    except (TestSetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = reports.report_dict(ev)
    for sentence in data["summary"]:
        print(sentence)
    try:
        if args.json:
            reports.write_json(data, args.json)
        if args.html:
            reports.write_html(data, args.html)
        if args.pdf:
            reports.write_pdf(data, args.pdf)
        if args.raw:
            with args.raw.open("w", encoding="utf-8") as out:
                for run_ in ev.runs.values():
                    for s in run_.searches:
                        out.write(json.dumps({
                            "watchlist_size": s.size, "round": s.round, "person": s.person,
                            "photo": s.photo, "mated": s.mated,
                            "alert_distance": None if s.alert_distance == float("inf")
                            else s.alert_distance,
                            "frames": [[n, None if d == float("inf") else d]
                                       for n, d in s.frames],
                        }) + "\n")
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in (args.json, args.html, args.pdf, args.raw):
        if path:
            print(f"wrote {path}")
    return 0
