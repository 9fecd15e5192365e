"""A shift at the desk in the real window, under Xvfb, worked with the keyboard as an
officer works it; afterwards the record is checked against what was on the screen.

    .venv/bin/python scripts/desk_shift.py --size 1920x1080 --minutes 10
    .venv/bin/python scripts/desk_shift.py --size 1280x720 --minutes 10 --seed 2

Needs Xvfb, xdotool, ImageMagick and tesseract (``scripts/system-deps.sh shift``).

The console runs as a user runs it (``python -m console run``) on a plan of three cameras
made from the sample streams (one of them a copy of south.mp4 started 20 s later, so
alerts arrive at moments the officer cannot predict). The officer is simulated with real
X key events (xdotool): they open incidents with N or the arrows, decide some quickly
and some slowly (a key pressed 0.1 s after a card opened, before it could be read),
dismiss with a typed reason, record outcomes, type a reason when nothing is open, open the
history, replay an alert, pop a camera out, correct a decision in the history and hand
the desk over to a second officer halfway through.

Before every key the screen is read from Xvfb's frame buffer (``-fbdir``) and the card
(and the engagement the outcome keys act on) is kept as it was at the key and half a
second before. After the shift, tesseract reads those pictures, and every decision and
outcome in the record (``console.db``) must name the incident the card showed, at the
key and half a second before it. The result, the figures and the screenshots go to
``--out`` (git-ignored ``bench/results/`` by default).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from console.domain.officers import Role  # noqa: E402
from console.storage import Store  # noqa: E402

SAMPLES = REPO / "sample_streams"
CARD_BORDER = (222, 111, 47)  # the card's border in the dark theme (#2f6fde), as BGR
GUARD_S = 0.5
ACCOUNTS = {
    "sgt": ("Sgt D. Shift", Role.SUPERVISOR, "supervisor-on-shift"),
    "pc2": ("PC 2 Relief", Role.OPERATOR, "relief-officer-2"),
}
REASONS = ["seen by PC 4821, known to us", "dealt with this morning", "not safe to engage here"]
NAMES = ("Alex Marsh", "Sam Keane")


# -- the X server and the console -----------------------------------------------------------


class Screen:
    """Xvfb's frame buffer (XWD file, updated in place): the screen as the officer sees it."""

    def __init__(self, path: Path) -> None:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        header = np.frombuffer(bytes(data[:100]), ">u4")
        header_size, width, height = int(header[0]), int(header[4]), int(header[5])
        bytes_per_line, colours = int(header[12]), int(header[19])
        start = header_size + 12 * colours
        rows = data[start : start + height * bytes_per_line].reshape(height, bytes_per_line)
        self.pixels = rows[:, : width * 4].reshape(height, width, 4)

    def grab(self) -> np.ndarray:
        return np.ascontiguousarray(self.pixels[:, :, :3])  # BGR


