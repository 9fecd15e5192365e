"""A progress line on stderr for the long headless commands (replay, uat, train's
preparation, watchlist enrolment): done/total, rate, time left.

Written only to a terminal, and not with ``--quiet``: a log file or a pipe gets no
carriage-return noise, and stdout (alerts as JSON lines) is never touched.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

QUIET_ENV = "LFR_QUIET"  # set by --quiet, so that every command's progress line is off


def set_quiet(quiet: bool = True) -> None:
    if quiet:
        os.environ[QUIET_ENV] = "1"
    else:
        os.environ.pop(QUIET_ENV, None)


def wanted(stream: TextIO) -> bool:
    """Progress lines go to a terminal only, and never when quiet."""
    if os.environ.get(QUIET_ENV):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressLine:
    """``replaying: 1250/3000 frames · 41 frames/s · about 43 s left``, rewritten in place.

    Thread-safe: cameras replayed on threads of their own all ``advance`` one line.
    """

    def __init__(
        self,
        what: str,
        total: int,
        unit: str = "frames",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        every_s: float = 0.5,
    ) -> None:
        self.what, self.total, self.unit = what, max(0, total), unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.every_s = every_s
        self.done = 0
        self._started = time.monotonic()
        self._written = 0.0
        self._width = 0
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            self._maybe_write()

    def update(self, done: int, total: int | None = None) -> None:
        """Set the count outright (for callbacks that report done/total)."""
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            self._maybe_write()

    def rate(self) -> float:
        return self.done / max(1e-6, time.monotonic() - self._started)

    def left_text(self) -> str:
        """"about 43 s left" (or "done"; "" before the first step): the one estimate the
        terminal and the trainer's window both show."""
        rate = self.rate()
        if not (self.total and self.done and rate > 0):
            return ""
        left = max(0, self.total - self.done) / rate
        return f"about {_duration(left)} left" if left else "done"

    def text(self) -> str:
        rate = self.rate()
        parts = [f"{self.what}: {self.done}/{self.total or '?'} {self.unit}"]
        if self.done:
            parts.append(f"{rate:.1f} {self.unit}/s" if rate < 10 else f"{rate:.0f} {self.unit}/s")
        if left := self.left_text():
            parts.append(left)
        return " · ".join(parts)

    def _maybe_write(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._written < self.every_s and self.done < self.total:
            return
        self._written = now
        line = self.text()
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def finish(self) -> None:
        """End the line (the next output starts on a fresh one)."""
        with self._lock:
            if not self.enabled or not self._width:
                return
            self._written = 0.0
            line = self.text()
            self.stream.write("\r" + line + " " * max(0, self._width - len(line)) + "\n")
            self.stream.flush()
            self._width = 0


def video_frames(path: str | Path) -> int:
    """How many frames a video file holds, as its container says (0 if it cannot say)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        capture.release()
