"""Camera sources: parsing, clear errors, looping files."""

from __future__ import annotations

import pytest

from console.vision.sources import SourceError, SourceSpec, VideoSource
from tests.conftest import SAMPLES


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("north=clip.mp4", "file"),
        ("north=rtsp://cam.example/stream1", "stream"),
        ("north=http://127.0.0.1:8080/video.mjpg", "stream"),
        ("north=0", "webcam"),
    ],
)
def test_camera_argument_kinds(text, kind):
    spec = SourceSpec.parse(text)
    assert spec.camera == "north" and spec.kind == kind


def test_camera_argument_needs_a_name():
    with pytest.raises(ValueError, match="NAME=PATH"):
        SourceSpec.parse("clip.mp4")


def test_stream_passwords_are_never_shown():
    spec = SourceSpec.parse("south=rtsp://admin:s3cret@10.0.0.7:554/live")
    assert "s3cret" not in spec.shown_location and "admin" not in spec.shown_location
    assert spec.shown_location == "rtsp://***@10.0.0.7:554/live"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="video file not found"):
        VideoSource(SourceSpec("north", str(tmp_path / "nope.mp4"))).open()


def test_corrupt_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 50)
    with (
        pytest.raises(SourceError, match="cannot decode|no frame could be decoded"),
        VideoSource(SourceSpec("north", str(bad))) as source,
    ):
        source.read()


def test_dead_stream_is_a_clear_error():
    source = VideoSource(SourceSpec("east", "http://127.0.0.1:9/video.mjpg"), timeout_s=2)
    with pytest.raises(SourceError, match="cannot connect"):
        source.open()


def test_file_plays_on_its_own_clock_and_ends():
    with VideoSource(SourceSpec("north", str(SAMPLES / "north.mp4"))) as source:
        assert source.fps == 25.0
        frames = [source.read() for _ in range(3)]
        assert [f.index for f in frames] == [0, 1, 2]
        assert frames[2].t == pytest.approx(0.08)
        assert frames[0].image.shape == (720, 1280, 3)


def test_looping_file_keeps_its_clock_running(tmp_path):
    import cv2
    import numpy as np

    clip = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    with VideoSource(SourceSpec("north", str(clip), loop=True)) as source:
        frames = [source.read() for _ in range(12)]
    assert all(f is not None for f in frames)
    assert frames[11].index == 11 and frames[11].t == pytest.approx(1.1)
    with VideoSource(SourceSpec("north", str(clip), loop=False)) as source:
        assert sum(1 for _ in iter(source.read, None)) == 5


def test_a_webcam_index_with_no_device_is_missing_not_lost():
    from console.vision.sources import SourceMissing, webcam_device

    device = webcam_device(57)
    if device is None or device.exists():
        pytest.skip("needs Linux with no /dev/video57")
    with pytest.raises(SourceMissing, match="no such webcam: /dev/video57 does not exist"):
        VideoSource(SourceSpec("usb", "57")).open()


def test_a_missing_file_is_missing_and_a_dead_stream_is_not(tmp_path):
    from console.vision.sources import SourceMissing

    with pytest.raises(SourceMissing):
        VideoSource(SourceSpec("north", str(tmp_path / "nope.mp4"))).open()
    with pytest.raises(SourceError) as down:
        VideoSource(SourceSpec("east", "http://127.0.0.1:9/video.mjpg"), timeout_s=2).open()
    assert not isinstance(down.value, SourceMissing), "a camera that is down may come back"
