"""The equality report: every figure as JSON, a plain-words summary a supervisor can sign,
and the same as HTML (curves as inline SVG) and PDF (the records' A4 printer).

Plain Python except ``write_pdf``, which imports Qt only when a PDF is asked for.
"""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

from console.equality import statistics as stats
from console.equality.adapter import WALK_WIDTHS
from console.equality.evaluator import (
    CURVE,
    Difference,
    Evaluation,
    GroupFigures,
    OperatingPointFigures,
)
from console.vision.operating_point import DEFAULT_ONE_IN, shipped_calibration

SCHEMA = 1
HEADLINE_SIZE = 20  # the summary leads with the default rate against 20 subjects
SMALL_NUMBERS = (
    "Small numbers: a group of a few people, or a rate from a few errors, can differ a lot "
    "by chance. Read every rate with its interval; a difference is only claimed where the "
    "test below supports it."
)


def console_version() -> str:
    """The package's version, and the commit when run from a clone."""
    try:
        version = metadata.version("lfr-console")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version} ({commit})" if commit else version


def _r(x: float | None, places: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, places)


def group_dict(g: GroupFigures) -> dict[str, Any]:
    return {
        "people": g.people,
        "fnir": _r(g.fnir.rate), "fnir_low": _r(g.fnir.low), "fnir_high": _r(g.fnir.high),
        "fpir": _r(g.fpir.rate), "fpir_low": _r(g.fpir.low), "fpir_high": _r(g.fpir.high),
        "fnir_people": g.fnir.people, "fnir_searches": g.fnir.searches,
        "fnir_misses": g.fnir.errors,
        "fpir_people": g.fpir.people, "fpir_searches": g.fpir.searches,
        "fpir_alerts": g.fpir.errors,
    }


def difference_dict(d: Difference) -> dict[str, Any]:
    return {
        "metric": d.metric, "attribute": d.attribute, "worst": d.worst, "best": d.best,
        "worst_rate": _r(d.worst_rate), "best_rate": _r(d.best_rate),
        "ratio": _r(d.ratio, 3), "significant": d.significant,
        "p_value": _r(d.p_value, 5), "p_adjusted": _r(d.p_adjusted, 5),
        "people_compared": d.people_compared, "people_needed": d.people_needed,
    }


def report_dict(ev: Evaluation, generated_at: datetime | None = None) -> dict[str, Any]:
    """Every figure of the evaluation (the ``--json`` file)."""
    ts = ev.observed.test_set
    probes = sum(len(p.probes) for p in ts.people)
    refused = {n: e.problem for n, e in ev.observed.enrolled.items() if e.encoding is None}
    faceless = sum(1 for walks in ev.observed.walks.values() for w in walks if w.problem)
    cal = shipped_calibration()
    return {
        "report": "per-group evaluation of the matcher",
        "schema": SCHEMA,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "console_version": console_version(),
        "matcher": {**ev.fingerprint, "calibration_source": cal.source},
        "test_set": {
            "folder": str(ts.folder),
            "sha256": ts.sha256,
            "people": len(ts.people),
            "photos": sum(len(p.photos) for p in ts.people),
            "probe_photos": probes,
            "enrolled": len(ts.people) - len(refused),
            "enrolment_refused": _refused_by_group(ev, refused),
            "probe_photos_without_a_face": faceless,
            "attributes": list(ts.person_attributes),
            "photo_attributes": list(ts.photo_attributes),
            "composition": ts.composition(),
        },
        "method": {
            "unit": "person",
            "interval": f"95%, percentile bootstrap over people ({stats.BOOTSTRAP} resamples)",
            "test": f"permutation of group labels across people ({stats.PERMUTATIONS}), "
                    "statistic worst minus best rate",
            "multiplicity": f"Holm step-down over the {ev.family} differences tested "
                            f"(family-wise error {stats.ALPHA:.0%})",
            "too_small_to_tell": f"not significant, and fewer people in a group than "
                                 f"{stats.POWER:.0%} power to detect a twofold "
                                 f"difference at the {stats.ALPHA:.0%} level needs",
            "alpha": stats.ALPHA, "power": stats.POWER, "family": ev.family,
            "walk": {"frames": len(WALK_WIDTHS), "face_widths_px": list(WALK_WIDTHS),
                     "analyses_per_second": 5},
            "rounds": {
                str(size): {"rounds": run.rounds, "targets_per_round": run.targets_per_round,
                            "padding_people": run.padding_people,
                            "padding_synthetic": run.padding_synthetic,
                            "searches": len(run.searches)}
                for size, run in ev.runs.items()
            },
        },
        "operating_points": [
            {
                "rate": str(op.rate), "one_in": op.rate.one_in,
                "watchlist_size": op.watchlist_size, "threshold": op.threshold,
                "groups": {k: group_dict(g) for k, g in op.groups.items()},
                "all": group_dict(op.everyone),
                "differences": [difference_dict(d) for d in op.differences],
            }
            for op in ev.points
        ],
        "curves": {
            str(size): {
                "distance": [float(d) for d in CURVE],
                "groups": groups,
                "operating_points": [
                    {"rate": str(op.rate), "threshold": op.threshold}
                    for op in ev.points if op.watchlist_size == size
                ],
            }
            for size, groups in ev.curves.items()
        },
        "summary": summary(ev),
        "headline": point_sentences(first) if (first := headline(ev)) else [],
        "notes": [SMALL_NUMBERS, *ev.notes],
    }


