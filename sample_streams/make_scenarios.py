"""Build the acceptance-test and training scenarios in ``scenarios/``.

    .venv/bin/python sample_streams/make_scenarios.py            # all of them
    .venv/bin/python sample_streams/make_scenarios.py hard       # one of them

Each scenario is a folder: ``scenario.toml`` (cameras, watchlist, ground truth and
tolerances: the format is read by ``console/training/scenarios.py``), the watchlist folder and
one video per camera. People are head-and-shoulders cut-outs of committed public-domain
portraits walking across OpenCV's ``vtest.avi`` street, as in ``make_samples.py``, whose
compositing this reuses. Reproducible: fixed schedules, seeded noise.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "scenarios"
# make_samples.py is a script beside this one, not a package module; the console is
# imported to measure the lookalike with the console's own matching.
for _path in (HERE, REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from make_samples import (  # noqa: E402
    FPS,
    HEIGHT,
    MIN_VISIBLE_FACE_PX,
    SOURCES,
    WIDTH,
    Sprite,
    _face_box,
    backgrounds,
    make_sprite,
    paste,
)

THRESHOLD = 0.40  # what the truths are calibrated for (console.config.DEFAULT_THRESHOLD)
GARBAGE_BYTES = 256 * 1024  # what follows the cut in a failing camera's file

# ---------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    person_id: str  # the watchlist subject_id, or a passer-by's label
    name: str
    photo: str  # file in source_images/ composited into the video
    watchlisted: bool
    blend_with: str = ""  # a second photo blended in, aligned on the eyes
    share: float = 1.0  # the first photo's share of a blend
    turn: float = 0.0  # 0..1: how much the far half of the face is foreshortened
    lookalike_of: str = ""  # subject_id the blend was made to resemble

    @property
    def description(self) -> str:
        if self.blend_with:
            return (
                f"{self.share:.0%} {self.photo} + {1 - self.share:.0%} {self.blend_with} "
                "(blend aligned on the eyes)"
            )
        if self.turn:
            return f"{self.photo}, perspective-warped: a face turned partly away"
        return self.photo


# Names are invented; the watchlist categories are fiction for training. The faces are
# public-domain portraits (see scenarios/README.md for each file's source and licence).
WATCHLIST = {
    # subject_id: (name, category, source photo, crop (y0, y1, x0, x1) or None)
    "WL-0001": ("Alex Marsh", "wanted by the courts", "obama.jpg", None),
    "WL-0002": ("Sam Keane", "missing person at risk", "astronaut.png", (0, 300, 90, 350)),
    "WL-0003": ("Ruth Calder", "victim or witness", "grace_hopper.jpg", None),
}

LOOKALIKE_SHARE = 0.65  # see check_lookalike: lands just beyond the 0.40 threshold

PEOPLE = {
    "marsh2": Person("WL-0001", "Alex Marsh", "obama2.jpg", True),
    "marsh3": Person("WL-0001", "Alex Marsh", "obama3.jpg", True),
    "marsh_turned": Person("WL-0001", "Alex Marsh", "obama3.jpg", True, turn=0.5),
    "marsh_partial": Person("WL-0001", "Alex Marsh", "obama_partial_face2.jpg", True),
    "keane": Person("WL-0002", "Sam Keane", "astronaut.png", True),
    "calder": Person("WL-0003", "Ruth Calder", "grace_hopper.jpg", True),
    "pb1": Person("PB-1", "passer-by 1", "biden.jpg", False),
    "pb2": Person("PB-2", "passer-by 2", "messi5.jpg", False),
    "pb3": Person("PB-3", "passer-by 3", "biden.jpg", False, blend_with="messi5.jpg", share=0.5),
    "lookalike": Person(
        "PB-4",
        "passer-by 4 (lookalike of Alex Marsh)",
        "obama2.jpg",
        False,
        blend_with="biden.jpg",
        share=LOOKALIKE_SHARE,
        lookalike_of="WL-0001",
    ),
}


def _eye_centres(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import face_recognition

    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    (marks,) = face_recognition.face_landmarks(rgb, [_face_box(image)])
    return np.mean(marks["left_eye"], axis=0), np.mean(marks["right_eye"], axis=0)


def blend(first: str, second: str, share: float) -> np.ndarray:
    """*share* of the first photo and the rest of the second, the second moved onto the
    first's eyes (rotation, scale, shift), so the two faces superimpose."""
    a = cv2.imread(str(SOURCES / first), cv2.IMREAD_COLOR)
    b = cv2.imread(str(SOURCES / second), cv2.IMREAD_COLOR)
    (al, ar), (bl, br) = _eye_centres(a), _eye_centres(b)
    va, vb = ar - al, br - bl
    scale = float(np.hypot(*va) / np.hypot(*vb))
    angle = math.degrees(math.atan2(va[1], va[0]) - math.atan2(vb[1], vb[0]))
    m = cv2.getRotationMatrix2D((float(bl[0]), float(bl[1])), -angle, scale)
    m[:, 2] += al - bl
    moved = cv2.warpAffine(b, m, (a.shape[1], a.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    mixed = share * a.astype(np.float32) + (1 - share) * moved.astype(np.float32)
    return np.clip(mixed, 0, 255).astype(np.uint8)


def turned(sprite: Sprite, amount: float) -> Sprite:
    """The sprite seen at an angle: the half beyond the face centre foreshortened.

    A flat photo's stand-in for a head turned partly away (the frontal detector and the
    encoder see one side of the face narrowed and shortened)."""
    h, w = sprite.rgba.shape[:2]
    squeeze = (w - sprite.face_cx) * amount
    drop = 0.06 * h * amount
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w - squeeze, drop], [w - squeeze, h - drop], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    rgba = cv2.warpPerspective(sprite.rgba, m, (w, h), flags=cv2.INTER_LINEAR)
    half = sprite.face_w / 2
    points = np.float32(
        [
            [
                [sprite.face_cx, sprite.face_cy],
                [sprite.face_cx - half, sprite.face_cy],
                [sprite.face_cx + half, sprite.face_cy],
            ]
        ]
    )
    (centre, left, right) = cv2.perspectiveTransform(points, m)[0]
    return Sprite(rgba, float(centre[0]), float(centre[1]), float(right[0] - left[0]))


def sprite_for(person: Person) -> Sprite:
    if person.blend_with:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "blend.png"
            cv2.imwrite(str(path), blend(person.photo, person.blend_with, person.share))
            sprite = make_sprite(path)
    else:
        sprite = make_sprite(SOURCES / person.photo)
    return turned(sprite, person.turn) if person.turn else sprite


# ----------------------------------------------------------------------------- walks

# Where on screen a lane's face is: (width entering, width leaving, centre height).
LANES = {
    "near": (125.0, 180.0, 345.0),
    "far": (92.0, 122.0, 235.0),
    "edge": (120.0, 150.0, 330.0),  # standing at the side of the view, partly out of it
}


@dataclass(frozen=True)
class Walk:
    """One person crossing one camera's view."""

    person: str  # key into PEOPLE
    camera: str
    start: float
    lane: str = "near"
    left_to_right: bool = True  # for "edge": True stands at the right edge of the view
    seconds: float = 5.5  # time to cross the view
    mirror: bool = False
    brightness: float = 1.0
    blur_px: int = 0  # horizontal motion blur (running)
    note: str = ""

    def at(self, t: float) -> tuple[float, float, float] | None:
        """Face centre x, centre y and width at time t, or None when off stage."""
        u = (t - self.start) / self.seconds
        if not 0.0 <= u <= 1.0:
            return None
        w0, w1, y0 = LANES[self.lane]
        w = w0 + (w1 - w0) * u
        if self.lane == "edge":
            # The photo's own cut edge (the face is cut off there) sits on the frame's edge.
            x = WIDTH - w / 2 if self.left_to_right else w / 2
        else:
            x = -0.12 * WIDTH + 1.24 * WIDTH * u
            if not self.left_to_right:
                x = WIDTH - x
        y = y0 + 8 * math.sin(2 * math.pi * 1.7 * (t - self.start))
        return x, y, w

    def visible(self) -> tuple[float, float]:
        """First and last second the whole face is in frame and at least 80 px wide."""
        seen = []
        for i in range(int(self.start * FPS), int((self.start + self.seconds) * FPS) + 1):
            pos = self.at(i / FPS)
            if pos is None:
                continue
            x, _, w = pos
            if w >= MIN_VISIBLE_FACE_PX and x - w / 2 >= -0.5 and x + w / 2 <= WIDTH + 0.5:
                seen.append(i / FPS)
        if not seen:
            raise ValueError(f"{self} is never visible")
        return min(seen), max(seen)


# ------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class CameraPlan:
    name: str
    seconds: float
    view: str = "north"  # which end of the street (make_samples.backgrounds)
    light: float = 1.0  # below 1: dusk, the whole picture darkened
    noise: float = 0.8  # sensor noise (grey levels); low, so mp4v compresses well
    fails_at: float | None = None  # the file is cut here and garbage follows

    @property
    def video(self) -> str:
        # An MP4 keeps its index at the end: cut in half it cannot be opened at all. An
        # AVI (same codec) plays up to the damage, like a recording that broke off.
        return f"{self.name}.avi" if self.fails_at is not None else f"{self.name}.mp4"


@dataclass(frozen=True)
class ScenarioPlan:
    name: str
    title: str
    description: str
    watchlist: tuple[str, ...]
    cameras: tuple[CameraPlan, ...]
    walks: tuple[Walk, ...]
    tolerances: dict[str, float]


BASIC = ScenarioPlan(
    name="basic",
    title="A wanted man walks past the north camera, later past the south",
    description=(
        "Alex Marsh (wanted by the courts) walks past the north camera, then, ten seconds "
        "later, past the south camera, in a different photo each time. Two passers-by. "
        "Sam Keane is on the watchlist but does not come."
    ),
    watchlist=("WL-0001", "WL-0002"),
    cameras=(CameraPlan("north", 20.0), CameraPlan("south", 20.0, view="south")),
    walks=(
        Walk("pb1", "north", 10.0, "near", left_to_right=False),
        Walk("marsh2", "north", 2.0, "near"),
        Walk("pb2", "south", 1.5, "near"),
        Walk("marsh3", "south", 12.0, "near", left_to_right=False),
    ),
    tolerances={
        "max_seconds_to_alert": 1.0,
        "allowed_false_alerts": 0,
        "allowed_duplicate_alerts": 0,
        "allowed_misses": 0,
    },
)

BUSY_STREET = ScenarioPlan(
    name="busy_street",
    title="A busy high street: three subjects among passers-by, and a lookalike",
    description=(
        "Two people in view most of the time, in two lanes (near and far side of the "
        "pavement). Three watchlisted subjects, one of them twice; passers-by; and a "
        "lookalike of Alex Marsh (a blend of another photo of him with a passer-by) who "
        "scores just beyond the threshold and must not raise an alert."
    ),
    watchlist=("WL-0001", "WL-0002", "WL-0003"),
    cameras=(CameraPlan("north", 30.0), CameraPlan("south", 30.0, view="south")),
    walks=(
        # north
        Walk("pb1", "north", 0.5, "near"),
        Walk("marsh3", "north", 2.0, "far", left_to_right=False, note="in view with passer-by 1"),
        Walk("pb2", "north", 6.5, "near", mirror=True),
        Walk("keane", "north", 8.0, "far", note="in view with passer-by 2"),
        Walk("pb3", "north", 12.0, "near", left_to_right=False),
        Walk(
            "lookalike",
            "north",
            15.0,
            "near",
            note="should not alert; if it does, the right decision is false match",
        ),
        Walk("calder", "north", 17.5, "far", left_to_right=False, note="beside the lookalike"),
        Walk("pb1", "north", 21.5, "far", mirror=True),
        Walk("marsh2", "north", 23.5, "near", left_to_right=False),
        # south
        Walk("calder", "south", 0.5, "near", mirror=True),
        Walk("pb3", "south", 2.5, "far", left_to_right=False),
        Walk("pb2", "south", 6.0, "far"),
        Walk("keane", "south", 7.0, "near", left_to_right=False, note="in view with passer-by 2"),
        Walk("pb1", "south", 12.0, "near"),
        Walk("marsh2", "south", 13.0, "far", left_to_right=False, note="in view with passer-by 1"),
        Walk("pb3", "south", 18.5, "near", mirror=True),
        Walk("lookalike", "south", 20.0, "far", left_to_right=False),
        Walk("pb2", "south", 24.0, "near", left_to_right=False),
    ),
    tolerances={
        "max_seconds_to_alert": 1.5,
        "allowed_false_alerts": 0,
        "allowed_duplicate_alerts": 0,
        "allowed_misses": 0,
    },
)

HARD = ScenarioPlan(
    name="hard",
    title="Dusk, a runner, a turned head, a half-hidden face and a camera that fails",
    description=(
        "North at dusk: Alex Marsh in poor light, then Sam Keane running past (motion "
        "blur), then Marsh again with his head turned partly away. South in daylight: Marsh "
        "stands at the edge of the view with part of his face out of it; the south camera's "
        "recording breaks off at 12 s (the rest of the file is garbage) and the run must "
        "carry on with the north camera. One miss is allowed: the runner at dusk (see "
        "README)."
    ),
    watchlist=("WL-0001", "WL-0002"),
    cameras=(
        CameraPlan("north", 24.0, light=0.45, noise=1.6),
        CameraPlan("south", 24.0, view="south", fails_at=12.0),
    ),
    walks=(
        Walk("marsh3", "north", 1.0, "near", note="at dusk"),
        Walk("pb1", "north", 5.5, "far", left_to_right=False, brightness=0.9),
        Walk(
            "keane",
            "north",
            10.0,
            "near",
            left_to_right=False,
            seconds=3.5,
            blur_px=15,
            note="running at dusk: motion blur; expected to be missed, see README",
        ),
        Walk("marsh_turned", "north", 17.5, "near", note="at dusk, head turned partly away"),
        Walk("pb2", "south", 0.5, "near"),
        Walk(
            "marsh_partial",
            "south",
            5.0,
            "edge",
            seconds=5.0,
            note="at the edge of the view, part of the face out of frame",
        ),
    ),
    tolerances={
        "max_seconds_to_alert": 2.0,
        "allowed_false_alerts": 0,
        "allowed_duplicate_alerts": 0,
        "allowed_misses": 1,
    },
)

SCENARIOS = {s.name: s for s in (BASIC, BUSY_STREET, HARD)}


# ------------------------------------------------------------------------- rendering


def composite(
    frame: np.ndarray, sprite: Sprite, walk: Walk, pos: tuple[float, float, float]
) -> None:
    x, y, w = pos
    if not walk.blur_px:
        paste(frame, sprite, x, y, w, walk.mirror, walk.brightness)
        return
    # Motion blur smears the person, alpha included: paste onto black twice (colour times
    # alpha, and alpha alone as white), blur both, then lay the result over the street.
    colour = np.zeros_like(frame)
    paste(colour, sprite, x, y, w, walk.mirror, walk.brightness)
    white = Sprite(sprite.rgba.copy(), sprite.face_cx, sprite.face_cy, sprite.face_w)
    white.rgba[:, :, :3] = 255
    cover = np.zeros_like(frame)
    paste(cover, white, x, y, w, walk.mirror, 1.0)
    kernel = np.full((1, walk.blur_px), 1.0 / walk.blur_px, np.float32)
    colour_f = cv2.filter2D(colour.astype(np.float32), -1, kernel)
    alpha = cv2.filter2D(cover.astype(np.float32), -1, kernel) / 255.0
    mixed = frame.astype(np.float32) * (1 - alpha) + colour_f
    frame[:] = np.clip(mixed, 0, 255).astype(np.uint8)


def dusk(frame: np.ndarray, light: float) -> np.ndarray:
    """Evening light: everything darker, shadows darkest (gain and a gamma curve)."""
    table = np.array([255 * light * (v / 255) ** 1.3 for v in range(256)], np.float32)
    return table[frame]


def render_frame(
    t: float,
    camera: CameraPlan,
    walks: list[Walk],
    sprites: dict[str, Sprite],
    bgs: list[np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    offset = 0 if camera.view == "north" else len(bgs) // 2
    # vtest.avi runs at 10 fps: hold each of its frames for 2.5 of ours.
    frame = bgs[(offset + int(t * 10)) % len(bgs)].copy()
    on_stage = [(w, p) for w in walks if (p := w.at(t)) is not None]
    for walk, pos in sorted(on_stage, key=lambda wp: wp[1][2]):  # far (small) ones first
        composite(frame, sprites[walk.person], walk, pos)
    image = dusk(frame, camera.light) if camera.light < 1 else frame.astype(np.float32)
    image += rng.normal(0, camera.noise, frame.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def render_camera(
    camera: CameraPlan, walks: list[Walk], sprites: dict[str, Sprite], out: Path, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bgs = backgrounds(camera.view)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"OpenCV cannot write {out}")
    for i in range(round(camera.seconds * FPS)):
        writer.write(render_frame(i / FPS, camera, walks, sprites, bgs, rng))
    writer.release()
    if camera.fails_at is not None:
        break_off(out, round(camera.fails_at * FPS), seed)


def break_off(path: Path, frame: int, seed: int) -> None:
    """Cut an AVI just before *frame*'s data and fill the rest with garbage.

    The headers still announce the whole length: the file looks like a recording whose
    second half was lost, and decoding stops at the damage."""
    data = path.read_bytes()
    cut = _avi_frame_offset(data, frame)
    garbage = np.random.default_rng(seed).integers(0, 256, GARBAGE_BYTES, dtype=np.uint8)
    path.write_bytes(data[:cut] + garbage.tobytes())


def _avi_frame_offset(data: bytes, frame: int) -> int:
    """Byte offset of the video chunk of *frame* inside an AVI's ``movi`` list."""
    pos = 12  # after "RIFF", size, "AVI "
    while pos + 12 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if tag == b"LIST" and data[pos + 8 : pos + 12] == b"movi":
            seen, chunk, end = 0, pos + 12, pos + 8 + size
            while chunk + 8 <= end:
                chunk_tag = data[chunk : chunk + 4]
                chunk_size = struct.unpack("<I", data[chunk + 4 : chunk + 8])[0]
                if chunk_tag[2:] in (b"dc", b"db"):
                    if seen == frame:
                        return chunk
                    seen += 1
                chunk += 8 + chunk_size + (chunk_size & 1)
            raise ValueError(f"the AVI has only {seen} frames, not {frame + 1}")
        pos += 8 + size + (size & 1)
    raise ValueError("no movi list in the AVI")


def decodable_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames


# -------------------------------------------------------------------- watchlist, truth


def write_watchlist(folder: Path, subject_ids: tuple[str, ...]) -> None:
    folder.mkdir()
    with (folder / "watchlist.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["subject_id", "name", "category", "image", "source"])
        for subject_id in subject_ids:
            name, category, photo, crop = WATCHLIST[subject_id]
            image = cv2.imread(str(SOURCES / photo), cv2.IMREAD_COLOR)
            if crop is not None:
                y0, y1, x0, x1 = crop
                image = image[y0:y1, x0:x1]
            image_name = f"{subject_id}.jpg"
            cv2.imwrite(str(folder / image_name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            source = f"sample_streams/source_images/{photo} (public domain; see scenarios/README)"
            out.writerow([subject_id, name, category, image_name, source])


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, int) else f"{value:.2f}"
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def manifest(plan: ScenarioPlan) -> str:
    lines = [
        "# Generated by sample_streams/make_scenarios.py: change that script, not this file.",
        "# Format: console/training/scenarios.py and sample_streams/scenarios/README.md.",
        f"name = {_toml(plan.name)}",
        f"title = {_toml(plan.title)}",
        f"description = {_toml(plan.description)}",
        'watchlist = "watchlist"',
        f"threshold = {_toml(THRESHOLD)}",
        "analyses_per_second = 5.0",
        "",
        "[tolerances]",
    ]
    lines += [f"{key} = {_toml(value)}" for key, value in plan.tolerances.items()]
    for camera in plan.cameras:
        lines += ["", "[[camera]]", f"name = {_toml(camera.name)}"]
        lines += [f"video = {_toml(camera.video)}", f"seconds = {_toml(camera.seconds)}"]
        if camera.fails_at is not None:
            lines.append(f"fails_at = {_toml(camera.fails_at)}")
    for walk in sorted(plan.walks, key=lambda w: (w.camera, w.visible()[0])):
        person = PEOPLE[walk.person]
        start, end = walk.visible()
        watchlisted = person.person_id in plan.watchlist
        lines += [
            "",
            "[[appearance]]",
            f"person = {_toml(person.person_id)}",
            f"name = {_toml(person.name)}",
            f"camera = {_toml(walk.camera)}",
            f"visible_from = {_toml(start)}",
            f"visible_to = {_toml(end)}",
            f"expect = {_toml('alert' if watchlisted else 'no_alert')}",
            f"decision = {_toml('engage' if watchlisted else 'false_match')}",
            f"photo = {_toml(person.description)}",
        ]
        if person.lookalike_of:
            lines.append(f"lookalike_of = {_toml(person.lookalike_of)}")
        if walk.note:
            lines.append(f"note = {_toml(walk.note)}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- lookalike


def check_lookalike(sprites: dict[str, Sprite]) -> tuple[float, float]:
    """The lookalike's distance to its subject as the console measures it, at the sizes
    it walks at; the build stops unless every one lands beyond the threshold."""
    from console.domain.watchlist import WatchlistEntry
    from console.vision.analysis import AnalysisSettings, analyse_frame
    from console.vision.enrolment import enrol_image

    person = PEOPLE["lookalike"]
    name, category, photo, _ = WATCHLIST[person.lookalike_of]
    entry = WatchlistEntry(1, person.lookalike_of, name, category, SOURCES / photo)
    subject = enrol_image(entry)
    bg = backgrounds("north")[100]
    distances = []
    for width in np.linspace(LANES["far"][0], LANES["near"][1], 8):
        frame = bg.copy()
        paste(frame, sprites["lookalike"], WIDTH / 2, 300, float(width), False, 1.0)
        for face in analyse_frame(frame, AnalysisSettings()):
            if face.encoding is not None:
                distances.append(float(np.linalg.norm(face.encoding - subject.encoding)))
    if not distances or min(distances) <= THRESHOLD + 0.02:
        raise SystemExit(f"lookalike too close to {person.lookalike_of}: {distances}")
    return min(distances), max(distances)


# ----------------------------------------------------------------------------- main


def build(plan: ScenarioPlan, sprites: dict[str, Sprite]) -> None:
    # Built aside and swapped in at the end: an interrupted build (or a test run during
    # one) never meets a half-written scenario.
    final = OUT / plan.name
    folder = OUT / f".{plan.name}.building"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_watchlist(folder / "watchlist", plan.watchlist)
    for n, camera in enumerate(plan.cameras):
        walks = [w for w in plan.walks if w.camera == camera.name]
        out = folder / camera.video
        render_camera(camera, walks, sprites, out, seed=hash_seed(plan.name, n))
        frames = decodable_frames(out)
        size = out.stat().st_size / 1e6
        print(f"{plan.name}/{camera.video}: {frames} frames decodable, {size:.1f} MB")
    (folder / "scenario.toml").write_text(manifest(plan))
    if final.exists():
        shutil.rmtree(final)
    folder.rename(final)


def hash_seed(name: str, n: int) -> int:
    # Not hash(): Python salts string hashes per process, and the build must repeat.
    return sum(ord(c) for c in name) * 100 + n


def main(names: list[str]) -> None:
    plans = [SCENARIOS[n] for n in names] if names else list(SCENARIOS.values())
    keys = {w.person for plan in plans for w in plan.walks}
    sprites = {key: sprite_for(PEOPLE[key]) for key in sorted(keys)}
    if "lookalike" in sprites:
        low, high = check_lookalike(sprites)
        print(f"lookalike: distance {low:.3f}-{high:.3f} to its subject (threshold {THRESHOLD})")
    for plan in plans:
        build(plan, sprites)


if __name__ == "__main__":
    main(sys.argv[1:])
