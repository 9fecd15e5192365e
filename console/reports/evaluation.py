"""A pilot's evaluation: the deployment records of a period and site, side by side and summed.

Built from the same ``deployment_record`` as each record (so from the live database, with
kept counts standing in for purged alerts), never from a stored report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from console.reports.figures import (
    NONE,
    AlertLine,
    Figures,
    field_figures,
    minutes_text,
    rate_text,
    total,
)
from console.reports.integrity import Integrity, check_record, require_intact
from console.reports.record import DEFAULT_ACTOR, DeploymentRecord, deployment_record, references

if TYPE_CHECKING:
    from console.storage import Store


@dataclass(frozen=True)
class Headline:
    """The pilot's headline numbers."""

    deployments: int
    arrests: int
    arrests_per_deployment: float | None
    minutes_per_arrest: float | None
    false_alert_rate: float | None  # false and confirmed false alerts per 1,000 faces seen

    def texts(self) -> dict[str, str]:
        """The headline as every view and export shows it: the figures' own formats."""
        per = self.arrests_per_deployment
        return {
            "Deployments": f"{self.deployments:,}",
            "Arrests": f"{self.arrests:,}",
            "Arrests per deployment": NONE if per is None else f"{per:,.2f}",
            "Minutes of use per arrest": minutes_text(self.minutes_per_arrest),
            "False alerts per 1,000 faces seen": rate_text(self.false_alert_rate),
        }


@dataclass(frozen=True)
class Evaluation:
    since: date | None
    until: date | None
    site: str | None
    records: tuple[DeploymentRecord, ...]
    total: Figures
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    integrity: Integrity | None = None  # whether the record verified (None: not checked)

    @property
    def banner(self) -> str | None:
        return self.integrity.banner() if self.integrity is not None else None

    @property
    def headline(self) -> Headline:
        t, n = self.total, len(self.records)
        return Headline(
            deployments=n,
            arrests=t.arrests,
            arrests_per_deployment=t.arrests / n if n else None,
            minutes_per_arrest=t.minutes_per_arrest,
            false_alert_rate=t.false_alert_rate,
        )

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.records)

    def scope(self) -> str:
        """The selection in words, for headings."""
        since = self.since.isoformat() if self.since else "the first deployment"
        until = self.until.isoformat() if self.until else "today"
        site = f"sites matching '{self.site}'" if self.site else "all sites"
        return f"Deployments started from {since} to {until}, {site}"


def checked_evaluation(
    store: Store, *scope: object, keep: bool = True, even_if_broken: bool = False, by: str = ""
) -> Evaluation:
    """``evaluate`` as reports show it (the same *scope*: since, until, site): the record
    verified first (RecordBrokenError if it fails, unless *even_if_broken*: then under the
    failure's banner, keeping nothing)."""
    integrity = check_record(store)
    require_intact(integrity, even_if_broken)
    return evaluate(
        store, *scope, keep=keep and integrity.intact, by=by or DEFAULT_ACTOR,  # type: ignore[arg-type]
        integrity=integrity,
    )


def evaluate(
    store: Store,
    since: date | None = None,
    until: date | None = None,
    site: str | None = None,
    *,
    keep: bool = True,
    by: str = DEFAULT_ACTOR,
    integrity: Integrity | None = None,
) -> Evaluation:
    """Every deployment that started within [since, until] (local dates, inclusive) at a
    site containing *site* (any case). Deployments never started have no figures."""
    site = site.strip() if site else None
    chosen = []
    for d in references(store):
        if d.started_at is None:
            continue
        day = d.started_at.astimezone().date()
        if (since and day < since) or (until and day > until):
            continue
        if site and site.casefold() not in d.site.casefold():
            continue
        chosen.append(deployment_record(store, d.reference, keep=keep, by=by))
    # Medians can only be pooled over alerts; once any were purged they are unknown.
    pooled: list[AlertLine] | None = None
    if all(r.complete for r in chosen):
        pooled = [line for r in chosen for line in r.alerts]
    summed = total([r.figures for r in chosen], pooled)
    # Officers on the ground: their steps are never purged, so these always pool.
    summed = replace(summed, **field_figures(
        [line for r in chosen for line in r.alerts], [d for r in chosen for d in r.dispatches]
    ))
    if not all(r.complete for r in chosen):  # the outcomes' split needs every alert
        summed = replace(
            summed,
            outcomes_on_the_ground=sum(r.figures.outcomes_on_the_ground for r in chosen),
            outcomes_at_the_desk=sum(r.figures.outcomes_at_the_desk for r in chosen),
        )
    return Evaluation(since, until, site, tuple(chosen), summed, integrity=integrity)


def sites(store: Store) -> list[str]:
    """The sites in the record, for the evaluation's site filter."""
    return sorted({d.site for d in references(store)})
