"""Build the sample deployment: two street-camera videos, a watchlist and the ground truth.

    .venv/bin/python sample_streams/make_samples.py

Reproducible: the same source images give the same videos (seeded noise, fixed
schedule). Every face comes from ``source_images/``, which holds only images that may
be committed (see README.md there). People are composited as head-and-shoulders cut-outs
walking across a real street scene (OpenCV's ``vtest.avi``), growing as they approach
the lamp-post camera, with sensor noise and a little motion blur.
"""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "source_images"
WIDTH, HEIGHT, FPS = 1280, 720, 25
DURATION_S = 60.0
SLOT_S = 6.0  # one person every six seconds
WALK_S = 5.5  # time to cross the frame
MIN_VISIBLE_FACE_PX = 80  # ground truth counts a face as visible from this width on


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    image: str
    watchlisted: bool


# Names are invented: the portraits are public figures' public-domain photos, and the
# watchlist categories are fiction for training. See README.md for each image's source.
MARSH_PROBES = ("obama2.jpg", "obama3.jpg")
PEOPLE = {
    "marsh": Person("WL-0001", "Alex Marsh", "obama3.jpg", True),
    "marsh2": Person("WL-0001", "Alex Marsh", "obama2.jpg", True),
    "keane": Person("WL-0002", "Sam Keane", "astronaut.png", True),
    "p1": Person("passerby-1", "passer-by 1", "biden.jpg", False),
    "p2": Person("passerby-2", "passer-by 2", "grace_hopper.jpg", False),
    "p3": Person("passerby-3", "passer-by 3", "messi5.jpg", False),
}

SCHEDULE = {
    "north": ["p1", "marsh2", "p2", "p3", "keane", "p1", "p2", "marsh", "p3", "p2"],
    "south": ["p2", "keane", "p1", "p3", "marsh", "p2", "p1", "marsh2", "p3", "p1"],
}

WATCHLIST = [
    # subject_id, name, category, image written to watchlist/, source, crop (y0, y1, x0, x1)
    ("WL-0001", "Alex Marsh", "wanted by the courts", "WL-0001.jpg", "obama.jpg", None),
    (
        "WL-0002",
        "Sam Keane",
        "missing person at risk",
        "WL-0002.jpg",
        "astronaut.png",
        (0, 300, 90, 350),
    ),
]


@dataclass
class Sprite:
    rgba: np.ndarray  # BGRA cut-out
    face_cx: float  # face centre and width inside the cut-out, in its pixels
    face_cy: float
    face_w: float


def _face_box(image: np.ndarray) -> tuple[int, int, int, int]:
    import face_recognition

    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    boxes = face_recognition.face_locations(rgb, number_of_times_to_upsample=1)
    if not boxes:
        raise SystemExit("no face found in a source image")
    return max(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0]))


