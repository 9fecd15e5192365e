"""Calibrate the console's default match threshold on the development face set.

dlib's 0.6 is a one-to-one verification point ("is this pair the same person?"). The
console asks a different question: does this passer-by match *any* of N watchlist
subjects? A passer-by who is on no watchlist gets N chances to false-match, so the
per-pair false-match rate (FMR) has to be roughly N times smaller than a 1:1 system
would accept. This script measures, on ``../shared/facedata/dev``:

1. pair verification: the genuine (same identity) and impostor (different identity)
   distance distributions, hence true-accept rate (TAR) and FMR per threshold, and the
   estimated probability that a passer-by false-matches at least one of 1,000
   subjects, ``1 - (1 - FMR) ** 1000`` (which assumes the 1,000 comparisons are
   independent);
2. open-set identification: half the identities form a watchlist (one enrolment image
   each), the other half are passers-by; repeated over seeded random splits;
3. a deliberately weak model of the console's two-frame evidence rule, using two
   *different* photos of one person as the two frames.

The face set is research-only: nothing derived from it may be committed. Encodings are
cached in ``bench/results/`` (git-ignored) so that reruns take seconds.

Usage (from the repository root)::

    .venv/bin/python bench/calibrate_threshold.py [--faces DIR] [--splits 20]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# face_recognition_models imports pkg_resources (see NOTES.md); its deprecation warning
# would be printed once per worker process and says nothing about the calibration.
warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FACES = REPO_ROOT.parent / "shared" / "facedata" / "dev"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
CACHE_FILE = RESULTS_DIR / "facedata_dev_encodings.npz"

# Bump when anything about how an image becomes an encoding changes, so that a stale
# cache is never mixed with fresh encodings.
ENCODER_VERSION = "hog u0>u1>pad u2; largest face; jitters=1; landmarks=small; v1"

WATCHLIST_N = 1000
GREY_PREFIXES = ("att_", "yale_", "yaleb_")
# Reported separately because the greyscale lab sets (harsh lighting, tiny crops) behave
# nothing like the colour web photos; "grey" is att + yale + yaleb.
SUBSETS = ("colour", "grey", "att", "yale", "yaleb")
# The brief's grid, plus the console's current default and dlib's default in it.
REPORT_GRID = tuple(round(0.30 + 0.025 * i, 3) for i in range(13))
FINE_GRID = tuple(round(0.30 + 0.005 * i, 3) for i in range(61))

# The recommendation rule (see recommend()): the largest threshold at which a passer-by
# who is on no watchlist has at most this estimated chance of a single-frame false match
# against a 1,000-subject watchlist.
DEFAULT_TARGET_P_FALSE = 0.01


# --------------------------------------------------------------------------- encoding


def _find_largest_face(rgb: np.ndarray, upsample: int) -> tuple[int, int, int, int] | None:
    import face_recognition

    boxes = face_recognition.face_locations(rgb, number_of_times_to_upsample=upsample, model="hog")
    if not boxes:
        return None
    # Several faces in one photo (group shots, posters): the labelled person is the
    # largest face in every image we inspected.
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))


def _detection_attempts(rgb: np.ndarray) -> Iterable[tuple[str, np.ndarray, int]]:
    """(label, image, upsample) in order of cost; later ones run only if earlier fail."""
    yield "u0", rgb, 0
    # Upsampling a 3840 px photo costs seconds and every colour photo is found at u0;
    # only small images get the more expensive attempts.
    if max(rgb.shape[:2]) > 1200:
        return
    yield "u1", rgb, 1
    # Tight greyscale crops (AT&T 92x112, Yale B) cut through the forehead and chin, so
    # HOG's 80x80 window never sees a whole face; a black border restores the context
    # and upsampling twice makes the face big enough. A quarter-size replicated border
    # rescues the one crop the black border does not.
    h, w = rgb.shape[:2]
    import cv2

    for label, frac, mode in (
        ("pad50-u2", 0.5, cv2.BORDER_CONSTANT),
        ("pad25-u2", 0.25, cv2.BORDER_CONSTANT),
        ("rep25-u2", 0.25, cv2.BORDER_REPLICATE),
    ):
        p = int(max(h, w) * frac)
        yield label, cv2.copyMakeBorder(rgb, p, p, p, p, mode, value=(0, 0, 0)), 2


def encode_image(path: str) -> tuple[str, np.ndarray | None, str]:
    """Encode the largest face of one image as the console does.

    Returns (path, 128-d encoding or None, how the face was found). Runs in a worker
    process: dlib's encoder holds the GIL, so threads would not use the second core.
    """
    import face_recognition

    rgb = face_recognition.load_image_file(path, mode="RGB")
    for label, image, upsample in _detection_attempts(rgb):
        box = _find_largest_face(image, upsample)
        if box is None:
            continue
        # Same call as console/vision/analysis.py, on the (possibly padded) image the
        # box refers to.
        encodings = face_recognition.face_encodings(
            image, known_face_locations=[box], num_jitters=1, model="small"
        )
        return path, np.asarray(encodings[0], dtype=np.float64), label
    return path, None, "not found"


@dataclass(frozen=True)
class FaceSet:
    """Encoded images: one row per image whose face was found."""

    paths: list[str]  # relative to the face folder
    identities: np.ndarray  # str, per image
    encodings: np.ndarray  # (n, 128) float64
    methods: list[str]
    failed: list[str]


def identity_subset(identity: str) -> str:
    """'att', 'yale', 'yaleb' (greyscale lab sets) or 'colour' (web photos)."""
    for prefix in GREY_PREFIXES:
        if identity.startswith(prefix):
            return prefix.rstrip("_")
    return "colour"


def list_images(faces: Path) -> list[Path]:
    """Every dev/<identity>/<n>.jpg, in a stable order."""
    return sorted(p for p in faces.glob("*/*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _cache_is_git_ignored(cache: Path) -> bool:
    """True unless git says the cache would be tracked: it must never be committed."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "check-ignore", "-q", str(cache)],
            capture_output=True,
            check=False,
        )
    except OSError:
        return True  # no git: nothing can commit it by accident from here
    # 0 = ignored, 1 = not ignored, 128 = not a repository (then nothing to protect).
    return result.returncode != 1