def _refused_by_group(ev: Evaluation, refused: dict[str, str]) -> dict[str, int]:
    ts = ev.observed.test_set
    out: dict[str, int] = {}
    for p in ts.people:
        if p.name in refused:
            for a in ts.person_attributes:
                if v := p.attributes.get(a):
                    out[f"{a}={v}"] = out.get(f"{a}={v}", 0) + 1
    return out


# ----------------------------------------------------------------------------- words


def _group_words(key: str) -> str:
    attribute, _, value = key.partition("=")
    return f"{attribute} {value}".strip()


def _fig(rate: stats.Rate) -> str:
    if rate.rate is None:
        return "no searches"
    return f"{_num(rate.rate)} ({_num(rate.low)}-{_num(rate.high)})"


def _num(x: float | None) -> str:
    """Two decimals, or four for a rate below 0.1 (false alerts: 0.0018, not 0.00)."""
    if x is None:
        return "—"
    return f"{x:.2f}" if x >= 0.1 or x == 0 else f"{x:.4f}"


def headline(ev: Evaluation) -> OperatingPointFigures | None:
    """The point the summary leads with: 1 in 1,000 against 20 subjects when evaluated."""
    for op in ev.points:
        if op.rate.one_in == DEFAULT_ONE_IN and op.watchlist_size == HEADLINE_SIZE:
            return op
    return ev.points[0] if ev.points else None


def point_sentences(op: OperatingPointFigures) -> list[str]:
    """NPL's way: what differs, what does not, and what cannot be told, with the rates."""
    head = f"At {op.rate} against {op.watchlist_size:,} subjects (match distance " \
           f"{op.threshold:.3f})"
    out = []
    for metric in ("fnir", "fpir"):
        name = metric.upper()
        for d in (d for d in op.differences if d.metric == metric):
            values = [k for k in op.groups if k.startswith(f"{d.attribute}=")]
            figures = "; ".join(
                f"{_group_words(k)} {_fig(getattr(op.groups[k], metric))}" for k in values
            )
            if d.significant is True:
                ratio = f"{d.ratio:.1f} times" if d.ratio else "against none"
                verdict = (f"{_group_words(d.worst)}'s {name} is significantly higher than "
                           f"{_group_words(d.best)}'s ({ratio})")
            elif d.significant is False:
                verdict = f"no group's {name} differs significantly from another's by " \
                          f"{d.attribute}"
            else:
                need = (f"; about {d.people_needed:,} people per group would be needed to "
                        "detect a twofold difference" if d.people_needed else
                        "; no errors were seen to compare")
                verdict = (f"the sample is too small to tell whether {name} differs by "
                           f"{d.attribute} ({d.people_compared} people in the smaller group"
                           f"{need})")
            out.append(f"{head}: {verdict}. {name} by {d.attribute}: {figures}.")
    return out


def summary(ev: Evaluation) -> list[str]:
    """The plain-words summary: the headline point first, then every other point."""
    first = headline(ev)
    ordered = ([first] if first else []) + [op for op in ev.points if op is not first]
    return [s for op in ordered for s in point_sentences(op)]


def write_json(report: dict[str, Any], path: Path) -> None:
    Path(path).write_text(json.dumps(report, indent=1, sort_keys=False) + "\n",
                          encoding="utf-8")


# ------------------------------------------------------------------------------ HTML

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf", "#7f7f7f", "#bcbd22")


