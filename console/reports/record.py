"""One deployment's record, read from the live database.

Retention and privacy: a record is *recomputed* from the database every time it is
produced, never stored as a document. Alerts purged by the retention rules are gone from
it: from the alert list, the charts over time and any export made after the purge.
What survives are deployment-level counts, which identify nobody:

- camera counts (faces seen, minutes live: sealed into the chain once a minute, so a
  count shown is at most a minute behind the cameras) and the watchlist size (the audit
  trail's "watchlist imported" entry) are never purged;
- each time a record is produced while its alerts are all still held, its figures
  (counts and median/worst durations, no alert ids, times or subjects) are kept as an
  audit entry "deployment figures kept" if they changed. The audit trail is append-only
  and hash-chained, so the published figures are tamper-evident too;
- once the database holds fewer alerts than the kept figures count, alerts have been
  purged: the record then shows the kept figures, says so, and lists only the alerts
  still held. Kept figures are frozen from then on.

Call ``keep_counts`` before ``purge_expired`` (and at conclusion) so that a deployment
nobody looked at still leaves its counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.domain.alerts import Decision, Outcome
from console.domain.deployments import Deployment, DeploymentState
from console.reports.figures import (
    AlertLine,
    CameraCounts,
    Figures,
    compute,
    field_figures,
    local_time,
    minutes_text,
)
from console.reports.integrity import Integrity, check_record, require_intact
from console.storage.bound import canonical
from console.storage.database import StorageError
from console.storage.field import FieldLog

if TYPE_CHECKING:
    from console.equality.monitoring import EqualityTables
    from console.storage import Store

KEPT = "deployment figures kept"
DEFAULT_ACTOR = "console (deployment record)"


class ReportError(Exception):
    """The report cannot be produced; the message says why."""


@dataclass(frozen=True)
class DeploymentRecord:
    deployment: Deployment
    figures: Figures
    alerts: tuple[AlertLine, ...]  # the alerts still held: purged ones are gone
    purged_alerts: int = 0  # counted in the figures, no longer in the record
    kept_at: str | None = None  # when the figures shown were kept, if from kept counts
    notes: tuple[str, ...] = field(default_factory=tuple)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The audit trail's head when the deployment concluded (sequence number, MAC): an
    # anchor outside the record, for `audit verify --anchor SEQ:MAC`.
    audit_head: tuple[int, str] | None = None
    # Every operating point in force while it ran, and for how long.
    operating_points: tuple[OperatingPeriod, ...] = ()
    # Cameras that failed, when, and why.
    camera_failures: tuple[CameraFailure, ...] = ()
    # Whether the record verified when this was made (None: not checked, e.g. the copy
    # kept at conclusion); a broken record's report carries its banner.
    integrity: Integrity | None = None

    # The per-group evaluation of the matcher the deployment relied on (#27), in words.
    equality_report: str | None = None
    equality: EqualityTables | None = None  # alerts and engagements by group (#27)

    # Incidents sent to officers' phones (console.storage.field), for pooled figures.
    dispatches: tuple = ()

    @property
    def banner(self) -> str | None:
        return self.integrity.banner() if self.integrity is not None else None

    @property
    def reference(self) -> str:
        return self.deployment.reference

    @property
    def complete(self) -> bool:
        """Every alert in the figures is still in the record."""
        return self.purged_alerts == 0

    @property
    def start(self) -> datetime:
        return self.deployment.started_at or self.deployment.planned_start

    @property
    def end(self) -> datetime:
        return self.deployment.concluded_at or self.deployment.planned_end

    def facts(self) -> list[tuple[str, str]]:
        """The deployment's particulars, as the record's heading shows them."""
        d = self.deployment
        start = (
            local_time(d.started_at) if d.started_at else f"{local_time(d.planned_start)} (planned)"
        )
        end = (
            local_time(d.concluded_at)
            if d.concluded_at
            else f"{local_time(d.planned_end)} (planned)"
        )
        facts = [
            ("Reference", d.reference),
            ("Site", d.site),
            ("Cameras", ", ".join(d.cameras)),
            ("Authorising officer", f"{d.authorised_rank} {d.authorised_by}"),
            ("Start", start),
            ("End", end),
            ("State", d.state.value),
        ]
        periods = self.operating_points
        if not periods:
            facts.append(("Match threshold", f"{d.threshold:.3f}"))
        for n, period in enumerate(periods, start=1):
            label = "Operating point" if len(periods) == 1 else f"Operating point {n}"
            facts.append((label, period.text()))
        for failure in self.camera_failures:
            facts.append((f"Camera {failure.camera}", failure.text()))
        if self.equality_report:
            facts.append(("Equality report", self.equality_report))
        if self.audit_head is not None:
            facts.append(("Audit head at conclusion", anchor_text(*self.audit_head)))
        return facts


@dataclass(frozen=True)
class OperatingPeriod:
    """An operating point in force over a stretch of the deployment (from the audit trail:
    set at the import, changed by a supervisor)."""

    rate: str | None  # "1 in 1,000"; None when the record does not say (planned only)
    threshold: float
    start: datetime | None  # None: the deployment has not started
    end: datetime | None  # None: still in force
    set_by: str = ""
    reason: str = ""

    @property
    def minutes(self) -> float | None:
        if self.start is None:
            return None
        end = self.end or datetime.now(UTC)
        return max(0.0, (end - self.start).total_seconds() / 60)

    def text(self) -> str:
        what = f"{self.rate} passers-by" if self.rate else "rate not recorded"
        line = f"{what} (match distance {self.threshold:.3f})"
        if self.start is None:
            return f"{line}, planned"
        until = local_time(self.end) if self.end else "in force now"
        line += f", {local_time(self.start)} to {until} ({minutes_text(self.minutes)} min)"
        if self.reason:
            line += f"; reason: {self.reason}"
        return line


@dataclass(frozen=True)
class CameraFailure:
    camera: str
    failed_at: datetime | None
    why: str

    def text(self) -> str:
        when = local_time(self.failed_at) if self.failed_at else "at a time not recorded"
        why = f": {self.why}" if self.why else ""
        return f"FAILED {when}{why} (only its live time is counted)"


def operating_points(store: Store, d: Deployment) -> tuple[OperatingPeriod, ...]:
    """Each operating point in force while *d* ran, from the audit trail's entries in the
    chain's order: the one set before the start holds from the start; each change starts
    the next; the conclusion ends the last. Times are the entries' own."""
    rows = store.db.query(
        "SELECT actor, action, at, details FROM audit WHERE action IN (?,?,?,?,?) "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq",
        (*_OPERATING_ACTIONS, d.reference),
    )
    current: tuple[str | None, float, str, str] = (None, d.threshold, "", "")
    periods: list[OperatingPeriod] = []
    start: datetime | None = None
    for actor, action, at, text in rows:
        details, when = json.loads(text), datetime.fromisoformat(at)
        if action == "deployment started":
            start = when
        elif action == "deployment concluded":
            if start is not None:
                periods.append(OperatingPeriod(current[0], current[1], start, when, *current[2:]))
            return tuple(periods)
        else:
            threshold = details.get("new_threshold", details.get("threshold"))
            if threshold is None:
                continue
            rate = details.get("false_alert_rate")
            reason = str(details.get("reason") or "") if action == RATE_CHANGED else ""
            if start is not None:
                periods.append(OperatingPeriod(current[0], current[1], start, when, *current[2:]))
                start = when
            current = (str(rate) if rate else None, float(threshold), actor, reason)
    periods.append(OperatingPeriod(current[0], current[1], start, None, *current[2:]))
    return tuple(periods)


