"""A misbehaving IP camera on loopback: an HTTP MJPEG server for tests.

IP cameras serve ``multipart/x-mixed-replace`` over HTTP: one never-ending response whose
parts are JPEG images. :class:`MjpegServer` serves a video file that way on
``127.0.0.1`` (port chosen by the OS) from background threads, and can be made to fail
the way cameras on lamp posts fail:

* :meth:`MjpegServer.kill` - the listener goes away and every client connection is torn
  down (TCP reset by default), as when a camera reboots, its switch port flaps, or its
  server process crashes. New connections are refused until :meth:`MjpegServer.restart`.
* :meth:`MjpegServer.stall` - connections stay open but no byte is sent (a hung encoder,
  a saturated uplink, or a camera that lost power: a dead host sends no FIN or RST, so
  the client only ever sees silence). :meth:`MjpegServer.resume` ends it.
* :meth:`MjpegServer.send_garbage` - the next parts carry random bytes or a truncated
  JPEG (bit errors, a half-written frame buffer), then the stream carries on normally.

Only the standard library and OpenCV are used, so the helper adds no dependency.

Usage::

    with MjpegServer(video, fps=20, width=320) as cam:
        capture = cv2.VideoCapture(cam.url, cv2.CAP_FFMPEG, params)
        ...
        cam.kill()
        cam.restart()
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Literal

import cv2
import numpy as np

__all__ = ["GarbageKind", "MjpegServer"]

log = logging.getLogger(__name__)

GarbageKind = Literal["random", "truncated"]

HOST = "127.0.0.1"  # fixed on purpose: tests must never listen on a routable address
BOUNDARY = "frame"
# Upper bound on any single wait inside the server threads, so that every loop re-checks
# its stop flags at least this often even if a notify were ever missed.
_WAIT_SLICE_S = 0.5
# serve_forever() checks for shutdown() this often; shutdown() blocks for up to this long.
_POLL_INTERVAL_S = 0.05


class _Httpd(ThreadingHTTPServer):
    """One listening lifetime of the camera: kill() ends it, restart() makes a new one.

    A fresh server object per lifetime keeps "is this connection from before the kill?"
    trivial: a handler only has to look at its own server's ``dead`` flag.
    """

    daemon_threads = True  # a stuck client thread can never keep pytest from exiting
    allow_reuse_address = True  # SO_REUSEADDR: restart() may rebind the port at once
    request_queue_size = 16

    def __init__(self, owner: MjpegServer, port: int) -> None:
        self.owner = owner
        self.dead = False
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), _MjpegHandler)

    def register(self, conn: socket.socket) -> None:
        with self.connections_lock:
            self.connections[conn] = threading.current_thread()

    def unregister(self, conn: socket.socket) -> None:
        with self.connections_lock:
            self.connections.pop(conn, None)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        # The default sends FIN (shutdown(SHUT_WR)) before closing. After kill() the
        # socket has SO_LINGER 0 set, and a plain close() then sends only a TCP reset:
        # the client sees the connection die instead of a polite end of stream.
        if self.dead and isinstance(request, socket.socket):
            with contextlib.suppress(OSError):
                request.close()
            return
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients vanish all the time in these tests; a traceback on stderr for each
        # would bury real failures.
        log.debug("client %s failed", client_address, exc_info=True)


class _MjpegHandler(BaseHTTPRequestHandler):
    """Streams parts to one client until it leaves, the server dies or is closed."""

    server: _Httpd
    server_version = "TestCam/1.0"
    # HTTP/1.0: the body runs until the connection closes, as cameras do (no chunking).
    protocol_version = "HTTP/1.0"
    # Socket timeout: bounds a sendall() to a client that stopped reading, and a client
    # that connects but never sends its request line.
    timeout = 10.0

    def setup(self) -> None:
        super().setup()
        self.server.register(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.unregister(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.split("?", 1)[0] != owner.path:
            self.send_error(404)
            return
        # A stalled camera accepts the TCP connection (the kernel does that) but answers
        # nothing, so the client's *open* timeout can be tested too.
        if not owner._wait_while_stalled(self.server):
            self._abort_if_dead()
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-cache, no-store")
            self.send_header("Pragma", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            owner._stream_to(self.server, self.wfile)
        except OSError:
            # The client went away (reset, broken pipe) or kill() shut the socket.
            log.debug("client %s disconnected", self.client_address)
        self._abort_if_dead()

    def _abort_if_dead(self) -> None:
        if self.server.dead:
            _set_linger_zero(self.connection)


def _set_linger_zero(conn: socket.socket) -> None:
    """Make the next close() send RST instead of FIN (an abrupt drop)."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class MjpegServer:
    """A video file served as an MJPEG IP camera on ``http://127.0.0.1:PORT/video.mjpg``.

    Args:
        video_path: any file OpenCV can read; it is looped forever.
        fps: frames per second to serve; default the file's own rate (25 if unknown).
        width: downscale frames to this width (aspect ratio kept); default full size.
        quality: JPEG quality of the re-encoded frames.
        path: URL path of the stream; other paths get 404.
        seed: seed for the garbage bytes, so a failing test can be replayed exactly.

    Every method is thread-safe. All threads are daemons and every wait in them is
    bounded, and :meth:`close` (or leaving the ``with`` block) stops them all.
    """

    def __init__(
        self,
        video_path: str | Path,
        fps: float | None = None,
        width: int | None = None,
        *,
        quality: int = 80,
        path: str = "/video.mjpg",
        seed: int = 0,
    ) -> None:
        if fps is not None and not 0 < fps <= 240:
            raise ValueError(f"fps must be in (0, 240], not {fps}")
        if width is not None and width < 8:
            raise ValueError(f"width must be at least 8, not {width}")
        self.video_path = Path(video_path)
        self.path = path
        self.quality = quality
        self._requested_fps = fps
        self._width = width
        self.fps = fps or 25.0
        self.frame_size: tuple[int, int] = (0, 0)  # (width, height) of the served JPEGs

        # One condition guards all shared state below; the producer notifies it on each
        # new frame and the control methods on each state change, so client threads
        # sleep until there is something to do (no polling of frames).
        self._cond = threading.Condition()
        self._jpeg = b""
        self._seq = 0  # frames produced so far; a client sends each new one once
        self._video_index = 0  # index in the file of the frame in self._jpeg
        self._stalled = False
        self._garbage_left = 0
        self._garbage_kind: GarbageKind = "random"
        self._rng = random.Random(seed)
        self._frames_sent = 0
        self._garbage_sent = 0
        self._clients = 0
        self._closed = False

        self._stop = threading.Event()  # stops the producer (close())
        self._producer: threading.Thread | None = None
        self._httpd: _Httpd | None = None
        self._serve_thread: threading.Thread | None = None
        self._port: int | None = None
        self._control = threading.Lock()  # serialises start/kill/restart/close

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MjpegServer:
        """Check the video, start producing frames and listen on an OS-chosen port."""
        with self._control:
            if self._closed:
                raise RuntimeError("server is closed")
            if self._producer is not None:
                raise RuntimeError("server already started")
            capture = self._open_video()
            ok, image = capture.read()
            if not ok or image is None:
                capture.release()
                raise ValueError(f"no frame could be decoded from {self.video_path}")
            if self._requested_fps is None:
                file_fps = capture.get(cv2.CAP_PROP_FPS)
                self.fps = file_fps if 1.0 <= file_fps <= 240.0 else 25.0
            # The first frame is published before listening, so that a client never
            # waits for the producer's first tick.
            self._publish(self._encode(image), 0)
            self._producer = threading.Thread(
                target=self._produce, args=(capture,), name="mjpeg-producer", daemon=True
            )
            self._producer.start()
            self._listen(0)
        return self

    def kill(self, reset: bool = True) -> None:
        """Stop listening and drop every client connection at once.

        With ``reset`` (default) clients get a TCP RST, as from a camera that rebooted
        or crashed; with ``reset=False`` they get a FIN (an orderly end of stream).
        Connecting fails (refused) until :meth:`restart`. Idempotent.
        """
        with self._control:
            self._kill_locked(reset)

    def restart(self) -> None:
        """Listen again on the same port (after :meth:`kill`); clients must reconnect."""
        with self._control:
            if self._closed:
                raise RuntimeError("server is closed")
            if self._port is None:
                raise RuntimeError("server was never started")
            if self._httpd is not None:
                raise RuntimeError("server is still listening; kill() it first")
            self._listen(self._port)

    def close(self) -> None:
        """Stop everything: listener, client connections, producer. Idempotent."""
        with self._control:
            if self._closed:
                return
            self._kill_locked(reset=True)
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._stop.set()
            if self._producer is not None:
                self._producer.join(timeout=5.0)

    def __enter__(self) -> MjpegServer:
        if self._producer is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ faults

    def stall(self) -> None:
        """Keep connections open (and accept new ones) but send no more bytes."""
        with self._cond:
            self._stalled = True
            self._cond.notify_all()

    def resume(self) -> None:
        """End a :meth:`stall`; clients get the newest frame next, not a backlog."""
        with self._cond:
            self._stalled = False
            self._cond.notify_all()

    def send_garbage(self, n_frames: int, kind: GarbageKind = "random") -> None:
        """Make the next ``n_frames`` parts sent (to any client) carry bad payloads.

        ``"random"``: random bytes as long as a real frame (no JPEG markers at all).
        ``"truncated"``: the first half of a real JPEG (no end-of-image marker).
        Each part's Content-Length is correct, so the multipart framing stays intact
        and only the decoder sees the damage.
        """
        if n_frames < 0:
            raise ValueError("n_frames must be >= 0")
        if kind not in ("random", "truncated"):
            raise ValueError(f"unknown garbage kind {kind!r}")
        with self._cond:
            self._garbage_left = n_frames
            self._garbage_kind = kind
            self._cond.notify_all()

    # ------------------------------------------------------------------ observation

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server was never started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    @property
    def listening(self) -> bool:
        return self._httpd is not None

    @property
    def frames_sent(self) -> int:
        """Parts written to clients so far (all clients, garbage included)."""
        with self._cond:
            return self._frames_sent

    @property
    def garbage_sent(self) -> int:
        """Parts with a bad payload written so far."""
        with self._cond:
            return self._garbage_sent

    @property
    def garbage_pending(self) -> int:
        """Bad parts still to be sent."""
        with self._cond:
            return self._garbage_left

    @property
    def clients(self) -> int:
        """Clients currently receiving the stream."""
        with self._cond:
            return self._clients

    @property
    def frames_produced(self) -> int:
        """Frames the producer has encoded so far (the camera's own clock)."""
        with self._cond:
            return self._seq

    def wait_for(self, predicate: Callable[[MjpegServer], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (re-checked on every state change, and
        at least every 0.5 s); return whether it did before ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                # The properties take the (re-entrant) condition lock themselves.
                if predicate(self):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, _WAIT_SLICE_S))

    def wait_for_clients(self, n: int = 1, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda s: s.clients >= n, timeout)

    def wait_frames_sent(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until ``frames_sent`` reaches ``n`` (an absolute count)."""
        return self.wait_for(lambda s: s.frames_sent >= n, timeout)

    # ------------------------------------------------------------------ internals

    def _listen(self, port: int) -> None:
        httpd = _Httpd(self, port)
        self._port = httpd.server_address[1]
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name=f"mjpeg-http-{self._port}",
            daemon=True,
        )
        thread.start()
        self._httpd, self._serve_thread = httpd, thread

    def _kill_locked(self, reset: bool) -> None:
        httpd, thread = self._httpd, self._serve_thread
        if httpd is None:
            return
        self._httpd = self._serve_thread = None
        with self._cond:
            httpd.dead = True  # handlers leave their loops at the next wake-up
            self._cond.notify_all()
        httpd.shutdown()  # returns once serve_forever has left its loop (<= poll interval)
        httpd.server_close()  # closes the listening socket: new connections are refused
        if thread is not None:
            thread.join(timeout=5.0)
        with httpd.connections_lock:
            connections = dict(httpd.connections)
        for conn in connections:
            if reset:
                _set_linger_zero(conn)
            else:
                # An orderly FIN now, before the handler's own close.
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
        # Handlers waiting for a frame wake from the notify above and close their socket
        # themselves (RST thanks to SO_LINGER 0). One blocked in sendall() to a client
        # that stopped reading needs its socket shut down under it to wake up.
        deadline = time.monotonic() + 1.0
        for conn, handler in connections.items():
            handler.join(timeout=max(0.0, deadline - time.monotonic()))
            if handler.is_alive():
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                handler.join(timeout=2.0)

    def _client_must_stop(self, httpd: _Httpd) -> bool:
        return httpd.dead or self._closed

    def _wait_while_stalled(self, httpd: _Httpd) -> bool:
        """Block while stalled; False if the client must go instead (kill/close)."""
        with self._cond:
            while self._stalled and not self._client_must_stop(httpd):
                self._cond.wait(_WAIT_SLICE_S)
            return not self._client_must_stop(httpd)

    def _stream_to(self, httpd: _Httpd, wfile: io.BufferedIOBase) -> None:
        """Write parts to one client until it must stop; raises OSError if it leaves."""
        write = wfile.write
        last_seq = -1
        with self._cond:
            self._clients += 1
            self._cond.notify_all()
        try:
            while True:
                with self._cond:
                    while not self._client_must_stop(httpd) and (
                        self._stalled or self._seq == last_seq
                    ):
                        self._cond.wait(_WAIT_SLICE_S)
                    if self._client_must_stop(httpd):
                        return
                    last_seq = self._seq
                    payload = self._jpeg
                    garbage = self._garbage_left > 0
                    if garbage:
                        self._garbage_left -= 1
                        payload = self._make_garbage(payload)
                # Write outside the lock: a slow client must not block the others.
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode("ascii")
                write(head + payload + b"\r\n")
                with self._cond:
                    self._frames_sent += 1
                    self._garbage_sent += garbage
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._clients -= 1
                self._cond.notify_all()

    def _make_garbage(self, jpeg: bytes) -> bytes:
        # Called with self._cond held (the RNG is shared between client threads).
        if self._garbage_kind == "truncated":
            return jpeg[: max(2, len(jpeg) // 2)]
        return self._rng.randbytes(len(jpeg))

    def _open_video(self) -> cv2.VideoCapture:
        if not self.video_path.is_file():
            raise FileNotFoundError(self.video_path)
        capture = cv2.VideoCapture(str(self.video_path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise ValueError(f"cannot decode video {self.video_path}")
        return capture

    def _encode(self, image: np.ndarray) -> bytes:
        if self._width is not None and image.shape[1] != self._width:
            height = max(1, round(image.shape[0] * self._width / image.shape[1]))
            image = cv2.resize(image, (self._width, height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        self.frame_size = (image.shape[1], image.shape[0])
        return buf.tobytes()

    def _publish(self, jpeg: bytes, video_index: int) -> None:
        with self._cond:
            self._jpeg = jpeg
            self._video_index = video_index
            self._seq += 1
            self._cond.notify_all()

    def _produce(self, capture: cv2.VideoCapture) -> None:
        """Decode, encode and publish one frame per tick until close()."""
        interval = 1.0 / self.fps
        next_tick = time.monotonic() + interval
        index = 0
        try:
            while not self._stop.is_set():
                ok, image = capture.read()
                if not ok or image is None:
                    # End of file: loop by reopening (seeking is unreliable in some files).
                    capture.release()
                    capture = self._open_video()
                    index = 0
                    ok, image = capture.read()
                    if not ok or image is None:
                        log.error("video %s stopped decoding", self.video_path)
                        return
                else:
                    index += 1
                jpeg = self._encode(image)
                # Event.wait both paces the stream and wakes at once on close().
                if self._stop.wait(max(0.0, next_tick - time.monotonic())):
                    return
                self._publish(jpeg, index)
                next_tick += interval
                # After a long hiccup (a loaded CI machine) carry on at the normal rate
                # instead of bursting to catch up.
                next_tick = max(next_tick, time.monotonic() - interval)
        except Exception:
            log.exception("MJPEG producer failed")
        finally:
            capture.release()