def make_sprite(path: Path, box: tuple[int, int, int, int] | None = None) -> Sprite:
    """A head-and-shoulders cut-out around the face *box* (found here when not given)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    top, right, bottom, left = box or _face_box(image)
    fw, fh = right - left, bottom - top
    pad = int(3 * max(fw, fh))
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    cx, cy = (left + right) / 2 + pad, (top + bottom) / 2 + pad
    x0, x1 = int(cx - 1.5 * fw), int(cx + 1.5 * fw)
    y0, y1 = int(cy - 1.3 * fh), int(cy + 2.9 * fh)
    cut = padded[y0:y1, x0:x1].copy()
    mask = np.zeros(cut.shape[:2], np.float32)
    hx, hy = cx - x0, cy - y0
    cv2.ellipse(
        mask, (int(hx), int(hy - 0.08 * fh)), (int(0.72 * fw), int(0.95 * fh)), 0, 0, 360, 1.0, -1
    )
    cv2.ellipse(
        mask, (int(hx), int(hy + 1.75 * fh)), (int(1.45 * fw), int(1.05 * fh)), 0, 0, 360, 1.0, -1
    )
    cv2.rectangle(mask, (int(hx - 0.3 * fw), int(hy)), (int(hx + 0.3 * fw), int(hy + fh)), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * fw)
    rgba = np.dstack([cut, (mask * 255).astype(np.uint8)])
    return Sprite(rgba, hx, hy, fw)


@dataclass(frozen=True)
class Appearance:
    key: str
    camera: str
    start: float
    left_to_right: bool
    face_w0: float
    face_w1: float
    face_y: float
    brightness: float
    mirror: bool

    def at(self, t: float) -> tuple[float, float, float] | None:
        """Face centre x, centre y and width at time t, or None when off stage."""
        u = (t - self.start) / WALK_S
        if not 0.0 <= u <= 1.0:
            return None
        w = self.face_w0 + (self.face_w1 - self.face_w0) * u
        x = -0.12 * WIDTH + 1.24 * WIDTH * u
        if not self.left_to_right:
            x = WIDTH - x
        y = self.face_y + 8 * math.sin(2 * math.pi * 1.7 * (t - self.start))
        return x, y, w


def plan(camera: str, rng: np.random.Generator) -> list[Appearance]:
    appearances = []
    for slot, key in enumerate(SCHEDULE[camera]):
        appearances.append(
            Appearance(
                key=key,
                camera=camera,
                start=0.3 + slot * SLOT_S,
                left_to_right=bool(rng.integers(0, 2)),
                face_w0=float(rng.uniform(85, 100)),
                face_w1=float(rng.uniform(150, 185)),
                face_y=float(rng.uniform(250, 330)),
                brightness=float(rng.uniform(0.85, 1.1)),
                mirror=bool(rng.integers(0, 2)),
            )
        )
    return appearances


def visible_interval(a: Appearance) -> tuple[float, float]:
    """First and last second at which the whole face is in frame and wide enough."""
    seen = []
    for i in range(int(a.start * FPS), int((a.start + WALK_S) * FPS) + 1):
        t = i / FPS
        pos = a.at(t)
        if pos is None:
            continue
        x, y, w = pos
        if w >= MIN_VISIBLE_FACE_PX and x - w / 2 >= 0 and x + w / 2 <= WIDTH:
            seen.append(t)
    return (min(seen), max(seen)) if seen else (a.start, a.start)


def paste(
    frame: np.ndarray, sprite: Sprite, x: float, y: float, w: float, mirror: bool, brightness: float
) -> None:
    scale = w / sprite.face_w
    rgba = cv2.resize(
        sprite.rgba,
        None,
        fx=scale,
        fy=scale,
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    fx = sprite.face_cx * scale
    if mirror:
        rgba = rgba[:, ::-1]
        fx = rgba.shape[1] - fx
    ox, oy = int(round(x - fx)), int(round(y - sprite.face_cy * scale))
    h, wd = rgba.shape[:2]
    fx0, fy0 = max(0, ox), max(0, oy)
    fx1, fy1 = min(WIDTH, ox + wd), min(HEIGHT, oy + h)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    part = rgba[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
    alpha = part[:, :, 3:4].astype(np.float32) / 255.0
    person = np.clip(part[:, :, :3].astype(np.float32) * brightness, 0, 255)
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (person * alpha + region * (1 - alpha)).astype(np.uint8)


def backgrounds(camera: str) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(SOURCES / "vtest.avi"))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        image = image[72:504]  # 768x432, 16:9
        if camera == "south":  # the other end of the street: mirrored, dimmer, warmer
            image = cv2.flip(image, 1)
            image = np.clip(image.astype(np.float32) * (0.8, 0.88, 0.95), 0, 255).astype(np.uint8)
        frames.append(cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR))
    capture.release()
    return frames


def render(
    camera: str, appearances: list[Appearance], sprites: dict[str, Sprite], out: Path, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bgs = backgrounds(camera)
    offset = 0 if camera == "north" else len(bgs) // 2
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for i in range(int(DURATION_S * FPS)):
        t = i / FPS
        # vtest.avi runs at 10 fps: hold each of its frames for 2.5 of ours.
        frame = bgs[(offset + int(t * 10)) % len(bgs)].copy()
        for a in appearances:
            pos = a.at(t)
            if pos is not None:
                paste(frame, sprites[a.key], *pos, a.mirror, a.brightness)
        noise = rng.normal(0, 1.5, frame.shape).astype(np.float32)
        frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()


# The card's other watchlist fields, invented for the sample: date of birth, what the
# subject is sought for, warning markers (separated by ";").
SAMPLE_FACTS = {
    "WL-0001": ("1988-04-02", "failed to appear at Croydon Crown Court (burglary)", ""),
    "WL-0002": ("1994-09-17", "reported missing 26 Nov, vulnerable", "self-harm"),
}


def write_watchlist(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    with (folder / "watchlist.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["subject_id", "name", "category", "image", "source", "date_of_birth", "reason",
             "warnings"]
        )
        for subject_id, name, category, image_name, source, crop in WATCHLIST:
            image = cv2.imread(str(SOURCES / source), cv2.IMREAD_COLOR)
            if crop is not None:
                y0, y1, x0, x1 = crop
                image = image[y0:y1, x0:x1]
            cv2.imwrite(str(folder / image_name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            out.writerow(
                [
                    subject_id,
                    name,
                    category,
                    image_name,
                    f"sample_streams/source_images/{source} (see README)",
                    *SAMPLE_FACTS[subject_id],
                ]
            )


def main() -> None:
    rng = np.random.default_rng(20261127)
    sprites = {key: make_sprite(SOURCES / p.image) for key, p in PEOPLE.items()}
    write_watchlist(HERE / "watchlist")
    rows = []
    for n, camera in enumerate(SCHEDULE):
        appearances = plan(camera, rng)
        render(camera, appearances, sprites, HERE / f"{camera}.mp4", seed=n)
        for a in appearances:
            person = PEOPLE[a.key]
            start, end = visible_interval(a)
            rows.append(
                [
                    person.person_id,
                    person.name,
                    "yes" if person.watchlisted else "no",
                    camera,
                    f"{start:.2f}",
                    f"{end:.2f}",
                    person.image,
                ]
            )
        print(f"{camera}.mp4 written")
    with (HERE / "ground_truth.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["subject_id", "name", "watchlisted", "camera", "start_s", "end_s", "image"])
        out.writerows(sorted(rows, key=lambda r: (r[3], float(r[4]))))
    print("ground_truth.csv and watchlist/ written")


if __name__ == "__main__":
    main()