RATE_CHANGED = "false-alert rate changed"
_OPERATING_ACTIONS = (
    "deployment planned",
    "operating point set",
    RATE_CHANGED,
    "deployment started",
    "deployment concluded",
)


def camera_failures(store: Store, reference: str) -> tuple[CameraFailure, ...]:
    """Cameras the sealed counts say failed, with when and why."""
    found = []
    for camera, (_, failed_at, why) in sorted(store.deployments.camera_states(reference).items()):
        if failed_at:
            found.append(CameraFailure(camera, datetime.fromisoformat(failed_at), why or ""))
    return tuple(found)


def anchor_text(seq: int, mac: str) -> str:
    """SEQ:MAC with the MAC in groups of 8, so it wraps and can be read out and typed."""
    return f"{seq}:" + " ".join(mac[i : i + 8] for i in range(0, len(mac), 8))


def audit_head_at_conclusion(store: Store, reference: str) -> tuple[int, str] | None:
    """The audit entry that concluded the deployment: everything decided in it lies before
    it in the keyed chain, so this one entry anchors the deployment's whole record."""
    rows = store.db.query(
        "SELECT seq, hash FROM audit WHERE action = 'deployment concluded' "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq LIMIT 1",
        (reference,),
    )
    return (rows[0][0], rows[0][1]) if rows else None


