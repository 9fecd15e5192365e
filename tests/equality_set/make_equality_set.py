"""Build the labelled test set the equality tests run on (``tests/equality_set/faces``).

    .venv/bin/python tests/equality_set/make_equality_set.py

Only faces the project may commit go in: the public-domain portraits of
``sample_streams/source_images`` (their provenance is in that folder's README). Those are
five real people, too few for any statistics between groups, so the set is made of
**synthetic identities**, each a morph of two of the real faces, and kept only if the
console's own encoder tells it apart from every other identity kept. Everything is
deterministic (fixed order, fixed parameters, no randomness but a seeded generator): the
same sources give byte-identical files on the same OpenCV and dlib.

1. **Alignment.** Each source face is found (the console's ``find_faces``), its 68
   landmarks located (dlib's 68-point model from ``face_recognition_models``) and the
   photo warped by a similarity transform so the eyes and mouth sit at fixed places of a
   ``CHIP`` (W x H) head-and-shoulders frame.
2. **Candidates.** For every pair of sources (A, B) (the two Obama portraits are not
   paired) and every weight w in ``WEIGHTS``, the landmarks are mixed (1-w)A + wB, both
   faces warped onto them triangle by triangle (Delaunay over the landmarks and the
   frame's edge points) and the pixels mixed in the same proportion; then the face is
   made narrower or wider by each factor of ``ASPECTS``.
3. **Identities.** Each candidate is encoded once (the console's aligned encoder, no
   jitter) and kept, in the order above, when at least ``MIN_APART`` from every
   identity already kept (``MAX_PEOPLE`` at most).
4. **Photos.** ``1.jpg`` is the identity itself (the enrolment photo). Each probe photo
   ``2.jpg`` to ``8.jpg`` first drifts ``DRIFT`` (0.2, 0.3, 0.4 in turn) of the way
   towards one of the sources (in turn), as another photo of a person taken years or an
   expression apart is not the same face, then is transformed: 2 mirrored, 3 turned 8
   degrees and zoomed 8%, 4 warmer and darker and saved at JPEG quality 50, 5 turned -6
   degrees, shifted (6, -4) px and 15% brighter, 6 lit from one side (x0.45 to x1.1 across
   the photo), 7 squeezed in perspective as a head turned a little, 8 flatter (contrast
   x0.7), cooler, softened (Gaussian, sigma 0.8) and saved at JPEG quality 40.
5. **Groups.** ``people.csv`` gives each identity a ``band`` (A, B or C, in turn over
   the kept identities) and a ``cohort`` (X or Y in blocks of three, one of each band:
   an attribute that makes no difference). **Band C's probe photos are degraded on
   purpose**, each one way in turn: blurred (Gaussian, sigma 3.2 px), low light (x0.28,
   gamma 1.6, sensor noise), a small face (shrunk to 22 px wide and enlarged back),
   blurred (sigma 2) and dark. Its enrolment photos are as clean as anyone's.
   ``../provenance.csv`` names the sources and weights behind each person.

What this set can show: that the evaluator finds a difference put in on purpose, keeps
groups without one apart from it, and says when a sample is too small. What it cannot
show: anything about real people's sex, age or ethnicity. Its identities are morphs of
four public figures (older men and women photographed in official portraits), so it says
nothing about how the matcher treats any demographic group.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

SOURCES = REPO / "sample_streams" / "source_images"
OUT = HERE / "faces"
# One photo per real person: the portraits whose faces are large and frontal.
PARENTS = ("obama.jpg", "biden.jpg", "astronaut.png", "grace_hopper.jpg", "obama2.jpg")
CHIP = (240, 300)  # width, height of every photo
# Where the eye centres and the mouth centre go in the chip (fractions of W and H).
LEFT_EYE, RIGHT_EYE, MOUTH = (0.37, 0.42), (0.63, 0.42), (0.50, 0.66)
WEIGHTS = (0.2, 0.35, 0.5, 0.65, 0.8)
ASPECTS = (1.0, 0.9, 1.12)  # the face's width against its height, after the morph
MIN_APART = 0.35  # encoder distance between any two identities kept
MAX_PEOPLE = 45
VIEWS = 8
DRIFT = (0.20, 0.30, 0.40)  # how far each probe photo drifts towards another face
JPEG_QUALITY = 85


def landmarks(image: np.ndarray) -> np.ndarray | None:
    """The 68 landmarks of the largest face, as (68, 2) floats."""
    import dlib

    from console.vision.analysis import load_face_recognition
    from console.vision.enrolment import find_faces

    boxes = find_faces(image)
    if not boxes:
        return None
    top, right, bottom, left = max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0]))
    api = load_face_recognition().api
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    shape = api.pose_predictor_68_point(rgb, dlib.rectangle(left, top, right, bottom))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def align(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo warped so its eyes and mouth sit at the chip's fixed places."""
    w, h = CHIP
    src = np.array([points[36:42].mean(0), points[42:48].mean(0), points[48:68].mean(0)])
    dst = np.array([(LEFT_EYE[0] * w, LEFT_EYE[1] * h), (RIGHT_EYE[0] * w, RIGHT_EYE[1] * h),
                    (MOUTH[0] * w, MOUTH[1] * h)])
    m, _ = cv2.estimateAffinePartial2D(src, dst)
    chip = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    moved = cv2.transform(points[None], m)[0]
    return chip, moved


