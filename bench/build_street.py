"""Build (render, analyse, cache) one half's street for the other benchmarks.

    .venv/bin/python bench/build_street.py --half calibration|evaluation

What ``bench/unseen_faces.py`` and ``bench/build_calibration.py`` build on first use, run
on its own so that the slow part (about 30 minutes cold on 2 cores) can run ahead of
them. Everything goes to the git-ignored ``bench/results/unseen_faces/``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devsplit import CALIBRATION, DEFAULT_FACES, EVALUATION, require_faces, split  # noqa: E402
from unseen_faces import street  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--half", choices=(CALIBRATION, EVALUATION), default=EVALUATION)
    parser.add_argument("--classic", action="store_true", help="analyse for the classic recipe")
    parser.add_argument("--extra-templates", action="store_true",
                        help="also the 1-jitter and 68-point templates "
                        "(unseen_faces --recipes all)")
    args = parser.parse_args()
    faces = require_faces(args.faces)
    names = sorted(p.name for p in faces.iterdir() if p.is_dir())
    halves = split(names)
    started = time.monotonic()
    people, walks, observed, rendered = street(
        faces, [n for n in names if halves[n] == args.half], classic=args.classic,
        extra_templates=args.extra_templates)
    faces_seen = sum(len(f) for frames in observed.console.values() for _, _, f in frames)
    print(f"{args.half}: {len(people)} people, {len(rendered)} walks, {faces_seen} faces, "
          f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
