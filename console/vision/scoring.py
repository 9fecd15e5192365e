"""The console's score of a face against a subject: dlib's distance, sharpened near the
match distance by a second descriptor.

Every face is encoded by dlib (15 ms) and compared with every subject; that distance d
alone decides when it is far from the match distance t. Only when the nearest subject's
d lies in a band around t (``Fusion.below``/``above``) is the face described a second time
(``console.vision.second_descriptor``, a few times dlib's cost) and, for each subject in
the band, the two scores are fused:

    z = w * (d - mu_d) / sd_d + (1 - w) * (c - mu_c) / sd_c

each descriptor's distance standardised by its impostor (different-person) distribution
on the calibration half (c: cosine distance of the second descriptors), then mapped back
to dlib's scale: the fused score is the dlib distance with the same share of impostor
pairs below it (``z_quantiles`` -> ``d_quantiles``, both measured on the calibration
half). So the fused score is read exactly as a dlib distance is: the operating point's
table (a false-alert rate and a watchlist size give a distance) holds for both, a face
scored without the second descriptor (the model missing, a subject restored without
one) keeps the false-alert rate it was calibrated for, and the evidence rule's margins
mean what they meant. What the fusion changes is the share of watchlisted people found.

``Fusion`` holds derived figures only (means, deviations, quantiles): no face, encoding
or descriptor of anyone. ``shipped_fusion()`` reads it from ``resources/calibration.json``.

For other evaluators (the equality evidence, #27): ``score_faces`` is the whole decision
for faces in a still image against a watchlist, as the live console makes it frame by
frame; ``Matcher.nearest(encoding, second)`` is the same for an encoding you already have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from console.domain.alerts import BBox

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "resources" / "calibration.json"


@dataclass(frozen=True)
class Fusion:
    """How the two descriptors' distances become one score (calibration half)."""

    dlib_mean: float
    dlib_sd: float
    second_mean: float
    second_sd: float
    weight: float  # dlib's share of the fused standard score
    z_quantiles: np.ndarray  # fused standard score at each impostor share (ascending) ...
    d_quantiles: np.ndarray  # ... and dlib's distance at the same share
    below: float  # the band: the second descriptor is used for a nearest dlib distance
    above: float  # within [t - below, t + above] of the match distance t

    def score(self, dlib_distance: np.ndarray, second_distance: np.ndarray) -> np.ndarray:
        """Fused scores, on dlib's distance scale."""
        z = self.weight * (np.asarray(dlib_distance) - self.dlib_mean) / self.dlib_sd + (
            1.0 - self.weight
        ) * (np.asarray(second_distance) - self.second_mean) / self.second_sd
        return np.interp(z, self.z_quantiles, self.d_quantiles)

    def in_band(self, dlib_distance: float, threshold: float) -> bool:
        return threshold - self.below <= dlib_distance <= threshold + self.above

    @classmethod
    def from_json(cls, data: dict) -> Fusion:
        z, d = np.array(data["quantiles"], dtype=np.float64)[:, 1:].T
        if not (np.all(np.diff(z) > 0) and np.all(np.diff(d) >= 0)):
            raise ValueError("the fusion's quantiles are not monotonic")
        fusion = cls(
            float(data["dlib"]["mean"]),
            float(data["dlib"]["sd"]),
            float(data["second"]["mean"]),
            float(data["second"]["sd"]),
            float(data["weight"]),
            z,
            d,
            float(data["band"]["below"]),
            float(data["band"]["above"]),
        )
        if not (0.0 < fusion.weight <= 1.0 and fusion.dlib_sd > 0 and fusion.second_sd > 0):
            raise ValueError("the fusion's weights are not credible")
        return fusion


@cache
def shipped_fusion(path: Path = CALIBRATION_FILE) -> Fusion | None:
    """The fusion the console ships with, or None when the calibration has none."""
    data = json.loads(Path(path).read_text(encoding="utf-8")).get("fusion")
    return Fusion.from_json(data) if data else None


def second_distances(templates: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cosine distances of a unit-length descriptor to unit-length templates (rows)."""
    return 1.0 - templates @ np.asarray(second, dtype=np.float64)


def combine_second(descriptors: list[np.ndarray]) -> np.ndarray:
    """One second template from a subject's photos: the mean direction."""
    mean = np.mean(np.stack(descriptors), axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def score_faces(image_bgr: np.ndarray, boxes: list[BBox], watchlist, threshold: float,
                fusion: Fusion | None = None):
    """The console's decision for each face of a still image (one frame), as the live
    console scores a frame: dlib's encoding, the second descriptor when the nearest
    subject's distance is in the band, the fused score. Returns one ``Candidate`` (the
    nearest subject and its score) or None per box; a candidate matches when its
    ``distance`` is at most *threshold*. Memory only."""
    from console.vision.analysis import encode_faces
    from console.vision.matcher import Matcher
    from console.vision.second_descriptor import describe

    matcher = Matcher(watchlist, threshold, fusion=fusion or shipped_fusion())
    encodings = encode_faces(image_bgr, boxes)
    wanted = [i for i, e in enumerate(encodings) if matcher.wants_second(e)]
    seconds = dict(zip(wanted, describe(image_bgr, [boxes[i] for i in wanted]), strict=True))
    return [matcher.nearest(e, seconds.get(i)) for i, e in enumerate(encodings)]
