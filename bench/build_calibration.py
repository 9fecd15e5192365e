"""Build ``resources/calibration.json``: the encoder's impostor and genuine distances.

    .venv/bin/python bench/build_calibration.py [--faces DIR] [--check]

Measured on the CALIBRATION half of the development face set only (``bench/devsplit.py``;
the other half is kept for ``bench/unseen_faces.py`` to report on). Each photo is
encoded as the console encodes a face (``bench/calibrate_threshold.py``'s cached
encoder), then every pair of photos of different people gives an impostor distance and
every pair of photos of one person a genuine distance.

What is written is derived figures only, never a face, an encoding or a name:
- impostor quantiles: for shares q from 1e-10 to 0.5, the distance below which a share
  q of different-person pairs falls. Down to ``MIN_TAIL_PAIRS`` pairs (about 1e-4 here)
  they are the data's own quantiles; below that the tail is extrapolated from a normal
  fit of the lowest 5% (distance against the probit of its share), joined continuously.
  A normal tail is an assumption: lookalike clusters make real tails heavier, which is
  why ``bench/unseen_faces.py`` checks the false-alert rate on people never calibrated.
- genuine shares: for distances 0.20 to 0.80, the share of same-person pairs within.

Then the sightings: the photo pairs say how far apart two photos of different people
are, but the console judges a *walk* (many frames, its evidence rule). The calibration
half's people walk a street (``bench/unseen_faces.py``'s street, built once and cached),
and for every walk against every other person's enrolment photo the rule's statistic is
measured (``bench/sighting_stats.py``: the smallest threshold at which that walk would
alert on that person). Its impostor quantiles sit a little below the photo pairs'
(a walk has many frames, so more chances); their median gap over the measured range is
the ``shift`` the console subtracts from the photo-pair distance. The walks' genuine
statistics (each walker against their own enrolment photo) give the share of
watchlisted people expected to be found. The evidence rules are compared here, on the
calibration half, which is how the shipped rule was chosen.

``--check`` prints the table beside the data without writing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_threshold import ENCODER_VERSION, load_or_encode, pairwise_distances  # noqa: E402
from devsplit import (  # noqa: E402
    CALIBRATION,
    DEFAULT_FACES,
    REPO_ROOT,
    require_faces,
    source_set,
    split,
)

from console.domain.sightings import EvidenceRule  # noqa: E402
from console.vision.scoring import Fusion  # noqa: E402

# The fusion of the two descriptors (console.vision.scoring), chosen on the calibration
# half's photo pairs (bench/second_pairs.py): dlib's share of the standard score, and
# the band around the threshold inside which faces get the second descriptor.
FUSION_WEIGHT = 0.5
FUSION_BAND = (0.08, 0.12)

OUT = REPO_ROOT / "resources" / "calibration.json"
MIN_TAIL_PAIRS = 25  # an empirical quantile needs at least this many pairs below it
FIT_UPPER_SHARE = 0.05  # the normal tail is fitted on the lowest 5% of impostor pairs
Q_GRID = [10 ** (e / 10) for e in range(-100, -2)]  # 1e-10 to 0.5, ten steps a decade
GENUINE_GRID = [round(0.20 + 0.01 * i, 2) for i in range(61)]


def distances(faces: Path, workers: int) -> tuple[np.ndarray, np.ndarray, dict]:
    face_set = load_or_encode(faces, workers, use_cache=True)
    halves = split(sorted(set(face_set.identities.tolist())))
    keep = np.array([halves[i] == CALIBRATION for i in face_set.identities])
    ids = face_set.identities[keep]
    d = pairwise_distances(face_set.encodings[keep])
    iu, ju = np.triu_indices(len(ids), k=1)
    same = ids[iu] == ids[ju]
    info = {
        "identities": len(set(ids.tolist())),
        "images": int(keep.sum()),
        "genuine_pairs": int(same.sum()),
        "impostor_pairs": int((~same).sum()),
    }
    return np.sort(d[iu, ju][~same]), np.sort(d[iu, ju][same]), info


def _found_with_one_and_two(members: list, one: dict, two: dict) -> dict[str, list[float]]:
    """The share of *members*' genuine distances within each of GENUINE_GRID, enrolled
    with one photo ("1") and with two ("2")."""
    cells = {}
    for photos, table in (("1", one), ("2", two)):
        values = np.array([v for m in members for v in table[m]])
        cells[photos] = [round(float(np.mean(values <= d)), 5) if len(values) else 0.0
                         for d in GENUINE_GRID]
    return cells


def impostor_table(imp: np.ndarray) -> tuple[list[list[float]], float, dict]:
    n = len(imp)
    measured_down_to = MIN_TAIL_PAIRS / n
    probit = NormalDist().inv_cdf
    # Fit d = a + b * probit(share) over the lowest 5%, from the measured floor up.
    tail = imp[MIN_TAIL_PAIRS : int(n * FIT_UPPER_SHARE)]
    shares = (np.arange(MIN_TAIL_PAIRS, MIN_TAIL_PAIRS + len(tail)) + 0.5) / n
    z = np.array([probit(s) for s in shares])
    slope, intercept = np.polyfit(z, tail, 1)
    join_d = float(np.quantile(imp, measured_down_to))
    join_z = probit(measured_down_to)
    rows = []
    for q in Q_GRID:
        if q >= measured_down_to:
            d = float(np.quantile(imp, q))
        else:
            d = join_d + slope * (probit(q) - join_z)
        rows.append([q, round(d, 5)])
    for i in range(1, len(rows)):  # quantiles are monotonic by construction; make it exact
        rows[i][1] = max(rows[i][1], rows[i - 1][1])
    fit = {"slope_per_probit": round(float(slope), 5), "intercept": round(float(intercept), 5)}
    return rows, measured_down_to, fit


RULES = {
    "frame by frame (2 frames, or 1 within t - 0.1)": EvidenceRule(aggregate=False),
    "aggregated, weighted": EvidenceRule(aggregate=True),
    "aggregated, unweighted": EvidenceRule(aggregate=True, weighted=False),
}


def sighting_calibration(faces: Path, photo: list[list[float]], fusion=None) -> dict:
    """The chosen evidence rule's impostor and genuine statistics on the calibration
    half's street, scored as the console ships (with *fusion*, the second descriptor's),
    and its shift from the photo-pair quantiles. The share found is the colour walkers'
    (a force's custody images are colour photos); the lab walkers' is kept beside it."""
    from sighting_stats import genuine_by_person, impostor_and_genuine, walk_frames
    from unseen_faces import SECOND_PHOTO, attribute, street

    names = sorted(p.name for p in faces.iterdir() if p.is_dir())
    halves = split(names)
    people, walks, observed, rendered = street(
        faces, [n for n in names if halves[n] == CALIBRATION], classic=False,
        extra_templates=False,
    )
    per_walk = walk_frames(observed, walks, rendered, attribute)
    print("evidence rules on the calibration half's walks (recall at a share of impostor "
          "sightings):", file=sys.stderr)
    for name, rule in RULES.items():
        imp, gen = impostor_and_genuine(per_walk, walks, people, rule)
        cells = [f"{q:g}: {np.mean(gen <= np.quantile(imp, q)):.3f}" for q in (1e-3, 3e-3, 1e-2)]
        print(f"  {name:48} {'  '.join(cells)}", file=sys.stderr)
    compare_in_pipeline(people, walks, observed, rendered)
    imp, gen = impostor_and_genuine(per_walk, walks, people, EvidenceRule(), fusion)
    floor = MIN_TAIL_PAIRS / len(imp)
    qs, ds = np.array(photo).T
    gaps = [
        float(np.interp(np.log10(q), np.log10(qs), ds) - np.quantile(imp, q))
        for q in Q_GRID
        if floor <= q <= 1e-2
    ]
    shift = max(0.0, float(np.median(gaps)))
    print(f"sighting shift {shift:.4f} (gaps {min(gaps):.4f} to {max(gaps):.4f} over "
          f"{floor:.1e} to 1e-2)", file=sys.stderr)
    by_person = genuine_by_person(per_walk, walks, people, EvidenceRule(), fusion)
    colour = np.array([v for i, vs in by_person.items() if source_set(i) == "colour" for v in vs])
    lab = np.array([v for i, vs in by_person.items() if source_set(i) != "colour" for v in vs])
    enrolment = enrolment_table(per_walk, walks, people, fusion, SECOND_PHOTO)
    return {
        "walks": len(per_walk),
        "impostor_sightings": len(imp),
        "genuine_sightings": len(gen),
        "measured_down_to": floor,
        "shift": round(shift, 5),
        "scoring": "dlib + second descriptor, fused near the threshold" if fusion else "dlib",
        "genuine": {"walks": "colour walkers", "count": len(colour),
                    "cdf": [[d, round(float(np.mean(colour <= d)), 5)] for d in GENUINE_GRID]},
        "genuine_lab": {"count": len(lab),
                        "cdf": [[d, round(float(np.mean(lab <= d)), 5)] for d in GENUINE_GRID]},
    }, enrolment


def photo_calibration(faces: Path, fusion) -> tuple[dict, dict]:
    """The share found and the enrolment table from the calibration half's colour photo
    pairs instead of walks: each colour person's first photo (in a seeded order) is the
    enrolment photo, the first two the two-photo template, and every other photo of
    theirs a probe, scored as the console ships (one frame: no evidence over a walk, so
    these shares are lower than a walk's)."""
    import cv2
    from second_pairs import second_set

    from console.vision import second_descriptor
    from console.vision.enrolment import find_faces
    from console.vision.enrolment_quality import measure
    from console.vision.scoring import combine_second
    from console.vision.templates import landmarks

    face_set = load_or_encode(faces, 2, use_cache=True)
    seconds = second_set(faces, face_set.paths, second_descriptor.CHIP_PADDING)
    halves = split(sorted(set(face_set.identities.tolist())))
    rng = np.random.default_rng(7)
    one: dict[str, list[float]] = {}
    two: dict[str, list[float]] = {}
    poor: dict[str, bool] = {}
    for person in sorted(set(face_set.identities.tolist())):
        if halves[person] != CALIBRATION or source_set(person) != "colour":
            continue
        rows = [i for i, who in enumerate(face_set.identities) if who == person
                and not np.isnan(seconds[i]).any()]
        rows = [rows[k] for k in rng.permutation(len(rows))]
        if len(rows) < 3:
            continue
        first, second, probes = rows[0], rows[1], rows[2:]
        enc, sec = face_set.encodings, seconds

        def scores(template: np.ndarray, template_second: np.ndarray, probes=probes,
                   enc=enc, sec=sec) -> list[float]:
            d = np.linalg.norm(enc[probes] - template, axis=1)
            if fusion is None:
                return d.tolist()
            return fusion.score(d, 1.0 - sec[probes] @ template_second).tolist()

        one[person] = scores(enc[first], sec[first])
        two[person] = scores((enc[first] + enc[second]) / 2,
                             combine_second([sec[first], sec[second]]))
        image = cv2.imread(str(faces / face_set.paths[first]), cv2.IMREAD_COLOR)
        boxes = find_faces(image)
        box = max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0])) if boxes else None
        poor[person] = box is None or bool(measure(image, box, landmarks(image, box)).problems)
    found = np.array([v for vs in one.values() for v in vs])
    sightings = {
        "walks": 0,
        "shift": 0.0,
        "scoring": "dlib + second descriptor, fused near the threshold" if fusion else "dlib",
        "genuine": {"walks": "colour photo pairs of the calibration half (one frame each)",
                    "count": len(found),
                    "cdf": [[d, round(float(np.mean(found <= d)), 5)] for d in GENUINE_GRID]},
    }
    groups = {}
    for group, is_poor in (("good photo", False), ("photo with a problem", True)):
        members = [p for p in one if poor[p] == is_poor]
        cells = _found_with_one_and_two(members, one, two)
        groups[group] = {"people": len(members), **cells}
        at = {k: float(np.interp(0.452, GENUINE_GRID, cells[k])) for k in ("1", "2")}
        print(f"enrolment (photo pairs), {group}: {len(members)} colour people; at 0.452 "
              f"found {at['1']:.2f} with one photo, {at['2']:.2f} with two", file=sys.stderr)
    enrolment = {"distances": GENUINE_GRID,
                 "walks": "colour photo pairs of the calibration half (one frame each)",
                 "groups": groups}
    return sightings, enrolment


