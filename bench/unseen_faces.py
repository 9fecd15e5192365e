"""Accuracy on faces the console was never tuned on: a street of unseen people.

    .venv/bin/python bench/unseen_faces.py [--faces DIR] [--walks-per-person 6]
                                           [--half evaluation|calibration]

Built from the EVALUATION half of the development face set (``bench/devsplit.py``): the
shipped calibration was measured on the other half, so nobody scored here was used to
set a threshold. ``--half calibration`` runs the same street on the calibration half,
which is where the shipped choices (rule, template) were made.

For each person one photo is the enrolment photo (a custody image) and their other
photos walk past the cameras (a street camera), each as a head-and-
shoulders cut-out approaching the camera across OpenCV's street scene (as
``sample_streams/make_samples.py`` composites its samples), three lanes at a time, on
two cameras, written to real video files and decoded back.

Each analysed frame (5 a second on the video's clock, as ``console replay``) is analysed
once by the console's worker (HOG on the full frame, quality gate, encodings) and once by
the classic face_recognition recipe (1/4 scale, upsample 1); the faces found are cached.
Then, for watchlists of 20, 100 and 1,000 subjects, rounds of people are watchlisted
(targets: their enrolment photo; padding up to N: photos of the calibration half's
people, who never walk, then synthetic encodings drawn from a Gaussian fitted to real
ones) and every other evaluation person walking is a distractor, never listed. Over the
rounds every person is a target once per size. Scored per recipe:

- recall per watchlisted sighting (a target's walk with an alert for them);
- false alerts (an alert on a distractor's walk, for the wrong subject, or on nobody:
  one per walk and subject, however many frames) per 1,000 distractor walks, with how
  many alerts and how many distinct pairs of people (walker, subject) were behind them;
- duplicates (alerts beyond the first for one walk and subject);
- latency: video seconds from the first frame with the whole face in view and at least
  80 px wide to the alert (negative: alerted as the face came in).

Recipes: the console as shipped (its default operating point and evidence rule), its
evidence rule changed one piece at a time (judged on the track's aggregated encoding,
a margin to the second-nearest subject, no single-frame strong rule), other operating
points, other enrolment templates, the console as it was (0.40, frame by frame), the
live console's crowd engine (it encodes only the faces whose encoding can change an
outcome, within its budget) at 5 analyses a second and, beside the every-face engine, at
2.5 (the live console analyses at most 3 a camera), and the classic recipe (one alert
per matching face per frame) at 0.6 and 0.5. The last
line of stdout is JSON. Videos and caches go to ``bench/results/unseen_faces/``
(git-ignored): they show the development set's faces and must never be committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _p in (HERE, REPO, REPO / "sample_streams"):
    sys.path.insert(0, str(_p))

from devsplit import (  # noqa: E402
    CALIBRATION,
    DEFAULT_FACES,
    EVALUATION,
    require_faces,
    source_set,
    split,
)
from make_samples import FPS, HEIGHT, WIDTH, backgrounds, make_sprite, paste  # noqa: E402

from console.domain.sightings import EvidenceRule  # noqa: E402
from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject  # noqa: E402
from console.pipeline import CameraPipeline  # noqa: E402
from console.vision.analysis import (  # noqa: E402
    AnalysisSettings,
    Detection,
    FaceObservation,
    analyse_frame,
    appearance,
)
from console.vision.encode_scheduler import EncodeBudget  # noqa: E402
from console.vision.enrolment import enrol_image, find_faces  # noqa: E402
from console.vision.matcher import Matcher  # noqa: E402
from console.vision.operating_point import (  # noqa: E402
    DEFAULT_ONE_IN,
    FalseAlertRate,
    threshold_for,
)
from console.vision.pool import AnalysisPool  # noqa: E402
from console.vision.second_descriptor import CHIP_PADDING, describe  # noqa: E402
from console.vision.sources import Frame, SourceSpec, VideoSource  # noqa: E402
from console.vision.templates import ENROLMENT_JITTERS  # noqa: E402

OUT = HERE / "results" / "unseen_faces"
SEED = 7
WALK_S = 4.5  # seconds from entering to leaving the frame
LANES = (230.0, 340.0, 450.0)  # face centre heights: far, middle and near side
STAGGER_S = 1.5  # a new walk starts every 1.5 s on each camera
ANALYSES_PER_SECOND = 5.0
MIN_VISIBLE_FACE_PX = 80
SIZES = (20, 100, 1000)
TARGETS_PER_ROUND = {20: 10, 100: 20, 1000: 20}
OLD_THRESHOLD = 0.40  # the console before this change
# Walks per colour person and per lab person. Colour walks are the headline (issue 24);
# the lab sets' people walk fewer times, which keeps a cold run within reach of a shared
# 2-core machine (their tight crops are the slowest photos to enrol).
WALKS = (6, 2)


# ----------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Walk:
    walk_id: int
    identity: str
    photo: str
    camera: str
    start: float
    lane: float
    left_to_right: bool
    w0: float
    w1: float
    mirror: bool
    brightness: float

    def at(self, t: float) -> tuple[float, float, float] | None:
        u = (t - self.start) / WALK_S
        if not 0.0 <= u <= 1.0:
            return None
        w = self.w0 + (self.w1 - self.w0) * u
        x = -0.1 * WIDTH + 1.2 * WIDTH * u
        if not self.left_to_right:
            x = WIDTH - x
        # Nearer the camera is lower in the frame: the lane drifts down as the face grows.
        y = self.lane + 0.6 * (w - self.w0) + 6 * math.sin(2 * math.pi * 1.7 * (t - self.start))
        return x, y, w

    def visible_from(self) -> float | None:
        for i in range(int(self.start * FPS), int((self.start + WALK_S) * FPS) + 1):
            pos = self.at(i / FPS)
            if pos and pos[2] >= MIN_VISIBLE_FACE_PX and pos[2] / 2 <= pos[0] <= WIDTH - pos[2] / 2:
                return i / FPS
        return None


@dataclass
class Person:
    identity: str
    enrolment: str  # photo path relative to the face folder
    enrolled: WatchlistSubject | None
    walking: list[str] = field(default_factory=list)
    # Other ways to build the template (see TEMPLATES), when they could be built.
    templates: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, np.ndarray] = field(default_factory=dict)  # second templates likewise
    enrolled_photos: dict[str, WatchlistSubject] = field(default_factory=dict)


def photos_of(faces: Path, identity: str) -> list[str]:
    return sorted(
        str(p.relative_to(faces))
        for p in (faces / identity).iterdir()
        if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )


def choose_people(
    faces: Path, names: list[str], pool: AnalysisPool, walks: tuple[int, int],
    extra_templates: bool = True,
) -> list[Person]:
    """Pick each person's enrolment photo (the first, in a seeded order, that enrols).
    *walks*: how many walks a colour person and a lab person make (only the photos that
    can be needed are enrolled: the lab sets' tight crops are the slowest to find)."""
    rng = np.random.default_rng(SEED)
    people = []
    for name in names:
        photos = photos_of(faces, name)
        order = [photos[i] for i in rng.permutation(len(photos))]
        people.append(Person(name, order[0], None, order[1:]))
    futures = {}
    for person in people:
        want = walks_for(person.identity, walks)
        for photo in [person.enrolment, *person.walking][: want + 2]:
            entry = WatchlistEntry(0, person.identity, person.identity, "wanted by the courts",
                                   faces / photo, {"source": "dev set"})
            futures[(person.identity, photo)] = pool.run(enrol_image, entry)
    for person in people:
        want = walks_for(person.identity, walks)
        candidates = [person.enrolment, *person.walking][: want + 2]
        for photo in candidates:
            result = futures[(person.identity, photo)].result()
            if isinstance(result, WatchlistSubject):
                person.enrolled_photos[photo] = result
                if person.enrolled is None:
                    person.enrolment, person.enrolled = photo, result
        person.walking = [p for p in candidates if p != person.enrolment][:want]
    build_templates(faces, people, pool, extra_templates)
    return people


def walks_for(identity: str, walks: tuple[int, int]) -> int:
    return walks[0] if source_set(identity) == "colour" else walks[1]


# A second enrolment photo is one the person otherwise walks with: that walk is then
# left out of scoring, for this template and for the one-photo row it is compared with.
SECOND_PHOTO = "two photos (mean)"
ONE_JITTER = "1 jitter"
TEMPLATES = (ONE_JITTER, "68-point alignment", SECOND_PHOTO)


def template_encoding(path: Path, jitters: int, model: str) -> np.ndarray | None:
    """The enrolment photo encoded another way (in a worker process)."""
    import face_recognition

    from console.vision.enrolment import _bounded

    image = _bounded(cv2.imread(str(path), cv2.IMREAD_COLOR))
    boxes = find_faces(image)
    if len(boxes) != 1:
        return None
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return face_recognition.face_encodings(rgb, boxes, num_jitters=jitters, model=model)[0]


def build_templates(faces: Path, people: list[Person], pool: AnalysisPool,
                    extra_templates: bool = True) -> None:
    from console.vision.scoring import combine_second
    from console.vision.templates import combine_encodings

    jobs = {}
    for p in people:
        if p.enrolled is None:
            continue
        if extra_templates:  # (otherwise only the two-photo template: nothing to encode)
            jobs[(p.identity, ONE_JITTER)] = pool.run(
                template_encoding, faces / p.enrolment, 1, "small")
            jobs[(p.identity, "68-point alignment")] = pool.run(
                template_encoding, faces / p.enrolment, ENROLMENT_JITTERS, "large")
        second = p.enrolled_photos.get(p.walking[0]) if p.walking else None
        if second is not None:
            p.templates[SECOND_PHOTO] = combine_encodings(
                [p.enrolled.encoding, second.encoding])
            if p.enrolled.second is not None and second.second is not None:
                p.seconds[SECOND_PHOTO] = combine_second([p.enrolled.second, second.second])
    for (identity, name), job in jobs.items():
        encoding = job.result()
        if encoding is not None:
            next(p for p in people if p.identity == identity).templates[name] = encoding


# ----------------------------------------------------------------------------- videos


def schedule(people: list[Person], rng: np.random.Generator) -> list[Walk]:
    """Round-robin over people, so one person's walks are far apart (no cooldown folds
    two of their sightings into one), alternating cameras, three lanes at a time."""
    rounds = max(len(p.walking) for p in people)
    order = [(p.identity, p.walking[r], (i + r) % 2) for r in range(rounds)
             for i, p in enumerate(people) if r < len(p.walking)]
    walks, clock = [], {"north": 0.3, "south": 0.3}
    for n, (identity, photo, side) in enumerate(order):
        camera = ("north", "south")[side]
        start = clock[camera]
        clock[camera] += STAGGER_S
        walks.append(
            Walk(n, identity, photo, camera, start, LANES[(n // 2) % 3],
                 bool(rng.integers(0, 2)), float(rng.uniform(70, 85)),
                 float(rng.uniform(140, 175)), bool(rng.integers(0, 2)),
                 float(rng.uniform(0.85, 1.1)))
        )
    return walks


def render(faces: Path, walks: list[Walk], folder: Path) -> tuple[dict[str, Path], set[int]]:
    """Write each camera's video; return them and the walks that could be drawn."""
    sprites = {}
    for w in walks:
        if w.photo not in sprites:
            image = cv2.imread(str(faces / w.photo), cv2.IMREAD_COLOR)
            boxes = find_faces(image)
            box = max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0])) if boxes else None
            sprites[w.photo] = _at_most(make_sprite(faces / w.photo, box), 200) if box else None
    videos = {}
    rng = np.random.default_rng(SEED)
    for camera in ("north", "south"):
        mine = [w for w in walks if w.camera == camera and sprites[w.photo] is not None]
        seconds = max(w.start for w in mine) + WALK_S + 0.5
        bgs = backgrounds(camera)
        path = videos[camera] = folder / f"{camera}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
        for i in range(int(seconds * FPS)):
            t = i / FPS
            frame = bgs[int(t * 10) % len(bgs)].copy()
            active = [(w, pos) for w in mine if (pos := w.at(t)) is not None]
            for w, pos in sorted(active, key=lambda a: a[1][2]):  # nearer (bigger) on top
                paste(frame, sprites[w.photo], *pos, w.mirror, w.brightness)
            noise = rng.standard_normal(frame.shape, dtype=np.float32) * 1.5
            writer.write(np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8))
        writer.release()
        print(f"  {path.name}: {seconds:.0f} s, {len(mine)} walks", file=sys.stderr)
    return videos, {w.walk_id for w in walks if sprites[w.photo] is not None}


