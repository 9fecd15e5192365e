"""Records and evaluations as the HTML that ``console.reports.pdf`` prints (Qt's rich text
subset: tables, headings, images by resource name). Plain Python, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from html import escape

from console.equality.monitoring import summed, tables_html
from console.reports.evaluation import Evaluation
from console.reports.export import ALERT_HEADINGS, CAMERA_COLUMNS, alert_table, camera_rows
from console.reports.figures import (
    DEFINITIONS,
    FigureRow,
    figure_groups,
    figure_rows,
    local_time,
)
from console.reports.record import DeploymentRecord

STYLE = """
h1 { font-size: 15pt; margin-bottom: 2px; }
h2 { font-size: 11pt; margin-top: 10px; margin-bottom: 4px; }
.muted { color: #555555; }
.small { font-size: 7pt; }
th { background-color: #eeeeee; text-align: left; }
td.n { text-align: right; }
table.list { font-size: 7.5pt; }
"""
BORDERED = 'cellspacing="0" cellpadding="3" border="0.5" style="border-color:#bbbbbb;"'
# Deployments per table of the evaluation, beside the total: more would not fit A4.
DEPLOYMENTS_PER_TABLE = 5

PRIVACY = (
    "Produced from the console's live record. Faces that did not match a watchlist subject "
    "are counted, never kept. Alerts deleted under the retention rules appear only in the "
    "counts; names and images of watchlist subjects are not part of this report."
)


def _table(
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric_from: int = 1,
    width: int = 100,
    css: str = "",
    first_width: int | None = None,
) -> str:
    """A bordered table; *first_width* (percent) fixes the first column and shares the rest
    equally, so long labels do not squeeze the figures (or the reverse)."""
    widths = [""] * len(headings)
    if first_width and len(headings) > 1:
        rest = (100 - first_width) // (len(headings) - 1)
        widths = [f' width="{first_width}%"'] + [f' width="{rest}%"'] * (len(headings) - 1)
    head = "".join(f"<th{w}>{escape(h)}</th>" for w, h in zip(widths, headings, strict=True))
    # A <thead> row is repeated at the top of every page the table runs on to.
    head = f"<thead><tr>{head}</tr></thead>" if any(headings) else ""
    body = [
        "<tr>"
        + "".join(
            f'<td class="n"{widths[i] if i < len(widths) else ""}>{escape(c)}</td>'
            if i >= numeric_from
            else f"<td{widths[i] if i < len(widths) else ''}>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    ]
    # Rows that would run across a page's foot (found by console.reports.pdf): the table
    # is cut before each, and the rest starts on a new page under its own header row.
    wanted = (_CUTS.get() or {}).get(signature(headings), ())
    cuts = sorted({c for c in wanted if 0 < c < len(rows)})
    tables = []
    for n, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(rows)], strict=True)):
        style = ' style="page-break-before: always;"' if n else ""
        tables.append(
            f'<table class="{css}" width="{width}%" {BORDERED}{style}>{head}'
            f'<tbody>{"".join(body[start:end])}</tbody></table>'
        )
    return "".join(tables)


def signature(headings: Sequence[str]) -> str:
    """How a table is known again (by its header row) when the PDF is laid out."""
    return "|".join(headings)


# Where the long tables are cut, by signature: set by the PDF's pagination.
_CUTS: ContextVar[dict[str, set[int]] | None] = ContextVar("cuts", default=None)


@contextmanager
def cut_tables(cuts: dict[str, set[int]]) -> Iterator[None]:
    """Write the HTML with the tables cut before these rows (see ``_table``)."""
    token = _CUTS.set(cuts)
    try:
        yield
    finally:
        _CUTS.reset(token)


def _img(name: str, size: tuple[int, int]) -> str:
    return f'<img src="chart:{name}" width="{size[0]}" height="{size[1]}">'


def _group(title: str, rows: list[FigureRow]) -> str:
    body = "".join(
        f'<tr><td width="58%">{escape(r.label)}</td>'
        f'<td width="42%" align="right"><b>{escape(r.text)}</b></td></tr>'
        for r in rows
    )
    head = f'<tr><th colspan="2">{escape(title)}</th></tr>'
    return f'<table width="100%" {BORDERED}>{head}{body}</table>'


def _grid(cells: list[str], columns: int = 2) -> str:
    """Side by side, *columns* to a row, each cell aligned to the top."""
    width = 100 // columns
    rows = []
    for i in range(0, len(cells), columns):
        tds = "".join(
            f'<td width="{width}%" valign="top" style="padding: 0 4px 6px 0;">{c}</td>'
            for c in cells[i : i + columns]
        )
        rows.append(f"<tr>{tds}</tr>")
    return f'<table width="100%" cellspacing="0" cellpadding="0">{"".join(rows)}</table>'


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f"<h2>Notes</h2><ul>{items}</ul>"


def _definitions() -> str:
    items = [f"<p class='small'><b>{escape(t)}</b>: {escape(d)}</p>" for t, d in DEFINITIONS]
    half = (len(items) + 1) // 2
    return "<h2>Definitions</h2>" + _grid(["".join(items[:half]), "".join(items[half:])])


def _footer(generated: str) -> str:
    return f'<p class="small muted">Generated {escape(generated)}. {escape(PRIVACY)}</p>'


def _banner(text: str | None) -> str:
    """A broken record's warning, as wide and loud as the page allows."""
    if not text:
        return ""
    return (
        '<table width="100%" cellpadding="6" border="1" style="border-color:#b3261e;">'
        f'<tr><td style="color:#b3261e; font-weight:bold;">{escape(text)}</td></tr></table>'
    )


def record_html(record: DeploymentRecord, chart_size: tuple[int, int]) -> str:
    """The record: particulars, figures, the two charts, cameras, alerts held, notes."""
    facts = record.facts()
    half = (len(facts) + 1) // 2
    fact_rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="muted">{escape(k)}</td><td><b>{escape(v)}</b></td>'
            for k, v in facts[i::half]
        )
        + "</tr>"
        for i in range(half)
    )
    groups = [_group(title, rows) for title, rows in figure_groups(record.figures)]
    cams = [
        [str(c["camera"]), *(f"{c[k]:,.0f}" for k, _ in CAMERA_COLUMNS)]
        for c in camera_rows(record.figures)
    ]
    held = f"Alerts held ({len(record.alerts)} of {record.figures.alerts})"
    alerts = (
        _table(ALERT_HEADINGS, alert_table(record), numeric_from=5, css="list")
        if record.alerts
        else '<p class="muted">None held.</p>'
    )
    return f"""<html><head><style>{STYLE}</style></head><body>
<h1>Deployment record {escape(record.reference)}</h1>
{_banner(record.banner)}
<p class="muted">{escape(record.deployment.site)}</p>
{_footer(local_time(record.generated_at))}
<table width="100%" cellspacing="0" cellpadding="2">{fact_rows}</table>
<h2>Figures</h2>
{_grid(groups)}
{_notes(record.notes)}
<p>{_img("time", chart_size)}</p>
<p>{_img("camera", (chart_size[0], chart_size[1] * 4 // 5))}</p>
<h2>Per camera</h2>
{_table(("Camera", *(label for _, label in CAMERA_COLUMNS)), cams, css="list")}
<h2>{escape(held)}</h2>
{alerts}
{tables_html(record.equality)}
{_banner(record.banner)}
{_definitions()}
</body></html>"""