def references(store: Store) -> list[Deployment]:
    """Every deployment in the record, oldest first."""
    rows = store.db.query("SELECT reference FROM deployments")
    found = [d for (ref,) in rows if (d := store.deployments.get(ref)) is not None]
    return sorted(found, key=lambda d: d.started_at or d.planned_start)


def alert_lines(store: Store, reference: str) -> list[AlertLine]:
    """The deployment's alerts with their decisions: only what the figures need, never the
    subject's name or id, the crops, the officers or their notes."""
    # Outcome corrections came with schema version 5: a record read as it is (a report
    # with --even-if-broken) may be older and lack the table.
    corrected = bool(store.db.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outcome_corrections'"
    ))
    outcome_correction = (
        """(SELECT outcome FROM outcome_corrections WHERE alert_id = a.alert_id
            ORDER BY seq DESC LIMIT 1)""" if corrected else "NULL"
    )
    rows = store.db.query(
        f"""SELECT a.alert_id, a.camera, a.category, a.raised_at, d.decision, d.decided_at,
                  c.decision, o.outcome, o.recorded_at, {outcome_correction}
           FROM alerts a
           LEFT JOIN decisions d USING (alert_id)
           LEFT JOIN outcomes o USING (alert_id)
           LEFT JOIN corrections c ON c.seq = (
               SELECT MAX(seq) FROM corrections WHERE alert_id = a.alert_id)
           WHERE a.deployment = ? ORDER BY a.raised_at, a.alert_id""",
        (reference,),
    )
    incidents = decided_incidents(store) if rows else {}
    return [
        AlertLine(
            alert_id=r[0],
            camera=r[1],
            category=r[2],
            raised_at=datetime.fromisoformat(r[3]),
            original=Decision(r[4]) if r[4] else None,
            decided_at=datetime.fromisoformat(r[5]) if r[5] else None,
            correction=Decision(r[6]) if r[6] else None,
            outcome=Outcome(r[7]) if r[7] else None,
            outcome_at=datetime.fromisoformat(r[8]) if r[8] else None,
            incident=incidents.get(r[0]),
            outcome_correction=Outcome(r[9]) if r[9] else None,
        )
        for r in rows
    ]


def decided_incidents(store: Store) -> dict[str, str]:
    """Which incident each decided alert was decided in, from the audit trail (where the
    chain protects it); alerts decided before incidents existed are absent."""
    rows = store.db.query(
        "SELECT json_extract(details, '$.alert_id'), json_extract(details, '$.incident') "
        "FROM audit WHERE action = 'alert adjudicated' "
        "AND json_extract(details, '$.incident') IS NOT NULL"
    )
    return {str(alert_id): str(incident) for alert_id, incident in rows}


def camera_counts(store: Store, reference: str) -> dict[str, CameraCounts]:
    return {c: CameraCounts(*v) for c, v in store.deployments.counts(reference).items()}


def watchlist_size(store: Store, reference: str) -> int | None:
    """The watchlist's size as imported, from the audit trail.

    ``deployments.watchlist_size`` is 0 once the watchlist is deleted at conclusion, so
    the last "watchlist imported" entry is used (a deployment's watchlist can be replaced
    only before it starts, so the last import is the one it ran with), then the
    "watchlist deleted" entry's count.
    """
    imported = _audit_details(store, "watchlist imported", reference)
    if imported and "subjects" in imported[-1]:
        return int(imported[-1]["subjects"])
    deleted = _audit_details(store, "watchlist deleted", reference)
    if deleted and "subjects_deleted" in deleted[-1]:
        return int(deleted[-1]["subjects_deleted"])
    return None


def kept_figures(store: Store, reference: str) -> tuple[Figures, str] | None:
    """The figures last kept for the deployment, and when."""
    rows = store.db.query(
        "SELECT at, details FROM audit WHERE action = ? "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq DESC LIMIT 1",
        (KEPT, reference),
    )
    if not rows:
        return None
    return Figures.from_dict(json.loads(rows[0][1])["figures"]), rows[0][0]


def _audit_details(store: Store, action: str, reference: str) -> list[dict]:
    rows = store.db.query(
        "SELECT details FROM audit WHERE action = ? "
        "AND json_extract(details, '$.reference') = ? ORDER BY seq",
        (action, reference),
    )
    return [json.loads(d) for (d,) in rows]