# ---------------------------------------------------------------------------- analysis


def classic_analyse(frame_bgr: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """face_recognition's facerec_from_webcam_faster example: 1/4 scale, default HOG."""
    import face_recognition

    small = cv2.resize(frame_bgr, (0, 0), fx=0.25, fy=0.25)
    rgb = np.ascontiguousarray(small[:, :, ::-1])
    boxes = face_recognition.face_locations(rgb)
    encodings = face_recognition.face_encodings(rgb, boxes)
    return [((t * 4, r * 4, b * 4, lt * 4), e) for (t, r, b, lt), e in
            zip(boxes, encodings, strict=True)]


@dataclass
class Observed:
    console: dict[str, list[tuple[int, float, list[FaceObservation]]]]
    classic: dict[str, list[tuple[int, float, list]]]
    # Each console face's appearance at a glance (analysis.appearance), for the crowd
    # engine's tracker: in the order of the faces of each frame.
    looks: dict[str, list[list]] = field(default_factory=dict)


def console_observe(frame_bgr: np.ndarray) -> tuple[list[FaceObservation], list]:
    """The console's worker on one frame (every face encoded), and each face's
    appearance; run on the pool."""
    faces = analyse_frame(frame_bgr, AnalysisSettings())
    # Every encoded face's second descriptor too (float32, to keep the cache small): the
    # console computes it only near the threshold, which the recipes decide later.
    encoded = [i for i, f in enumerate(faces) if f.encoding is not None]
    seconds = describe(frame_bgr, [faces[i].bbox for i in encoded])
    for i, second in zip(encoded, seconds, strict=True):
        faces[i] = replace(faces[i], second=second.astype(np.float32))
    return faces, [appearance(frame_bgr, f.bbox) for f in faces]


def _at_most(sprite, face_px: float):
    """The cut-out scaled down once so its face is at most *face_px* wide: a 4,000 px
    photo would otherwise be resized for every frame it is drawn in."""
    if sprite.face_w <= face_px:
        return sprite
    k = face_px / sprite.face_w
    rgba = cv2.resize(sprite.rgba, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return replace(sprite, rgba=rgba, face_cx=sprite.face_cx * k, face_cy=sprite.face_cy * k,
                   face_w=face_px)


def analyse(videos: dict[str, Path], pool: AnalysisPool, classic: bool = True) -> Observed:
    console: dict[str, list] = {}
    classic: dict[str, list] = {}
    looks: dict[str, list] = {}
    for camera, path in videos.items():
        jobs = []
        with VideoSource(SourceSpec(camera, str(path))) as source:
            step = max(1, round(source.fps / ANALYSES_PER_SECOND))
            while (frame := source.read()) is not None:
                if frame.index % step == 0:
                    jobs.append((frame.index, frame.t, pool.run(console_observe, frame.image),
                                 pool.run(classic_analyse, frame.image) if classic else None))
                    if len(jobs) % 200 == 0:
                        print(f"  {camera}: {len(jobs)} frames submitted", file=sys.stderr)
                    while sum(not j[2].done() for j in jobs) > 8:
                        time.sleep(0.01)
        console[camera] = [(i, t, a.result()[0]) for i, t, a, _ in jobs]
        looks[camera] = [a.result()[1] for _, _, a, _ in jobs]
        classic[camera] = [(i, t, c.result() if c else []) for i, t, _, c in jobs]
    return Observed(console, classic, looks)


# ----------------------------------------------------------------------------- scoring


def attribute(walks: list[Walk], camera: str, t: float, bbox) -> Walk | None:
    """The walk whose face is where *bbox* is at time *t*, if any."""
    top, right, bottom, left = bbox
    cx, cy = (left + right) / 2, (top + bottom) / 2
    best, best_d = None, math.inf
    for w in walks:
        if w.camera != camera or (pos := w.at(t)) is None:
            continue
        d = math.hypot(pos[0] - cx, pos[1] - cy)
        if d < 0.6 * pos[2] and d < best_d:
            best, best_d = w, d
    return best


@dataclass
class Tally:
    sightings: int = 0
    alerted: int = 0
    distractor_walks: int = 0
    false_alerts: int = 0
    duplicates: int = 0
    alerts: int = 0
    latencies: list[float] = field(default_factory=list)
    # (who walked, which subject) behind each false alert: many alerts from one pair of
    # lookalikes is one lookalike, not a rate.
    false_pairs: set[tuple[str, str]] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        for k in ("sightings", "alerted", "distractor_walks", "false_alerts", "duplicates",
                  "alerts"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.latencies += other.latencies
        self.false_pairs |= other.false_pairs

    def row(self) -> dict:
        lat = np.array(self.latencies) if self.latencies else np.array([math.nan])
        return {
            "sightings": self.sightings,
            "alerted": self.alerted,
            "recall": round(self.alerted / self.sightings, 4) if self.sightings else None,
            "distractor_walks": self.distractor_walks,
            "false_alerts": self.false_alerts,
            "false_per_1000_distractor_walks": round(
                1000 * self.false_alerts / max(1, self.distractor_walks), 2),
            "false_alert_pairs": len(self.false_pairs),
            "false_on_padding": sum(s.startswith("PAD-") for _, s in self.false_pairs),
            "duplicates": self.duplicates,
            "alerts": self.alerts,
            "latency_p50_s": round(float(np.nanpercentile(lat, 50)), 2),
            "latency_p95_s": round(float(np.nanpercentile(lat, 95)), 2),
        }


def score(raised: list[tuple[str, float, str, tuple]], walks: list[Walk], targets: set[str],
          rendered: set[int], walkers: set[str] | None = None) -> Tally:
    """*raised*: (camera, t, subject_id, bbox) per alert. *walkers*: score only the
    walks of these people (an alert on nobody then counts for none)."""
    tally = Tally(alerts=len(raised))
    first: dict[tuple[int, str], float] = {}
    wrong: set[tuple[object, str]] = set()
    for camera, t, subject, bbox in sorted(raised, key=lambda r: r[1]):
        walk = attribute(walks, camera, t, bbox)
        if walkers is not None and (walk is None or walk.identity not in walkers):
            continue
        if walk is None or walk.identity != subject:
            key = (walk.walk_id if walk else (camera, round(t)), subject)
            if key in wrong:
                tally.duplicates += 1
            else:
                wrong.add(key)
                tally.false_alerts += 1
                tally.false_pairs.add((walk.identity if walk else "nobody", subject))
            continue
        if (walk.walk_id, subject) in first:
            tally.duplicates += 1
        else:
            first[(walk.walk_id, subject)] = t
    for w in walks:
        if w.walk_id not in rendered or (walkers is not None and w.identity not in walkers):
            continue
        if w.identity in targets:
            tally.sightings += 1
            if (w.walk_id, w.identity) in first:
                tally.alerted += 1
                seen = w.visible_from()
                if seen is not None:
                    tally.latencies.append(first[(w.walk_id, w.identity)] - seen)
        else:
            tally.distractor_walks += 1
    return tally


def live_encodes_per_camera(cameras: int = 2) -> float:
    """What the live console's shared budget gives each of two cameras on this machine:
    a share of two workers' time at what an encoding costs here, timed now by the
    console's own pool."""
    with AnalysisPool(kind="process") as pool:
        return pool.time_encodings() / cameras


def run_console(observed: Observed, watchlist: Watchlist, threshold: float,
                rule: EvidenceRule, crowd: bool = False, every: int = 1,
                encodes_per_camera: float = 0.0, fusion=None,
                ) -> list[tuple[str, float, str, tuple]]:
    """*crowd*: the live console's crowd engine (it tracks every face but encodes only
    those whose encoding can change an outcome, within a budget: *encodes_per_camera* a
    second, on the video's clock); its faces are the ones found on the
    whole frame, where the live engine sweeps once a second and looks around followed
    faces and motion in between. Otherwise every face of every analysed frame, as
    ``replay``. *every*: only every k-th analysed frame."""
    raised = []
    if isinstance(fusion, Normalisation):
        matcher = NormalisedMatcher(watchlist, threshold, fusion)
    else:
        matcher = Matcher(watchlist, threshold, fusion=fusion)
    blank = np.zeros((HEIGHT, WIDTH, 3), np.uint8)  # crops are not scored: no pixels needed
    for camera, frames in observed.console.items():
        numbers = iter(range(1, 1_000_000))
        # Second descriptors come with the cached faces (all of them; the matcher uses
        # those near the threshold): nothing to compute here.
        pipeline = CameraPipeline(camera, matcher, lambda c, n=numbers: f"{c}-{next(n)}", rule,
                                  describe=None)
        seen: list = []
        observe = pipeline.sightings.observe

        def capture(t, frame, matches, observe=observe, seen=seen):
            seen[:] = matches
            return observe(t, frame, matches)

        pipeline.sightings.observe = capture
        if crowd:
            pipeline.use_budget(EncodeBudget(encodes_per_camera, clock=None))
        for k, (index, t, faces) in enumerate(frames):
            if k % every:
                continue
            frame = Frame(blank, index, t)
            if crowd:
                looks = observed.looks[camera][k]
                found = [Detection(f.bbox, f.sharpness, look)
                         for f, look in zip(faces, looks, strict=True)]
                chosen = pipeline.choose(frame, found)
                encoded = [faces[i].encoding for i in chosen.to_encode]
                seconds = {k: faces[chosen.to_encode[k]].second
                           for k in pipeline.wants_second(encoded)}
                events = pipeline.settle(frame, chosen, encoded, seconds)
            else:
                events = pipeline.process(frame, faces)
                # The console describes only the faces in the band (the cache has all).
                pipeline.counters.faces_described += sum(
                    f.encoding is not None and matcher.wants_second(f.encoding) for f in faces)
            for event in events:
                if event.is_new:
                    subject = event.alert.subject_id
                    bbox = next(m.bbox for m in seen if m.subject_id == subject)
                    raised.append((camera, t, subject, bbox))
        COST["encoded"] += pipeline.counters.faces_encoded
        COST["described"] += pipeline.counters.faces_described
    return raised


# Faces encoded and described by the last run_console calls (reset by the caller).
COST = {"encoded": 0, "described": 0}


def run_classic(observed: Observed, watchlist: Watchlist, tolerance: float):
    raised = []
    known = watchlist.encodings
    ids = [s.subject_id for s in watchlist.subjects]
    for camera, frames in observed.classic.items():
        for _, t, faces in frames:
            for bbox, encoding in faces:
                distances = np.linalg.norm(known - encoding, axis=1)
                best = int(np.argmin(distances))
                if distances[best] <= tolerance:
                    raised.append((camera, t, ids[best], bbox))
    return raised


# ----------------------------------------------------------------------------- padding


def padding_pool(faces: Path, halves: dict[str, str], need: int, scored: str = EVALUATION
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Encodings of people who never walk: the other half, then synthetic ones; and the
    real ones' second descriptors (NaN rows for the synthetic: scored on dlib alone)."""
    from calibrate_threshold import load_or_encode
    from second_pairs import second_set

    face_set = load_or_encode(faces, 2, use_cache=True)
    seconds = second_set(faces, face_set.paths, CHIP_PADDING)
    mask = np.array([halves[i] != scored for i in face_set.identities])
    real, real_seconds = face_set.encodings[mask], seconds[mask]
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(real))
    real, real_seconds = real[order], real_seconds[order]
    synthetic = max(0, need - len(real))
    if synthetic:
        drawn = rng.multivariate_normal(real.mean(axis=0), np.cov(real.T), synthetic)
        real = np.vstack([real, drawn])
        real_seconds = np.vstack([real_seconds, np.full((synthetic, seconds.shape[1]), np.nan)])
    return real[:need], real_seconds[:need], synthetic


def padded_watchlist(targets: list[Person], padding: np.ndarray, size: int,
                     template: str = "", round_no: int = 0, synthetic: int = 0,
                     padding_seconds: np.ndarray | None = None) -> Watchlist:
    """The round's targets, then padding drawn afresh for each round (the same padding
    in every round would repeat one lookalike's false alert round after round)."""
    subjects = [
        replace(p.enrolled, encoding=p.templates.get(template, p.enrolled.encoding),
                second=p.seconds.get(template, p.enrolled.second))
        for p in targets if p.enrolled is not None
    ]
    blank = np.zeros((1, 1, 3), np.uint8)
    rng = np.random.default_rng(SEED + round_no)
    real = len(padding) - synthetic
    order = np.concatenate([rng.permutation(real), np.arange(real, len(padding))])
    chosen = order[: size - len(subjects)]  # real people first, then synthetic
    for i, k in enumerate(chosen):
        entry = WatchlistEntry(0, f"PAD-{i:04d}", f"PAD-{i:04d}", "wanted by the courts",
                               Path("none"))
        second = None
        if padding_seconds is not None and not np.isnan(padding_seconds[k]).any():
            second = padding_seconds[k]
        subjects.append(WatchlistSubject(entry, padding[k], blank, second=second))
    return Watchlist(Path("."), subjects)


# ------------------------------------------------------------------------------- main


@dataclass(frozen=True)
class Recipe:
    kind: str  # "console" or "classic"
    threshold: float
    rule: EvidenceRule | None = None
    template: str = ""  # one of TEMPLATES; "" is as the console enrols (one photo)
    same_walks_as_two_photos: bool = False  # leave out the walks SECOND_PHOTO uses
    crowd: bool = False  # the live console's crowd engine (run_console)
    every: int = 1  # analyse every k-th of the street's analysed frames (2: 2.5 a second)
    scoring: str = "shipped"  # one of SCORINGS: how a face is scored against a subject


# How a face is scored (issue 24), one piece at a time: dlib's distance alone (the
# console before), and with the second descriptor fused near the threshold. Resolved to
# the Matcher's fusion in main(); "shipped" is what resources/calibration.json ships.
SCORINGS = ("dlib alone", "normalisation", "second descriptor",
            "normalisation + second descriptor", "shipped")
PIECES = {
    "console before (dlib alone)": "dlib alone",
    "console + normalisation": "normalisation",
    "console + second descriptor": "second descriptor",
    "console + both": "normalisation + second descriptor",
}


def recipes(size: int) -> dict[str, Recipe]:
    shipped = EvidenceRule()
    t = threshold_for(FalseAlertRate(DEFAULT_ONE_IN), size)
    out = {
        "console": Recipe("console", t, shipped),
        **{name: Recipe("console", t, shipped, scoring=scoring)
           for name, scoring in PIECES.items()},
        "console, crowd engine (live)": Recipe("console", t, shipped, crowd=True),
        # The live console analyses at most 3 frames a second a camera: both engines at
        # 2.5 a second, on the same frames.
        "console, 2.5 analyses/s": Recipe("console", t, shipped, every=2),
        "console, crowd engine, 2.5 analyses/s": Recipe(
            "console", t, shipped, crowd=True, every=2),
        "console, aggregated per track (weighted)": Recipe(
            "console", t, replace(shipped, aggregate=True)),
        "console, aggregated per track (unweighted)": Recipe(
            "console", t, replace(shipped, aggregate=True, weighted=False)),
        "console, + margin 0.05 to 2nd subject": Recipe(
            "console", t, replace(shipped, min_margin=0.05)),
        "console, no single-frame strong rule": Recipe(
            "console", t, replace(shipped, strong_margin=9.0)),
        # As it was: 0.40, frame by frame, one photo encoded once.
        "console before (0.40, 1 jitter)": Recipe("console", OLD_THRESHOLD, shipped, ONE_JITTER),
        # The face_recognition example enrols with face_encodings(image)[0]: one jitter.
        "classic 0.6": Recipe("classic", 0.6, template=ONE_JITTER),
        "classic 0.5": Recipe("classic", 0.5, template=ONE_JITTER),
    }
    for one_in in (100, 10_000, 100_000):
        out[f"console at 1 in {one_in:,}"] = Recipe(
            "console", threshold_for(FalseAlertRate(one_in), size), shipped)
    out["console, enrolled with 1 jitter (before)"] = Recipe("console", t, shipped, ONE_JITTER)
    out["console, enrolled with 68-point alignment"] = Recipe(
        "console", t, shipped, "68-point alignment")
    out["console, 1 photo (walks of the 2-photo row)"] = Recipe(
        "console", t, shipped, same_walks_as_two_photos=True)
    out["console, enrolled with 2 photos"] = Recipe(
        "console", t, shipped, SECOND_PHOTO, same_walks_as_two_photos=True)
    return out


@dataclass(frozen=True)
class Normalisation:
    """The cohort normalisation candidate (issue 24), in the only form that could ship
    as summary statistics: T-norm of the probe and Z-norm of the subject both shift a
    distance by how close that face sits to everyone, and a face's mean distance to a
    cohort is almost exactly its distance to the cohort's mean encoding (correlation
    0.999 on the calibration half). So n = d - beta * (r_probe + r_subject - 2 r_mean),
    r = |x - mu|, mu the calibration half's mean encoding; then mapped back to dlib's
    scale through the calibration half's impostor quantiles, as the fusion is. Measured
    on the calibration half's photo pairs (bench/second_pairs.py) it lowered colour
    recall at every false-accept rate, for every beta tried; shown here, not shipped."""

    mu: np.ndarray
    r_mean: float
    beta: float
    n_quantiles: np.ndarray
    d_quantiles: np.ndarray
    fusion: object = None  # the second descriptor's, for "both"

    def normalise(self, d: np.ndarray, probe: np.ndarray, encodings: np.ndarray) -> np.ndarray:
        r_probe = float(np.linalg.norm(np.asarray(probe) - self.mu))
        r_subject = np.linalg.norm(encodings - self.mu, axis=1)
        n = d - self.beta * (r_probe + r_subject - 2 * self.r_mean)
        return np.interp(n, self.n_quantiles, self.d_quantiles)


def normalisation(faces: Path, halves: dict[str, str], beta: float = 0.25,
                  fusion=None) -> Normalisation:
    from build_calibration import impostor_table
    from calibrate_threshold import load_or_encode, pairwise_distances

    face_set = load_or_encode(faces, 2, use_cache=True)
    keep = np.array([halves[i] == CALIBRATION for i in face_set.identities])
    enc, ids = face_set.encodings[keep], face_set.identities[keep]
    mu = enc.mean(axis=0)
    r = np.linalg.norm(enc - mu, axis=1)
    d = pairwise_distances(enc)
    iu, ju = np.triu_indices(len(ids), k=1)
    imp = ids[iu] != ids[ju]
    n = d[iu, ju] - beta * (r[iu] + r[ju] - 2 * r.mean())
    # Both impostor tables as the calibration builds dlib's (extrapolated below the
    # measured floor), paired share by share.
    n_rows, _, _ = impostor_table(np.sort(n[imp]))
    d_rows, _, _ = impostor_table(np.sort(d[iu, ju][imp]))
    nq = np.maximum.accumulate(np.array([v for _, v in n_rows]))
    nq = nq + np.arange(len(nq)) * 1e-9  # strictly increasing for np.interp
    dq = np.array([v for _, v in d_rows])
    return Normalisation(mu, float(r.mean()), beta, nq, dq, fusion)


class NormalisedMatcher(Matcher):
    """The console's matcher with the normalisation candidate applied to dlib's
    distance before anything else (the band and the fusion included)."""

    def __init__(self, watchlist: Watchlist, threshold: float, norm: Normalisation) -> None:
        self.norm = norm
        super().__init__(watchlist, threshold, fusion=norm.fusion)

    def _squared_distances(self, encoding: np.ndarray) -> np.ndarray:
        d = np.sqrt(np.maximum(super()._squared_distances(encoding), 0.0))
        return self.norm.normalise(d, encoding, self._encodings) ** 2


PIECE_ROWS = {*PIECES, "console", "console, crowd engine (live)",
              "console, crowd engine, 2.5 analyses/s", "console, 2.5 analyses/s"}


def print_pieces(results: dict, sizes: list[int]) -> None:
    """Issue 24's table: the console before and after each piece, colour and lab apart."""
    print("\nrecall at the default rate / false alerts per 1,000 distractor walks "
          "(alerts/pairs), colour web photos and lab sets apart")
    names = [*PIECES, "console"]
    print(f"{'recipe':34} {'walkers':7} " + " ".join(f"{'N=' + str(n):>26}" for n in sizes))
    for name in names:
        for group in ("colour", "lab"):
            cells = []
            for n in sizes:
                row = results[str(n)].get(f"{name} [{group}]")
                if row is None:
                    cells.append(f"{'-':>26}")
                    continue
                cells.append(f"{row['alerted']:>4}/{row['sightings']:<4} {row['recall'] or 0:.2f} "
                             f"{row['false_per_1000_distractor_walks']:6.1f} "
                             f"({row['false_alerts']}/{row['false_alert_pairs']})".rjust(26))
            label = "console as shipped" if name == "console" else name
            print(f"{label:34} {group:7} " + " ".join(cells))


def scorings(args: argparse.Namespace) -> dict:
    """SCORINGS -> the Matcher's fusion (None: dlib alone). The second descriptor's comes
    from the shipped calibration, or --calibration (a file build_calibration.py wrote
    with --check --out, to compare before shipping)."""
    from console.vision.scoring import Fusion, shipped_fusion

    if args.calibration:
        data = json.loads(Path(args.calibration).read_text())
        fusion = Fusion.from_json(data["fusion"]) if data.get("fusion") else None
    else:
        fusion = shipped_fusion()
    halves = split(sorted(p.name for p in args.faces.iterdir() if p.is_dir()))
    return {
        "dlib alone": None,
        "normalisation": normalisation(args.faces, halves),
        "second descriptor": fusion,
        "normalisation + second descriptor": normalisation(args.faces, halves, fusion=fusion),
        "shipped": shipped_fusion(),
    }


def enrolled_people(faces: Path, names: list[str], pool: AnalysisPool, walks: tuple[int, int],
                    folder: Path, extra_templates: bool = True) -> list[Person]:
    """choose_people, cached until the enrolment code changes (10 jitters a photo make
    enrolling every photo of every person the slowest step of a run)."""
    import inspect

    from console.vision import analysis, enrolment, templates

    code = [Path(m.__file__).read_text() for m in (analysis, enrolment, templates)]
    code += [inspect.getsource(f) for f in (choose_people, build_templates, template_encoding)]
    key = hashlib.sha256(json.dumps([code, walks, TEMPLATES, extra_templates]).encode()).hexdigest()
    cache = folder / f"people-{key[:12]}.pkl"
    if cache.exists():  # our own file, in a git-ignored folder
        return pickle.loads(cache.read_bytes())
    people = choose_people(faces, names, pool, walks, extra_templates)
    cache.write_bytes(pickle.dumps(people))
    return people


def street(faces: Path, names: list[str], walks: tuple[int, int] = WALKS, classic: bool = True,
           extra_templates: bool = True) -> tuple[list[Person], list[Walk], Observed, set[int]]:
    """The people, their walks and what was found in the videos: built and analysed
    once, then read from a git-ignored cache."""
    key = hashlib.sha256(
        json.dumps([names, walks, SEED, WALK_S, LANES, "looks", "second",
                    CHIP_PADDING]).encode()
    ).hexdigest()[:12]
    folder = OUT / key
    folder.mkdir(parents=True, exist_ok=True)
    cache = folder / "observed.pkl"
    print(f"{len(names)} people; cache {folder}", file=sys.stderr)
    with AnalysisPool(AnalysisSettings(), workers=2) as pool:
        people = enrolled_people(faces, names, pool, walks, folder, extra_templates)
        walks = schedule(people, np.random.default_rng(SEED))
        if cache.exists():  # our own file, in a git-ignored folder
            observed, rendered = pickle.loads(cache.read_bytes())
        else:
            print("rendering ...", file=sys.stderr)
            videos, rendered = render(faces, walks, folder)
            print("analysing ...", file=sys.stderr)
            observed = analyse(videos, pool, classic)
            cache.write_bytes(pickle.dumps((observed, rendered)))
    return people, walks, observed, rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--walks-per-person", type=int, default=WALKS[0],
                        help="walks of each colour person")
    parser.add_argument("--lab-walks-per-person", type=int, default=WALKS[1])
    parser.add_argument("--no-classic", action="store_true",
                        help="leave out the classic recipe (its analysis is a third of a "
                        "cold run)")
    parser.add_argument("--people", type=int, default=0, help="at most this many (0: all)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument(
        "--half", choices=(EVALUATION, CALIBRATION), default=EVALUATION,
        help="score the evaluation half (the report) or the calibration half (where the "
        "shipped choices were made; no classic rows: its street is analysed once for the "
        "console only)")
    parser.add_argument(
        "--encodes-per-camera", type=float, default=0.0,
        help="the crowd engine's budget a camera (default: what the live console's budget "
        "gives each of two cameras on this machine, timed at the start)")
    parser.add_argument("--recipes", choices=("all", "pieces", "normalisation"), default="all",
                        help="pieces: only issue 24's rows (the console before and after "
                        "each piece, the crowd engine as shipped)")
    parser.add_argument("--calibration", type=Path, default=None,
                        help="take the second descriptor's fusion from this calibration file")
    args = parser.parse_args()
    faces = require_faces(args.faces)
    started = time.monotonic()
    encodes_per_camera = args.encodes_per_camera or live_encodes_per_camera()
    print(f"crowd engine: {encodes_per_camera:.1f} encodings a second a camera", flush=True)
    names = sorted(set(p.name for p in faces.iterdir() if p.is_dir()))
    halves = split(names)
    scored_half = [n for n in names if halves[n] == args.half]
    if args.people:
        scored_half = scored_half[: args.people]
    classic = args.half == EVALUATION and not args.no_classic
    people, walks, observed, rendered = street(
        faces, scored_half, (args.walks_per_person, args.lab_walks_per_person),
        classic=classic, extra_templates=args.recipes == "all")
    enrollable = [p for p in people if p.enrolled is not None]
    sizes = [int(s) for s in args.sizes.split(",")]
    padding, padding_seconds, synthetic = padding_pool(faces, halves, max(sizes), args.half)
    fusions = scorings(args)
    groups = {
        "colour": {p.identity for p in enrollable if source_set(p.identity) == "colour"},
        "lab": {p.identity for p in enrollable if source_set(p.identity) != "colour"},
    }
    results: dict[str, dict] = {}
    for size in sizes:
        per_round = TARGETS_PER_ROUND.get(size, 10)
        rounds = [enrollable[i : i + per_round] for i in range(0, len(enrollable), per_round)]
        tallies: dict[str, Tally] = defaultdict(Tally)
        costs: dict[str, dict[str, int]] = {}
        thresholds = {}
        # Walks whose photo a two-photo template enrols: left out of the rows comparing.
        second = {p.identity: p.walking[0] for p in enrollable if SECOND_PHOTO in p.templates}
        used = {w.walk_id for w in walks if second.get(w.identity) == w.photo}
        for round_no, targets in enumerate(rounds):
            target_ids = {p.identity for p in targets}
            for name, recipe in recipes(size).items():
                if recipe.kind == "classic" and not classic:
                    continue
                if args.recipes == "pieces" and name not in PIECE_ROWS:
                    continue
                if args.recipes == "normalisation" and "normalisation" not in recipe.scoring:
                    continue
                watchlist = padded_watchlist(
                    targets, padding, size, recipe.template, round_no, synthetic,
                    padding_seconds)
                thresholds[name] = recipe.threshold
                raised = (
                    run_console(observed, watchlist, recipe.threshold, recipe.rule, recipe.crowd,
                                recipe.every, encodes_per_camera, fusions[recipe.scoring])
                    if recipe.kind == "console"
                    else run_classic(observed, watchlist, recipe.threshold)
                )
                scored = rendered - used if recipe.same_walks_as_two_photos else rendered
                tallies[name].add(score(raised, walks, target_ids, scored))
                costs.setdefault(name, {"encoded": 0, "described": 0})
                for k in ("encoded", "described"):
                    costs[name][k] += COST[k]
                    COST[k] = 0
                # Colour web photos and the lab sets apart (issue 24): the colour figure is
                # the one that describes a street.
                for group, walkers in groups.items():
                    tallies[f"{name} [{group}]"].add(
                        score(raised, walks, target_ids, scored, walkers))
        results[str(size)] = {
            name: {"threshold": thresholds[name.split(" [")[0]], **tally.row(),
                   **{f"faces_{k}": v for k, v in costs.get(name, {}).items()}}
            for name, tally in tallies.items()
        }
        print(f"\nwatchlist of {size} ({len(rounds)} rounds of {per_round} targets)")
        print(f"{'recipe':44} {'thr':>6} {'recall':>13} {'false/1000 (n/pairs)':>20} {'dup':>5} "
              f"{'lat p50/p95 s':>14}")
        for name, row in results[str(size)].items():
            print(f"{name:44} {row['threshold']:6.3f} {row['alerted']:5d}/{row['sightings']:<4d}"
                  f"{row['recall'] or 0:.2f} {row['false_per_1000_distractor_walks']:8.2f} "
                  f"({row['false_alerts']}/{row['false_alert_pairs']}) {row['duplicates']:4d} "
                  f"{row['latency_p50_s']:6.2f}/{row['latency_p95_s']:.2f}")
    print_pieces(results, sizes)
    summary = {
        "benchmark": "unseen_faces",
        "half": args.half,
        "people": len(scored_half),
        "enrolled": len(enrollable),
        "walks": len(rendered),
        "by_source_set": {s: sum(source_set(p.identity) == s for p in enrollable)
                          for s in ("colour", "att", "yale", "yaleb")},
        "padding_synthetic": synthetic,
        "default_operating_point": str(FalseAlertRate(DEFAULT_ONE_IN)),
        "wall_s": round(time.monotonic() - started, 1),
        "crowd_engine_encodes_per_camera_s": round(encodes_per_camera, 1),
        "results": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
