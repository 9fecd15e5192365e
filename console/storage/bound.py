"""Which rows are bound into the audit chain, and their content digests.

An entry that writes a row that matters carries that row's digest (``bound``), read in
the same transaction, so the verifier can check the tables against the chain both ways.
A row is digested with every column (blobs by their own SHA-256), so any edit shows.

Two kinds of binding:

- **rows** (``BOUND_TABLES``): one digest per row, by its key column;
- **groups** (``GROUPED_TABLES``): one digest over all the rows that share a key, e.g. a
  deployment's 10,000 watchlist subjects in one entry, or its cameras' counts.

Other parts of the console bind their own tables by adding them here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Group:
    """Rows of *table* digested together, one digest per value of *column*."""

    table: str
    column: str
    order: str  # the column that orders the rows within a group
    label: str  # how a message names one group


@dataclass(frozen=True)
class Binding:
    """What one chain binds: its tables by key column, and its groups, by bound name."""

    rows: dict[str, str]
    groups: dict[str, Group]

    def names(self) -> list[str]:
        return [*self.rows, *self.groups]

    def label(self, name: str) -> str:
        return self.groups[name].label if name in self.groups else f"{name} row"


# The record (console.db). Tables are bound by their key column.
BOUND_TABLES: dict[str, str] = {
    "officers": "username",
    "officer_status": "username",
    "deployments": "reference",
    "alerts": "alert_id",
    "decisions": "alert_id",
    "outcomes": "alert_id",
    "corrections": "seq",
    "site_policy": "id",
}
WATCHLIST = "watchlist"
COUNTS = "camera_counts"
GROUPED_TABLES: dict[str, Group] = {
    WATCHLIST: Group("watchlist_subjects", "deployment", "subject_id", "the watchlist of"),
    COUNTS: Group("camera_counts", "deployment", "camera", "the camera counts of"),
}
RECORD = Binding(BOUND_TABLES, GROUPED_TABLES)

# Trainees' runs (training.db): their own chain, sealed with the same key.
TRAINING = Binding(
    {"training_runs": "run_id"},
    {
        "training_decisions": Group(
            "training_decisions", "run_id", "alert_id", "the training decisions of run"
        )
    },
)

Row = tuple[str, str]  # (bound name, key)


def _value(v: Any) -> Any:
    # Blobs (crops, photos, encodings) by their own digest: the row digest stays small.
    return {"sha256": hashlib.sha256(v).hexdigest()} if isinstance(v, bytes) else v


def _digest_row(columns: list[str], values: tuple) -> str:
    body = json.dumps([[c, _value(v)] for c, v in zip(columns, values, strict=True)])
    return hashlib.sha256(body.encode()).hexdigest()


def table_digests(
    conn: sqlite3.Connection, name: str, key: str | None = None, binding: Binding = RECORD
) -> dict[str, str]:
    """Each row's (or group's) content digest, by key: every one, or the one with *key*."""
    if name in binding.groups:
        return _group_digests(conn, binding.groups[name], key)
    column = binding.rows[name]
    sql = f"SELECT * FROM {name}" + (f" WHERE {column} = ?" if key is not None else "")
    cursor = conn.execute(sql, (key,) if key is not None else ())
    columns = [d[0] for d in cursor.description]
    at = columns.index(column)
    return {str(row[at]): _digest_row(columns, row) for row in cursor}


def _group_digests(conn: sqlite3.Connection, group: Group, key: str | None) -> dict[str, str]:
    where, params = (f" WHERE {group.column} = ?", (key,)) if key is not None else ("", ())
    cursor = conn.execute(
        f"SELECT * FROM {group.table}{where} ORDER BY {group.column}, {group.order}", params
    )
    columns = [d[0] for d in cursor.description]
    at = columns.index(group.column)
    per: dict[str, Any] = {}
    for row in cursor:
        per.setdefault(str(row[at]), hashlib.sha256()).update(_digest_row(columns, row).encode())
    return {k: h.hexdigest() for k, h in per.items()}


def row_digest(
    conn: sqlite3.Connection, name: str, key: str, binding: Binding = RECORD
) -> str | None:
    """The digest of one row (or group) as it is now; None when there is none."""
    return table_digests(conn, name, key, binding).get(str(key))