def enrolment_table(per_walk, walks, people, fusion, second_photo: str) -> dict:
    """The share of colour walks found at each distance, for people enrolled from a good
    photo and from a photo with a problem (EnrolmentQuality.problems), with one photo and
    with two, on the same walks (those of the second photo left out)."""
    from sighting_stats import genuine_by_person

    rule = EvidenceRule()
    one = genuine_by_person(per_walk, walks, people, rule, fusion, "", second_photo)
    two = genuine_by_person(per_walk, walks, people, rule, fusion, second_photo, second_photo)
    quality = {p.identity: p.enrolled.quality for p in people if p.enrolled is not None}
    groups = {}
    for group in ("good photo", "photo with a problem"):
        members = [
            i for i in one
            if source_set(i) == "colour" and i in two
            and bool(quality.get(i) and quality[i].problems) == (group != "good photo")
        ]
        cells = _found_with_one_and_two(members, one, two)
        groups[group] = {"people": len(members), **cells}
        found = {k: float(np.interp(0.45, GENUINE_GRID, cells[k])) for k in ("1", "2")}
        print(f"enrolment, {group}: {len(members)} colour people; at 0.45 found "
              f"{found['1']:.2f} with one photo, {found['2']:.2f} with two", file=sys.stderr)
    return {"distances": GENUINE_GRID, "walks": "colour walkers, calibration half",
            "groups": groups}


