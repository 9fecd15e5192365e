"""Records and evaluations as CSV, JSON and plain text (PDF: ``console.reports.pdf``).

Everything written here is what the figures hold: counts, durations, the deployment's
particulars and, for a record, the alerts still held without the subject's name or id,
the images, the officers or their notes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from console.csv_safe import SafeWriter
from console.reports.evaluation import Evaluation
from console.reports.figures import (
    DEFINITIONS,
    AlertLine,
    Figures,
    duration,
    figure_rows,
    short_time,
)
from console.reports.record import DeploymentRecord
from console.storage.files import write_private_text

# Per camera every column but the first two counts alerts (not incidents): an incident
# seen by both cameras is an alert on each.
CAMERA_COLUMNS = (
    ("live_minutes", "Minutes live"),
    ("faces_seen", "Faces seen"),
    ("alerts", "Alerts"),
    ("engaged", "Engaged (alerts)"),
    ("dismissed", "Dismissed (alerts)"),
    ("false_alerts", "False alerts"),
    ("confirmed_false", "Confirmed false (alerts)"),
    ("undecided", "Undecided (alerts)"),
)


def _raw(value: object) -> object:
    # Floats rounded for people reading the file; counts stay exact.
    return round(value, 3) if isinstance(value, float) else value


def camera_rows(f: Figures) -> list[dict[str, object]]:
    rows = []
    for c in f.cameras:
        row: dict[str, object] = {"camera": c.camera, "live_minutes": _raw(c.live_seconds / 60)}
        row |= {k: getattr(c, k) for k, _ in CAMERA_COLUMNS if k != "live_minutes"}
        rows.append(row)
    return rows


def alert_row(line: AlertLine) -> dict[str, object]:
    return {
        "alert_id": line.alert_id,
        "camera": line.camera,
        "category": line.category,
        "raised_at": line.raised_at.isoformat(),
        "decision": line.decision.value if line.decision else None,
        "original_decision": line.original.value if line.original else None,
        "corrected": line.correction is not None,
        "class": line.alert_class.value,
        "outcome": line.outcome_in_force.value if line.outcome_in_force else None,
        "outcome_first_recorded": line.outcome.value if line.outcome else None,
        "outcome_counted": line.counted_outcome is not None,
        "seconds_to_adjudication": _raw(line.seconds_to_adjudication),
        "seconds_to_outcome": _raw(line.seconds_to_outcome),
    }


# -- a deployment record ---------------------------------------------------------------


def record_dict(record: DeploymentRecord) -> dict[str, Any]:
    d = record.deployment
    return {
        "report": "deployment record",
        "generated_at": record.generated_at.isoformat(),
        "deployment": {
            "reference": d.reference,
            "site": d.site,
            "cameras": list(d.cameras),
            "authorising_officer": f"{d.authorised_rank} {d.authorised_by}",
            "start": record.start.isoformat(),
            "end": record.end.isoformat(),
            "started": d.started_at is not None,
            "concluded": d.concluded_at is not None,
            "state": d.state.value,
            "threshold": d.threshold,
        },
        "operating_points": [
            {
                "false_alert_rate": p.rate,
                "threshold": p.threshold,
                "from": p.start.isoformat() if p.start else None,
                "until": p.end.isoformat() if p.end else None,
                "minutes": _raw(p.minutes),
                "reason": p.reason,
            }
            for p in record.operating_points
        ],
        "camera_failures": [
            {
                "camera": f.camera,
                "failed_at": f.failed_at.isoformat() if f.failed_at else None,
                "why": f.why,
            }
            for f in record.camera_failures
        ],
        "integrity": record.integrity.to_dict() if record.integrity else None,
        "figures": {row.key: _raw(row.value) for row in figure_rows(record.figures)},
        "cameras": camera_rows(record.figures),
        "alerts_purged_under_retention": record.purged_alerts,
        "figures_kept_at": record.kept_at,
        "alerts": [alert_row(line) for line in record.alerts],
        "notes": list(record.notes),
        "definitions": dict(DEFINITIONS),
        # Alerts and engagements by group (#27), when anything was recorded.
        **({"equality": record.equality.to_dict()}
           if record.equality and record.equality.any_recorded else {}),
    }


def record_json(record: DeploymentRecord) -> str:
    return json.dumps(record_dict(record), indent=2, ensure_ascii=False) + "\n"


def record_csv(record: DeploymentRecord) -> str:
    """Long format, one figure a line: reference, scope (deployment or camera), figure,
    label, unit, value."""
    out = io.StringIO()
    w = SafeWriter(out, lineterminator="\n")
    w.writerow(["reference", "scope", "figure", "label", "unit", "value"])
    ref = record.reference
    if record.banner:
        w.writerow([ref, "integrity", "verification", "Record verification", "", record.banner])
    for label, text in record.facts():
        w.writerow([ref, "deployment", label.lower().replace(" ", "_"), label, "", text])
    for row in figure_rows(record.figures):
        w.writerow([ref, "deployment", row.key, row.label, row.unit, _blank(_raw(row.value))])
    for cam in camera_rows(record.figures):
        for key, label in CAMERA_COLUMNS:
            unit = "minutes" if key == "live_minutes" else "count"
            w.writerow([ref, f"camera {cam['camera']}", key, label, unit, cam[key]])
    w.writerow(
        [
            ref,
            "deployment",
            "alerts_purged",
            "Alerts deleted under retention",
            "count",
            record.purged_alerts,
        ]
    )
    return out.getvalue()


def _blank(value: object) -> object:
    return "" if value is None else value


def record_text(record: DeploymentRecord) -> str:
    """The record as the command line prints it."""
    width = max(len(r.label) for r in figure_rows(record.figures)) + 2
    lines = [f"Deployment record {record.reference}", ""]
    if record.banner:
        lines[1:1] = ["", "!" * 78, record.banner, "!" * 78]
    lines += [f"{label:<{width}}{text}" for label, text in record.facts()]
    lines.append("")
    lines += [f"{r.label:<{width}}{r.text}" for r in figure_rows(record.figures)]
    lines.append("")
    head = f"{'Camera':<12}" + "".join(f"{label:>16}" for _, label in CAMERA_COLUMNS)
    lines.append(head)
    for cam in camera_rows(record.figures):
        lines.append(
            f"{cam['camera']:<12}" + "".join(f"{cam[k]:>16,.0f}" for k, _ in CAMERA_COLUMNS)
        )
    lines += [""] + [f"Note: {n}" for n in record.notes]
    if record.banner:
        lines += ["", "!" * 78, record.banner, "!" * 78]
    return "\n".join(lines).rstrip() + "\n"


def alert_table(record: DeploymentRecord) -> list[tuple[str, ...]]:
    """The alert list as the view and the PDF show it: one tuple of texts per alert."""
    rows = []
    for line in record.alerts:
        decision = line.decision.label if line.decision else "Undecided"
        if line.correction is not None and line.original is not None:
            decision += f" (corrected from {line.original.label})"
        outcome = line.outcome_in_force.label if line.outcome_in_force else ""
        if line.outcome_correction is not None and line.outcome is not None:
            outcome += f" (corrected from {line.outcome.label})"
        if line.outcome_set_aside:
            outcome += " (set aside)"
        rows.append(
            (
                short_time(line.raised_at),
                line.camera,
                line.category,
                decision,
                outcome,
                duration(line.seconds_to_adjudication),
                duration(line.seconds_to_outcome),
            )
        )
    return rows


ALERT_HEADINGS = (
    "Raised",
    "Camera",
    "Category",
    "Decision in force",
    "Outcome",
    "To adjudication",
    "To outcome",
)


# -- an evaluation ---------------------------------------------------------------------


def evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    h = evaluation.headline
    return {
        "report": "evaluation",
        "generated_at": evaluation.generated_at.isoformat(),
        "scope": {
            "since": evaluation.since.isoformat() if evaluation.since else None,
            "until": evaluation.until.isoformat() if evaluation.until else None,
            "site": evaluation.site,
        },
        "headline": {
            "deployments": h.deployments,
            "arrests": h.arrests,
            "arrests_per_deployment": _raw(h.arrests_per_deployment),
            "minutes_per_arrest": _raw(h.minutes_per_arrest),
            "false_alerts_per_1000_faces": _raw(h.false_alert_rate),
        },
        "total": {row.key: _raw(row.value) for row in figure_rows(evaluation.total)},
        "integrity": evaluation.integrity.to_dict() if evaluation.integrity else None,
        "deployments": [
            {
                "reference": r.reference,
                "site": r.deployment.site,
                "start": r.start.isoformat(),
                "end": r.end.isoformat(),
                "state": r.deployment.state.value,
                "alerts_purged_under_retention": r.purged_alerts,
                "figures": {row.key: _raw(row.value) for row in figure_rows(r.figures)},
            }
            for r in evaluation.records
        ],
        "definitions": dict(DEFINITIONS),
        **_equality_total(evaluation),
    }


def _equality_total(evaluation: Evaluation) -> dict[str, Any]:
    """Alerts and engagements by group over the deployments (#27), when recorded."""
    from console.equality.monitoring import summed

    total = summed(r.equality for r in evaluation.records if r.equality)
    return {"equality": total.to_dict()} if total.any_recorded else {}


def evaluation_json(evaluation: Evaluation) -> str:
    return json.dumps(evaluation_dict(evaluation), indent=2, ensure_ascii=False) + "\n"


def evaluation_csv(evaluation: Evaluation) -> str:
    """Wide format: one row per deployment, then the total; one column per figure."""
    keys = [row.key for row in figure_rows(evaluation.total)]
    out = io.StringIO()
    w = SafeWriter(out, lineterminator="\n")
    w.writerow(["reference", "site", "start", "end", "state", "alerts_purged", *keys])
    if evaluation.banner:
        w.writerow(["VERIFICATION FAILED", evaluation.banner])
    for r in evaluation.records:
        values = [_blank(_raw(row.value)) for row in figure_rows(r.figures)]
        w.writerow(
            [
                r.reference,
                r.deployment.site,
                r.start.isoformat(),
                r.end.isoformat(),
                r.deployment.state.value,
                r.purged_alerts,
                *values,
            ]
        )
    totals = [_blank(_raw(row.value)) for row in figure_rows(evaluation.total)]
    purged = sum(r.purged_alerts for r in evaluation.records)
    w.writerow(["TOTAL", evaluation.site or "", "", "", "", purged, *totals])
    return out.getvalue()


def evaluation_text(evaluation: Evaluation) -> str:
    lines = [evaluation.scope(), ""]
    if evaluation.banner:
        lines[1:1] = ["", "!" * 78, evaluation.banner, "!" * 78]
    # The headline in the figures' own formats (a rate as "0.15 (1 in 6,667)", never
    # a bare 0.1500).
    lines += [f"{name + ':':<36}{value}" for name, value in evaluation.headline.texts().items()]
    lines.append("")
    columns = [("Total", figure_rows(evaluation.total))]
    columns += [(r.reference, figure_rows(r.figures)) for r in evaluation.records]
    width = max(len(r.label) for r in columns[0][1]) + 2
    # Each column as wide as its widest cell, so a long rate never runs into the next.
    widths = [max(len(name), *(len(r.text) for r in rows)) + 2 for name, rows in columns]
    lines.append(
        " " * width + "".join(f"{n:>{w}}" for (n, _), w in zip(columns, widths, strict=True))
    )
    for i, row in enumerate(columns[0][1]):
        cells = "".join(
            f"{rows[i].text:>{w}}" for (_, rows), w in zip(columns, widths, strict=True)
        )
        lines.append(f"{row.label:<{width}}{cells}")
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    """An export, written 0600 (it holds a deployment's particulars)."""
    write_private_text(Path(path), text)