def _frame_points() -> np.ndarray:
    w, h = CHIP
    xs, ys = (0, w / 2, w - 1), (0, h / 2, h - 1)
    return np.array([(x, y) for x in xs for y in ys if (x, y) != (w / 2, h / 2)])


def _triangles(points: np.ndarray) -> list[tuple[int, int, int]]:
    w, h = CHIP
    subdiv = cv2.Subdiv2D((0, 0, w, h))
    for x, y in points:
        subdiv.insert((float(min(max(x, 0), w - 1)), float(min(max(y, 0), h - 1))))
    out = []
    for t in subdiv.getTriangleList():
        corners = t.reshape(3, 2)
        idx = [int(np.argmin(np.sum((points - c) ** 2, axis=1))) for c in corners]
        if len(set(idx)) == 3:
            out.append(tuple(idx))
    return out


def _warp_triangle(src: np.ndarray, out: np.ndarray, t_src: np.ndarray, t_dst: np.ndarray,
                   weight: float) -> None:
    x, y, w, h = cv2.boundingRect(np.float32(t_dst))
    if w == 0 or h == 0:
        return
    m = cv2.getAffineTransform(np.float32(t_src), np.float32(t_dst - (x, y)))
    patch = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, np.int32(np.round(t_dst - (x, y))), 1.0, cv2.LINE_AA)
    region = out[y : y + h, x : x + w]
    hh, ww = region.shape[:2]
    region += patch[:hh, :ww].astype(np.float32) * (weight * mask[:hh, :ww, None])


def morph(a: np.ndarray, pa: np.ndarray, b: np.ndarray, pb: np.ndarray, w: float
          ) -> np.ndarray:
    """A face between *a* and *b*: shape and pixels (1 - w) of a and w of b."""
    frame = _frame_points()
    full_a, full_b = np.vstack([pa, frame]), np.vstack([pb, frame])
    target = (1 - w) * full_a + w * full_b
    out = np.zeros((CHIP[1], CHIP[0], 3), np.float32)
    weight_sum = np.zeros((CHIP[1], CHIP[0], 1), np.float32)
    for i, j, k in _triangles(target):
        tri = [i, j, k]
        _warp_triangle(a, out, full_a[tri], target[tri], 1 - w)
        _warp_triangle(b, out, full_b[tri], target[tri], w)
        cover = np.zeros((CHIP[1], CHIP[0], 3), np.float32)
        _warp_triangle(np.ones_like(a, dtype=np.float32), cover, full_a[tri], target[tri], 1.0)
        weight_sum += cover[:, :, :1]
    out /= np.maximum(weight_sum, 1e-6)
    return np.clip(out, 0, 255).astype(np.uint8)


