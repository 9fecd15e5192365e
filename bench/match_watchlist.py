"""Watchlist-scale benchmark: matching one face against 10,000 subjects, importing 1,000.

Part 1 times ``console.vision.matcher.Matcher.match``: one probe against a 10,000-subject
watchlist. The gallery is synthetic but shaped like real dlib encodings (see
``synthetic_gallery``), with the real enrolment of a sample subject planted in it, so the
call takes the same path as in the console (the probe matches).

Part 2 times ``console.vision.enrolment.enrol_watchlist`` on a 1,000-image watchlist built
in bench/results/ (git-ignored) from the internal development face set
(``../shared/facedata/dev``; skipped, saying so, when it is not there). The console
refuses a whole watchlist if any row fails, so the first run reports the rejected rows;
they are dropped and the import is timed again on the rows it accepts. It runs the way
the console imports (on the analysis pool, ``pool=``) and, for comparison, in the calling
thread (no pool), unless ``--enrol`` says otherwise.

    .venv/bin/python bench/match_watchlist.py [--subjects 10000] [--images 1000]

The last line of stdout is one JSON object (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import (
    REPO,
    RESULTS,
    SAMPLES,
    TreeMonitor,
    emit_json,
    percentile,
    quiet_pkg_resources_warning,
)

if str(REPO) not in sys.path:  # run as a script from anywhere: find the console
    sys.path.insert(0, str(REPO))

FACEDATA = REPO.parent / "shared" / "facedata" / "dev"
EMBEDDING_DIM = 128


# -- part 1: matching ---------------------------------------------------------------------
def real_encodings() -> tuple[Any, dict[str, np.ndarray], list[np.ndarray]]:
    """The sample watchlist enrolled by the console, probes, and every real encoding.

    Probes are photos of the sample subjects other than their watchlist photos (the faces
    walking past the sample cameras), enrolled the console's way.
    """
    from console.domain.watchlist import WatchlistEntry, WatchlistSubject
    from console.vision.enrolment import enrol_image, enrol_watchlist

    sample = enrol_watchlist(SAMPLES / "watchlist")
    images = SAMPLES / "source_images"
    probes: dict[str, np.ndarray] = {}
    everyone = [s.encoding for s in sample.subjects]
    for name in ("obama2.jpg", "obama3.jpg", "biden.jpg", "grace_hopper.jpg", "messi5.jpg"):
        path = images / name
        if not path.is_file():
            continue
        result = enrol_image(WatchlistEntry(0, name, name, "probe", path))
        if isinstance(result, WatchlistSubject):
            probes[name] = result.encoding
            everyone.append(result.encoding)
    return sample, probes, everyone


def synthetic_gallery(real: list[np.ndarray], size: int, seed: int = 0) -> np.ndarray:
    """*size* encodings distributed like real faces of different people.

    Real dlib encodings share a common offset (each dimension has a typical mean) and
    differ from person to person by roughly independent per-dimension noise. We take the
    offset as the mean of the real encodings and pick the noise so that two synthetic
    people are as far apart as two real different people are: for isotropic noise of
    standard deviation s, the expected distance is s * sqrt(2 * 128).
    """
    stacked = np.stack(real).astype(np.float64)
    centre = stacked.mean(axis=0)
    pairs = [float(np.linalg.norm(a - b)) for i, a in enumerate(stacked) for b in stacked[i + 1 :]]
    # Probes of the same person sit below 0.5; take the median of all pairs, mostly
    # different people, as the typical between-person distance (about 0.8 for dlib).
    spread = float(np.median(pairs)) / np.sqrt(2 * EMBEDDING_DIM)
    rng = np.random.default_rng(seed)
    return centre + rng.normal(0.0, spread, size=(size, EMBEDDING_DIM))


def build_watchlist(sample: Any, gallery: np.ndarray, seed: int = 0) -> tuple[Any, int]:
    """A Watchlist of the synthetic subjects with the sample's first subject planted in it."""
    from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject

    photo = np.zeros((8, 8, 3), dtype=np.uint8)  # the matcher never looks at photos
    subjects = [
        WatchlistSubject(
            WatchlistEntry(i + 1, f"SYN-{i:05d}", f"Synthetic {i}", "synthetic", Path("none")),
            encoding,
            photo,
        )
        for i, encoding in enumerate(gallery)
    ]
    planted_at = random.Random(seed).randrange(len(subjects))
    subjects[planted_at] = sample.subjects[0]
    return Watchlist(Path("synthetic"), subjects), planted_at