def load_or_encode(faces: Path, workers: int, use_cache: bool) -> FaceSet:
    """Encode every image, reusing cached encodings of unchanged files."""
    images = list_images(faces)
    rel = [str(p.relative_to(faces)) for p in images]
    stamps = [_stamp(p) for p in images]

    cached: dict[tuple[str, str], tuple[np.ndarray | None, str]] = {}
    if use_cache and CACHE_FILE.exists():
        with np.load(CACHE_FILE, allow_pickle=False) as data:
            if str(data["version"]) == ENCODER_VERSION:
                for key, stamp, enc, method in zip(
                    data["paths"], data["stamps"], data["encodings"], data["methods"], strict=True
                ):
                    cached[(str(key), str(stamp))] = (
                        None if np.isnan(enc).any() else enc,
                        str(method),
                    )

    results: dict[str, tuple[np.ndarray | None, str]] = {}
    todo = []
    for path, key, stamp in zip(images, rel, stamps, strict=True):
        hit = cached.get((key, stamp))
        if hit is None:
            todo.append(str(path))
        else:
            results[key] = hit

    if todo:
        print(f"encoding {len(todo)} images on {workers} processes ...", file=sys.stderr)
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, (path, enc, method) in enumerate(
                pool.map(encode_image, todo, chunksize=4), start=1
            ):
                results[str(Path(path).relative_to(faces))] = (enc, method)
                if done % 100 == 0 or done == len(todo):
                    elapsed = time.monotonic() - started
                    print(f"  {done}/{len(todo)} ({elapsed:.0f} s)", file=sys.stderr)
        if use_cache:
            _write_cache(rel, stamps, results)

    paths, ids, encs, methods, failed = [], [], [], [], []
    for key in rel:
        enc, method = results[key]
        if enc is None:
            failed.append(key)
            continue
        paths.append(key)
        ids.append(key.split("/")[0])
        encs.append(enc)
        methods.append(method)
    return FaceSet(paths, np.array(ids), np.vstack(encs), methods, failed)


def _write_cache(
    rel: list[str], stamps: list[str], results: dict[str, tuple[np.ndarray | None, str]]
) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if not _cache_is_git_ignored(CACHE_FILE):
        print(f"NOT caching: git does not ignore {CACHE_FILE}", file=sys.stderr)
        return
    encodings = np.array(
        [results[k][0] if results[k][0] is not None else np.full(128, np.nan) for k in rel]
    )
    tmp = CACHE_FILE.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        version=np.array(ENCODER_VERSION),
        paths=np.array(rel),
        stamps=np.array(stamps),
        methods=np.array([results[k][1] for k in rel]),
        encodings=encodings,
    )
    os.replace(tmp, CACHE_FILE)  # a killed run never leaves half a cache behind


# ------------------------------------------------------------------------- statistics


def pairwise_distances(encodings: np.ndarray) -> np.ndarray:
    """Euclidean distance between every two encodings (the console's metric)."""
    sq = np.einsum("ij,ij->i", encodings, encodings)
    d2 = sq[:, None] - 2.0 * encodings @ encodings.T + sq[None, :]
    return np.sqrt(np.clip(d2, 0.0, None))


