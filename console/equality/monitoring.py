"""Equality monitoring in operation: a deployment's alerts, false alerts, engagements and
outcomes by group, as the Met's FOI tables give them (#27).

- **Alerts and false alerts** are counted by the group of the *subject* they named, as
  the watchlist listed them (its optional ``ethnicity_code``, ``sex`` and ``age_band``
  columns), beside the watchlist's own share of each group: a group alerted on more often
  than it is listed stands out.
- **Engagements and outcomes** are counted by the group the officer *perceived* of the
  person engaged, when the site policy asks for it (``equality_monitoring``); an
  engagement with nothing recorded counts as "not recorded".
- Engagements and outcomes count incidents (one person stopped once), as the record's
  figures do.

Counts only, as the record's figures: they are kept in the audit trail ("equality
figures kept") while every alert is held, and stand in for the alerts once the retention
rules delete them. The watchlist's composition is noted (counts) when it is imported,
since the list itself is deleted at conclusion.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from console.domain.alerts import Decision, Outcome
from console.domain.equality import ATTRIBUTES, NOT_RECORDED, EqualityFields
from console.reports.figures import AlertClass
from console.storage.audit import canonical

if TYPE_CHECKING:
    from console.domain.watchlist import Watchlist
    from console.storage import Store

KEPT = "equality figures kept"
COMPOSITION = "watchlist groups noted"
COLUMNS = ("watchlist", "alerts", "false_alerts", "engagements", "arrests", "advice",
           "not_located", "confirmed_false")
HEADINGS = ("Watchlist", "Alerts", "False alerts", "Engagements", "Arrests", "Advice",
            "Not located", "Confirmed false")
CAVEAT = (
    "Small numbers: a deployment's alerts and engagements are few, so a group's share "
    "can differ from the watchlist's, or another deployment's, by chance alone. Read these "
    "counts over many deployments, and never as a rate for a group of a handful. Perceived "
    "groups are the officer's impression, not the person's own account."
)

Table = dict[str, dict[str, dict[str, int]]]  # attribute -> value -> column -> count


@dataclass(frozen=True)
class EqualityTables:
    table: Table = field(default_factory=dict)
    kept_at: str | None = None  # when the counts shown were kept (alerts since purged)

    @property
    def any_recorded(self) -> bool:
        """Anything besides "not recorded" in any group: worth a section of the record."""
        return any(v != NOT_RECORDED and any(c.values())
                   for values in self.table.values() for v, c in values.items())

    def total(self, attribute: str, column: str) -> int:
        return sum(c.get(column, 0) for c in self.table.get(attribute, {}).values())

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "caveat": CAVEAT}


def empty_table() -> Table:
    return {a.key: {v: dict.fromkeys(COLUMNS, 0) for v in (*a.choices, NOT_RECORDED)}
            for a in ATTRIBUTES}


def _count(table: Table, fields: EqualityFields, column: str, n: int = 1) -> None:
    for attribute, value in fields.as_dict().items():
        table[attribute][value][column] += n


def composition(watchlist: Watchlist) -> dict[str, dict[str, int]]:
    """Subjects of an imported watchlist per group (counts only)."""
    out: dict[str, dict[str, int]] = {a.key: {} for a in ATTRIBUTES}
    for subject in watchlist.subjects:
        fields = EqualityFields.parse(**{a.key: subject.entry.extra.get(a.key, "")
                                         for a in ATTRIBUTES})
        for key, value in fields.as_dict().items():
            out[key][value] = out[key].get(value, 0) + 1
    return out


def note_composition(store: Store, reference: str, watchlist: Watchlist, by: str) -> None:
    """Audit the imported watchlist's groups (counts), which outlive the list itself; a
    watchlist without the equality columns adds nothing."""
    groups = composition(watchlist)
    if any(v != NOT_RECORDED for values in groups.values() for v in values):
        store.audit.record(by, COMPOSITION, {"reference": reference, "groups": groups})


def _latest(store: Store, action: str, reference: str) -> tuple[dict[str, Any], str] | None:
    rows = store.db.query(
        "SELECT details, at FROM audit WHERE action = ? "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq DESC LIMIT 1",
        (action, reference),
    )
    return (json.loads(rows[0][0]), rows[0][1]) if rows else None


def live_table(store: Store, reference: str) -> Table:
    """The counts from the alerts, decisions, outcomes and answers held now."""
    from console.reports.record import alert_lines

    table = empty_table()
    held = store.equality.watchlist_groups(reference)
    if held:
        for fields in held:
            _count(table, fields, "watchlist")
    elif noted := _latest(store, COMPOSITION, reference):
        for attribute, values in noted[0]["groups"].items():
            for value, n in values.items():
                if attribute in table and value in table[attribute]:
                    table[attribute][value]["watchlist"] = int(n)
    groups = {g.alert_id: g for g in store.equality.for_deployment(reference)}
    incidents: dict[str, list] = {}
    for line in alert_lines(store, reference):
        g = groups.get(line.alert_id)
        subject = g.subject if g else EqualityFields()
        _count(table, subject, "alerts")
        if line.alert_class in (AlertClass.FALSE, AlertClass.CONFIRMED_FALSE):
            _count(table, subject, "false_alerts")
        if line.decision == Decision.ENGAGE:
            incidents.setdefault(line.incident_key, []).append((line, g))
    outcome_column = {Outcome.ARRESTED: "arrests", Outcome.ADVICE: "advice",
                      Outcome.NOT_LOCATED: "not_located",
                      Outcome.CONFIRMED_FALSE: "confirmed_false"}
    for members in incidents.values():
        perceived = next((g.perceived for _, g in members if g and g.perceived), None)
        fields = perceived or EqualityFields()
        _count(table, fields, "engagements")
        outcome = next((line.counted_outcome for line, _ in members if line.counted_outcome),
                       None)
        if outcome is not None:
            _count(table, fields, outcome_column[outcome])
    return table


def tabulate(store: Store, reference: str, keep: bool = True,
             by: str = "console (deployment record)") -> EqualityTables:
    """The deployment's tables: live while its alerts are held (kept in the audit trail
    when they changed), the kept counts once alerts have been purged."""
    live = live_table(store, reference)
    kept = _latest(store, KEPT, reference)
    live_alerts = sum(c["alerts"] for c in live[ATTRIBUTES[0].key].values())
    if kept is not None:
        kept_table: Table = kept[0]["table"]
        kept_alerts = sum(c["alerts"] for c in kept_table[ATTRIBUTES[0].key].values())
        if live_alerts < kept_alerts:
            return EqualityTables(kept_table, kept[1])
    tables = EqualityTables(live)
    # Kept only when there is something to keep: a deployment without equality data
    # adds nothing to the trail.
    if keep and tables.any_recorded and (
            kept is None or canonical(kept[0]["table"]) != canonical(live)):
        store.audit.record(by, KEPT, {"reference": reference, "table": live})
    return tables


def summed(parts: Iterable[EqualityTables]) -> EqualityTables:
    """Several deployments' tables added up (the pilot evaluation)."""
    total = empty_table()
    for part in parts:
        for attribute, values in part.table.items():
            for value, counts in values.items():
                for column, n in counts.items():
                    if attribute in total and value in total[attribute]:
                        total[attribute][value][column] += n
    return EqualityTables(total)


