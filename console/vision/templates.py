"""A subject's template: one encoding built from every photo of them on the watchlist."""

from __future__ import annotations

import numpy as np


def combine_encodings(encodings: list[np.ndarray]) -> np.ndarray:
    """One 128-d template from the encodings of a subject's photos (one or more).

    The rule is the plain mean for now: it sits nearer the person's centre than any one
    photo does. The lead may change the rule (weighting, re-normalising, keeping several
    templates) after measuring it on bench/unseen_faces.py; callers depend only on
    "several encodings in, one encoding out".
    """
    if not encodings:
        raise ValueError("a template needs at least one encoding")
    return np.mean(np.stack(encodings), axis=0)
