"""Label the development face set by what it knows, for docs/equality.md's worked example.

    .venv/bin/python bench/equality_dev_groups.py [--faces DIR]
    .venv/bin/python -m console evaluate-matcher --test-set ../shared/facedata/dev \\
        --people bench/results/equality/people.csv --photos bench/results/equality/photos.csv \\
        --json bench/results/equality/dev.json --html bench/results/equality/dev.html

The set records no one's sex, age or ethnicity. What it does know:

- ``source`` (a person): colour web photos (public figures, taken years apart) or the
  greyscale lab sets (AT&T, Yale, Extended Yale B: cropped, studio light);
- ``lab_set`` (a person): which lab set (empty for the colour photos);
- ``lighting`` (a photo, from its manifest entry): for Yale, ``side`` for the left- or
  right-lit photos and ``frontal`` for the others; for Extended Yale B, ``side`` when the
  light's azimuth is 15 degrees or more off the axis, else ``frontal``; not recorded for
  the others.

The labels go to ``bench/results/equality/`` (git-ignored): derived from the set, never
committed, and the photos themselves stay where they are.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from devsplit import DEFAULT_FACES, require_faces, source_set  # noqa: E402

OUT = HERE / "results" / "equality"
_YALE_B = re.compile(r"_P00A([+-]\d+)E([+-]\d+)")


def lighting(identity: str, source_path: str) -> str:
    kind = source_set(identity)
    if kind == "yale":
        light = source_path.rsplit(".", 1)[-1]
        return "side" if light in ("leftlight", "rightlight") else "frontal"
    if kind == "yaleb":
        found = _YALE_B.search(source_path)
        if found:
            return "side" if abs(int(found.group(1))) >= 15 else "frontal"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    args = parser.parse_args()
    faces = require_faces(args.faces)
    with (faces / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    OUT.mkdir(parents=True, exist_ok=True)
    people = sorted({row["identity"] for row in manifest})
    with (OUT / "people.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person", "source", "lab_set"])
        for person in people:
            kind = source_set(person)
            writer.writerow([person, "colour web" if kind == "colour" else "greyscale lab",
                             "" if kind == "colour" else kind])
    with (OUT / "photos.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person", "photo", "lighting"])
        for row in manifest:
            light = lighting(row["identity"], row["source_path"])
            if light:
                writer.writerow([row["identity"], Path(row["file"]).name, light])
    print(f"labels for {len(people)} people in {OUT}")


if __name__ == "__main__":
    main()
