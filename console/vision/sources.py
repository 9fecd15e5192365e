"""Where frames come from: video files, network streams (RTSP/HTTP) and webcams.

Every call here blocks (decoding, network); callers run them off the GUI thread.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


class SourceError(Exception):
    """A camera source could not be opened or read; the message is for the officer."""


@dataclass(frozen=True)
class SourceSpec:
    """A camera's name and where its frames come from."""

    camera: str
    location: str  # a file path, a stream URL or a webcam index
    loop: bool = False  # replay a file from the start when it ends (sample deployments)

    @property
    def kind(self) -> str:
        if self.location.lower().startswith(STREAM_SCHEMES):
            return "stream"
        if re.fullmatch(r"\d+", self.location):
            return "webcam"
        return "file"

    @property
    def shown_location(self) -> str:
        """The location with any password removed, safe to show and log."""
        if self.kind != "stream":
            return self.location
        parts = urlsplit(self.location)
        if parts.password is None and parts.username is None:
            return self.location
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))

    @classmethod
    def parse(cls, text: str, base_dir: Path | None = None, loop: bool = False) -> SourceSpec:
        """Parse ``NAME=LOCATION`` as given on the command line."""
        name, sep, location = text.partition("=")
        if not sep or not name.strip() or not location.strip():
            raise ValueError(f"camera must be NAME=PATH, NAME=URL or NAME=INDEX, not {text!r}")
        return cls.of(name.strip(), location.strip(), base_dir, loop)

    @classmethod
    def of(
        cls, camera: str, location: str, base_dir: Path | None = None, loop: bool = False
    ) -> SourceSpec:
        spec = cls(camera, location, loop)
        if spec.kind == "file" and base_dir is not None and not Path(location).is_absolute():
            spec = cls(camera, str(base_dir / location), loop)
        return spec


@dataclass(frozen=True)
class Frame:
    """A decoded BGR frame and where it sits on its camera's clock."""

    image: np.ndarray
    index: int  # frames since the source opened (continues across file loops)
    t: float  # seconds on the camera's clock: video position for files, wall time for live


class VideoSource:
    """One camera, read with OpenCV's FFmpeg backend (or V4L2 for webcams)."""

    def __init__(self, spec: SourceSpec, timeout_s: float = 8.0) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self._capture: cv2.VideoCapture | None = None
        self._index = 0
        self._started = 0.0
        self._frames_per_pass = 0
        self.fps = 25.0

    @property
    def is_file(self) -> bool:
        return self.spec.kind == "file"

    def open(self) -> None:
        spec = self.spec
        if spec.kind == "file":
            path = Path(spec.location)
            if not path.is_file():
                raise SourceError(f"video file not found: {path}")
            capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        elif spec.kind == "webcam":
            capture = cv2.VideoCapture(int(spec.location))
        else:
            ms = int(self.timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            capture = cv2.VideoCapture(spec.location, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            what = {"file": "cannot decode video", "webcam": "cannot open webcam"}.get(
                spec.kind, "cannot connect to stream"
            )
            raise SourceError(f"{what}: {spec.shown_location}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 25.0
        self._capture = capture
        self._started = time.monotonic()
        self._index = 0
        self._frames_per_pass = 0

    def read(self) -> Frame | None:
        """The next frame, or None when a file has ended (and does not loop)."""
        if self._capture is None:
            raise SourceError("source is not open")
        ok, image = self._capture.read()
        if not ok and self.is_file and self.spec.loop and self._frames_per_pass:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._frames_per_pass = 0
            ok, image = self._capture.read()
        if not ok or image is None:
            if self.is_file:
                if self._index == 0:
                    raise SourceError(f"no frame could be decoded from {self.spec.shown_location}")
                return None
            raise SourceError(f"stream stopped sending frames: {self.spec.shown_location}")
        t = self._index / self.fps if self.is_file else time.monotonic() - self._started
        frame = Frame(image, self._index, t)
        self._index += 1
        self._frames_per_pass += 1
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
