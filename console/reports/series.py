"""What the charts show, as plain data: the console view and the PDF paint the same thing.

Every chart is a bar chart, stacked by alert class (coloured by decision) unless it has a
single series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.reports.evaluation import Evaluation
from console.reports.figures import AlertClass, AlertLine, CameraFigures
from console.reports.record import DeploymentRecord

# Bucket widths to choose from, in minutes: the narrowest that gives at most MAX_BUCKETS.
BUCKET_MINUTES = (5, 10, 15, 30, 60, 120, 240, 480, 1440)
MAX_BUCKETS = 16


@dataclass(frozen=True)
class Series:
    key: str  # an AlertClass value, or a free key for single-series charts
    label: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class BarChart:
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    note: str = ""  # shown under the title (what is left out, and why)
    empty_text: str = "No alerts"
    decimals: int = 0  # for the value printed above each bar

    @property
    def totals(self) -> tuple[float, ...]:
        return tuple(sum(v) for v in zip(*(s.values for s in self.series), strict=True))

    @property
    def is_empty(self) -> bool:
        return not self.categories or not any(self.totals)


def _stacked(classes_per_bar: list[list[AlertClass]]) -> tuple[Series, ...]:
    return tuple(
        Series(c.value, c.label, tuple(float(bar.count(c)) for bar in classes_per_bar))
        for c in AlertClass
    )


def bucket_width(start: datetime, end: datetime) -> timedelta:
    span = max((end - start).total_seconds(), 1.0)
    for minutes in BUCKET_MINUTES:
        if span / (minutes * 60) <= MAX_BUCKETS:
            return timedelta(minutes=minutes)
    return timedelta(minutes=BUCKET_MINUTES[-1])


def _floor(t: datetime, width: timedelta) -> datetime:
    # Whole multiples of the width since the epoch: for widths up to an hour the buckets
    # start on the clock's quarter and half hours in any whole-hour time zone.
    step = width.total_seconds()
    return datetime.fromtimestamp(t.timestamp() // step * step, UTC)


def alerts_over_time(record: DeploymentRecord) -> BarChart:
    """Alerts per time bucket over the deployment, stacked by the decision in force."""
    lines: tuple[AlertLine, ...] = record.alerts
    note = ""
    if record.purged_alerts:
        note = f"{record.purged_alerts} alerts deleted under retention are not shown"
    title = "Alerts and decisions over time"
    if not lines:
        return BarChart(title, (), _stacked([]), note, "No alerts held")
    # A deployment still running is drawn up to its last alert, not its planned end.
    start = min(record.start, lines[0].raised_at)
    end = max(record.deployment.concluded_at or start, lines[-1].raised_at)
    width = bucket_width(start, end)
    first = _floor(start, width)
    count = max(1, math.ceil((end - first) / width))
    bars: list[list[AlertClass]] = [[] for _ in range(count)]
    for line in lines:
        bars[min(int((line.raised_at - first) / width), count - 1)].append(line.alert_class)
    fmt = "%H:%M" if end - start < timedelta(days=1) else "%d %b %H:%M"
    labels = tuple((first + i * width).astimezone().strftime(fmt) for i in range(count))
    minutes = int(width.total_seconds() // 60)
    return BarChart(f"{title} (per {minutes} min)", labels, _stacked(bars), note)


def alerts_per_camera(record: DeploymentRecord) -> BarChart:
    """Alerts per camera, stacked by decision: from the figures, so kept after a purge."""
    cams = record.figures.cameras
    series = tuple(
        Series(c.value, c.label, tuple(float(_camera_count(cam, c)) for cam in cams))
        for c in AlertClass
    )
    return BarChart("Alerts per camera", tuple(c.camera for c in cams), series)


def _camera_count(cam: CameraFigures, alert_class: AlertClass) -> int:
    return {
        AlertClass.ENGAGED: cam.engaged,
        AlertClass.DISMISSED: cam.dismissed,
        AlertClass.FALSE: cam.false_alerts,
        AlertClass.CONFIRMED_FALSE: cam.confirmed_false,
        AlertClass.UNDECIDED: cam.undecided,
    }[alert_class]


def _deployment_label(record: DeploymentRecord) -> str:
    return f"{record.start.astimezone():%d %b %Y}\n{record.reference}"


def alerts_per_deployment(evaluation: Evaluation) -> BarChart:
    """The trend: each deployment's alerts, in order of start, stacked by decision."""
    records = evaluation.records
    f = [r.figures for r in records]
    values = {
        AlertClass.ENGAGED: [x.engagements - x.confirmed_false_alerts for x in f],
        AlertClass.DISMISSED: [x.dismissals for x in f],
        AlertClass.FALSE: [x.false_alerts for x in f],
        AlertClass.CONFIRMED_FALSE: [x.confirmed_false_alerts for x in f],
        AlertClass.UNDECIDED: [x.undecided for x in f],
    }
    series = tuple(Series(c.value, c.label, tuple(float(v) for v in values[c])) for c in AlertClass)
    labels = tuple(_deployment_label(r) for r in records)
    return BarChart("Alerts per deployment", labels, series, empty_text="No deployments")


def arrests_per_deployment(evaluation: Evaluation) -> BarChart:
    records = evaluation.records
    values = tuple(float(r.figures.arrests) for r in records)
    return BarChart(
        "Arrests per deployment",
        tuple(_deployment_label(r) for r in records),
        (Series("arrests", "Arrests", values),),
        empty_text="No arrests",
    )


def false_alert_rate_per_deployment(evaluation: Evaluation) -> BarChart:
    records = evaluation.records
    values = tuple(r.figures.false_alert_rate or 0.0 for r in records)
    # False alerts without faces counted have no rate: say so rather than draw "none".
    unknown = [
        r.reference
        for r in records
        if r.figures.false_alert_rate is None
        and r.figures.false_alerts + r.figures.confirmed_false_alerts
    ]
    note = f"No faces counted, so no rate, for {', '.join(unknown)}" if unknown else ""
    return BarChart(
        "False alerts per 1,000 faces seen",
        tuple(_deployment_label(r) for r in records),
        (Series("rate", "False + confirmed false per 1,000 faces", values),),
        note=note,
        empty_text="No rate: false alerts, but no faces counted" if unknown else "No false alerts",
        decimals=3,
    )