def tables_html(tables: EqualityTables | None) -> str:
    """The record's and the evaluation's section (nothing when nothing was recorded)."""
    if tables is None or not tables.any_recorded:
        return ""
    from console.reports.html import _table

    parts = ["<h2>Equality monitoring</h2>",
             f'<p class="small">{escape(CAVEAT)}</p>']
    if tables.kept_at:
        parts.append(f'<p class="small">Counts kept at {escape(tables.kept_at)}: alerts '
                     "have since been deleted under the retention rules.</p>")
    for attribute in ATTRIBUTES:
        values = tables.table.get(attribute.key, {})
        rows = []
        listed = sum(c["watchlist"] for c in values.values())
        alerts = sum(c["alerts"] for c in values.values())
        for value, c in values.items():
            if not any(c.values()):
                continue
            rows.append([
                attribute.label_of(value) if value != NOT_RECORDED else "Not recorded",
                _share(c["watchlist"], listed), _share(c["alerts"], alerts),
                *(f"{c[k]:,}" for k in COLUMNS[2:]),
            ])
        if rows:
            parts.append(f"<p><b>{escape(attribute.label)}</b> (watchlist and alerts: the "
                         "subject's group as listed; engagements and outcomes: as "
                         "perceived)</p>")
            parts.append(_table(("Group", *HEADINGS), rows, css="list", first_width=22))
    return "".join(parts)


def _share(n: int, total: int) -> str:
    return f"{n:,} ({n / total:.0%})" if total else f"{n:,}"
