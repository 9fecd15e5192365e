"""An RTSP camera on loopback: GStreamer's RTSP server sending a video file as H.264.

Run by ``tests/rtspserver.py`` with Debian's python3 (the GStreamer bindings, python3-gi
and gir1.2-gst-rtsp-server-1.0, are Debian packages, not PyPI ones); it is not imported
by the tests. Street cameras send H.264 over RTSP, so this does too: a reconnecting
client has to wait for a key frame, as it would on a real camera.

    python3 tests/rtsp_serve.py VIDEO.avi PORT

Prints ``ready`` once it listens on rtsp://127.0.0.1:PORT/camera. The video is an MJPEG
AVI (what OpenCV writes); it plays once, then the stream ends. (Looping it with a
``concat`` of several file sources made the server answer 503 now and then.)
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

MOUNT = "/camera"


def launch_line(video: str) -> str:
    return (
        f'( filesrc location="{video}" ! avidemux ! jpegdec ! videoconvert '
        "! video/x-raw,format=I420 "
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=1500 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> None:
    video, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory.new()
    factory.set_launch(launch_line(video))
    # One encoder for every client, as a camera has: a second viewer joins mid-stream.
    factory.set_shared(True)
    server.get_mount_points().add_factory(MOUNT, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