def fusion_calibration(faces: Path, photo: list[list[float]], weight: float, below: float,
                       above: float) -> dict:
    """The second descriptor's fusion, measured on the calibration half's photo pairs:
    each descriptor's impostor mean and deviation, and the fused standard score's
    impostor quantiles (extrapolated below the measured floor as dlib's are) beside
    dlib's distance at the same share."""
    from second_pairs import second_set

    from console.vision import second_descriptor

    face_set = load_or_encode(faces, 2, use_cache=True)
    seconds = second_set(faces, face_set.paths, second_descriptor.CHIP_PADDING)
    halves = split(sorted(set(face_set.identities.tolist())))
    keep = np.array([halves[i] == CALIBRATION for i in face_set.identities])
    keep &= ~np.isnan(seconds).any(axis=1)
    ids = face_set.identities[keep]
    d = pairwise_distances(face_set.encodings[keep])
    c = 1.0 - seconds[keep] @ seconds[keep].T
    iu, ju = np.triu_indices(len(ids), k=1)
    same = ids[iu] == ids[ju]
    d_imp, c_imp = d[iu, ju][~same], c[iu, ju][~same]
    stats = {"dlib": {"mean": float(d_imp.mean()), "sd": float(d_imp.std())},
             "second": {"mean": float(c_imp.mean()), "sd": float(c_imp.std())}}
    z_imp = (weight * (d_imp - stats["dlib"]["mean"]) / stats["dlib"]["sd"]
             + (1 - weight) * (c_imp - stats["second"]["mean"]) / stats["second"]["sd"])
    z_rows, _, _ = impostor_table(np.sort(z_imp))
    rows = []
    for (q, z), (_, dist) in zip(z_rows, photo, strict=True):
        z = max(z, rows[-1][1] + 1e-6) if rows else z  # strictly increasing
        rows.append([q, round(z, 6), dist])
    return {
        "model": {"package": second_descriptor.PACKAGE,
                  "onnx_sha256": second_descriptor.ONNX_SHA256,
                  "chip_padding": second_descriptor.CHIP_PADDING},
        "weight": weight,
        **{k: {kk: round(vv, 6) for kk, vv in v.items()} for k, v in stats.items()},
        "band": {"below": below, "above": above},
        "impostor_pairs": int(len(z_imp)),
        "quantiles": rows,
    }


