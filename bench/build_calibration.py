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
from devsplit import CALIBRATION, DEFAULT_FACES, REPO_ROOT, require_faces, split  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="print, do not write")
    args = parser.parse_args()
    imp, gen, info = distances(require_faces(args.faces), args.workers)
    quantiles, floor, fit = impostor_table(imp)
    genuine = [[d, round(float(np.mean(gen <= d)), 5)] for d in GENUINE_GRID]
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
    }
    for q, d in quantiles:
        if abs(np.log10(q) - round(np.log10(q))) < 1e-9:
            empirical = float(np.mean(imp <= d))
            print(f"F = {q:.0e}: distance {d:.4f} (data: {empirical:.2e})", file=sys.stderr)
    if not args.check:
        # One [share, distance] pair a line: a reviewer can read the table in a diff.
        text = json.dumps(data, indent=1)
        text = re.sub(r"\[\s+([-\d.e]+),\s+([-\d.e]+)\s+\]", r"[\1, \2]", text)
        OUT.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(REPO_ROOT)}", file=sys.stderr)
    print(json.dumps({"benchmark": "build_calibration", **info, "normal_tail": fit}))


if __name__ == "__main__":
    main()