def clopper_pearson_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided exact upper bound on a binomial rate with k successes in n trials.

    It treats pairs as independent, which they are not (each image is in many pairs), so
    it is a lower bound on the real uncertainty; it still says how little "0 of n" means.
    """
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    alpha = 1.0 - confidence
    j = np.arange(k + 1)
    log_binom = (
        math.lgamma(n + 1)
        - np.array([math.lgamma(x + 1) for x in j])
        - np.array([math.lgamma(n - x + 1) for x in j])
    )

    def cdf(p: float) -> float:
        terms = log_binom + j * math.log(p) + (n - j) * math.log1p(-p)
        top = terms.max()
        return float(math.exp(top) * np.exp(terms - top).sum())

    lo, hi = k / n, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdf(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def p_any_false_match(fmr: float, n: int = WATCHLIST_N) -> float:
    """P(a passer-by matches at least one of n subjects), comparisons independent."""
    return 1.0 - (1.0 - fmr) ** n


@dataclass(frozen=True)
class PairStats:
    threshold: float
    tar: float
    fmr: float
    false_pairs: int
    false_identity_pairs: int
    fmr_upper95: float


def pair_stats(
    d: np.ndarray, ids: np.ndarray, mask: np.ndarray, thresholds: Iterable[float]
) -> tuple[list[PairStats], int, int]:
    """TAR and FMR over the pairs of images whose both ends are in ``mask``."""
    idx = np.flatnonzero(mask)
    iu, ju = np.triu_indices(len(idx), k=1)
    a, b = idx[iu], idx[ju]
    dist = d[a, b]
    same = ids[a] == ids[b]
    gen, imp = dist[same], dist[~same]
    imp_a, imp_b = ids[a][~same], ids[b][~same]
    out = []
    for t in thresholds:
        hit = imp <= t
        k = int(hit.sum())
        # How many distinct pairs of people produce the false matches: a few look-alike
        # pairs behind many image pairs is weaker evidence than the image count suggests.
        id_pairs = {tuple(sorted(p)) for p in zip(imp_a[hit], imp_b[hit], strict=True)}
        out.append(
            PairStats(
                threshold=t,
                tar=float((gen <= t).mean()) if len(gen) else math.nan,
                fmr=k / len(imp) if len(imp) else math.nan,
                false_pairs=k,
                false_identity_pairs=len(id_pairs),
                fmr_upper95=clopper_pearson_upper(k, len(imp)),
            )
        )
    return out, len(gen), len(imp)


@dataclass(frozen=True)
class TwoPhotoStats:
    """The two-frame rule modelled with two different photos of the same person."""

    threshold: float
    impostor_rate: float  # P(both photos of a passer-by within t of one given subject)
    conditional: float  # P(second photo matches the subject | first photo did)
    genuine_rate: float  # P(both non-enrolled photos of a subject within t of enrolment)
    # The console's full evidence rule: both photos within t, OR either one within
    # t - strong_margin (console/domain/sightings.py, EvidenceRule).
    impostor_rule_rate: float
    genuine_rule_rate: float


def _pairs(n: np.ndarray | int) -> np.ndarray | float:
    """n choose 2, elementwise."""
    return n * (n - 1) / 2


def two_photo_stats(
    d: np.ndarray, ids: np.ndarray, thresholds: Iterable[float], strong_margin: float
) -> list[TwoPhotoStats]:
    """Per-subject rates for 'two different photos both match', over the whole set.

    Every unordered pair of one person's photos stands for a two-frame sighting, and every
    photo of every other person stands for a watchlist subject's enrolment image.
    """
    groups = {name: np.flatnonzero(ids == name) for name in np.unique(ids)}
    out = []
    for t in thresholds:
        strong_t = t - strong_margin
        imp_both = imp_rule = imp_total = imp_single = imp_single_total = 0.0
        gen_both = gen_rule = gen_total = 0.0
        for name, rows in groups.items():
            k = len(rows)
            others = np.flatnonzero(ids != name)
            block = d[np.ix_(rows, others)]
            c = (block <= t).sum(axis=0)  # per other image: how many of this person's match
            sc = (block <= strong_t).sum(axis=0)  # ... and how many match strongly
            if k >= 2:
                imp_both += float(_pairs(c).sum())
                # Pairs with a strong photo, plus pairs of two weak-but-within-t photos.
                imp_rule += float((_pairs(k) - _pairs(k - sc) + _pairs(c - sc)).sum())
                imp_total += _pairs(k) * len(others)
                imp_single += float(c.sum())
                imp_single_total += k * len(others)
            if k >= 3:
                # Each photo in turn is the enrolment; the other k-1 are candidate frames.
                own = d[np.ix_(rows, rows)]
                off_diagonal = ~np.eye(k, dtype=bool)
                m = ((own <= t) & off_diagonal).sum(axis=1)
                ms = ((own <= strong_t) & off_diagonal).sum(axis=1)
                gen_both += float(_pairs(m).sum())
                gen_rule += float((_pairs(k - 1) - _pairs(k - 1 - ms) + _pairs(m - ms)).sum())
                gen_total += k * _pairs(k - 1)
        single = imp_single / imp_single_total
        both = imp_both / imp_total
        # P(B | A) for two photos of one person against one subject: pairs where both
        # match, over pairs where the first matches. Independence would make it ~ FMR.
        cond = both / single if single > 0 else math.nan
        out.append(
            TwoPhotoStats(
                threshold=t,
                impostor_rate=both,
                conditional=cond,
                genuine_rate=gen_both / gen_total if gen_total else math.nan,
                impostor_rule_rate=imp_rule / imp_total,
                genuine_rule_rate=gen_rule / gen_total if gen_total else math.nan,
            )
        )
    return out


# ----------------------------------------------------------------- open-set experiment


@dataclass
class OpenSetTotals:
    """Sums over the probes of one or more splits, for one threshold, one probe subset."""

    mated: int = 0
    rank1: int = 0
    tp: int = 0  # nearest is the right subject and within t
    misid: int = 0  # nearest is a wrong subject and within t (a false alert too)
    nonmated: int = 0
    fp: int = 0  # a passer-by's nearest subject is within t
    pair_comparisons: int = 0  # non-mated probe x watchlist subject
    pair_false: int = 0
    mated2: int = 0
    tp2: int = 0
    nonmated2: int = 0
    fp2: int = 0


def _split_identities(ids: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Half of each source subset to the watchlist, so both halves mix easy and hard sets."""
    watch, passers = [], []
    names = np.unique(ids)
    for subset in ("colour", "att", "yale", "yaleb"):
        group = [n for n in names if identity_subset(n) == subset]
        rng.shuffle(group)
        half = len(group) // 2
        watch += group[:half]
        passers += group[half:]
    return watch, passers


