"""Photo pairs with both descriptors: dlib's and the second one (``faceres``).

    .venv/bin/python bench/second_pairs.py [--faces DIR] [--padding 0.4,0.25,0.6]
                                           [--half calibration|evaluation]

Each development photo is encoded as ``bench/calibrate_threshold.py`` encodes it (its
cache) and described by the second descriptor on the same face (the same detection
attempts, aligned on dlib's 5 landmarks); the descriptors are cached in
``bench/results/`` (git-ignored; derived from the development set, never committed).
Then, on one half of the identity split, colour web photos and lab sets apart:
true-accept rate at 1e-3 and 1e-4 false accepts for dlib, the second descriptor, their
fusion (``console.vision.scoring``) and the normalisation candidates. The choices the
console ships (chip padding, fusion weight, band, normalisation) are made here on the
CALIBRATION half only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from calibrate_threshold import (  # noqa: E402
    RESULTS_DIR,
    _cache_is_git_ignored,
    _detection_attempts,
    _find_largest_face,
    _stamp,
    load_or_encode,
    pairwise_distances,
)
from devsplit import CALIBRATION, DEFAULT_FACES, EVALUATION, require_faces, source_set, split  # noqa: E402

from console.vision import second_descriptor  # noqa: E402


def describe_photo(path: str, padding: float) -> np.ndarray | None:
    """The second descriptor of the photo's largest face (as calibrate_threshold finds
    it), in a worker process."""
    import face_recognition

    second_descriptor.CHIP_PADDING = padding
    rgb = face_recognition.load_image_file(path, mode="RGB")
    for _, image, upsample in _detection_attempts(rgb):
        box = _find_largest_face(image, upsample)
        if box is not None:
            bgr = np.ascontiguousarray(image[:, :, ::-1])
            return second_descriptor.describe(bgr, [box])[0]
    return None


def _init() -> None:
    import cv2

    cv2.setNumThreads(1)


def second_set(faces: Path, paths: list[str], padding: float, workers: int = 2) -> np.ndarray:
    """(n, 1024) descriptors in the order of *paths* (NaN where no face), cached."""
    cache = RESULTS_DIR / f"facedata_dev_second_p{padding:.2f}.npz"
    stamps = [_stamp(faces / p) for p in paths]
    key = [second_descriptor.ONNX_SHA256, str(padding)]
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if (list(data["key"]) == key and list(data["paths"]) == paths
                    and list(data["stamps"]) == stamps):
                return data["descriptors"]
    print(f"describing {len(paths)} photos (padding {padding}) ...", file=sys.stderr)
    with ProcessPoolExecutor(workers, initializer=_init) as pool:
        out = list(pool.map(describe_photo, [str(faces / p) for p in paths],
                            [padding] * len(paths), chunksize=8))
    descriptors = np.array([d if d is not None else np.full(1024, np.nan) for d in out])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if _cache_is_git_ignored(cache):
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, key=np.array(key), paths=np.array(paths), stamps=np.array(stamps),
                 descriptors=descriptors)
        os.replace(tmp, cache)
    return descriptors


def pair_arrays(ids: np.ndarray, mask: np.ndarray):
    idx = np.flatnonzero(mask)
    iu, ju = np.triu_indices(len(idx), k=1)
    a, b = idx[iu], idx[ju]
    return a, b, ids[a] == ids[b]


def tar_at(gen: np.ndarray, imp: np.ndarray, fars=(1e-3, 1e-4)) -> list[float]:
    """True-accept rate at each false-accept rate (scores: lower is closer)."""
    imp = np.sort(imp)
    out = []
    for far in fars:
        k = int(far * len(imp))
        t = imp[k] if k < len(imp) else imp[-1]
        out.append(float(np.mean(gen < t)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--padding", default=str(second_descriptor.CHIP_PADDING))
    parser.add_argument("--half", choices=(CALIBRATION, EVALUATION), default=CALIBRATION)
    args = parser.parse_args()
    faces = require_faces(args.faces)
    face_set = load_or_encode(faces, 2, use_cache=True)
    ids = face_set.identities
    halves = split(sorted(set(ids.tolist())))
    in_half = np.array([halves[i] == args.half for i in ids])
    colour = np.array([source_set(i) == "colour" for i in ids])
    d_dlib = pairwise_distances(face_set.encodings)
    report = {}
    for padding in [float(p) for p in args.padding.split(",")]:
        second = second_set(faces, face_set.paths, padding)
        ok = ~np.isnan(second).any(axis=1)
        d_second = 1.0 - np.nan_to_num(second) @ np.nan_to_num(second).T
        for name, group in (("colour", colour), ("lab", ~colour)):
            a, b, same = pair_arrays(ids, in_half & group & ok)
            row = {}
            for label, d in (("dlib", d_dlib), ("second", d_second)):
                row[label] = tar_at(d[a, b][same], d[a, b][~same])
            report[f"padding {padding} {name}"] = row
            print(f"padding {padding:.2f} {name:7} "
                  + "  ".join(f"{k}: {v[0]:.3f} / {v[1]:.3f}" for k, v in row.items()))
    print(json.dumps({"benchmark": "second_pairs", "half": args.half, "report": report}))


if __name__ == "__main__":
    main()