def card_box(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The card's rectangle (x0, y0, x1, y1), found by its border colour."""
    mask = np.all(image == CARD_BORDER, axis=2)
    ys, xs = np.nonzero(mask)
    if len(xs) < 200:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def still_there(pixels: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the card's left and right borders are still where *box* says: a box found
    a moment ago goes stale when the layout changes (an enlarged camera's frame, which has
    the same colour, closing)."""
    x0, y0, x1, y1 = box
    sides = pixels[y0 : y1 + 1, [x0, x1], :3]
    return bool(np.all(sides == CARD_BORDER, axis=2).mean() > 0.6)


def outcome_box(card: tuple[int, int, int, int], width: int) -> tuple[int, int, int, int]:
    """The queue's left column by the card's lower half: where the outcome keys say whose
    engagement they act on."""
    x0, y0, x1, y1 = card
    left = max(0, x0 - int(0.95 * (x1 - x0)))
    return left, y0 + (y1 - y0) // 2, x0 - 2, min(y1 + 140, 10_000)


def find_words(image: np.ndarray, words: str) -> tuple[int, int] | None:
    """The centre of *words* (consecutive, case-sensitive) in *image*, by tesseract."""
    big = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), None, fx=2, fy=2,
                     interpolation=cv2.INTER_CUBIC)
    with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
        cv2.imwrite(tmp.name, 255 - big)
        tsv = run(["tesseract", tmp.name, "-", "--psm", "11", "tsv"])
    rows = [r.split("\t") for r in tsv.splitlines()[1:]]
    found = [(r[11], int(r[6]), int(r[7]), int(r[8]), int(r[9])) for r in rows
             if len(r) == 12 and r[11].strip()]
    wanted = words.split()
    for i in range(len(found) - len(wanted) + 1):
        if [f[0] for f in found[i : i + len(wanted)]] == wanted:
            boxes = found[i : i + len(wanted)]
            left = min(b[1] for b in boxes)
            right = max(b[1] + b[3] for b in boxes)
            top = min(b[2] for b in boxes)
            bottom = max(b[2] + b[4] for b in boxes)
            return (left + right) // 4, (top + bottom) // 4
    return None


def read_text(image: np.ndarray) -> str:
    big = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), None, fx=2, fy=2,
                     interpolation=cv2.INTER_CUBIC)
    with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
        cv2.imwrite(tmp.name, 255 - big)
        return run(["tesseract", tmp.name, "-", "--psm", "6"])


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, **kw).stdout.strip()


class XTest:
    """Keys as the X server's XTEST extension makes them, from this process (libXtst, by
    ctypes): no helper program to start, so a key reaches the server within a round trip
    of the moment the screen was read for it (xdotool took up to half a second to start
    on a loaded machine, and the screen moved on meanwhile)."""

    MODIFIERS = {"ctrl": "Control_L", "shift": "Shift_L", "alt": "Alt_L"}
    NAMES = {" ": "space", ",": "comma", ".": "period", ":": "colon", "-": "minus",
             "'": "apostrophe", "/": "slash", "(": "parenleft", ")": "parenright"}

    def __init__(self, display: str) -> None:
        self.x11 = ctypes.CDLL("libX11.so.6")
        self.xtst = ctypes.CDLL("libXtst.so.6")
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XStringToKeysym.restype = ctypes.c_ulong
        self.x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
        self.x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        self.x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.x11.XKeycodeToKeysym.restype = ctypes.c_ulong
        self.x11.XKeycodeToKeysym.argtypes = [ctypes.c_void_p, ctypes.c_ubyte, ctypes.c_int]
        self.x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.xtst.XTestFakeKeyEvent.argtypes = [
            ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong
        ]
        self.display = self.x11.XOpenDisplay(display.encode())
        if not self.display:
            raise RuntimeError(f"cannot open display {display}")

    def _code(self, name: str) -> tuple[int, bool]:
        """The keycode for a key name (or a character), and whether it needs Shift."""
        sym = self.x11.XStringToKeysym(self.NAMES.get(name, name).encode())
        if not sym and len(name) == 1:
            sym = ord(name)
        code = self.x11.XKeysymToKeycode(self.display, sym)
        if not code:
            raise ValueError(f"no key for {name!r}")
        shifted = self.x11.XKeycodeToKeysym(self.display, code, 0) != sym
        return code, shifted

    def _tap(self, code: int, held: list[int]) -> None:
        for c in held:
            self.xtst.XTestFakeKeyEvent(self.display, c, 1, 0)
        self.xtst.XTestFakeKeyEvent(self.display, code, 1, 0)
        self.xtst.XTestFakeKeyEvent(self.display, code, 0, 0)
        for c in reversed(held):
            self.xtst.XTestFakeKeyEvent(self.display, c, 0, 0)
        self.x11.XSync(self.display, 0)  # returns once the server has made the events

    def key(self, combo: str) -> None:
        *mods, main = combo.split("+") if combo != "+" else ["+"]
        code, shifted = self._code(main)
        held = [self._code(self.MODIFIERS[m])[0] for m in mods]
        if shifted and "shift" not in mods:
            held.append(self._code("Shift_L")[0])
        self._tap(code, held)

    def type(self, text: str, delay_ms: int = 60) -> None:
        for ch in text:
            self.key(ch)
            time.sleep(delay_ms / 1000)


class X:
    """xdotool on the Xvfb display (windows, focus, the pointer); keys through XTest."""

    def __init__(self, display: str, fb: Path) -> None:
        self.env = {**os.environ, "DISPLAY": display}
        self.fb = fb
        self.xtest = XTest(display)

    def __call__(self, *args: str) -> str:
        return run(["xdotool", *args], env=self.env)

    def window(self, name: str, timeout: float = 60.0) -> str:
        end = time.time() + timeout
        while time.time() < end:
            found = self("search", "--name", name).split()
            if found:
                return found[-1]
            time.sleep(0.3)
        raise TimeoutError(f"no window named {name!r}")

    def gone(self, name: str) -> bool:
        return not self("search", "--name", name).split()

    def focus(self, window: str) -> None:
        self("windowfocus", "--sync", window)

    def key(self, *keys: str) -> None:
        for key in keys:
            self.xtest.key(key)
            time.sleep(0.03)

    def type(self, text: str, delay_ms: int = 60) -> None:
        self.xtest.type(text, delay_ms)

    def click_text(self, words: str, region: tuple[int, int, int, int] | None = None,
                   timeout: float = 20.0) -> bool:
        """Click the words where the screen shows them (read with tesseract), as a person
        finds a button by its label."""
        end = time.time() + timeout
        while time.time() < end:
            image = Screen(self.fb).grab()
            x0, y0 = 0, 0
            if region is not None:
                x0, y0, x1, y1 = region
                image = image[y0:y1, x0:x1]
            found = find_words(image, words)
            if found is not None:
                cx, cy = found
                # The pointer comes from elsewhere, as a hand's would: Qt takes a click
                # without a move onto the button first for nothing.
                self("mousemove", str(x0 + cx + 60), str(y0 + cy + 80), "sleep", "0.2",
                     "mousemove", str(x0 + cx), str(y0 + cy), "sleep", "0.2", "click", "1",
                     "sleep", "0.2", "mousemove", str(x0 + cx + 60), str(y0 + cy + 80))
                # The hand leaves the button: a hovered button is drawn highlighted, which
                # tesseract cannot read, so a click that did not take could not be retried.
                return True
            time.sleep(1.0)
        return False

    def shot(self, path: Path, box: tuple[int, int, int, int] | None = None) -> None:
        image = Screen(self.fb).grab()
        if box is not None:
            x0, y0, x1, y1 = box
            image = image[y0:y1, x0:x1]
        cv2.imwrite(str(path), image)


# -- the plan: the sample streams, one camera started 20 s later -----------------------------


def rotated(source: Path, target: Path, seconds: float) -> Path:
    """*source* started *seconds* in (its start moved to the end): same frames, other times."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    cut = int(seconds * fps) % len(frames)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for image in frames[cut:] + frames[:cut]:
        writer.write(image)
    writer.release()
    return target


def make_plan(folder: Path) -> Path:
    shutil.copytree(SAMPLES / "watchlist", folder / "watchlist")
    shutil.copy(SAMPLES / "north.mp4", folder / "north.mp4")
    shutil.copy(SAMPLES / "south.mp4", folder / "south.mp4")
    rotated(SAMPLES / "south.mp4", folder / "market.mp4", 20.0)
    plan = folder / "shift.toml"
    plan.write_text(
        'reference = "SHIFT-{seq}"\n'
        'site = "Croydon high street (sample streams)"\n'
        'watchlist = "watchlist"\n'
        'false_alert_rate = "1 in 1000"\n'
        'authorised_by = "A. Example"\nauthorised_rank = "Superintendent"\n'
        "duration_hours = 2\n\n"
        '[[camera]]\nname = "north"\nsource = "north.mp4"\nloop = true\n'
        "position = [0, 220]\nfacing = 180\n\n"
        '[[camera]]\nname = "south"\nsource = "south.mp4"\nloop = true\n'
        "position = [15, 0]\nfacing = 0\n\n"
        '[[camera]]\nname = "market"\nsource = "market.mp4"\nloop = true\n'
        "position = [-60, 110]\nfacing = 90\n"
    )
    return plan


def make_accounts(data: Path) -> None:
    store = Store.in_dir(data)
    store.officers.add("root", "Admin", Role.ADMIN, "root-admin-password", "desk_shift")
    for username, (name, role, password) in ACCOUNTS.items():
        store.officers.add(username, name, role, password, "root")
    store.close()


# -- the officer ----------------------------------------------------------------------------


@dataclass
class Press:
    n: int
    t: float  # wall clock (time.time()) when the key went
    key: str
    kind: str  # decide, reason, outcome, open, move, type, other
    quick: bool = False  # pressed before a card could have been read (on purpose)
    files: dict[str, str] = field(default_factory=dict)
    landed_s: float = 0.0  # from sending the key to the server having made it
    before_age_s: float | None = None  # how much older the "before" screen is than asked


class Officer:
    """Presses keys like an officer at the desk, and keeps what the screen showed."""

    def __init__(self, x: X, screen: Screen, out: Path, window: str, rng: random.Random):
        self.x, self.screen, self.out, self.window, self.rng = x, screen, out, window, rng
        self.presses: list[Press] = []
        self.dialogs_cancelled = 0
        # The card and the outcome line, read off the screen every 25 ms (only those
        # regions: a whole screen 40 times a second would load the machine).
        self.frames: deque[tuple[float, np.ndarray | None, np.ndarray | None]] = deque(maxlen=120)
        self.lock = threading.Lock()
        self.running = True
        self.boxes: tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None = None
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        (out / "presses").mkdir(parents=True, exist_ok=True)

    def _sample(self) -> None:
        located = 0.0
        pixels = self.screen.pixels
        while self.running:
            now = time.time()
            if (self.boxes is None or now - located > 1.0
                    or not still_there(pixels, self.boxes[0])):
                box = card_box(self.screen.grab())
                self.boxes = (box, outcome_box(box, 0)) if box else None
                located = now
            if self.boxes is None:
                read = (time.time(), None, None)  # no card on the screen
            else:
                (x0, y0, x1, y1), (ox0, oy0, ox1, oy1) = self.boxes
                card = np.ascontiguousarray(pixels[y0 + 3 : y1 - 2, x0 + 3 : x1 - 2, :3])
                line = np.ascontiguousarray(pixels[oy0:oy1, ox0:ox1, :3])
                read = (time.time(), card, line)
            with self.lock:
                self.frames.append(read)
            time.sleep(0.025)

    def _frame_at(self, t: float) -> tuple[float, np.ndarray | None, np.ndarray | None] | None:
        """The last screen read at or before *t*: (when it was read, card, outcome line).
        A starved sampler's is older than asked for."""
        with self.lock:
            older = [frame for frame in self.frames if frame[0] <= t]
        return older[-1] if older else None

    def press(self, key: str, kind: str, quick: bool = False) -> Press:
        """The key, after keeping the card as it is now and as it was the guard time ago."""
        now = time.time()
        press = Press(len(self.presses), now, key, kind, quick)
        current = self._read_now() if kind in ("decide", "reason", "outcome") else None
        if kind in ("decide", "reason", "outcome"):
            asked = now - GUARD_S
            read = self._frame_at(asked)
            before = None if read is None else read[1:]
            press.before_age_s = None if read is None else round(asked - read[0], 3)
            for label, frame in (("now", current), ("before", before)):
                if frame is None:
                    continue
                card, line = frame
                if card is None:
                    continue  # no card: nothing to read, so no key on it is accepted
                path = self.out / "presses" / f"{press.n:04d}-{label}-card.png"
                cv2.imwrite(str(path), card)
                press.files[f"{label}-card"] = path.name
                if kind == "outcome" and line is not None:
                    path = self.out / "presses" / f"{press.n:04d}-{label}-outcome.png"
                    cv2.imwrite(str(path), line)
                    press.files[f"{label}-outcome"] = path.name
        self.presses.append(press)
        sent = time.time()
        self.x.key(key)
        press.landed_s = round(time.time() - sent, 3)  # the key was made within this
        return press

    def _read_now(self) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The card and the outcome line off the screen this instant (not the sampler's);
        None when the sampler last found no card."""
        if self.boxes is None:
            return None
        (x0, y0, x1, y1), (ox0, oy0, ox1, oy1) = self.boxes
        pixels = self.screen.pixels
        return (
            np.ascontiguousarray(pixels[y0 + 3 : y1 - 2, x0 + 3 : x1 - 2, :3]),
            np.ascontiguousarray(pixels[oy0:oy1, ox0:ox1, :3]),
        )

    def focus(self) -> None:
        if self.x("getwindowfocus") != self.window:
            self.x.focus(self.window)

    def wait(self, low: float, high: float) -> None:
        time.sleep(self.rng.uniform(low, high))

    # -- what an officer does ------------------------------------------------------------
    def decide_one(self) -> None:
        """Open the next incident (or another), look (or not), decide."""
        rng = self.rng
        self.press(rng.choice(["n", "n", "n", "Down", "Up"]), "open")
        quick = rng.random() < 0.2
        if quick:
            time.sleep(rng.uniform(0.05, 0.2))  # faster than anyone reads a card
        else:
            self.wait(0.7, 2.0)
        choice = rng.random()
        if choice < 0.3:
            self.press("e", "decide", quick)
            if rng.random() < 0.6:
                self.wait(0.3, 1.5)
                self.press(rng.choice("1123"), "outcome")
        elif choice < 0.7:
            self.press("f", "decide", quick)
        else:
            self.press("d", "decide", quick)
            time.sleep(0.3)
            self.x.type(rng.choice(REASONS))
            time.sleep(0.2)
            self.press("Return", "reason")
        if quick:
            # The refusal said why: look at the card, then press again.
            self.wait(0.8, 1.2)
            self.press("f", "decide")

    def type_into_nothing(self) -> None:
        """D with (probably) nothing open, then the reason typed anyway."""
        self.press("d", "decide")
        time.sleep(0.3)
        self.x.type("seen by PC 4821 h", 70)
        time.sleep(1.8)

    def other(self) -> None:
        rng = self.rng
        what = rng.random()
        if what < 0.4:
            self.press(rng.choice(["shift+Down", "shift+Up"]), "move")
            self.wait(0.7, 1.2)
            self.press(rng.choice("1234"), "outcome")
        elif what < 0.6:
            self.press("h", "other")  # the history: it must give the keys back on close
            self.wait(1.5, 3.0)
            try:
                self.x.focus(self.x.window("Alert history", 5))
                self.x.key("Escape")
            except TimeoutError:
                pass
            time.sleep(0.5)
        elif what < 0.8:
            self.press("v", "other")  # the replay
            self.wait(2.0, 4.0)
            self.press("v", "other")
        else:
            self.press("ctrl+z", "other")
            # Just after an outcome, Ctrl+Z opens its correction (the reason filled in):
            # the officer had not meant it, and cancels.
            time.sleep(1.5)
            self.close_dialogs()

    def close_dialogs(self) -> int:
        """Cancel any correction dialog left open (with Escape, as the officer would): a
        dialog holds the desk's keys until it is closed. How many there were."""
        closed = 0
        for _ in range(4):
            if self.x.gone("Correct the"):
                break
            try:
                self.x.focus(self.x.window("Correct the", 1))
            except TimeoutError:
                break
            self.x.key("Escape")
            closed += 1
            time.sleep(0.5)
        self.dialogs_cancelled += closed
        return closed


def sign_in(x: X, username: str, password: str, out: Path | None = None) -> None:
    dialog = x.window("sign in")
    x.focus(dialog)
    if username:
        x.key("ctrl+a")
        x.type(username, 40)
        x.key("Tab")
    x.type(password, 40)
    if out is not None:
        x.shot(out)
    x.key("Return")
    end = time.time() + 60
    while time.time() < end and not x.gone("sign in"):
        time.sleep(0.3)


# -- the record against the screen -----------------------------------------------------------


def ocr(path: Path) -> str:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    image = 255 - image  # dark theme: light text on dark
    tmp = path.with_suffix(".ocr.png")
    cv2.imwrite(str(tmp), image)
    text = run(["tesseract", str(tmp), "-", "--psm", "6"])
    tmp.unlink()
    return text


def card_reading(text: str) -> tuple[str | None, str | None]:
    """(subject, first seen HH:MM:SS) as the card shows them; None where not readable."""
    if "No incident is open" in text or "No alert awaits" in text:
        return "none", None
    name = next((n for n in NAMES if n in text), None)
    first = re.search(r"First\s+(\d\d)[:.](\d\d)[:.](\d\d)", text)
    return name, ":".join(first.groups()) if first else None


def outcome_reading(text: str) -> str | None:
    found = re.search(r"act\s+on\s+(Alex Marsh|Sam Keane)", text.replace("\n", " "))
    return found.group(1) if found else None


def check(out: Path, data: Path, presses: list[Press]) -> dict:
    """Every decision and outcome in the record against the card at its key."""
    db = sqlite3.connect(data / "console.db")
    incident_of = dict(
        db.execute(
            "SELECT json_extract(details,'$.alert_id'), json_extract(details,'$.incident') "
            "FROM audit WHERE action = 'alert adjudicated'"
        ).fetchall()
    )
    alerts = {
        a: (name, datetime.fromisoformat(raised))
        for a, name, raised in db.execute("SELECT alert_id, subject_name, raised_at FROM alerts")
    }
    decisions = db.execute(
        "SELECT alert_id, decision, officer, decided_at FROM decisions"
    ).fetchall()
    outcomes = db.execute("SELECT alert_id, outcome, officer, recorded_at FROM outcomes").fetchall()
    corrections = db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0]
    # A decision undone and taken again at the desk is recorded as a correction: its key
    # must have been on a card seen as much as the first one.
    redecided = db.execute(
        "SELECT alert_id, corrected_at FROM corrections WHERE reason LIKE 'undone by%'"
    ).fetchall()
    try:
        outcome_corrections = db.execute("SELECT COUNT(*) FROM outcome_corrections").fetchone()[0]
    except sqlite3.OperationalError:
        outcome_corrections = 0
    db.close()
    members: dict[str, list[str]] = {}
    for alert_id, incident in incident_of.items():
        members.setdefault(incident, []).append(alert_id)

    def shown(incident: str) -> tuple[str, str]:
        ids = members.get(incident, [incident])
        name = alerts[ids[0]][0]
        first = min(alerts[a][1] for a in ids if a in alerts)
        return name, first.astimezone().strftime("%H:%M:%S")

    texts: dict[tuple[int, str], str] = {}

    def read(press: Press, what: str) -> str:
        key = (press.n, what)
        if key not in texts:
            name = press.files.get(what)
            texts[key] = ocr(out / "presses" / name) if name else ""
        return texts[key]

    by_incident: dict[str, float] = {}
    for alert_id, _, _, decided_at in decisions:
        incident = incident_of.get(alert_id, alert_id)
        t = datetime.fromisoformat(decided_at).timestamp()
        by_incident[incident] = min(t, by_incident.get(incident, t))
    again: dict[str, float] = {}  # one key decides an incident's alerts together
    for alert_id, corrected_at in redecided:
        incident = incident_of.get(alert_id, alert_id)
        t = datetime.fromisoformat(corrected_at).timestamp()
        again[incident] = min(t, again.get(incident, t))
    keyed = sorted([*by_incident.items(), *again.items()], key=lambda kv: kv[1])
    verdicts, problems = [], []
    # Decisions are recorded in the order their keys were handled: each is matched, in
    # order, to the first key (from the last one matched on) whose card showed its
    # incident at the key and the guard time before it. A decision no such key explains
    # was taken on a card the officer had not seen.
    keys = [p for p in presses if p.kind in ("decide", "reason")]
    cursor = 0

    def card_at(press: Press) -> tuple[tuple, tuple]:
        now = card_reading(read(press, "now-card"))
        before = card_reading(read(press, "before-card"))
        if press.kind == "reason":  # the D that opened the reason field had the card too
            d = [p for p in presses if p.kind == "decide" and p.key == "d" and p.t < press.t]
            if d:
                before = card_reading(read(d[-1], "before-card"))
        return now, before

    for incident, t in keyed:
        want = shown(incident)
        candidates = [(i, p) for i, p in enumerate(keys) if i >= cursor and p.t <= t + 0.05]
        found = None
        for i, press in candidates:
            now, before = card_at(press)
            if now == want == before:
                found = (i, press, now, before)
                break
        if found is None:
            press = candidates[-1][1] if candidates else None
            now, before = card_at(press) if press else ((None, None), (None, None))
            problems.append(
                f"decision for {want} (recorded {t - presses[0].t:.1f} s in): no key on a card "
                f"showing it for the guard time; the last key before it "
                f"({press.key if press else '-'} #{press.n if press else '-'}) had {now} "
                f"at the key and {before} half a second before"
                + (f" (that screen read {press.before_age_s:.2f} s older than asked: the "
                   "reader was starved)" if press and (press.before_age_s or 0) > 0.1 else "")
            )
            verdicts.append({"incident": incident, "subject": want[0], "first": want[1],
                             "seen": False, "card_at_key": now,
                             "card_half_a_second_before": before, "quick": False})
            continue
        i, press, now, before = found
        cursor = i + 1
        verdicts.append(
            {
                "incident": incident,
                "subject": want[0],
                "first": want[1],
                "key": press.key,
                "key_n": press.n,
                "quick": press.quick,
                "landed_s": press.landed_s,
                "card_at_key": now,
                "card_half_a_second_before": before,
                "seen": True,
            }
        )
    outcome_verdicts = []
    done = set()
    outcome_keys = [p for p in presses if p.kind == "outcome"]
    cursor = 0
    engaged_by = {v["incident"]: v for v in verdicts if v.get("seen")}
    for alert_id, outcome, _, recorded_at in sorted(outcomes, key=lambda r: r[3]):
        incident = incident_of.get(alert_id, alert_id)
        if incident in done:
            continue
        done.add(incident)
        t = datetime.fromisoformat(recorded_at).timestamp()
        want = shown(incident)[0]
        found = None
        for i, press in enumerate(outcome_keys):
            if i < cursor or press.t > t + 0.05:
                continue
            now = outcome_reading(read(press, "now-outcome"))
            before = outcome_reading(read(press, "before-outcome"))
            # Named at the key and the guard time before it; or the engagement the officer
            # had just made from its card, seen (the desk's rule: the outcome keys act on
            # it at once; on a loaded machine the line may not name it yet).
            last_engage = next(
                (p for p in reversed(presses)
                 if p.kind == "decide" and p.key == "e" and p.t < press.t), None
            )
            just_engaged = (
                last_engage is not None and press.t - last_engage.t <= 3.0
                and card_at(last_engage) == (shown(incident), shown(incident))
            )
            if just_engaged or (now == want and before == want):
                found = (i, press, now, before)
                break
        if found is None:
            problems.append(f"outcome {outcome} for {want}: no key with the desk naming them")
            continue
        i, press, now, before = found
        cursor = i + 1
        outcome_verdicts.append(
            {"incident": incident, "subject": want, "outcome": outcome, "key_n": press.n,
             "named_at_key": now, "named_half_a_second_before": before}
        )
        if incident not in engaged_by:
            problems.append(f"outcome for {want}, not engaged from a card seen at the desk")
    unreadable = [
        v for v in verdicts
        if not all(r[0] == "none" or None not in r
                   for r in (v["card_at_key"], v["card_half_a_second_before"]))
    ]
    refused_quick = sum(1 for p in presses if p.quick)
    return {
        "decisions": len(by_incident),
        "decided_again_after_undo": len(again),
        "decided_alerts": len(decisions),
        "outcomes": len(outcome_verdicts),
        "corrections": corrections,
        "outcome_corrections": outcome_corrections,
        "keys_pressed": len(presses),
        "quick_keys_pressed": refused_quick,
    "quick_keys_recorded": sum(1 for v in verdicts if v["quick"]),
        "verdicts_unreadable": len(unreadable),
        "problems": problems,
        "verdicts": verdicts,
        "outcome_verdicts": outcome_verdicts,
    }


# -- the shift --------------------------------------------------------------------------------


def shift(args: argparse.Namespace) -> dict:
    width, height = (int(v) for v in args.size.split("x"))
    out = Path(args.out or REPO / "bench" / "results" / f"shift-{args.size}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="desk-shift-"))
    fb = work / "fb"
    fb.mkdir()
    data = work / "data"
    plan = make_plan(work)
    make_accounts(data)
    rng = random.Random(args.seed)
    xvfb = subprocess.Popen(
        ["Xvfb", args.display, "-screen", "0", f"{width}x{height}x24", "-fbdir", str(fb),
         "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    console = None
    started = time.time()
    log = (out / "console.log").open("w")
    try:
        time.sleep(2)
        x = X(args.display, fb / "Xvfb_screen0")
        screen = Screen(x.fb)
        env = {**x.env, "PYTHONPATH": str(REPO)}
        console = subprocess.Popen(
            [sys.executable, "-m", "console", "run", "--deployment", str(plan), "--data-dir",
             str(data)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        sign_in(x, "sgt", ACCOUNTS["sgt"][2], out / "sign-in.png")
        window = x.window("LFR console ·", 180)
        x("windowmove", window, "0", "0")
        x("windowsize", window, str(width), str(height))
        x.focus(window)
        time.sleep(2)
        # Once the watchlist is enrolled: confirm officers on the ground, then start (the
        # bar's buttons, clicked), each until the bar says it is done.
        bar = (0, 0, width, 160)
        # Done when the bar says so: the officer's name, then the button that replaces
        # Start (the ACTIVE badge is light on green, which tesseract misreads).
        for label, done_when in (("Confirm officers", "ground: Sgt"), ("Start deployment",
                                                                          "Conclude")):
            end = time.time() + 600
            while True:
                if time.time() > end:
                    raise RuntimeError(f"{label!r} did not take")
                if done_when in read_text(Screen(x.fb).grab()[0:160]):
                    break
                x.click_text(label, bar, timeout=5)
                time.sleep(4)
        x.shot(out / "started.png")
        officer = Officer(x, screen, out, window, rng)
        shift_start = time.time()
        stop = shift_start + args.minutes * 60
        # Moments of the shift, each tried in its turn (a key refused, say while the
        # officer's typing is ignored, is tried again a little later, at most 4 times).
        scenes = {
            "replayed": (0.2, lambda: replay(x, officer, out, window)),
            "corrected": (0.35, lambda: correct_in_history(x, officer, out)),
            "popped": (0.45, lambda: pop_out(x, officer, out)),
            "handed_over": (0.55, lambda: hand_over(x, officer, out, window)),
        }
        done_scenes: dict[str, bool] = {}
        tries: dict[str, int] = {}
        while time.time() < stop:
            officer.close_dialogs()
            officer.focus()
            done = (time.time() - shift_start) / (args.minutes * 60)
            due = [n for n, (at, _) in scenes.items()
                   if done > at and n not in done_scenes and tries.get(n, 0) < 4]
            if due:
                name = due[0]
                tries[name] = tries.get(name, 0) + 1
                time.sleep(2.0)  # any typing before it has stopped
                if scenes[name][1]():
                    done_scenes[name] = True
            r = rng.random()
            if r < 0.72:
                officer.decide_one()
            elif r < 0.8:
                officer.type_into_nothing()
                officer.press("Escape", "other")
            else:
                officer.other()
            officer.wait(0.4, 2.5)
        officer.running = False
        x.shot(out / "end.png")
        x.focus(window)
        x.key("ctrl+q")
        try:  # during a deployment the console asks first
            x.focus(x.window("Close the console", 10))
            x.key("alt+c")
        except TimeoutError:
            pass
        console.wait(timeout=120)
        console = None
        result = check(out, data, officer.presses)
        result.update(
            size=args.size,
            seed=args.seed,
            minutes=round((stop - shift_start) / 60, 1),
            wall_minutes=round((time.time() - started) / 60, 1),
            load_average=os.getloadavg(),
            scenes={n: done_scenes.get(n, False) for n in scenes},
            dialogs_cancelled=officer.dialogs_cancelled,
        )
        (out / "presses.json").write_text(json.dumps([asdict(p) for p in officer.presses]))
        shutil.copy(data / "console.db", out / "console.db")
        return result
    finally:
        log.close()
        if console is not None and console.poll() is None:
            console.send_signal(signal.SIGTERM)
            try:
                console.wait(30)
            except subprocess.TimeoutExpired:
                console.kill()
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def replay(x: X, officer: Officer, out: Path, window: str) -> bool:
    """An incident open, its replay on the card: the screenshot of the alert moment."""
    officer.press("n", "open")
    time.sleep(1.0)
    officer.press("v", "other")
    time.sleep(3.0)
    x.shot(out / "card-replay.png")
    officer.press("shift+v", "other")  # enlarged
    time.sleep(2.5)
    x.shot(out / "replay-enlarged.png")
    try:
        x.focus(x.window("Replay ·", 5))
        x.key("Escape")
    except TimeoutError:
        pass
    time.sleep(0.5)
    x.focus(window)
    officer.press("v", "other")
    return True


def correct_in_history(x: X, officer: Officer, out: Path) -> bool:
    """The supervisor corrects the first decided alert's decision, with a reason."""
    officer.close_dialogs()
    officer.press("h", "other")
    try:
        history = x.window("Alert history", 15)
    except TimeoutError:
        x.shot(out / "no-history.png")
        return False
    time.sleep(1.5)
    x.focus(history)
    x.key("Down")
    time.sleep(0.5)
    x.key("alt+d")
    time.sleep(1.5)
    done = False
    try:
        dialog = x.window("Correct the", 15)  # a loaded machine draws it late
    except TimeoutError:
        dialog = None
    if dialog is not None:
        x.focus(dialog)
        # The one in force is greyed: the next is chosen, clicked where the screen shows it
        # as a person would (decisions: Dismiss, Engage, False match; the row may hold an
        # outcome instead: Conditions checked, Not located, Arrested).
        x.key("ctrl+a")  # the reason field has the focus
        x.type("keyed by mistake the officer meant another", 30)  # letters: XTest keys
        time.sleep(0.4)
        # Only inside the dialog: the card's own Dismiss button must never be clicked.
        geometry = dict(
            line.split("=") for line in x("getwindowgeometry", "--shell", dialog).split()
        )
        left, top = int(geometry["X"]), int(geometry["Y"])
        box = (left, top, left + int(geometry["WIDTH"]), top + int(geometry["HEIGHT"]))
        for label in ("Dismiss", "Engage", "False match", "Conditions checked",
                      "Not located", "Arrested"):
            if not x.click_text(label, box, timeout=2):
                continue
            time.sleep(0.4)
            x.shot(out / "correction-dialog.png")
            if not x.click_text("Record the correction", box, timeout=3):
                x.key("Return")  # its default button, when tesseract misreads it
            time.sleep(1.5)
            if x.gone("Correct the"):
                done = True
                break
        officer.close_dialogs()  # never leave a dialog holding the officer's keys
    time.sleep(1.5)
    x.shot(out / "history-corrected.png")
    x.focus(history)
    x.key("Escape")
    time.sleep(1.0)
    return done


def pop_out(x: X, officer: Officer, out: Path) -> bool:
    officer.press("ctrl+shift+1", "other")
    time.sleep(3.0)
    x.shot(out / "camera-popout.png")
    officer.focus()
    officer.press("ctrl+shift+1", "other")  # back on the wall
    time.sleep(1.0)
    officer.press("ctrl+2", "other")  # one camera over the whole window, the others listed
    time.sleep(2.5)
    x.shot(out / "camera-enlarged.png")
    officer.press("Escape", "other")
    return True


def hand_over(x: X, officer: Officer, out: Path, window: str) -> bool:
    """File → Sign out; the relief officer signs in; the cameras never stop."""
    officer.focus()
    x.click_text("File", (0, 0, 200, 40))
    time.sleep(1.0)
    if not x.click_text("Sign out", (0, 0, 600, 200)):
        x.key("Escape")
        return False
    time.sleep(2.5)
    x.shot(out / "handover.png")
    sign_in(x, "pc2", ACCOUNTS["pc2"][2])
    time.sleep(1.5)
    x.focus(window)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--display", default=":93")
    parser.add_argument("--out", help="results folder (default bench/results/shift-SIZE)")
    args = parser.parse_args()
    for tool in ("Xvfb", "xdotool", "tesseract"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is missing: scripts/system-deps.sh shift", file=sys.stderr)
            return 2
    result = shift(args)
    out = Path(args.out or REPO / "bench" / "results" / f"shift-{args.size}")
    (out / "result.json").write_text(json.dumps(result, indent=2, default=str))
    print(
        f"{args.size}: {result['minutes']} min, {result['keys_pressed']} keys "
        f"({result['quick_keys_pressed']} before a card could be read), "
        f"{result['decisions']} decisions ({result['decided_alerts']} alerts), "
        f"{result['outcomes']} outcomes, {result['corrections']} corrections; "
        f"{result['verdicts_unreadable']} decisions whose card could not be read; "
        f"problems: {len(result['problems'])}; load {result['load_average']}"
    )
    for problem in result["problems"]:
        print("  PROBLEM:", problem)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
