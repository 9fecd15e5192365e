"""What a phone is shown of an incident, cut and encoded once at the engagement.

The clothing crop is the camera frame around the person (a shoulder's width and more either
side of the face, from just above the head to well below it), cut from the scene frame the alert
kept in memory; the scene itself never leaves the desk. Images are JPEG, at most
``MAX_SIDE`` pixels a side: enough for a phone, small enough to arrive at once. Each goes
to the phones as one binary WebSocket frame (``photo_frame``), made once per incident.
"""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np

from console.domain.alerts import Alert

MAX_SIDE = 480
QUALITY = 85


def jpeg(rgb: np.ndarray | None, max_side: int = MAX_SIDE) -> bytes | None:
    if rgb is None or rgb.size == 0:
        return None
    h, w = rgb.shape[:2]
    k = min(1.0, max_side / max(h, w))
    if k < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return buf.tobytes() if ok else None


def photo_frame(incident_id: str, kind: str, jpeg_bytes: bytes) -> bytes:
    """One photo as a phone's page takes it: a 2-byte big-endian header length, the header
    (JSON: the incident's id and the photo's kind), then the JPEG as it is. No base64: a
    quarter fewer bytes, and the page decodes them straight into a canvas."""
    header = json.dumps({"id": incident_id, "kind": kind}, separators=(",", ":")).encode()
    return struct.pack(">H", len(header)) + header + jpeg_bytes


def clothing_crop(alert: Alert) -> np.ndarray | None:
    """The scene frame around the person, or None when the alert has no scene (after a
    restart) or the frame's size is unknown (the box could not be placed)."""
    scene = alert.scene_rgb
    if scene is None:
        return None
    sh, sw = scene.shape[:2]
    if alert.frame_size:
        k = sw / alert.frame_size[0]
    elif sw < 960:
        k = 1.0  # the scene is the frame itself (not downscaled)
    else:
        return None
    top, right, bottom, left = (v * k for v in alert.bbox)
    face_w, face_h = max(1.0, right - left), max(1.0, bottom - top)
    cx = (left + right) / 2
    x0, x1 = int(max(0, cx - 1.5 * face_w)), int(min(sw, cx + 1.5 * face_w))
    y0, y1 = int(max(0, top - 0.4 * face_h)), int(min(sh, bottom + 5.5 * face_h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return np.ascontiguousarray(scene[y0:y1, x0:x1])