def time_calls(fn: Callable[[], Any], calls: int, warmup: int = 100) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - started) / 1000)  # microseconds
    return times


def bench_matcher(subjects: int, calls: int, threshold: float) -> dict[str, Any]:
    from console.vision.matcher import Matcher

    print(f"== part 1: one probe against {subjects:,} watchlist encodings (Matcher.match) ==")
    sample, probes, everyone = real_encodings()
    gallery = synthetic_gallery(everyone, subjects)
    watchlist, planted_at = build_watchlist(sample, gallery)
    started = time.perf_counter()
    matcher = Matcher(watchlist, threshold)
    build_ms = (time.perf_counter() - started) * 1000
    target = sample.subjects[0]
    print(
        f"  gallery: {len(watchlist):,} subjects, {watchlist.encodings.dtype} "
        f"{watchlist.encodings.shape}; real subject {target.subject_id} planted at index "
        f"{planted_at}; Matcher built in {build_ms:.1f} ms"
    )
    result: dict[str, Any] = {
        "subjects": len(watchlist),
        "calls": calls,
        "matcher_build_ms": round(build_ms, 2),
    }
    probe_name = "obama2.jpg" if "obama2.jpg" in probes else next(iter(probes), None)
    if probe_name is None:
        raise SystemExit("no probe image could be enrolled from sample_streams/source_images")
    cases = {"match": probes[probe_name]}
    stranger = next((probes[n] for n in ("biden.jpg", "grace_hopper.jpg") if n in probes), None)
    if stranger is not None:
        cases["no_match"] = stranger
    for case, probe in cases.items():
        candidate = matcher.nearest(probe)
        assert candidate is not None
        synthetic_only = np.linalg.norm(gallery - probe, axis=1)
        synthetic_only[planted_at] = np.inf
        times = time_calls(lambda p=probe: matcher.match(p), calls)
        figures = {
            "median_us": round(float(np.median(times)), 1),
            "p95_us": round(percentile(times, 95) or 0.0, 1),
            "p99_us": round(percentile(times, 99) or 0.0, 1),
            "max_us": round(max(times), 1),
            "nearest": candidate.subject.subject_id,
            "nearest_distance": round(candidate.distance, 4),
            "nearest_synthetic_distance": round(float(synthetic_only.min()), 4),
        }
        result[case] = figures
        verdict = "match" if candidate.distance <= threshold else "no match"
        print(
            f"  probe {probe_name if case == 'match' else 'a passer-by'} ({case}): median "
            f"{figures['median_us']:.1f} us, p95 {figures['p95_us']:.1f} us, p99 "
            f"{figures['p99_us']:.1f} us, max {figures['max_us']:.0f} us over {calls} calls"
        )
        print(
            f"    nearest {candidate.subject.subject_id} at {candidate.distance:.3f} "
            f"({verdict} at {threshold}); nearest synthetic subject at "
            f"{figures['nearest_synthetic_distance']:.3f}"
        )
    median = result["match"]["median_us"]
    print(
        f"  => {1e6 / median:,.0f} matches/s at the median; a face encoding costs ~80 ms, so "
        f"matching against {len(watchlist):,} is {median / 80_000:.2%} of a face's cost"
    )
    return result


def single_thread_blas(args: argparse.Namespace) -> dict[str, Any] | None:
    """Part 1 again in a child with one BLAS thread.

    numpy's OpenBLAS splits the matrix-vector product over every core; when the cores
    are busy (analysis workers, decoding) its threads wait for each other, and the tail
    of the call grows. The thread count can only be set before numpy loads, hence a child.
    """
    command = [
        sys.executable,
        __file__,
        "--skip-enrolment",
        "--no-blas-compare",
        "--subjects", str(args.subjects),
        "--calls", str(args.calls),
    ]  # fmt: skip
    if args.threshold is not None:
        command += ["--threshold", str(args.threshold)]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    print("\n  the same with OPENBLAS_NUM_THREADS=1 (child process):")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        print(f"    failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
        return None
    for line in lines[:-1]:
        if line.lstrip().startswith("probe"):
            print(f"  {line}")
    return json.loads(lines[-1])["matching"]


# -- part 2: enrolment --------------------------------------------------------------------
def build_folder(source: Path, images: int, seed: int = 0) -> tuple[Path, int]:
    """A watchlist folder in bench/results/: *images* photos, one subject each.

    Images are linked (copied where links are not allowed), never written outside the
    git-ignored results folder.
    """
    everything = sorted(p for p in source.glob("*/*") if p.suffix.lower() in (".jpg", ".png"))
    chosen = sorted(random.Random(seed).sample(everything, min(images, len(everything))))
    folder = RESULTS / f"watchlist_{len(chosen)}"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "images").mkdir(parents=True)
    rows = []
    for i, path in enumerate(chosen, start=1):
        name = f"{path.parent.name}_{path.name}"
        target = folder / "images" / name
        try:
            target.symlink_to(path.resolve())
        except OSError:
            shutil.copy2(path, target)
        rows.append(
            {
                "subject_id": f"DEV-{i:04d}",
                "name": f"Development subject {i}",
                "category": "wanted by the courts",
                "image": f"images/{name}",
                # Provenance is required by the console; the set is internal-only.
                "source": f"development face set (internal, not for commit): {path.parent.name}"
                f"/{path.name}",
            }
        )
    write_csv(folder, rows)
    return folder, len(everything)