def open_set_splits(
    d: np.ndarray, ids: np.ndarray, thresholds: Iterable[float], splits: int, seed: int
) -> tuple[dict[tuple[float, str], OpenSetTotals], float]:
    """Watchlist/passer-by experiment repeated over seeded splits; totals per (t, subset)."""
    thresholds = list(thresholds)
    totals: dict[tuple[float, str], OpenSetTotals] = {}
    subset_of = np.array([identity_subset(i) for i in ids])
    is_grey = subset_of != "colour"
    watch_sizes = []
    for s in range(splits):
        rng = np.random.default_rng(seed + s)
        watch, passers = _split_identities(ids, rng)
        enrol = np.array([rng.choice(np.flatnonzero(ids == n)) for n in watch])
        watch_sizes.append(len(enrol))
        enrol_ids = ids[enrol]
        enrolled = set(enrol.tolist())
        mated = np.array([i for n in watch for i in np.flatnonzero(ids == n) if i not in enrolled])
        nonmated = np.flatnonzero(np.isin(ids, passers))

        dm = d[np.ix_(mated, enrol)]
        m_near = dm.argmin(axis=1)
        m_dist = dm[np.arange(len(mated)), m_near]
        m_right = enrol_ids[m_near] == ids[mated]
        dn = d[np.ix_(nonmated, enrol)]
        n_near = dn.argmin(axis=1)
        n_dist = dn[np.arange(len(nonmated)), n_near]

        # Two-frame model: every pair of two different photos of one person is a
        # "sighting"; it alerts when both photos' nearest subject is the same one and both
        # are within t (what SightingTracker needs with min_frames=2).
        m_pairs = _same_person_pairs(ids[mated])
        n_pairs = _same_person_pairs(ids[nonmated])

        for t in thresholds:
            for subset in ("all", "colour", "grey"):
                key = (t, subset)
                tot = totals.setdefault(key, OpenSetTotals())
                sel_m = _subset_rows(is_grey[mated], subset)
                sel_n = _subset_rows(is_grey[nonmated], subset)
                hit_m = m_dist <= t
                hit_n = n_dist <= t
                tot.mated += int(sel_m.sum())
                tot.rank1 += int((m_right & sel_m).sum())
                tot.tp += int((m_right & hit_m & sel_m).sum())
                tot.misid += int((~m_right & hit_m & sel_m).sum())
                tot.nonmated += int(sel_n.sum())
                tot.fp += int((hit_n & sel_n).sum())
                tot.pair_comparisons += int(sel_n.sum()) * len(enrol)
                tot.pair_false += int((dn[sel_n] <= t).sum())
                if len(m_pairs):
                    a, b = m_pairs[:, 0], m_pairs[:, 1]
                    sel = sel_m[a]
                    ok = m_right[a] & m_right[b] & hit_m[a] & hit_m[b]
                    tot.mated2 += int(sel.sum())
                    tot.tp2 += int((ok & sel).sum())
                if len(n_pairs):
                    a, b = n_pairs[:, 0], n_pairs[:, 1]
                    sel = sel_n[a]
                    bad = (n_near[a] == n_near[b]) & hit_n[a] & hit_n[b]
                    tot.nonmated2 += int(sel.sum())
                    tot.fp2 += int((bad & sel).sum())
    return totals, float(np.mean(watch_sizes))


def _subset_rows(grey: np.ndarray, subset: str) -> np.ndarray:
    if subset == "all":
        return np.ones(len(grey), dtype=bool)
    return grey if subset == "grey" else ~grey


def _same_person_pairs(labels: np.ndarray) -> np.ndarray:
    """Row-index pairs (a, b), a < b, of two different photos of the same person."""
    pairs = []
    for name in np.unique(labels):
        rows = np.flatnonzero(labels == name)
        pairs += [(a, b) for i, a in enumerate(rows) for b in rows[i + 1 :]]
    return np.array(pairs, dtype=int).reshape(-1, 2)


