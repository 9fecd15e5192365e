"""The loopback MJPEG camera (tests/streamserver.py), and what OpenCV's FFmpeg backend does
when a network camera dies, stalls or sends garbage.

The OpenCV probes pin down behaviour the console relies on (measured with OpenCV 5.0 /
FFmpeg 62): if an upgrade changes it, these tests say so before a lamp-post camera does.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

# Imported by module name: pytest puts tests/ on sys.path (rootdir conftest, no package),
# so this works with both `pytest` and `python -m pytest`.
from streamserver import BOUNDARY, MjpegServer

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
W, H = 320, 240
N_FRAMES = 30
BITS = 5  # frame index bits drawn in the picture (32 > N_FRAMES)
SERVE_FPS = 20.0  # faster than the clip's 10 fps: shorter tests


def draw_frame(i: int) -> np.ndarray:
    """Frame ``i``: its index as black/white blocks along the top AND the bottom edge,
    with costly texture (stripes) in between.

    A frame decoded from a truncated JPEG shows the right index at the top but stale
    rows from an earlier frame below the cut, so "top index != bottom index" detects it
    whatever the decoder fills the missing rows with.
    """
    img = np.full((H, W, 3), 128, np.uint8)
    xs = ((np.arange(W) + 4 * (i % 2)) // 4 % 2 * 255).astype(np.uint8)
    img[60:180] = xs[None, :, None]
    cv2.putText(img, str(i), (130, 140), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 255), 4)
    for k in range(BITS):
        level = 255 if (i >> k) & 1 else 0
        img[10:50, 10 + k * 60 : 50 + k * 60] = level
        img[190:230, 10 + k * 60 : 50 + k * 60] = level
    return img


def read_index(img: np.ndarray, top: bool) -> int | None:
    """The index drawn along one edge, or None if a block is neither black nor white."""
    y = 20 if top else 200
    index = 0
    for k in range(BITS):
        level = float(img[y : y + 20, 20 + k * 60 : 40 + k * 60].mean())
        if 64 < level < 192:
            return None
        index |= (level >= 192) << k
    return index


def is_intact(img: np.ndarray) -> bool:
    top = read_index(img, top=True)
    return top is not None and top == read_index(img, top=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streams") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (W, H))
    assert writer.isOpened()
    for i in range(N_FRAMES):
        writer.write(draw_frame(i))
    writer.release()
    return path


@pytest.fixture
def cam(clip: Path) -> Iterator[MjpegServer]:
    with MjpegServer(clip, fps=SERVE_FPS) as server:
        yield server


@contextmanager
def capture(url: str, timeout_ms: int = 2000) -> Iterator[cv2.VideoCapture]:
    """Open ``url`` as the console does (VideoSource): FFmpeg with open/read timeouts."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
    params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    try:
        yield cap
    finally:
        cap.release()


def timed_read(cap: cv2.VideoCapture) -> tuple[bool, np.ndarray | None, float]:
    start = time.monotonic()
    ok, img = cap.read()
    return ok, (img if ok else None), time.monotonic() - start


# ---------------------------------------------------------------- the helper itself


