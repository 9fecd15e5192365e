"""The development face set's identity split: calibrate on one half, report on the other.

Accuracy must be judged on people the console was never tuned on. Every identity of
``../shared/facedata/dev`` is assigned once, by a fixed seed, to CALIBRATION (its photos
build ``resources/calibration.json``) or to EVALUATION (its photos are only ever scored,
by ``bench/unseen_faces.py``). Each source set (colour web photos, AT&T, Yale, Yale B) is
split in half separately, so both halves hold the same mix of easy and hard photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = REPO_ROOT.parent / "shared" / "facedata" / "dev"
SEED = 20261128
CALIBRATION, EVALUATION = "calibration", "evaluation"
_SETS = ("att_", "yaleb_", "yale_")


def source_set(identity: str) -> str:
    for prefix in _SETS:
        if identity.startswith(prefix):
            return prefix.rstrip("_")
    return "colour"


def identities(faces: Path) -> list[str]:
    return sorted(p.name for p in Path(faces).iterdir() if p.is_dir())


def split(names: list[str], seed: int = SEED) -> dict[str, str]:
    """identity -> CALIBRATION or EVALUATION, stratified by source set."""
    rng = np.random.default_rng(seed)
    halves: dict[str, str] = {}
    for group in ("colour", "att", "yale", "yaleb"):
        members = sorted(n for n in names if source_set(n) == group)
        order = rng.permutation(len(members))
        for rank, index in enumerate(order):
            halves[members[index]] = CALIBRATION if rank % 2 == 0 else EVALUATION
    return halves


def require_faces(faces: Path) -> Path:
    faces = Path(faces)
    if not faces.is_dir():
        raise SystemExit(
            f"the development face set is not at {faces}: this benchmark needs it "
            "(internal only, never in the repository); pass --faces DIR"
        )
    return faces