def compare_in_pipeline(people, walks, observed, rendered) -> None:
    """The rules through the console's own pipeline (tracking, sightings, cooldown) on
    the calibration half: rounds of 10 watchlisted walkers, everyone else passing by."""
    from unseen_faces import Tally, padded_watchlist, run_console, score

    enrolled = [p for p in people if p.enrolled is not None]
    rounds = [enrolled[i : i + 10] for i in range(0, len(enrolled), 10)]
    print("through the pipeline (10-subject watchlists): recall, false alerts / 1,000 "
          "walks past", file=sys.stderr)
    for threshold in (0.40, 0.45, 0.50):
        for name, rule in RULES.items():
            total = Tally()
            for targets in rounds:
                watchlist = padded_watchlist(targets, np.zeros((0, 128)), len(targets))
                raised = run_console(observed, watchlist, threshold, rule)
                total.add(score(raised, walks, {p.identity for p in targets}, rendered))
            row = total.row()
            print(f"  {threshold:.2f} {name:48} recall {row['recall']:.3f}  false "
                  f"{row['false_per_1000_distractor_walks']:.2f} ({row['false_alerts']})",
                  file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="print, do not write")
    parser.add_argument("--photos-only", action="store_true",
                        help="the share found and the enrolment table from photo pairs (one "
                        "frame each) rather than the street's walks (slow to build cold)")
    parser.add_argument("--no-fusion", action="store_true",
                        help="calibrate dlib alone (no second descriptor)")
    args = parser.parse_args()
    imp, gen, info = distances(require_faces(args.faces), args.workers)
    quantiles, floor, fit = impostor_table(imp)
    genuine = [[d, round(float(np.mean(gen <= d)), 5)] for d in GENUINE_GRID]
    fusion = None
    if not args.no_fusion:
        fusion = fusion_calibration(args.faces, quantiles, FUSION_WEIGHT, *FUSION_BAND)
    if args.photos_only:
        sightings, enrolment = photo_calibration(
            args.faces, Fusion.from_json(fusion) if fusion else None)
    else:
        sightings, enrolment = sighting_calibration(
            args.faces, quantiles, Fusion.from_json(fusion) if fusion else None)
    data = {
        "encoder": ENCODER_VERSION,
        "source": (
            f"calibration half of the development face set: {info['identities']} people, "
            f"{info['images']} photos, {info['impostor_pairs']:,} different-person pairs"
        ),
        "method": "bench/build_calibration.py (README, 'Accuracy on unseen faces')",
        "built": datetime.now(UTC).date().isoformat(),
        "counts": info,
        "impostor": {"quantiles": quantiles, "measured_down_to": floor, "normal_tail": fit},
        "genuine": {"cdf": genuine},
        "sightings": sightings,
    }
    if enrolment:
        data["enrolment"] = enrolment
    if fusion:
        data["fusion"] = fusion
    for q, d in quantiles:
        if abs(np.log10(q) - round(np.log10(q))) < 1e-9:
            empirical = float(np.mean(imp <= d))
            print(f"F = {q:.0e}: distance {d:.4f} (data: {empirical:.2e})", file=sys.stderr)
    if not args.check:
        # One [share, distance] pair a line: a reviewer can read the table in a diff.
        text = json.dumps(data, indent=1)
        text = re.sub(
            r"\[\s+([-\d.e]+(?:,\s+[-\d.e]+)*)\s+\]",
            lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
            text,
        )
        OUT.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(REPO_ROOT)}", file=sys.stderr)
    if not args.check:
        print_operating_table()
    print(json.dumps({"benchmark": "build_calibration", **info, "normal_tail": fit}))


def print_operating_table() -> None:
    """docs/accuracy.md's table: distance and expected share found (colour walks) for
    each rate and watchlist size, from the file just written."""
    from console.domain.policy import FalseAlertRate
    from console.vision.operating_point import Calibration, operating_point

    cal = Calibration.load(OUT)
    sizes = (1, 20, 100, 1000)
    print("| distance (share found) | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
          file=sys.stderr)
    print("| --- |" + " --- |" * len(sizes), file=sys.stderr)
    for one_in in (100, 1000, 10_000, 100_000):
        cells = []
        for n in sizes:
            point = operating_point(FalseAlertRate(one_in), n, cal)
            cells.append(f"{point.threshold:.3f} ({point.expected_share_found:.0%})")
        print(f"| 1 in {one_in:,} | " + " | ".join(cells) + " |", file=sys.stderr)


if __name__ == "__main__":
    main()