def closest_impostor_identities(
    d: np.ndarray, ids: np.ndarray, top: int
) -> list[tuple[str, str, float, tuple[int, int, int]]]:
    """The pairs of different people whose photos come closest: where false matches live."""
    names = list(np.unique(ids))
    rows = {n: np.flatnonzero(ids == n) for n in names}
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            block = d[np.ix_(rows[a], rows[b])]
            counts = tuple(int((block <= t).sum()) for t in (0.40, 0.45, 0.50))
            found.append((a, b, float(block.min()), counts))
    found.sort(key=lambda x: x[2])
    return found[:top]


def genuine_spread(d: np.ndarray, ids: np.ndarray, subset: str) -> list[tuple[str, float]]:
    """Median distance between one person's own photos, widest first, for one subset."""
    out = []
    for name in np.unique(ids):
        rows = np.flatnonzero(ids == name)
        if identity_subset(name) != subset or len(rows) < 2:
            continue
        block = d[np.ix_(rows, rows)][np.triu_indices(len(rows), k=1)]
        out.append((str(name), float(np.median(block))))
    return sorted(out, key=lambda x: -x[1])


def _rate(num: int, den: int) -> float:
    return num / den if den else math.nan


# --------------------------------------------------------------------- recommendation


def recommend(fine: list[PairStats], target: float, use_upper: bool = False) -> PairStats:
    """The largest threshold whose single-frame P(false match | 1,000) is within target.

    Largest, because below it every step gives away true matches for no required gain.
    The point estimate is used by default: even zero observed false matches in ~0.57 M
    impostor pairs only bounds FMR at ~5e-6 (P ~ 0.5% against 1,000), so the set cannot
    resolve much below a 1% target. ``use_upper`` applies the rule to the exact 95% upper
    bound instead; the report prints both.
    """
    ok = [s for s in fine if p_any_false_match(s.fmr_upper95 if use_upper else s.fmr) <= target]
    if not ok:
        return fine[0]
    return max(ok, key=lambda s: s.threshold)


# ---------------------------------------------------------------------------- report


def _pct(x: float, digits: int = 1) -> str:
    return "   n/a" if math.isnan(x) else f"{100 * x:.{digits}f}%"


def _sci(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1e}"


