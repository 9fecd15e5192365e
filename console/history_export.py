"""Export a deployment's alerts and decisions for the record: CSV and JSON.

Images are optional: the live crop and the watchlist photo of each alert, as JPEG files
beside the CSV, or base64 inside the JSON. Only alerts are exported; nothing about
faces that did not match exists to export.

Every file is written 0600, and the images' folder made 0700: they are faces, names and
officers' notes. The images' file names are made from the row number, never from the
alert id (which carries the camera's name, free text from a plan: "../../x" or a "/" in
it must not choose where a face is written).
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import cv2
import numpy as np

from console.csv_safe import SafeDictWriter
from console.storage.alerts import AlertRecord
from console.storage.files import write_private, write_private_text

COLUMNS = [
    "alert_id",
    "camera",
    "subject_id",
    "subject_name",
    "category",
    "urgency",
    "distance",
    "threshold",
    "frames_seen",
    "raised_at",
    "decision",
    "decided_by",
    "decided_at",
    "decision_note",
    "seconds_to_adjudication",
    "outcome",
    "outcome_by",
    "outcome_at",
    "outcome_note",
    "seconds_to_outcome",
    "corrected_to",
    "corrected_by",
    "correction_reason",
]


def row(r: AlertRecord) -> dict[str, object]:
    a, d, o, c = r.alert, r.adjudication, r.outcome, r.correction
    return {
        "alert_id": a.alert_id,
        "camera": a.camera,
        "subject_id": a.subject_id,
        "subject_name": a.subject_name,
        "category": a.category,
        "urgency": a.urgency.label,
        "distance": round(a.distance, 4),
        "threshold": a.threshold,
        "frames_seen": a.frames_seen,
        "raised_at": a.raised_at.isoformat(),
        "decision": d.decision.value if d else "",
        "decided_by": d.officer if d else "",
        "decided_at": d.decided_at.isoformat() if d else "",
        "decision_note": d.note if d else "",
        "seconds_to_adjudication": round((d.decided_at - a.raised_at).total_seconds(), 1)
        if d
        else "",
        "outcome": o.outcome.value if o else "",
        "outcome_by": o.officer if o else "",
        "outcome_at": o.recorded_at.isoformat() if o else "",
        "outcome_note": o.note if o else "",
        "seconds_to_outcome": round((o.recorded_at - a.raised_at).total_seconds(), 1) if o else "",
        "corrected_to": c.decision.value if c else "",
        "corrected_by": c.officer if c else "",
        "correction_reason": c.reason if c else "",
    }


def _jpeg(rgb: np.ndarray | None) -> bytes | None:
    if rgb is None:
        return None
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return buf.tobytes() if ok else None


def export_csv(records: list[AlertRecord], path: Path, images: bool = False) -> Path:
    """Write the CSV; with images, JPEGs go to a folder named after it."""
    path = Path(path)
    folder = path.with_name(path.stem + "_images")
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=[*COLUMNS, "live_image", "watchlist_image"])
    writer.writeheader()
    for n, r in enumerate(records, start=1):
        row_out = row(r) | {"live_image": "", "watchlist_image": ""}
        if images:
            for key, rgb in (("live", r.alert.crop_rgb), ("watchlist", r.watchlist_photo_rgb)):
                data = _jpeg(rgb)
                if data:
                    name = f"alert-{n:05d}-{key}.jpg"  # a safe name: the row, not free text
                    write_private(_image_folder(folder) / name, data)
                    row_out[f"{key}_image"] = f"{folder.name}/{name}"
        writer.writerow(row_out)
    write_private_text(path, out.getvalue())
    return path


def _image_folder(folder: Path) -> Path:
    """The images' folder, made 0700 (a folder already there must be a real one, not a
    link to somewhere else)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OSError(f"{folder} is not a folder the export can use")
    if not folder.exists():
        folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def export_json(
    records: list[AlertRecord], path: Path, deployment: str, images: bool = False
) -> Path:
    alerts = []
    for r in records:
        item = row(r)
        item["evidence"] = [[e.frame, e.t, e.distance] for e in r.alert.evidence]
        if images:
            for key, rgb in (("live", r.alert.crop_rgb), ("watchlist", r.watchlist_photo_rgb)):
                data = _jpeg(rgb)
                item[f"{key}_image_jpeg_base64"] = base64.b64encode(data).decode() if data else ""
        alerts.append(item)
    write_private_text(
        Path(path), json.dumps({"deployment": deployment, "alerts": alerts}, indent=2)
    )
    return Path(path)
