"""Where frames come from: video files, network streams (RTSP/HTTP) and webcams.

Every call here blocks (decoding, network); callers run them off the GUI thread.

Measured with OpenCV 5's FFmpeg backend on an HTTP MJPEG camera (tests/test_streamserver.py):
a dropped connection makes ``read()`` return False at once and for good; a silent one
makes it return False after the read timeout, and the capture is then dead for good; an
undecodable part makes one ``read()`` return False and the *same* capture carries on with
the next part. So one failed read is not a lost stream, but a few in a row are.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")

DEFAULT_TIMEOUT_S = 8.0  # open and read timeout of a network source
DEFAULT_STALL_S = 5.0  # no new frame for this long: the feed's watchdog reconnects
DEFAULT_RETRY_S = 1.0  # first reconnection delay; doubles on each failed attempt
DEFAULT_RETRY_MAX_S = 5.0  # a camera that comes back is picked up within this long
# Failed reads in a row a live source survives (undecodable parts: bit errors, a
# half-written frame buffer) before the stream counts as lost. A dropped connection
# fails every read in under a millisecond, so tolerating a few costs no time.
MAX_BAD_READS = 3
# Query parameters that carry credentials in camera URLs (?usr=admin&pwd=...).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|sig|cred|user|usr|login", re.IGNORECASE)


class SourceError(Exception):
    """A camera source could not be opened or read; the message is for the officer."""


class SourceMissing(SourceError):
    """The source does not exist: no such file, no such webcam device. Retrying cannot
    help until someone plugs the camera in or fixes the plan, so a feed fails at once."""


class StreamTimeout(SourceError):
    """A live source sent nothing for the whole read timeout: the stream stalled.

    OpenCV's capture is unusable after this (it never recovers), so it must be reopened.
    """


@dataclass(frozen=True)
class SourceSpec:
    """A camera's name, where its frames come from, and how patient to be with it.

    The timings apply to live sources (streams and webcams); files ignore them.
    """

    camera: str
    location: str  # a file path, a stream URL or a webcam index
    loop: bool = False  # replay a file from the start when it ends (sample deployments)
    timeout_s: float = DEFAULT_TIMEOUT_S  # open and read timeout; never 0 (= hang forever)
    stall_s: float = DEFAULT_STALL_S  # watchdog: no new frame for this long is a stall
    retry_s: float = DEFAULT_RETRY_S  # first reconnection delay (then doubling)
    retry_max_s: float = DEFAULT_RETRY_MAX_S  # longest reconnection delay

    TIMING_FIELDS = ("timeout_s", "stall_s", "retry_s", "retry_max_s")

    def __post_init__(self) -> None:
        for name in self.TIMING_FIELDS:
            value = getattr(self, name)
            if not value > 0:  # also refuses NaN
                raise ValueError(f"camera {self.camera}: {name} must be > 0 s, not {value}")
        if self.retry_max_s < self.retry_s:
            raise ValueError(f"camera {self.camera}: retry_max_s must be >= retry_s")

    def __repr__(self) -> str:
        # The dataclass repr would print the URL with its password into any log line or
        # traceback that shows the spec.
        return f"SourceSpec(camera={self.camera!r}, location={self.shown_location!r})"

    @property
    def kind(self) -> str:
        if self.location.lower().startswith(STREAM_SCHEMES):
            return "stream"
        if re.fullmatch(r"\d+", self.location):
            return "webcam"
        return "file"

    @property
    def is_live(self) -> bool:
        """A camera that keeps sending (stream or webcam), as opposed to a video file."""
        return self.kind != "file"

    @property
    def shown_location(self) -> str:
        """The location with any user name, password or secret parameter masked, safe to
        show and log (``rtsp://***@host/...``, ``...?pwd=***``)."""
        if self.kind != "stream":
            return self.location
        parts = urlsplit(self.location)
        netloc = parts.netloc
        if parts.password is not None or parts.username is not None:
            netloc = "***@" + netloc.rpartition("@")[2]
        return urlunsplit(
            (parts.scheme, netloc, parts.path, _mask_query(parts.query), parts.fragment)
        )

    @classmethod
    def parse(cls, text: str, base_dir: Path | None = None, loop: bool = False) -> SourceSpec:
        """Parse ``NAME=LOCATION`` as given on the command line."""
        name, sep, location = text.partition("=")
        if not sep or not name.strip() or not location.strip():
            raise ValueError(f"camera must be NAME=PATH, NAME=URL or NAME=INDEX, not {text!r}")
        return cls.of(name.strip(), location.strip(), base_dir, loop)

    @classmethod
    def of(
        cls,
        camera: str,
        location: str,
        base_dir: Path | None = None,
        loop: bool = False,
        **timings: float,
    ) -> SourceSpec:
        """A spec with a file path made absolute against ``base_dir``; ``timings`` are
        any of :attr:`TIMING_FIELDS` (from a deployment file's ``[[camera]]``)."""
        unknown = set(timings) - set(cls.TIMING_FIELDS)
        if unknown:
            raise ValueError(f"camera {camera}: unknown setting(s) {', '.join(sorted(unknown))}")
        settings = {k: float(v) for k, v in timings.items()}
        spec = cls(camera, location, loop, **settings)
        if spec.kind == "file" and base_dir is not None and not Path(location).is_absolute():
            spec = cls(camera, str(base_dir / location), loop, **settings)
        return spec


def _mask_query(query: str) -> str:
    if not query:
        return query
    fields = []
    for field in query.split("&"):
        key, sep, _ = field.partition("=")
        fields.append(f"{key}=***" if sep and _SECRET_PARAM.search(key) else field)
    return "&".join(fields)


@dataclass(frozen=True)
class Frame:
    """A decoded BGR frame and where it sits on its camera's clock."""

    image: np.ndarray
    index: int  # frames since the source opened (continues across file loops)
    t: float  # seconds on the camera's clock: video position for files, wall time for live


def webcam_device(index: int) -> Path | None:
    """The device file OpenCV opens for webcam *index* (V4L2 on Linux); None where the
    platform has no such file to look for."""
    return Path(f"/dev/video{index}") if sys.platform.startswith("linux") else None


def _usable(image: np.ndarray | None) -> bool:
    return image is not None and image.ndim == 3 and image.size > 0


class VideoSource:
    """One camera, read with OpenCV's FFmpeg backend (or V4L2 for webcams).

    A live source's clock and frame count may continue those of an earlier connection
    (``clock_origin``, ``first_index``): the sighting and face trackers downstream need
    time that never runs backwards across a reconnection.
    """

    def __init__(
        self,
        spec: SourceSpec,
        timeout_s: float | None = None,
        *,
        first_index: int = 0,
        clock_origin: float | None = None,
        max_bad_reads: int = MAX_BAD_READS,
    ) -> None:
        self.spec = spec
        self.timeout_s = timeout_s if timeout_s is not None else spec.timeout_s
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be > 0 (0 would wait for ever)")
        self.max_bad_reads = max_bad_reads
        self.bad_frames = 0  # undecodable frames skipped (the stream carried on)
        self._capture: cv2.VideoCapture | None = None
        self._first_index = first_index if spec.is_live else 0
        self._index = self._first_index
        self._clock_origin = clock_origin
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
                raise SourceMissing(f"video file not found: {path}")
            capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        elif spec.kind == "webcam":
            device = webcam_device(int(spec.location))
            if device is not None and not device.exists():
                raise SourceMissing(f"no such webcam: {device} does not exist")
            capture = cv2.VideoCapture(int(spec.location))
        else:
            ms = max(1, round(self.timeout_s * 1000))
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
        self._started = time.monotonic() if self._clock_origin is None else self._clock_origin
        self._index = self._first_index
        self._frames_per_pass = 0

    def read(self) -> Frame | None:
        """The next frame, or None when a file has ended (and does not loop).

        Raises SourceError when the source is lost (StreamTimeout if it went silent).
        """
        if self._capture is None:
            raise SourceError("source is not open")
        image = self._read_file() if self.is_file else self._read_live()
        if image is None:
            return None
        t = self._index / self.fps if self.is_file else time.monotonic() - self._started
        frame = Frame(image, self._index, t)
        self._index += 1
        self._frames_per_pass += 1
        return frame

    def _read_file(self) -> np.ndarray | None:
        assert self._capture is not None
        ok, image = self._capture.read()
        if not ok and self.spec.loop and self._frames_per_pass:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._frames_per_pass = 0
            ok, image = self._capture.read()
        if ok and _usable(image):
            return image
        if self._index == 0:
            raise SourceError(f"no frame could be decoded from {self.spec.shown_location}")
        return None

    def _read_live(self) -> np.ndarray:
        """Skip up to ``max_bad_reads`` undecodable frames in a row; then the stream is lost."""
        assert self._capture is not None
        bad = 0
        first_bad = 0.0
        while True:
            started = time.monotonic()
            ok, image = self._capture.read()
            if ok and _usable(image):
                self.bad_frames += bad
                return image
            now = time.monotonic()
            if now - started >= 0.9 * self.timeout_s:
                raise StreamTimeout(
                    f"no data for {self.timeout_s:g} s (read timeout): {self.spec.shown_location}"
                )
            first_bad = first_bad or started
            bad += 1
            if bad > self.max_bad_reads or now - first_bad >= self.timeout_s:
                raise SourceError(f"stream stopped sending frames: {self.spec.shown_location}")

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __enter__(self) -> VideoSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