def print_report(
    faces: FaceSet, target: float, splits: int, seed: int, strong_margin: float
) -> dict[str, float]:
    """Print every table and the recommendation; return the key figures."""
    ids = faces.identities
    subset = np.array([identity_subset(i) for i in ids])
    d = pairwise_distances(faces.encodings)
    grid = sorted(set(REPORT_GRID) | set(FINE_GRID))

    method_counts: dict[str, int] = {}
    for m in faces.methods:
        method_counts[m] = method_counts.get(m, 0) + 1
    n_ids = len(np.unique(ids))
    print(f"Face set: {len(faces.paths)} images encoded, {n_ids} identities")
    print(f"  face found by: {', '.join(f'{k} {v}' for k, v in sorted(method_counts.items()))}")
    if faces.failed:
        print(f"  NO FACE (left out): {', '.join(faces.failed)}")
    for name in SUBSETS:
        sel = subset != "colour" if name == "grey" else subset == name
        print(f"  {name:6s}: {int(sel.sum()):4d} images, {len(np.unique(ids[sel])):3d} identities")
    print()

    # --- 1. pair verification, all pairs
    everything = np.ones(len(ids), dtype=bool)
    all_stats, n_gen, n_imp = pair_stats(d, ids, everything, grid)
    by_t = {s.threshold: s for s in all_stats}
    two = {s.threshold: s for s in two_photo_stats(d, ids, grid, strong_margin)}
    print(f"1. Pair verification, all images ({n_gen} genuine pairs, {n_imp} impostor pairs)")
    print("   P(FA|1000) = 1-(1-FMR)^1000: chance that a passer-by on no watchlist")
    print("   false-matches at least one of 1,000 subjects in ONE frame, assuming the 1,000")
    print("   comparisons are independent. 'up95' uses the exact binomial upper bound of FMR")
    print("   (pairs treated as independent, so the real uncertainty is larger).")
    print(
        f"   {'t':>5} {'TAR':>6} {'FMR':>8} {'FM pairs':>8} {'of ids':>6} {'FMR up95':>8} "
        f"{'P(FA|1000)':>10} {'up95':>6}"
    )
    for t in REPORT_GRID:
        s = by_t[t]
        print(
            f"   {t:5.3f} {_pct(s.tar):>6} {_sci(s.fmr):>8} {s.false_pairs:8d} "
            f"{s.false_identity_pairs:6d} {_sci(s.fmr_upper95):>8} "
            f"{_pct(p_any_false_match(s.fmr)):>10} {_pct(p_any_false_match(s.fmr_upper95), 0):>6}"
        )
    print()

    # --- 2. subsets
    print("2. Pair verification by subset (both images of a pair in the subset)")
    sub_stats: dict[str, dict[float, PairStats]] = {}
    sub_counts: dict[str, tuple[int, int]] = {}
    for name in SUBSETS:
        sel = subset != "colour" if name == "grey" else subset == name
        stats, g, i = pair_stats(d, ids, sel, grid)
        sub_stats[name] = {s.threshold: s for s in stats}
        sub_counts[name] = (g, i)
    colour = subset == "colour"
    cross_imp = d[np.triu(colour[:, None] != colour[None, :], 1)]
    print(
        "   pairs (genuine/impostor): "
        + ", ".join(f"{n} {g}/{i}" for n, (g, i) in sub_counts.items())
        + f"; colour-vs-grey impostors {cross_imp.size}"
    )
    header = "   {:>5} ".format("t") + " ".join(
        f"{n + ' TAR':>10} {n + ' FMR':>10}" for n in SUBSETS
    )
    print(header)
    for t in REPORT_GRID:
        cells = " ".join(
            f"{_pct(sub_stats[n][t].tar):>10} {_sci(sub_stats[n][t].fmr):>10}" for n in SUBSETS
        )
        print(f"   {t:5.3f} {cells}")
    print(
        "   colour-vs-grey impostor pairs within t: "
        + ", ".join(f"{t:.2f}: {int((cross_imp <= t).sum())}" for t in (0.45, 0.5, 0.55, 0.6))
    )
    print()

    # --- 3. open-set identification
    totals, wl_size = open_set_splits(d, ids, grid, splits, seed)
    print(
        f"3. Open-set identification, mean over {splits} seeded splits (seed {seed}..): "
        f"watchlist of ~{wl_size:.0f} subjects (half the identities, one enrolment photo"
    )
    print("   each); probes = the other photos of watchlisted people (mated) and every photo")
    print("   of the other half (passers-by). TPIR: nearest subject is the right one and within")
    print("   t. misID: nearest is a wrong subject within t (also a false alert). FPIR: a")
    print(
        f"   passer-by's nearest is within t (vs ~{wl_size:.0f} subjects). ->1000: 1-(1-FMR)^1000"
    )
    print("   from this split's passer-by x subject FMR (independence assumed).")
    rank1 = _rate(totals[(grid[0], "all")].rank1, totals[(grid[0], "all")].mated)
    print(
        f"   rank-1 correct (threshold-free): all {_pct(rank1)}, "
        + ", ".join(
            f"{n} {_pct(_rate(totals[(grid[0], n)].rank1, totals[(grid[0], n)].mated))}"
            for n in ("colour", "grey")
        )
    )
    print(
        f"   {'t':>5} {'TPIR':>6} {'misID':>6} {'FPIR':>6} {'->1000':>6} | "
        f"{'colour TPIR':>11} {'FPIR':>6} | {'grey TPIR':>9} {'FPIR':>6}"
    )
    for t in REPORT_GRID:
        a, c, g = totals[(t, "all")], totals[(t, "colour")], totals[(t, "grey")]
        fmr_split = _rate(a.pair_false, a.pair_comparisons)
        print(
            f"   {t:5.3f} {_pct(_rate(a.tp, a.mated)):>6} {_pct(_rate(a.misid, a.mated)):>6} "
            f"{_pct(_rate(a.fp, a.nonmated)):>6} {_pct(p_any_false_match(fmr_split), 0):>6} | "
            f"{_pct(_rate(c.tp, c.mated)):>11} {_pct(_rate(c.fp, c.nonmated)):>6} | "
            f"{_pct(_rate(g.tp, g.mated)):>9} {_pct(_rate(g.fp, g.nonmated)):>6}"
        )
    print()

    # --- 4. two-frame rule
    print("4. Two-frame rule, modelled WEAKLY with two DIFFERENT photos of one person as the")
    print("   two frames (both must match the same subject). Real frames of one walk-past are")
    print("   far more alike than two photos, so the truth lies between the one-frame figure")
    print("   (frames identical) and this one (frames as different as two photos).")
    print("   cond: P(2nd photo matches a subject | 1st photo of the same person did);")
    print("   independent frames would make it ~FMR, it is orders of magnitude more.")
    print(f"   'rule': the console's evidence rule, two frames OR one within t-{strong_margin:g}.")
    print(
        f"   {'t':>5} {'TAR 1f':>6} {'TAR 2p':>6} {'rule':>6} {'P1f|1000':>8} {'q 2p':>8} "
        f"{'cond':>5} {'P2p|1000':>8} {'rule':>6} | split: {'TPIR2p':>6} {'FPIR2p':>6}"
    )
    for t in REPORT_GRID:
        s, w, a = by_t[t], two[t], totals[(t, "all")]
        print(
            f"   {t:5.3f} {_pct(s.tar):>6} {_pct(w.genuine_rate):>6} "
            f"{_pct(w.genuine_rule_rate):>6} "
            f"{_pct(p_any_false_match(s.fmr)):>8} {_sci(w.impostor_rate):>8} "
            f"{_pct(w.conditional, 0):>5} {_pct(p_any_false_match(w.impostor_rate)):>8} "
            f"{_pct(p_any_false_match(w.impostor_rule_rate)):>6} | "
            f"       {_pct(_rate(a.tp2, a.mated2)):>6} {_pct(_rate(a.fp2, a.nonmated2), 2):>6}"
        )
    print()

    # --- 5. fine grid near the choice, and the recommendation
    fine = [by_t[t] for t in FINE_GRID]
    rec = recommend(fine, target)
    t_rec = rec.threshold
    print(f"5. Fine grid around the choice (target: P(FA|1000) <= {_pct(target)} per passer-by)")
    print(
        f"   {'t':>5} {'TAR':>6} {'FMR':>8} {'FM pairs':>8} {'P(FA|1000)':>10} "
        f"{'colourTAR':>9} {'greyTAR':>7} {'P2p|1000':>8}"
    )
    for t in FINE_GRID:
        if abs(t - t_rec) <= 0.0301:
            s = by_t[t]
            mark = "  <- recommended" if t == t_rec else ""
            print(
                f"   {t:5.3f} {_pct(s.tar):>6} {_sci(s.fmr):>8} {s.false_pairs:8d} "
                f"{_pct(p_any_false_match(s.fmr)):>10} {_pct(sub_stats['colour'][t].tar):>9} "
                f"{_pct(sub_stats['grey'][t].tar):>7} "
                f"{_pct(p_any_false_match(two[t].impostor_rate), 2):>8}{mark}"
            )
    print()

    # --- 6. where the errors come from, and how much the choice depends on the subset
    print("6. Where the errors come from")
    print("   Closest pairs of different people (min distance over their photos; image pairs")
    print("   within 0.40 / 0.45 / 0.50):")
    for a_name, b_name, dmin, counts in closest_impostor_identities(d, ids, 8):
        print(
            f"   {dmin:.3f}  {a_name:>22} ~ {b_name:<22} "
            f"{counts[0]:3d} {counts[1]:4d} {counts[2]:4d}"
        )
    print("   Colour identities whose own photos are furthest apart (median genuine distance):")
    spread = genuine_spread(d, ids, "colour")
    print("   " + ", ".join(f"{n} {m:.3f}" for n, m in spread[:6]))
    print(
        "   (colour median over identities: "
        f"{np.median([m for _, m in spread]):.3f}; a genuine pair beyond t is a missed match)"
    )
    print()
    sensitivity = {
        "all pairs, upper-95% rule": recommend(fine, target, use_upper=True),
        "colour pairs only": recommend([sub_stats["colour"][t] for t in FINE_GRID], target),
        "grey pairs only": recommend([sub_stats["grey"][t] for t in FINE_GRID], target),
    }
    print("7. Sensitivity of the choice (same rule, other evidence)")
    for label, s in sensitivity.items():
        print(
            f"   {label:<26} t={s.threshold:.3f}  TAR {_pct(s.tar)}  FMR {_sci(s.fmr)} "
            f"(up95 {_sci(s.fmr_upper95)}, "
            f"P(FA|1000) up95 {_pct(p_any_false_match(s.fmr_upper95))})"
        )
    print()

    a_rec = totals[(t_rec, "all")]
    at = {
        0.6: by_t[0.6],
        0.5: by_t[0.5],
    }
    figures: dict[str, float] = {
        "recommended_threshold": t_rec,
        "target_p_false_alert_per_passerby_n1000": target,
        "tar_at_rec": round(rec.tar, 4),
        "tar_colour_at_rec": round(sub_stats["colour"][t_rec].tar, 4),
        "tar_grey_at_rec": round(sub_stats["grey"][t_rec].tar, 4),
        "fmr_at_rec": float(f"{rec.fmr:.3g}"),
        "fmr_upper95_at_rec": float(f"{rec.fmr_upper95:.3g}"),
        "false_match_pairs_at_rec": rec.false_pairs,
        "false_match_identity_pairs_at_rec": rec.false_identity_pairs,
        "p_false_alert_per_passerby_n1000_at_rec": round(p_any_false_match(rec.fmr), 4),
        "p_false_alert_per_passerby_n1000_upper95_at_rec": round(
            p_any_false_match(rec.fmr_upper95), 4
        ),
        "p_false_alert_two_photo_model_n1000_at_rec": float(
            f"{p_any_false_match(two[t_rec].impostor_rate):.3g}"
        ),
        "tar_two_photo_model_at_rec": round(two[t_rec].genuine_rate, 4),
        "strong_margin": strong_margin,
        "p_false_alert_evidence_rule_model_n1000_at_rec": float(
            f"{p_any_false_match(two[t_rec].impostor_rule_rate):.3g}"
        ),
        "tar_evidence_rule_model_at_rec": round(two[t_rec].genuine_rule_rate, 4),
        "tpir_at_rec": round(_rate(a_rec.tp, a_rec.mated), 4),
        "misid_at_rec": round(_rate(a_rec.misid, a_rec.mated), 4),
        "fpir_watchlist_half_at_rec": round(_rate(a_rec.fp, a_rec.nonmated), 4),
        "watchlist_half_size": round(wl_size, 1),
        "rank1": round(rank1, 4),
        "tar_at_0.6": round(at[0.6].tar, 4),
        "fmr_at_0.6": float(f"{at[0.6].fmr:.3g}"),
        "p_false_alert_per_passerby_n1000_at_0.6": round(p_any_false_match(at[0.6].fmr), 4),
        "tar_at_0.5": round(at[0.5].tar, 4),
        "fmr_at_0.5": float(f"{at[0.5].fmr:.3g}"),
        "p_false_alert_per_passerby_n1000_at_0.5": round(p_any_false_match(at[0.5].fmr), 4),
        "rec_threshold_upper95_rule": sensitivity["all pairs, upper-95% rule"].threshold,
        "rec_threshold_colour_only": sensitivity["colour pairs only"].threshold,
        "rec_threshold_grey_only": sensitivity["grey pairs only"].threshold,
        "images": len(faces.paths),
        "identities": n_ids,
        "genuine_pairs": n_gen,
        "impostor_pairs": n_imp,
        "splits": splits,
    }
    return figures