def curve_svg(report: dict[str, Any], size: str, metric: str, width: int = 300,
              height: int = 190) -> str:
    """FNIR or FPIR against the match distance, a line per group, the operating points
    marked (plain SVG: the HTML shows it inline, the PDF draws it through QtSvg)."""
    curve = report["curves"][size]
    xs = curve["distance"]
    left, right, top, bottom = 38, 8, 14, 30
    pw, ph = width - left - right, height - top - bottom
    x0, x1 = xs[0], xs[-1]

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (1 - y) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans" font-size="9">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="white" '
             'stroke="#999"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left - 4}" y="{sy(tick) + 3:.1f}" text-anchor="end">'
                     f'{tick:.2f}</text>')
    for tick in (0.3, 0.4, 0.5, 0.6):
        parts.append(f'<text x="{sx(tick):.1f}" y="{height - bottom + 12}" '
                     f'text-anchor="middle">{tick:.1f}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle">'
                 f'match distance ({metric.upper()}, {int(size):,} subjects)</text>')
    for op in curve["operating_points"]:
        x = sx(min(max(op["threshold"], x0), x1))
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" '
                     'stroke="#888" stroke-dasharray="3,2"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="{top - 3}" font-size="7">'
                     f'{escape(op["rate"].replace("1 in ", "1/"))}</text>')
    for i, (key, series) in enumerate(curve["groups"].items()):
        points = [(sx(x), sy(y)) for x, y in zip(xs, series[metric], strict=True)
                  if y is not None]
        if not points:
            continue
        colour = "#000000" if key == "all" else _PALETTE[i % len(_PALETTE)]
        dash = ' stroke-dasharray="4,2"' if key == "all" else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.3"{dash}/>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(report: dict[str, Any], size: str) -> str:
    items = []
    for i, key in enumerate(report["curves"][size]["groups"]):
        colour = "#000000" if key == "all" else _PALETTE[i % len(_PALETTE)]
        label = "everyone (dashed)" if key == "all" else _group_words(key)
        items.append(f'<font color="{colour}">&#9632;</font> {escape(label)}')
    return '<p class="small">' + " &nbsp; ".join(items) + "</p>"


