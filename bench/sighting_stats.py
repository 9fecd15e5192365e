"""The evidence rule's statistic for one walk against one subject.

The console alerts on a walk when its evidence crosses the threshold t. For each rule
there is a number s (the statistic) such that the walk alerts on a subject exactly when
s <= t, so a set of walks gives distributions of s: for walks of *other* people (the
impostor sightings, which set the false-alert rate) and for walks of the subject
(genuine sightings, the share found). ``bench/build_calibration.py`` measures them on the
calibration half; ``bench/unseen_faces.py`` reports the console on the other half.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from console.domain.sightings import EvidenceRule
from console.vision.track_evidence import face_weight


def walk_frames(observed, walks, rendered, attribute) -> dict[int, list]:
    """walk id -> [(t, width, sharpness, encoding, second descriptor or None)] of every
    encoded face on that walk."""
    per: dict[int, list] = defaultdict(list)
    for camera, frames in observed.console.items():
        for _, t, faces in frames:
            for face in faces:
                if face.encoding is None:
                    continue
                walk = attribute(walks, camera, t, face.bbox)
                if walk is not None and walk.walk_id in rendered:
                    per[walk.walk_id].append(
                        (t, face.width, face.sharpness, face.encoding, face.second))
    return per


def statistic(frames: list, templates: np.ndarray, rule: EvidenceRule, fusion=None,
              template_seconds: np.ndarray | None = None) -> np.ndarray:
    """For each template (row), the smallest threshold at which the walk alerts on it.

    With a *fusion* (console.vision.scoring) every frame's score against a subject with
    a second template is the fused one: the console fuses only inside a band around its
    threshold, and at the threshold that decides (this statistic) the two agree."""
    encodings = np.stack([f[3] for f in frames])
    if rule.aggregate:
        weights = np.array(
            [face_weight(w, s) if rule.weighted else 1.0 for _, w, s, _, _ in frames]
        )
        running = np.cumsum(weights[:, None] * encodings, axis=0) / np.cumsum(weights)[:, None]
        d = np.linalg.norm(running[:, None, :] - templates[None, :, :], axis=2)  # (k, n)
        after_two = d[1:].min(axis=0) if len(d) > 1 else np.full(len(templates), np.inf)
        return np.minimum(after_two, d.min(axis=0) + rule.strong_margin)
    d = np.linalg.norm(encodings[:, None, :] - templates[None, :, :], axis=2)
    if fusion is not None and template_seconds is not None:
        has = ~np.isnan(template_seconds).any(axis=1)
        for k, frame in enumerate(frames):
            if frame[4] is None:
                continue
            cosine = 1.0 - np.nan_to_num(template_seconds[has]) @ frame[4].astype(np.float64)
            d[k, has] = fusion.score(d[k, has], cosine)
    ordered = np.sort(d, axis=0)
    second = ordered[1] if len(ordered) > 1 else np.full(len(templates), np.inf)
    return np.minimum(second, ordered[0] + rule.strong_margin)


def impostor_and_genuine(per_walk: dict[int, list], walks, people, rule: EvidenceRule,
                         fusion=None, template: str = "", ) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of every walk against every enrolled person: other people (impostor
    sightings) and the walker's own enrolment (genuine sightings). *template*: another
    way the people were enrolled (``unseen_faces.TEMPLATES``), where they have it."""
    enrolled = [p for p in people if p.enrolled is not None]
    templates = np.stack([p.templates.get(template, p.enrolled.encoding) for p in enrolled])
    seconds = np.stack([
        np.asarray(p.seconds.get(template, p.enrolled.second), dtype=np.float64)
        if p.seconds.get(template, p.enrolled.second) is not None else np.full(1024, np.nan)
        for p in enrolled
    ])
    ids = np.array([p.identity for p in enrolled])
    by_id = {w.walk_id: w for w in walks}
    impostor, genuine = [], []
    for walk_id, frames in per_walk.items():
        s = statistic(frames, templates, rule, fusion, seconds)
        own = ids == by_id[walk_id].identity
        impostor.append(s[~own])
        genuine.extend(s[own])
    return np.concatenate(impostor), np.array(genuine)


def genuine_by_person(per_walk: dict[int, list], walks, people, rule: EvidenceRule,
                      fusion=None, template: str = "", second_photo: str = ""
                      ) -> dict[str, list[float]]:
    """Each enrolled person's genuine statistics (one per walk of theirs). People without
    the *second_photo* template are left out, and so are the walks of the photo it adds
    (with or without it, so that one photo and two are compared on the same walks)."""
    enrolled = [p for p in people if p.enrolled is not None and
                (not second_photo or second_photo in p.templates)]
    by_id = {w.walk_id: w for w in walks}
    out: dict[str, list[float]] = defaultdict(list)
    for p in enrolled:
        template_enc = p.templates.get(template, p.enrolled.encoding)[None, :]
        second = p.seconds.get(template, p.enrolled.second)
        seconds = (np.asarray(second, dtype=np.float64)[None, :] if second is not None
                   else np.full((1, 1024), np.nan))
        for walk_id, frames in per_walk.items():
            walk = by_id[walk_id]
            if second_photo and p.walking and walk.photo == p.walking[0]:
                continue
            if walk.identity == p.identity:
                out[p.identity].append(float(statistic(frames, template_enc, rule, fusion,
                                                       seconds)[0]))
    return dict(out)
