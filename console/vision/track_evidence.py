"""Evidence that adds up over a walk: one quality-weighted encoding per followed face.

A person walking towards a camera is encoded in many frames of different quality: small
and soft far away, large and sharp close up. Matching each frame on its own throws that
away, and lets one lucky frame of a lookalike decide. Instead each track keeps the
weighted mean of its encodings (the noise of single frames averages out; bigger,
sharper faces count more) and the sighting is judged on that.

Memory only, and only while the track lives: the sums of a face that never matches are
dropped with its track (``forget_before``), never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A face this wide (px) or this sharp (AnalysisSettings' sharpness scale) counts fully;
# smaller or softer faces count in proportion.
FULL_WEIGHT_WIDTH_PX = 140.0
FULL_WEIGHT_SHARPNESS = 100.0
# A frame this far from the track's running mean is another person (the tracker swapped
# two faces that crossed): start the track's evidence afresh rather than mix two people.
SWITCH_DISTANCE = 0.75


def face_weight(width_px: float, sharpness: float) -> float:
    """How much one frame's encoding counts: its size and focus, each capped at 1."""
    size = min(1.0, max(width_px, 1.0) / FULL_WEIGHT_WIDTH_PX)
    focus = min(1.0, max(sharpness, 1.0) / FULL_WEIGHT_SHARPNESS)
    return size * size * focus


@dataclass
class _Sum:
    weighted: np.ndarray
    weight: float
    frames: int
    last_t: float


class TrackEvidence:
    """Running weighted means of encodings, keyed by track id."""

    def __init__(self) -> None:
        self._tracks: dict[int, _Sum] = {}

    def add(self, track_id: int, t: float, encoding: np.ndarray, weight: float) -> np.ndarray:
        """Add one frame's encoding; return the track's aggregate encoding so far."""
        encoding = np.asarray(encoding, dtype=np.float64)
        s = self._tracks.get(track_id)
        if s is not None and np.linalg.norm(s.weighted / s.weight - encoding) > SWITCH_DISTANCE:
            s = None
        if s is None:
            s = self._tracks[track_id] = _Sum(np.zeros_like(encoding), 0.0, 0, t)
        s.weighted += weight * encoding
        s.weight += weight
        s.frames += 1
        s.last_t = t
        return s.weighted / s.weight

    def frames(self, track_id: int) -> int:
        s = self._tracks.get(track_id)
        return s.frames if s else 0

    def forget_before(self, t: float) -> None:
        """Drop every track not seen since *t* (the tracker has given up on it)."""
        self._tracks = {k: s for k, s in self._tracks.items() if s.last_t >= t}

    def clear(self) -> None:
        self._tracks.clear()

    def __len__(self) -> int:
        return len(self._tracks)