def write_csv(folder: Path, rows: list[dict[str, str]]) -> None:
    with (folder / "watchlist.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["subject_id", "name", "category", "image", "source"]
        )
        writer.writeheader()
        writer.writerows(rows)


def read_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "watchlist.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class ProgressLine:
    """One updating line on stderr ("enrolled 250/1000"), or a line per 10% when piped."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self._last_tenth = -1
        self._last_draw = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        text = f"{self.label}: enrolled {done}/{total} ({done / max(elapsed, 1e-9):.1f} img/s)"
        if self.tty:
            if done == total or now - self._last_draw >= 0.1:
                self._last_draw = now
                end = "\n" if done == total else ""
                print(f"\r{text}", end=end, file=sys.stderr, flush=True)
        elif (tenth := done * 10 // total) != self._last_tenth:
            self._last_tenth = tenth
            print(text, file=sys.stderr, flush=True)


def timed_enrolment(
    folder: Path, label: str, pool: Any | None, monitor: TreeMonitor
) -> tuple[dict[str, Any], Any]:
    """One enrol_watchlist run: (figures, Watchlist or the WatchlistError)."""
    from console.domain.watchlist import WatchlistError
    from console.vision.enrolment import enrol_watchlist

    rows = len(read_rows(folder))
    kwargs: dict[str, Any] = {"progress": ProgressLine(label)}
    if pool is not None:
        kwargs["pool"] = pool
    before = monitor.sample()
    started = time.perf_counter()
    try:
        outcome: Any = enrol_watchlist(folder, **kwargs)
    except WatchlistError as exc:
        outcome = exc
    wall = time.perf_counter() - started
    cpu = TreeMonitor.cpu_between(before, monitor.sample())
    figures = {
        "rows": rows,
        "wall_s": round(wall, 2),
        "images_per_s": round(rows / wall, 2),
        "cpu_s": round(cpu, 1),
        "accepted": len(outcome) if not isinstance(outcome, WatchlistError) else None,
        "rejected": len(outcome.rejections) if isinstance(outcome, WatchlistError) else 0,
    }
    verdict = (
        f"refused, {figures['rejected']} rows rejected"
        if isinstance(outcome, WatchlistError)
        else f"accepted {figures['accepted']} subjects"
    )
    print(
        f"  {label}: {rows} rows in {wall:.1f} s = {rows / wall:.1f} images/s "
        f"(CPU {cpu:.1f} s, {cpu / wall:.2f} cores busy); {verdict}"
    )
    return figures, outcome


def summarise_rejections(rejections: list[Any], folder: Path) -> dict[str, Any]:
    """Rejections grouped by reason (file names blanked) and by source set of the image."""
    by_reason = Counter(re.sub(r"'[^']*'", "'…'", r.reason) for r in rejections)
    images = {row["subject_id"]: row["image"] for row in read_rows(folder)}
    by_set = Counter(_source_set(images.get(r.subject_id, "")) for r in rejections)
    return {"by_reason": dict(by_reason.most_common()), "by_source_set": dict(by_set)}


def _source_set(image: str) -> str:
    # Identities are named <set>_<who> (att_s01, yaleb_12) or after a person (colour web).
    identity = Path(image).name.rsplit("_", 1)[0]
    prefix = identity.split("_", 1)[0]
    return prefix if prefix in ("att", "yale", "yaleb") else "colour photos"


def bench_enrolment(args: argparse.Namespace) -> dict[str, Any]:
    from console.vision.enrolment import enrol_watchlist
    from console.vision.pool import AnalysisPool

    print(f"\n== part 2: importing a {args.images:,}-image watchlist (enrol_watchlist) ==")
    if not args.facedata.is_dir():
        print(
            f"  SKIPPED: the development face set is not at {args.facedata} (it is internal "
            "and optional; see ../shared/facedata/README.md on a machine that has it)"
        )
        return {"skipped": f"facedata not found at {args.facedata}"}
    accepts_pool = "pool" in inspect.signature(enrol_watchlist).parameters
    modes = ["pool", "serial"] if args.enrol == "both" else [args.enrol]
    if "pool" in modes and not accepts_pool:
        print("  enrol_watchlist() takes no pool= here: timing the serial import only")
        modes = ["serial"]

    folder, available = build_folder(args.facedata, args.images)
    print(
        f"  folder: {folder} ({len(read_rows(folder))} of {available} images, one subject "
        "each, category 'wanted by the courts'; links to the originals)"
    )
    result: dict[str, Any] = {"folder": str(folder), "images": len(read_rows(folder))}
    with TreeMonitor() as monitor:
        pool = None
        if "pool" in modes:
            started = time.perf_counter()
            pool = AnalysisPool()
            warm = [pool.run(time.sleep, 0.2) for _ in range(pool.workers)]
            for future in warm:
                future.result()
            result["pool_start_s"] = round(time.perf_counter() - started, 2)
            print(
                f"  analysis pool ({pool.workers} worker processes, the console's own) "
                f"started in {result['pool_start_s']:.1f} s (not counted below)"
            )
        try:
            first_mode = modes[0]
            first, outcome = timed_enrolment(
                folder,
                f"run 1 ({first_mode}, all rows)",
                pool if first_mode == "pool" else None,
                monitor,
            )
            result["first_run"] = first | {"mode": first_mode}
            rejections = getattr(outcome, "rejections", [])
            if rejections:
                summary = summarise_rejections(rejections, folder)
                result["rejections"] = summary | {"examples": [str(r) for r in rejections[:5]]}
                print(f"  {len(rejections)} rows rejected, the whole watchlist refused:")
                for reason, count in summary["by_reason"].items():
                    print(f"    {count:>4} x {reason}")
                print(
                    "    by source set: "
                    + ", ".join(f"{k} {v}" for k, v in summary["by_source_set"].items())
                )
                rejected = {r.subject_id for r in rejections}
                write_csv(folder, [r for r in read_rows(folder) if r["subject_id"] not in rejected])
            runs = []
            if rejections and not read_rows(folder):
                print("  no row was accepted: nothing to time in a second run")
                modes = []
            for mode in modes:
                if not rejections and mode == first_mode:
                    continue  # the first run already imported everything this way
                label = f"run 2 ({mode}, accepted rows)" if rejections else f"run 2 ({mode})"
                figures, outcome = timed_enrolment(
                    folder, label, pool if mode == "pool" else None, monitor
                )
                runs.append(figures | {"mode": mode})
            result["second_runs"] = runs
        finally:
            if pool is not None:
                pool.shutdown()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=10_000, help="watchlist size for part 1")
    parser.add_argument("--calls", type=int, default=2000, help="timed Matcher.match calls")
    parser.add_argument(
        "--threshold", type=float, default=None, help="match threshold (default: the console's)"
    )
    parser.add_argument("--images", type=int, default=1000, help="watchlist size for part 2")
    parser.add_argument(
        "--facedata", type=Path, default=FACEDATA, help="the development face set's dev/ folder"
    )
    parser.add_argument(
        "--enrol",
        choices=("pool", "serial", "both"),
        default="both",
        help="import on the analysis pool (the console's way), in the calling thread, or both",
    )
    parser.add_argument("--skip-enrolment", action="store_true", help="part 1 only")
    parser.add_argument(
        "--no-blas-compare",
        action="store_true",
        help="do not repeat part 1 with OPENBLAS_NUM_THREADS=1 in a child process",
    )
    args = parser.parse_args(argv)
    quiet_pkg_resources_warning()

    from console.config import DEFAULT_THRESHOLD

    threshold = args.threshold if args.threshold is not None else DEFAULT_THRESHOLD
    print(
        f"cpu cores: {os.cpu_count()}; load average: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (figures are provisional when "
        "the machine is shared)"
    )
    matching = bench_matcher(args.subjects, args.calls, threshold)
    if not args.no_blas_compare:
        matching["single_thread_blas"] = single_thread_blas(args)
    enrolment = {"skipped": "--skip-enrolment"} if args.skip_enrolment else bench_enrolment(args)
    emit_json({"benchmark": "match_watchlist", "matching": matching, "enrolment": enrolment})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