def evaluation_html(
    evaluation: Evaluation, chart_size: tuple[int, int], half_size: tuple[int, int]
) -> str:
    """The evaluation: headline numbers, the trends, figures summed and per deployment."""
    headline = list(evaluation.headline.texts().items())
    notes = [f"{r.reference}: {n}" for r in evaluation.records for n in r.notes]
    if not evaluation.complete:
        notes.insert(
            0,
            "Alerts of some deployments have been deleted under the retention rules: the "
            "medians over all deployments cannot be computed from counts and are left out.",
        )
    return f"""<html><head><style>{STYLE}</style></head><body>
<h1>Evaluation</h1>
{_banner(evaluation.banner)}
<p class="muted">{escape(evaluation.scope())}</p>
{_footer(local_time(evaluation.generated_at))}
<h2>Headline</h2>
{_table(("", ""), headline, width=60)}
<p>{_img("alerts", chart_size)}</p>
{_grid([_img("arrests", half_size), _img("rate", half_size)])}
<h2>Figures summed and per deployment</h2>
{_per_deployment(evaluation)}
{tables_html(summed(r.equality for r in evaluation.records if r.equality))}
{_notes(notes)}
{_definitions()}
</body></html>"""


def _per_deployment(evaluation: Evaluation) -> str:
    """Figures down the side, the total then the deployments across, a few per table (the
    way published evaluations read, and it fits the page)."""
    total = figure_rows(evaluation.total)
    columns = [("Total", total)] + [
        (r.reference, figure_rows(r.figures)) for r in evaluation.records
    ]
    tables = []
    for i in range(0, len(columns), DEPLOYMENTS_PER_TABLE + 1):
        chunk = columns[i : i + DEPLOYMENTS_PER_TABLE + 1]
        rows = [[row.label, *(c[1][j].text for c in chunk)] for j, row in enumerate(total)]
        headings = ("Figure", *(c[0] for c in chunk))
        tables.append(_table(headings, rows, css="list", first_width=22))
    return "<p></p>".join(tables)