def report_html(report: dict[str, Any], image: Any = None) -> str:
    """The approval pack's report. *image(name, svg, width, height)* gives the HTML for a
    chart (default: the SVG inline; the PDF passes resource references)."""
    from console.reports.html import BORDERED, STYLE, _table

    image = image or (lambda name, svg, w, h: svg)
    ts, m = report["test_set"], report["matcher"]
    facts = [
        ("Generated", report["generated_at"]),
        ("Console version", report["console_version"]),
        ("Matcher fingerprint", m["id"]),
        ("Calibration (SHA-256)", m["calibration_sha256"]),
        ("Calibration", m["calibration_source"]),
        ("Test set", ts["folder"]),
        ("Test set hash (SHA-256)", ts["sha256"]),
        ("Size", f"{ts['people']:,} people, {ts['photos']:,} photos "
                 f"({ts['probe_photos']:,} probe photos); {ts['enrolled']:,} enrolled"),
        ("Probe photos without a face found", f"{ts['probe_photos_without_a_face']:,}"),
    ]
    fact_rows = "".join(f'<tr><td class="muted" width="30%">{escape(k)}</td>'
                        f"<td>{escape(str(v))}</td></tr>" for k, v in facts)
    composition = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(', '.join(f'{v}: {n}' for v, n in c.items()))}"
        "</td></tr>" for a, c in ts["composition"].items()
    )
    points = ", ".join(f"{op['rate']} × {op['watchlist_size']:,} (distance "
                       f"{op['threshold']:.3f})" for op in report["operating_points"])
    body = [f"""<html><head><style>{STYLE}</style></head><body>
<h1>Per-group evaluation of the matcher</h1>
<p class="muted">For the approval pack: how the console's matcher, evidence rule and
enrolment treat the groups of the force's own labelled test set.</p>
<table width="100%" cellspacing="0" cellpadding="2">{fact_rows}</table>
<h2>Composition of the test set</h2>
<table width="100%" {BORDERED}><tr><th width="30%">Attribute</th><th>People (photos for
a photo attribute)</th></tr>{composition}</table>
<p class="small">Operating points: {escape(points)}.</p>
<h2>Summary</h2>"""]
    body += [f"<p>{escape(s)}</p>" for s in report["headline"]]
    body.append("<p class='small'>Every other operating point is summarised in the same "
                "words below its table.</p>")
    body.append(f"<p class='small'>{escape(SMALL_NUMBERS)}</p>")
    body.append("""<table width="100%" cellspacing="0" cellpadding="6"><tr>
<td width="50%">Read and accepted by (name, rank): ______________________</td>
<td width="25%">Signature: ______________</td><td width="25%">Date: __________</td>
</tr></table>""")
    meth = report["method"]
    body.append(f"""<h2>Method</h2><p class="small">Each person's first photo is enrolled
as a watchlist photo by the console's own enrolment; each other photo walks past a camera
({meth['walk']['frames']} frames, the face {WALK_WIDTHS[0]} to {WALK_WIDTHS[-1]} px wide,
{meth['walk']['analyses_per_second']} analyses a second) through the live analysis, the
matcher and the evidence rule. FNIR: the share of a watchlisted person's walks that raise
no alert for them. FPIR: the share of walks by people on no watchlist that raise any
alert. Watchlists of N are built in rounds and padded with other people of the test set,
then synthetic encodings. Intervals: {escape(meth['interval'])}. Differences:
{escape(meth['test'])}; {escape(meth['multiplicity'])}; "too small to tell":
{escape(meth['too_small_to_tell'])}.</p>""")
    for op in report["operating_points"]:
        rows = [[_group_words(k), f"{g['people']:,}", _ci(g, "fnir"),
                 f"{g['fnir_misses']}/{g['fnir_searches']}", _ci(g, "fpir"),
                 f"{g['fpir_alerts']}/{g['fpir_searches']}"]
                for k, g in [("everyone", op["all"]), *op["groups"].items()]]
        diffs = [[d["metric"].upper(), d["attribute"], _group_words(d["worst"]),
                  _group_words(d["best"]), "—" if d["ratio"] is None else f"{d['ratio']:.2f}",
                  {True: "yes", False: "no", None: "cannot tell"}[d["significant"]],
                  "—" if d["p_adjusted"] is None else f"{d['p_adjusted']:.4f}",
                  "—" if d["people_needed"] is None else f"{d['people_needed']:,}"]
                 for d in op["differences"]]
        body.append(f"<h2>{escape(op['rate'])} against {op['watchlist_size']:,} subjects "
                    f"(match distance {op['threshold']:.3f})</h2>")
        head = f"At {op['rate']} against {op['watchlist_size']:,} subjects "
        body += [f"<p class='small'>{escape(s)}</p>" for s in report["summary"]
                 if s.startswith(head) and s not in report["headline"]]
        body.append(_table(("Group", "People", "FNIR (95%)", "misses/searches",
                            "FPIR (95%)", "alerts/searches"), rows, css="list",
                           first_width=24))
        if diffs:
            body.append("<p></p>" + _table(
                ("Metric", "Attribute", "Worst", "Best", "Ratio", "Significant",
                 "p (Holm)", "People/group for 2x"), diffs, numeric_from=4, css="list"))
    body.append("<h2>Curves</h2>")
    for size in report["curves"]:
        cells = [image(f"{size}-{metric}", curve_svg(report, size, metric), 300, 190)
                 for metric in ("fnir", "fpir")]
        body.append(f'<table width="100%"><tr><td>{cells[0]}</td><td>{cells[1]}</td></tr>'
                    "</table>" + _legend(report, size))
    body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>"
                                               for n in report["notes"]) + "</ul>")
    body.append("</body></html>")
    return "\n".join(body)


def _ci(g: dict[str, Any], metric: str) -> str:
    if g[metric] is None:
        return "—"
    return f"{_num(g[metric])} ({_num(g[metric + '_low'])}-{_num(g[metric + '_high'])})"


def write_html(report: dict[str, Any], path: Path) -> None:
    Path(path).write_text(report_html(report), encoding="utf-8")


def write_pdf(report: dict[str, Any], path: Path) -> None:
    """The same report on A4, printed by the records' machinery (Qt, offscreen)."""
    from PySide6.QtCore import QByteArray, QUrl
    from PySide6.QtGui import QFont, QImage, QPainter, QTextDocument
    from PySide6.QtSvg import QSvgRenderer

    from console.reports.pdf import _ensure_app, _print

    _ensure_app()
    doc = QTextDocument()
    doc.setDefaultFont(QFont("DejaVu Sans", 9))
    scale = 3

    def image(name: str, svg: str, w: int, h: int) -> str:
        picture = QImage(w * scale, h * scale, QImage.Format.Format_ARGB32)
        picture.fill(0xFFFFFFFF)
        painter = QPainter(picture)
        QSvgRenderer(QByteArray(svg.encode())).render(painter)
        painter.end()
        picture.setDevicePixelRatio(scale)
        doc.addResource(QTextDocument.ResourceType.ImageResource.value,
                        QUrl(f"chart:{name}"), picture)
        return f'<img src="chart:{name}" width="{w}" height="{h}">'

    doc.setHtml(report_html(report, image))
    _print(doc, Path(path), "Per-group evaluation of the matcher")
