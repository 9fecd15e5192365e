"""A subject's template: the encoding the watchlist holds for them.

Two things make a template better than one plain encoding of one photo, both measured
on the calibration half's street (``bench/unseen_faces.py --half calibration``):
- each photo is encoded as the mean over slightly shifted, scaled, rotated and mirrored
  copies of its aligned face (jitter): 0.80 -> 0.81 of watchlisted walkers found at the
  default operating point there (0.80 -> 0.83 on the evaluation half), no more false
  alerts;
- a subject listed with several photos gets the mean of them all: 0.81 -> 0.88.

dlib's own jitter (``num_jitters``) draws its perturbations from a generator it never
reseeds, so one photo enrolled twice in one process gets templates 0.04 apart, a tenth
of the match distance. The copies here are drawn from a fixed seed the way dlib draws
them (``dlib::jitter_image``: up to 2% shift, 0-3% zoom out, 3 degrees, a coin-flip
mirror): the same photo always gives the same template.
"""

from __future__ import annotations

import cv2
import numpy as np

from console.domain.alerts import BBox

ENROLMENT_JITTERS = 10  # copies per photo: ~5x one encoding's time, once per photo at import
_JITTER_SEED = 12
_CHIP_PX, _CHIP_PADDING = 150, 0.25  # as face_recognition.face_encodings aligns a face


def combine_encodings(encodings: list[np.ndarray]) -> np.ndarray:
    """One 128-d template from the encodings of a subject's photos (one or more): the
    mean, which sits nearer the person's centre than any one photo does."""
    if not encodings:
        raise ValueError("a template needs at least one encoding")
    return np.mean(np.stack(encodings), axis=0)


def jittered_encoding(image_bgr: np.ndarray, box: BBox, jitters: int = ENROLMENT_JITTERS
                      ) -> np.ndarray:
    """The face in *box* (top, right, bottom, left) encoded as the mean over *jitters*
    copies: the aligned face itself, then copies perturbed from a fixed seed."""
    import dlib

    from console.vision.analysis import load_face_recognition

    api = load_face_recognition().api
    rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    top, right, bottom, left = box
    shape = api.pose_predictor_5_point(rgb, dlib.rectangle(left, top, right, bottom))
    chip = dlib.get_face_chip(rgb, shape, size=_CHIP_PX, padding=_CHIP_PADDING)
    rng = np.random.default_rng(_JITTER_SEED)
    copies = [chip] + [_jitter(chip, rng) for _ in range(max(0, jitters - 1))]
    return np.mean(np.array(api.face_encoder.compute_face_descriptor(copies)), axis=0)


def landmarks(image_bgr: np.ndarray, box: BBox) -> np.ndarray:
    """dlib's 5 landmarks of the face in *box*, as (x, y) rows."""
    import dlib

    from console.vision.analysis import load_face_recognition

    api = load_face_recognition().api
    rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    top, right, bottom, left = box
    shape = api.pose_predictor_5_point(rgb, dlib.rectangle(left, top, right, bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _jitter(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = chip.shape[:2]
    inner = min(h, w) - 6  # dlib jitters the chip shrunk by 3 px a side
    dx, dy = rng.uniform(-0.02, 0.02, 2) * inner
    box = inner / rng.uniform(0.97, 0.99999)
    angle = rng.uniform(-3.0, 3.0)
    cx, cy = (w - 1) / 2 + dx, (h - 1) / 2 + dy
    m = cv2.getRotationMatrix2D((cx, cy), angle, w / box)
    m[:, 2] += ((w - 1) / 2 - cx, (h - 1) / 2 - cy)
    out = cv2.warpAffine(chip, m, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)
    return np.ascontiguousarray(out[:, ::-1]) if rng.random() > 0.5 else out