def print_recommendation(f: dict[str, float]) -> None:
    """The reasoning in words, from the measured figures."""

    def pct(key: str, digits: int = 1) -> str:
        return _pct(float(f[key]), digits)

    def sci(key: str) -> str:
        return _sci(float(f[key]))

    print("Recommendation")
    print(
        f"  Default threshold {f['recommended_threshold']}: the largest on a 0.005 grid at which "
        f"a passer-by on no watchlist has at most "
        f"{pct('target_p_false_alert_per_passerby_n1000')} estimated chance of a single-frame "
        "false match against 1,000 subjects."
    )
    print(
        f"  Per impostor pair FMR {sci('fmr_at_rec')} ({f['false_match_pairs_at_rec']} image "
        f"pairs from {f['false_match_identity_pairs_at_rec']} pair(s) of people; exact upper 95% "
        f"{sci('fmr_upper95_at_rec')}); P(FA|1000) "
        f"{pct('p_false_alert_per_passerby_n1000_at_rec')} "
        f"(upper {pct('p_false_alert_per_passerby_n1000_upper95_at_rec')})."
    )
    print(
        f"  Cost: TAR {pct('tar_at_rec')} per genuine pair (colour {pct('tar_colour_at_rec')}, "
        f"greyscale {pct('tar_grey_at_rec')}) vs {pct('tar_at_0.6')} at 0.6 and "
        f"{pct('tar_at_0.5')} at 0.5; open-set TPIR {pct('tpir_at_rec')}."
    )
    print(
        f"  At 0.6 P(FA|1000) would be {pct('p_false_alert_per_passerby_n1000_at_0.6')}, "
        f"at 0.5 {pct('p_false_alert_per_passerby_n1000_at_0.5')}."
    )
    print(
        "  The two-frame rule (two different photos as frames) cuts P(FA|1000) to "
        f"{pct('p_false_alert_two_photo_model_n1000_at_rec', 2)} and TAR to "
        f"{pct('tar_two_photo_model_at_rec')}; real frames are more alike than two photos, so "
        "treat that as the optimistic end."
    )
    print(
        f"  With the console's shortcut (one frame within t-{f['strong_margin']:g} alerts "
        f"alone) the same model gives P(FA|1000) "
        f"{pct('p_false_alert_evidence_rule_model_n1000_at_rec', 2)} and TAR "
        f"{pct('tar_evidence_rule_model_at_rec')}."
    )
    print()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="dev/<identity>/*.jpg")
    parser.add_argument("--workers", type=int, default=2, help="encoding processes")
    parser.add_argument("--splits", type=int, default=20, help="open-set random splits")
    parser.add_argument("--seed", type=int, default=1, help="first split's seed")
    parser.add_argument(
        "--target",
        type=float,
        default=DEFAULT_TARGET_P_FALSE,
        help="max single-frame P(false match) per passer-by against 1,000 subjects",
    )
    parser.add_argument(
        "--strong-margin",
        type=float,
        default=0.1,
        help="the console's one-close-frame shortcut (EvidenceRule.strong_margin)",
    )
    parser.add_argument("--no-cache", action="store_true", help="re-encode, do not cache")
    args = parser.parse_args(argv)

    faces_dir: Path = args.faces.resolve()
    if not faces_dir.is_dir() or not list_images(faces_dir):
        reason = f"development face set not found at {faces_dir}"
        print(f"{reason}: nothing to calibrate (see ../shared/facedata/README.md).")
        print(json.dumps({"skipped": reason}))
        return 0

    faces = load_or_encode(faces_dir, args.workers, use_cache=not args.no_cache)
    figures = print_report(faces, args.target, args.splits, args.seed, args.strong_margin)
    print_recommendation(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
