"""An RTSP IP camera on loopback for tests: GStreamer's RTSP server in a child process.

The server (``tests/rtsp_serve.py``) needs Debian's GStreamer bindings, so it runs under
Debian's python3, not the venv's; ``make test`` installs the packages
(``scripts/system-deps.sh test``). Faults are done to the process, the way a street
camera fails: :meth:`RtspServer.kill` is a crash or power cut (SIGKILL: the kernel
resets the connections), :meth:`RtspServer.stall` a hung encoder (SIGSTOP: the
connection stays open and silent).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
SERVE_SCRIPT = Path(__file__).with_name("rtsp_serve.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's python3-gi lives
_READY_S = 20.0


def rtsp_unavailable() -> str | None:
    """Why an RTSP server cannot run here, or None when it can."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst; Gst.init(None);"
        "missing = [e for e in ('x264enc', 'avidemux', 'jpegdec', 'rtph264pay')"
        " if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))"
    )
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    if done.returncode != 0:
        return f"GStreamer RTSP bindings missing: {done.stderr.strip().splitlines()[-1:]}"
    if done.stdout.strip():
        return f"GStreamer elements missing: {done.stdout.strip()}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class RtspServer:
    """``video`` (an MJPEG AVI) served as H.264 on ``rtsp://127.0.0.1:PORT/camera``.

    The video plays once, then the stream ends. :meth:`restart` serves it again from
    the start on the same port, as a rebooted camera would.
    """

    def __init__(self, video: str | Path) -> None:
        self.video = Path(video)
        self.port = _free_port()
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://{HOST}:{self.port}/camera"

    def start(self) -> RtspServer:
        if self._process is not None:
            raise RuntimeError("server already running")
        # stderr goes to a file (a pipe nobody reads would fill up and block the server);
        # the child keeps its own handle on it once this one is closed.
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(
                [SYSTEM_PYTHON, str(SERVE_SCRIPT), str(self.video), str(self.port)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            # readline() has no timeout: a timer kills a server that never says ready.
            timer = threading.Timer(_READY_S, process.kill)
            timer.start()
            try:
                line = process.stdout.readline() if process.stdout else ""
            finally:
                timer.cancel()
            if line.strip() != "ready":
                process.kill()
                process.communicate(timeout=5)
                log.seek(0)
                raise RuntimeError(f"RTSP server did not start: {log.read().strip()[-500:]}")
        self._process = process
        return self

    def kill(self) -> None:
        """A crash: the process dies, its connections are reset, the port refuses."""
        if self._process is not None:
            self._process.kill()
            self._process.communicate(timeout=10)
            self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stall(self) -> None:
        """A hung camera: connections stay open but nothing more is sent."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.kill()

    def __enter__(self) -> RtspServer:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