def checked_record(
    store: Store,
    reference: str,
    *,
    keep: bool = True,
    by: str = DEFAULT_ACTOR,
    even_if_broken: bool = False,
    max_age_s: float | None = None,
) -> DeploymentRecord:
    """The record as a report shows it: verified first; RecordBrokenError (a refusal) if
    it fails, unless *even_if_broken* (then it carries the failure's banner, and no
    figures are kept from it). *max_age_s*: see ``check_record``."""
    integrity = check_record(store, max_age_s)
    require_intact(integrity, even_if_broken)
    return deployment_record(
        store, reference, keep=keep and integrity.intact, by=by, integrity=integrity
    )


def deployment_record(
    store: Store,
    reference: str,
    *,
    keep: bool = True,
    by: str = DEFAULT_ACTOR,
    integrity: Integrity | None = None,
) -> DeploymentRecord:
    """The deployment's record as the database holds it now (see the module docstring).

    With *keep*, figures computed from a complete set of alerts are kept in the audit
    trail when they changed; a database that cannot be written is noted, not fatal.
    """
    d = store.deployments.get(reference)
    if d is None:
        raise ReportError(f"no deployment {reference!r} in the record")
    lines = alert_lines(store, reference)
    live = compute(
        lines, camera_counts(store, reference), watchlist_size(store, reference), d.cameras
    )
    # Officers on the ground: their steps are in the audit trail, never purged.
    dispatches = FieldLog(store.db, None).dispatches(reference)  # reads only
    live = replace(live, **field_figures(lines, dispatches))
    kept = kept_figures(store, reference)
    notes: list[str] = []
    figures, purged, kept_at = live, 0, None
    if kept is not None and live.alerts < kept[0].alerts:
        figures, kept_at = kept
        purged = figures.alerts - live.alerts
        notes.append(
            f"{purged} of {figures.alerts} alerts have been deleted under the retention rules: "
            f"the figures are the counts kept at {local_time(datetime.fromisoformat(kept_at))}; "
            f"the alert list and the chart over time show the {live.alerts} still held."
        )
    elif keep and d.started_at is not None and (kept is None or _differ(kept[0], live)):
        try:
            _keep(store, reference, live, by)
        except StorageError as exc:
            notes.append(f"The figures could not be kept in the audit trail: {exc}")
    notes += _notes(d, figures)
    if integrity is not None and integrity.intact:  # a broken one has its banner instead
        notes.insert(0, integrity.note())
    return DeploymentRecord(
        d,
        figures,
        tuple(lines),
        purged,
        kept_at,
        tuple(notes),
        audit_head=audit_head_at_conclusion(store, reference),
        operating_points=operating_points(store, d),
        camera_failures=camera_failures(store, reference),
        integrity=integrity,
        equality_report=_equality_report(store, reference),
        equality=tabulate_equality(store, reference, keep=keep, by=by),
        dispatches=tuple(dispatches),
    )


def tabulate_equality(store: Store, reference: str, keep: bool, by: str) -> EqualityTables:
    from console.equality.monitoring import tabulate

    return tabulate(store, reference, keep=keep, by=by)


def _equality_report(store: Store, reference: str) -> str | None:
    from console.equality.approval import referenced

    report = referenced(store, reference)
    return report.describe() if report else None


def _differ(a: Figures, b: Figures) -> bool:
    return canonical(a.to_dict()) != canonical(b.to_dict())


def _keep(store: Store, reference: str, figures: Figures, by: str) -> None:
    with store.db.transaction() as conn:
        store.audit.append(conn, by, KEPT, {"reference": reference, "figures": figures.to_dict()})


def _notes(d: Deployment, f: Figures) -> list[str]:
    notes = []
    if d.state != DeploymentState.CONCLUDED:
        notes.append(
            f"The deployment is {d.state.value}: these are the figures so far (camera counts "
            "are sealed into the record once a minute, so they may be up to a minute behind "
            "the cameras)."
        )
    if f.watchlist_size is None:
        notes.append("No watchlist import for this deployment is in the audit trail.")
    if f.outcomes_set_aside:
        n = f.outcomes_set_aside
        notes.append(
            f"{n} {'outcome was' if n == 1 else 'outcomes were'} recorded for alerts whose "
            "decision was later corrected away from Engage; not counted as outcomes."
        )
    return notes


def keep_counts(store: Store, by: str = DEFAULT_ACTOR) -> int:
    """Keep the figures of every started deployment whose alerts are all held and whose
    figures changed; return how many were kept. Run it before a retention purge."""
    kept = 0
    for d in references(store):
        if d.started_at is None:
            continue
        before = kept_figures(store, d.reference)
        deployment_record(store, d.reference, keep=True, by=by)
        after = kept_figures(store, d.reference)
        kept += before != after
    return kept