def _rotate(image: np.ndarray, degrees: float, zoom: float = 1.0, shift=(0, 0)) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom)
    m[:, 2] += shift
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _jpeg_loss(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def views(face: np.ndarray, points: np.ndarray, parents: list) -> list[np.ndarray]:
    """The enrolment photo and the probe photos of one identity (docstring, step 4):
    each probe drifts ``DRIFT`` of the way towards one of the source faces (as another
    photo of a person, years or an expression apart, is not the same face), then is
    transformed."""
    h, w = face.shape[:2]
    side = np.linspace(0.45, 1.1, w, dtype=np.float32)[None, :, None]
    squeeze = cv2.getPerspectiveTransform(
        np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
        np.float32([[w * 0.06, h * 0.04], [w * 0.94, 0], [w * 0.94, h], [w * 0.06, h * 0.96]]))
    steps = [
        lambda x: x[:, ::-1].copy(),
        lambda x: _rotate(x, 8.0, 1.08),
        lambda x: _jpeg_loss(_u8(x.astype(np.float32) * (0.78, 0.86, 0.98) + (0, 0, 8)), 50),
        lambda x: _u8(_rotate(x, -6.0, 1.0, (6, -4)).astype(np.float32) * 1.15 + 6),
        lambda x: _u8(x.astype(np.float32) * side),
        lambda x: cv2.warpPerspective(x, squeeze, (w, h), borderMode=cv2.BORDER_REPLICATE),
        lambda x: _jpeg_loss(cv2.GaussianBlur(
            _u8((x.astype(np.float32) - 128) * 0.7 + 128 + (10, 0, -6)), (0, 0), 0.8), 40),
    ]
    out = [face]
    for v, step in enumerate(steps[: VIEWS - 1]):
        _, other, other_points = parents[v % len(parents)]
        out.append(step(morph(face, points, other, other_points, DRIFT[v % len(DRIFT)])))
    return out


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 255).astype(np.uint8)


def degrade(image: np.ndarray, view: int, rng: np.random.Generator) -> np.ndarray:
    """Band C's probe photos (docstring, step 5): blur, low light, a small face."""
    view = 1 + (view - 1) % 4
    if view == 1:
        return cv2.GaussianBlur(image, (0, 0), 3.2)
    if view == 2:
        return _dark(image, rng)
    if view == 3:
        h, w = image.shape[:2]
        k = 22 / (0.26 * w)  # the face is about 26% of the chip's width
        small = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return _dark(cv2.GaussianBlur(image, (0, 0), 2.0), rng)


def _dark(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = (image.astype(np.float32) / 255.0) ** 1.6 * 0.28 * 255
    x += rng.normal(0, 3.0, x.shape)
    return np.clip(x, 0, 255).astype(np.uint8)


def encode(image: np.ndarray) -> np.ndarray | None:
    """One plain encoding (no jitter): enough to tell identities apart while choosing."""
    from console.vision.enrolment import find_faces
    from console.vision.templates import jittered_encoding

    boxes = find_faces(image)
    if len(boxes) != 1:
        return None
    return jittered_encoding(image, boxes[0], jitters=1)


def aspect(image: np.ndarray, k: float) -> np.ndarray:
    """The face made wider (k > 1) or narrower about the chip's centre line."""
    h, w = image.shape[:2]
    m = np.float32([[k, 0, (1 - k) * w / 2], [0, 1, 0]])
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def main() -> None:
    parents = []
    for name in PARENTS:
        image = cv2.imread(str(SOURCES / name), cv2.IMREAD_COLOR)
        points = landmarks(image)
        if points is None:
            raise SystemExit(f"no face in {name}")
        parents.append((name, *align(image, points)))
    # (how it was made, face, encoding, landmarks)
    kept: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for i, (na, a, pa) in enumerate(parents):
        for j, (nb, b, pb) in enumerate(parents):
            if j == i or (na.startswith("obama") and nb.startswith("obama")):
                continue
            if j < i:
                continue
            for w in WEIGHTS:
                mixed = morph(a, pa, b, pb, w)
                for k in ASPECTS:
                    face = aspect(mixed, k)
                    enc = encode(face)
                    if enc is None or len(kept) >= MAX_PEOPLE:
                        continue
                    if all(np.linalg.norm(enc - e[2]) >= MIN_APART for e in kept):
                        points = (1 - w) * pa + w * pb
                        points[:, 0] = k * points[:, 0] + (1 - k) * CHIP[0] / 2
                        kept.append((f"{na} x {1 - w:.2f} + {nb} x {w:.2f}, width x {k}",
                                     face, enc, points))
    print(f"{len(kept)} identities kept", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(27)
    people, provenance = [], []
    for n, (how, face, _, points) in enumerate(kept):
        person = f"p{n + 1:02d}"
        band = "ABC"[n % 3]
        folder = OUT / person
        folder.mkdir(exist_ok=True)
        for v, image in enumerate(views(face, points, parents)):
            if band == "C" and v > 0:
                image = degrade(image, v, rng)
            cv2.imwrite(str(folder / f"{v + 1}.jpg"), image,
                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        people.append({"person": person, "band": band, "cohort": "XY"[(n // 3) % 2]})
        provenance.append({"person": person, "made_from": how})
    for path, rows in ((OUT / "people.csv", people), (HERE / "provenance.csv", provenance)):
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