def test_serves_multipart_jpeg_parts(cam: MjpegServer) -> None:
    assert cam.url == f"http://127.0.0.1:{cam.port}/video.mjpg"
    assert cam.fps == SERVE_FPS and cam.frame_size == (W, H)
    conn = http.client.HTTPConnection("127.0.0.1", cam.port, timeout=5)
    try:
        conn.request("GET", "/video.mjpg")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        indices = []
        for _ in range(3):
            assert resp.readline() == f"--{BOUNDARY}\r\n".encode()
            headers = {}
            while (line := resp.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            assert headers["content-type"] == "image/jpeg"
            jpeg = resp.read(int(headers["content-length"]))
            assert resp.read(2) == b"\r\n"
            img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert img is not None and img.shape == (H, W, 3) and is_intact(img)
            index = read_index(img, top=True)
            assert index is not None
            indices.append(index)
        # Paced frames in order. Usually consecutive, but a client thread that wakes late
        # (a loaded CI machine) gets the newest frame and skips the ones in between.
        steps = [(b - a) % N_FRAMES for a, b in zip(indices, indices[1:], strict=False)]
        assert all(1 <= step <= 5 for step in steps), indices
        assert cam.clients == 1 and cam.frames_sent >= 3
        resp.close()  # the response holds its own reference to the socket
    finally:
        conn.close()
    # The server notices a departed client at its next write (one frame period).
    assert cam.wait_for(lambda s: s.clients == 0, timeout=5)


def test_unknown_path_is_404(cam: MjpegServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", cam.port, timeout=5)
    try:
        conn.request("GET", "/other")
        assert conn.getresponse().status == 404
    finally:
        conn.close()


def test_stall_sends_no_bytes_until_resume(cam: MjpegServer) -> None:
    with socket.create_connection(("127.0.0.1", cam.port), timeout=5) as sock:
        sock.sendall(b"GET /video.mjpg HTTP/1.0\r\n\r\n")
        assert cam.wait_frames_sent(2)
        cam.stall()
        time.sleep(0.1)  # a part being written when stall() was called may still go out
        sent = cam.frames_sent
        time.sleep(0.5)  # 10 frame periods
        assert cam.frames_sent == sent and cam.clients == 1
        cam.resume()
        assert cam.wait_frames_sent(sent + 2)


def test_kill_refuses_and_restart_reuses_the_port(cam: MjpegServer) -> None:
    port = cam.port
    for _ in range(5):  # back to back: SO_REUSEADDR makes the rebind immediate
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /video.mjpg HTTP/1.0\r\n\r\n")
            assert cam.wait_for_clients(1)
            cam.kill()
            assert not cam.listening and cam.clients == 0
            # The client's connection was reset, not politely closed.
            with pytest.raises(ConnectionResetError):
                while sock.recv(65536):
                    pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        cam.restart()
        assert cam.port == port and cam.listening
    with pytest.raises(RuntimeError, match="kill"):
        cam.restart()


def test_close_stops_every_thread(clip: Path) -> None:
    server = MjpegServer(clip, fps=SERVE_FPS).start()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        sock.sendall(b"GET /video.mjpg HTTP/1.0\r\n\r\n")
        assert server.wait_for_clients(1)
        server.close()
        server.close()  # idempotent
        names = [t.name for t in threading.enumerate()]
        assert not [n for n in names if n.startswith("mjpeg")], names
        assert server.clients == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    finally:
        sock.close()


def test_rejects_unreadable_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(ValueError):
        MjpegServer(bad).start()


# ---------------------------------------------------------------- OpenCV's behaviour


def test_opencv_receives_frames_of_the_right_size(cam: MjpegServer) -> None:
    with capture(cam.url) as cap:
        assert cap.isOpened()
        indices = []
        for _ in range(5):
            ok, img, _ = timed_read(cap)
            assert ok and img is not None and img.shape == (H, W, 3) and is_intact(img)
            indices.append(read_index(img, top=True))
        assert len(set(indices)) == 5  # a live stream, not one frame repeated


def test_downscaled_sample_video() -> None:
    north = SAMPLES / "north.mp4"
    if not north.is_file():
        pytest.skip("sample_streams/north.mp4 is missing")
    with MjpegServer(north, width=320) as server, capture(server.url) as cap:
        assert server.fps == 25.0
        ok, img, _ = timed_read(cap)
        assert ok and img is not None and img.shape == (180, 320, 3)  # 1280x720 scaled


@pytest.mark.parametrize("reset", [True, False], ids=["rst", "fin"])
def test_read_fails_at_once_after_kill(cam: MjpegServer, reset: bool) -> None:
    """A dropped connection (RST or FIN) fails read() immediately (measured: < 1 ms),
    long before the read timeout; the capture stays dead even once the camera is back."""
    with capture(cam.url, timeout_ms=2000) as cap:
        assert timed_read(cap)[0]
        cam.kill(reset=reset)
        # After a FIN the frames already sent are still read (a loaded reader is behind by
        # a few); the read after them fails at once, not at the read timeout.
        buffered = 0
        while (read := timed_read(cap))[0]:
            buffered += 1
            assert buffered <= 25, "frames kept coming after the camera was killed"
        ok, _, took = read
        assert not ok and took < 1.0
        cam.restart()
        time.sleep(0.2)
        ok, _, took = timed_read(cap)
        assert not ok and took < 1.0  # no reconnection by itself


def test_open_fails_at_once_while_killed(cam: MjpegServer) -> None:
    cam.kill()
    start = time.monotonic()
    with capture(cam.url, timeout_ms=2000) as cap:
        assert not cap.isOpened()
    assert time.monotonic() - start < 1.0  # connection refused: no wait for the timeout


def test_new_capture_works_after_restart(cam: MjpegServer) -> None:
    url = cam.url
    with capture(url) as cap:
        assert timed_read(cap)[0]
        cam.kill()
        assert not timed_read(cap)[0]
    cam.restart()
    assert cam.url == url
    with capture(url) as cap:
        assert cap.isOpened()
        for _ in range(3):
            ok, img, _ = timed_read(cap)
            assert ok and img is not None and img.shape == (H, W, 3)


def test_stall_fails_read_after_the_read_timeout_and_needs_reopening(cam: MjpegServer) -> None:
    """A silent connection fails read() after READ_TIMEOUT (measured: 1.00 s for
    1000 ms, 2.00 s for 2000 ms, 30.07 s with no timeout given = OpenCV's default 30 s;
    a timeout of 0 waits forever). After that the capture is dead for good: it does
    not recover when bytes flow again; a new capture must be opened."""
    with capture(cam.url, timeout_ms=1000) as cap:
        assert timed_read(cap)[0]
        cam.stall()
        ok, _, took = timed_read(cap)
        assert not ok and 0.9 < took < 2.5
        cam.resume()
        assert cam.wait_frames_sent(cam.frames_sent + 2)
        ok, _, took = timed_read(cap)
        assert not ok and took < 0.5  # fails at once, forever
    with capture(cam.url, timeout_ms=1000) as cap:
        assert timed_read(cap)[0]


def test_stall_shorter_than_the_timeout_is_survived(cam: MjpegServer) -> None:
    """read() just blocks through a short stall, then returns the newest frame (the
    server skips what it could not send: no backlog)."""
    with capture(cam.url, timeout_ms=2000) as cap:
        ok, img, _ = timed_read(cap)
        assert ok and img is not None
        before = cam.frames_produced
        cam.stall()
        threading.Timer(0.5, cam.resume).start()
        ok, img, took = timed_read(cap)
        assert ok and img is not None and 0.3 < took < 1.5
        # At most one part already in the socket before the stall, then the newest.
        ok, img, _ = timed_read(cap)
        assert ok and img is not None
        assert cam.frames_produced - before >= 5  # the camera's clock kept running


def test_open_times_out_on_a_stalled_camera(cam: MjpegServer) -> None:
    """TCP connects, the HTTP answer never comes: open fails after OPEN_TIMEOUT."""
    cam.stall()
    start = time.monotonic()
    with capture(cam.url, timeout_ms=1000) as cap:
        assert not cap.isOpened()
    assert 0.9 < time.monotonic() - start < 2.5


def test_random_garbage_fails_one_read_per_bad_part_then_recovers(cam: MjpegServer) -> None:
    """Each undecodable part makes read() return False at once (FFmpeg logs "No JPEG
    data found"), and the same capture carries on with the next good part: a False
    from read() on an HTTP stream does not mean the stream is gone."""
    with capture(cam.url) as cap:
        assert timed_read(cap)[0]
        cam.send_garbage(3, "random")
        results = []
        for _ in range(10):
            ok, img, took = timed_read(cap)
            assert took < 1.5  # paced by the camera, never by the 2 s read timeout
            results.append(ok and img is not None and is_intact(img))
        assert cam.garbage_sent == 3
        assert results.count(False) == 3
        first_bad = results.index(False)
        assert results[first_bad : first_bad + 3] == [False] * 3  # consecutive
        assert all(results[first_bad + 3 :]) and len(results[first_bad + 3 :]) >= 3


def test_truncated_jpeg_gives_corrupt_frames_with_read_true(cam: MjpegServer) -> None:
    """A truncated JPEG is *not* an error for OpenCV: read() returns True and a frame
    whose rows below the cut are stale pixels of an earlier frame."""
    with capture(cam.url) as cap:
        assert timed_read(cap)[0]
        cam.send_garbage(3, "truncated")
        oks, intact = [], []
        for _ in range(10):
            ok, img, _ = timed_read(cap)
            oks.append(ok)
            intact.append(ok and img is not None and is_intact(img))
        assert cam.garbage_sent == 3
        assert all(oks)
        assert intact.count(False) == 3
        assert all(intact[intact.index(False) + 3 :])
