"""The figures a force publishes about a deployment, computed from its alerts and counts.

Plain Python, no Qt and no database: ``compute`` takes the deployment's alert lines and
camera counts (read by ``console.reports.record``) and returns counts and durations only.

The definitions are in ``DEFINITIONS`` below: every report prints them. In short (UK
vocabulary), each alert falls in exactly one class, so the classes add up to the alerts:
engaged, dismissed (the two *true* classes), false (rejected at the desk as a false
match), confirmed false (engaged, not the subject on the ground) and undecided; the
latest correction of a decision supersedes the original in every figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from console.domain.alerts import Decision, Outcome

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Decision in force",
        "The officer's adjudication of an alert, unless a supervisor corrected it: the latest "
        "correction supersedes the original decision in every figure.",
    ),
    ("Alerts", "Every alert raised in the deployment and still counted (see retention)."),
    (
        "Incidents",
        "Repeat sightings of one subject, on any camera within a few minutes, decided "
        "together by one decision of the officer; an alert decided on its own (or not yet "
        "decided) is an incident of its own.",
    ),
    (
        "True alerts",
        "Decision in force Engage or Dismiss, less the confirmed false alerts.",
    ),
    (
        "False alerts",
        "Decision in force False match: the officer rejected the alert at the desk because "
        "the face and the watchlist photo were of different people.",
    ),
    (
        "Confirmed false alerts",
        "Decision in force Engage, and officers on the ground reported that the person "
        "stopped was not the subject (outcome Confirmed false).",
    ),
    (
        "Engagements",
        "Incidents whose decision in force is Engage (including the confirmed false): "
        "officers sent to one person once count once, however many sightings it held.",
    ),
    (
        "Outcomes",
        "Arrests, conditions checked / advice, not located: counted once per incident, and "
        "only for alerts whose decision in force is Engage. An outcome recorded before a "
        "correction took its alert away from Engage is set aside, not counted.",
    ),
    (
        "Per incident or per alert",
        "Every count says what it counts. Alerts: one per sighting the console raised. "
        "Incidents: the alerts decided together about one person (Engagements, arrests and "
        "other outcomes are per incident, so one person stopped once counts once). The "
        "per-camera columns count alerts, so they can sum to more than the incidents.",
    ),
    (
        "Minutes live",
        "How long the cameras were analysing faces. A camera is credited only while it was "
        "live: a camera that failed, ended or was reconnecting adds nothing. This is the "
        "largest camera's time; the sum over cameras is given as camera-minutes. Counts are "
        "sealed into the record once a minute.",
    ),
    (
        "Watchlist size",
        "Subjects on the watchlist when it was imported (from the audit trail: the list "
        "itself is deleted when the deployment concludes). Not summed over deployments.",
    ),
    (
        "Faces seen",
        "Faces the cameras followed, summed over cameras: a person in view counts once per "
        "pass per camera (however many frames), so a passer-by seen by both cameras, or "
        "passing twice, counts twice. Only the count is kept, never the faces.",
    ),
    (
        "Time to adjudication",
        "From the alert being raised to the officer's decision (a later correction does "
        "not reset it). Median and worst.",
    ),
    (
        "Time to outcome",
        "From the alert being raised to the outcome being recorded, for counted outcomes.",
    ),
    ("Minutes of use per arrest", "Minutes live divided by arrests."),
    (
        "Time to dispatch",
        "For incidents sent to officers' phones (docs/field.md): from the officer at the desk "
        "engaging to the first phone showing it. Median and worst.",
    ),
    (
        "Time to locate",
        "From the engagement to an officer on the ground tapping Located on their phone: "
        "measured in the street, not when the desk typed an outcome. Median and worst.",
    ),
    (
        "Outcomes by who recorded them",
        "Incidents whose outcome an officer on the ground recorded on their phone (the outcome "
        "of record, attributed to them), and incidents whose outcome was recorded at the desk.",
    ),
    (
        "False alert rate",
        "False and confirmed false alerts per 1,000 faces seen: every alert that flagged the "
        "wrong person, whoever found it out.",
    ),
)


class AlertClass(StrEnum):
    """Where an alert ends up in the figures: one class each, so the classes sum up."""

    ENGAGED = "engaged"  # true alert, engaged, not confirmed false
    DISMISSED = "dismissed"  # true alert, not engaged
    FALSE = "false"  # rejected at the desk as a false match
    CONFIRMED_FALSE = "confirmed_false"  # engaged, and not the subject on the ground
    UNDECIDED = "undecided"

    @property
    def label(self) -> str:
        return {
            "engaged": "Engaged",
            "dismissed": "Dismissed",
            "false": "False alert",
            "confirmed_false": "Confirmed false",
            "undecided": "Undecided",
        }[self]


@dataclass(frozen=True)
class AlertLine:
    """One alert as reports show it: no name, no subject id, no image."""

    alert_id: str
    camera: str
    category: str
    raised_at: datetime
    original: Decision | None
    decided_at: datetime | None
    correction: Decision | None  # the latest correction, if any
    outcome: Outcome | None  # as recorded, even if set aside (see ``counted_outcome``)
    outcome_at: datetime | None
    incident: str | None = None  # the incident it was decided in, if the record says
    # The latest correction of the outcome (a supervisor's, with a reason), if any.
    outcome_correction: Outcome | None = None

    @property
    def incident_key(self) -> str:
        """The incident an alert counts in: an alert decided on its own (or not yet
        decided) is an incident of its own."""
        return self.incident or self.alert_id

    @property
    def decision(self) -> Decision | None:
        """The decision in force: the latest correction supersedes the original."""
        return self.correction or self.original

    @property
    def outcome_in_force(self) -> Outcome | None:
        """The latest correction of the outcome supersedes the outcome first recorded."""
        return self.outcome_correction or self.outcome

    @property
    def counted_outcome(self) -> Outcome | None:
        return self.outcome_in_force if self.decision == Decision.ENGAGE else None

    @property
    def outcome_set_aside(self) -> bool:
        return self.outcome is not None and self.counted_outcome is None

    @property
    def alert_class(self) -> AlertClass:
        if self.decision is None:
            return AlertClass.UNDECIDED
        if self.decision == Decision.FALSE_MATCH:
            return AlertClass.FALSE
        if self.decision == Decision.DISMISS:
            return AlertClass.DISMISSED
        if self.counted_outcome == Outcome.CONFIRMED_FALSE:
            return AlertClass.CONFIRMED_FALSE
        return AlertClass.ENGAGED

    @property
    def seconds_to_adjudication(self) -> float | None:
        if self.decided_at is None:
            return None
        return (self.decided_at - self.raised_at).total_seconds()

    @property
    def seconds_to_outcome(self) -> float | None:
        if self.counted_outcome is None or self.outcome_at is None:
            return None
        return (self.outcome_at - self.raised_at).total_seconds()


@dataclass(frozen=True)
class CameraFigures:
    camera: str
    live_seconds: float = 0.0
    faces_seen: int = 0
    alerts: int = 0
    engaged: int = 0
    dismissed: int = 0
    false_alerts: int = 0
    confirmed_false: int = 0
    undecided: int = 0


@dataclass(frozen=True)
class Figures:
    """Counts and durations only: what may be kept after the alerts themselves are purged."""

    live_minutes: float = 0.0
    camera_minutes: float = 0.0
    watchlist_size: int | None = None  # None: no import in the audit trail
    faces_seen: int = 0
    alerts: int = 0
    incidents: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    confirmed_false_alerts: int = 0
    undecided: int = 0
    engagements: int = 0
    dismissals: int = 0
    arrests: int = 0
    advice: int = 0
    not_located: int = 0
    awaiting_outcome: int = 0
    outcomes_set_aside: int = 0
    corrected: int = 0
    adjudication_median_s: float | None = None
    adjudication_worst_s: float | None = None
    outcome_median_s: float | None = None
    outcome_worst_s: float | None = None
    cameras: tuple[CameraFigures, ...] = field(default_factory=tuple)
    # Officers on the ground (field_figures below): 0 and None without a field service.
    dispatched: int = 0
    outcomes_on_the_ground: int = 0
    outcomes_at_the_desk: int = 0
    dispatch_median_s: float | None = None
    dispatch_worst_s: float | None = None
    locate_median_s: float | None = None
    locate_worst_s: float | None = None

    @property
    def minutes_per_arrest(self) -> float | None:
        return self.live_minutes / self.arrests if self.arrests else None

    @property
    def false_alert_rate(self) -> float | None:
        """False and confirmed false alerts per 1,000 faces seen."""
        if not self.faces_seen:
            return None
        return (self.false_alerts + self.confirmed_false_alerts) * 1000 / self.faces_seen

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figures:
        """Read kept counts; keys written by an older console are ignored, missing ones
        take their defaults."""
        known = {f.name for f in fields(cls)} - {"cameras"}
        cam_known = {f.name for f in fields(CameraFigures)}
        cameras = tuple(
            CameraFigures(**{k: v for k, v in c.items() if k in cam_known})
            for c in data.get("cameras", [])
        )
        return cls(**{k: v for k, v in data.items() if k in known}, cameras=cameras)


@dataclass(frozen=True)
class CameraCounts:
    """One camera's row of ``camera_counts``."""

    faces_seen: int
    frames_analysed: int
    live_seconds: float


def compute(
    lines: Sequence[AlertLine],
    counts: dict[str, CameraCounts],
    watchlist_size: int | None,
    cameras: Iterable[str] = (),
) -> Figures:
    """Every figure of one deployment from its alerts, camera counts and watchlist size."""
    classes = [line.alert_class for line in lines]
    to_adjudication = [s for line in lines if (s := line.seconds_to_adjudication) is not None]
    to_outcome = [s for line in lines if (s := line.seconds_to_outcome) is not None]
    live = [c.live_seconds for c in counts.values()]
    engaged = classes.count(AlertClass.ENGAGED)
    confirmed_false = classes.count(AlertClass.CONFIRMED_FALSE)
    dismissed = classes.count(AlertClass.DISMISSED)
    return Figures(
        live_minutes=max(live, default=0.0) / 60,
        camera_minutes=sum(live) / 60,
        watchlist_size=watchlist_size,
        faces_seen=sum(c.faces_seen for c in counts.values()),
        alerts=len(lines),
        incidents=len({line.incident_key for line in lines}),
        true_alerts=engaged + dismissed,
        false_alerts=classes.count(AlertClass.FALSE),
        confirmed_false_alerts=confirmed_false,
        undecided=classes.count(AlertClass.UNDECIDED),
        engagements=_incidents(lines, lambda line: line.decision == Decision.ENGAGE),
        dismissals=dismissed,
        arrests=_incidents(lines, lambda line: line.counted_outcome == Outcome.ARRESTED),
        advice=_incidents(lines, lambda line: line.counted_outcome == Outcome.ADVICE),
        not_located=_incidents(lines, lambda line: line.counted_outcome == Outcome.NOT_LOCATED),
        awaiting_outcome=_incidents(
            lines, lambda line: line.decision == Decision.ENGAGE and line.outcome is None
        ),
        outcomes_set_aside=sum(1 for line in lines if line.outcome_set_aside),
        corrected=sum(1 for line in lines if line.correction is not None),
        adjudication_median_s=_median(to_adjudication),
        adjudication_worst_s=max(to_adjudication, default=None),
        outcome_median_s=_median(to_outcome),
        outcome_worst_s=max(to_outcome, default=None),
        cameras=_per_camera(lines, counts, cameras),
    )


class Dispatched(Protocol):
    """One incident sent to officers' phones (console.storage.field.DispatchLine)."""

    incident: str
    outcome_on_phone: bool

    @property
    def seconds_to_dispatch(self) -> float | None: ...
    @property
    def seconds_to_locate(self) -> float | None: ...


def field_figures(
    lines: Sequence[AlertLine], dispatches: Sequence[Dispatched]
) -> dict[str, Any]:
    """The figures of officers on the ground, to add to a deployment's (or, pooled, a
    pilot's): time to dispatch and to locate, and outcomes by who recorded them."""
    to_dispatch = [s for d in dispatches if (s := d.seconds_to_dispatch) is not None]
    to_locate = [s for d in dispatches if (s := d.seconds_to_locate) is not None]
    with_outcome = {line.incident_key for line in lines if line.counted_outcome is not None}
    on_phone = {d.incident for d in dispatches if d.outcome_on_phone} & with_outcome
    return {
        "dispatched": len(dispatches),
        "outcomes_on_the_ground": len(on_phone),
        "outcomes_at_the_desk": len(with_outcome - on_phone),
        "dispatch_median_s": _median(to_dispatch),
        "dispatch_worst_s": max(to_dispatch, default=None),
        "locate_median_s": _median(to_locate),
        "locate_worst_s": max(to_locate, default=None),
    }


def _incidents(lines: Sequence[AlertLine], where: Callable[[AlertLine], bool]) -> int:
    """How many incidents have an alert that meets *where*: one person stopped once is one
    engagement and one arrest, however many times the cameras sighted them."""
    return len({line.incident_key for line in lines if where(line)})


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _per_camera(
    lines: Sequence[AlertLine], counts: dict[str, CameraCounts], cameras: Iterable[str]
) -> tuple[CameraFigures, ...]:
    # The planned cameras first, in their order; then any camera added on the command
    # line that left counts or alerts.
    names = list(dict.fromkeys(cameras))
    names += sorted(({line.camera for line in lines} | set(counts)) - set(names))
    result = []
    for name in names:
        classes = [line.alert_class for line in lines if line.camera == name]
        c = counts.get(name, CameraCounts(0, 0, 0.0))
        result.append(
            CameraFigures(
                camera=name,
                live_seconds=c.live_seconds,
                faces_seen=c.faces_seen,
                alerts=len(classes),
                engaged=classes.count(AlertClass.ENGAGED),
                dismissed=classes.count(AlertClass.DISMISSED),
                false_alerts=classes.count(AlertClass.FALSE),
                confirmed_false=classes.count(AlertClass.CONFIRMED_FALSE),
                undecided=classes.count(AlertClass.UNDECIDED),
            )
        )
    return tuple(result)


def total(parts: Sequence[Figures], pooled: Sequence[AlertLine] | None) -> Figures:
    """The figures of several deployments together.

    Counts add up. A median does not: it is taken over the *pooled* alerts when every
    deployment still holds all of them, else it is unknown (None). The worst is the
    worst of the worsts. Cameras are not summed across sites.
    """
    # The plain int and float fields are the counts (optional ones are sizes and times).
    count_fields = [f.name for f in fields(Figures) if f.type in ("int", "float")]
    summed: dict[str, Any] = {name: sum(getattr(p, name) for p in parts) for name in count_fields}
    to_adjudication = [
        s for line in pooled or () if (s := line.seconds_to_adjudication) is not None
    ]
    to_outcome = [s for line in pooled or () if (s := line.seconds_to_outcome) is not None]
    # Watchlists are not added up: the same subjects may be on every deployment's.
    return Figures(
        **summed,
        watchlist_size=None,
        adjudication_median_s=_median(to_adjudication) if pooled is not None else None,
        adjudication_worst_s=_worst(p.adjudication_worst_s for p in parts),
        outcome_median_s=_median(to_outcome) if pooled is not None else None,
        outcome_worst_s=_worst(p.outcome_worst_s for p in parts),
    )


def _worst(values: Iterable[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


# -- presentation shared by the view, CSV and PDF -------------------------------------


@dataclass(frozen=True)
class FigureRow:
    key: str
    label: str
    value: float | int | None
    text: str
    unit: str  # count, minutes, seconds, per 1,000 faces
    term: str | None  # the entry of DEFINITIONS that defines it

    @property
    def definition(self) -> str:
        return dict(DEFINITIONS).get(self.term or "", "")


def figure_rows(f: Figures) -> list[FigureRow]:
    """The figures in reading order, each with its raw value and its display text."""
    return [
        FigureRow(key, label, value := getattr(f, key), fmt(value), UNITS[fmt], term)
        for key, label, fmt, term in _FIGURES
    ]


def figure_groups(f: Figures) -> list[tuple[str, list[FigureRow]]]:
    """The figures in the four groups a printed record lays out side by side."""
    rows = {row.key: row for row in figure_rows(f)}
    return [(title, [rows[k] for k in keys]) for title, keys in GROUPS]


NONE = "—"


def _count(value: float | int | None) -> str:
    return NONE if value is None else f"{value:,}"


def minutes_text(value: float | int | None) -> str:
    if value is None:
        return NONE
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def rate_text(value: float | int | None) -> str:
    """A rate per 1,000 faces, formatted one way everywhere (tables, headlines, exports)."""
    if value is None:
        return NONE
    if value == 0:
        return "0"
    # Forces also publish the rate as "1 in N faces": easier to read than 0.03 per 1,000.
    return f"{value:.3g} (1 in {1000 / value:,.0f})"


def duration(seconds: float | int | None) -> str:
    if seconds is None:
        return NONE
    s = round(seconds)
    if abs(s) < 60:
        return f"{s} s"
    if abs(s) < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


UNITS = {
    _count: "count",
    minutes_text: "minutes",
    duration: "seconds",
    rate_text: "per 1,000 faces",
}

# key (a field or property of Figures), label, format, defining term
_FIGURES = (
    ("live_minutes", "Minutes live", minutes_text, "Minutes live"),
    ("camera_minutes", "Camera-minutes", minutes_text, "Minutes live"),
    ("watchlist_size", "Watchlist size", _count, "Watchlist size"),
    ("faces_seen", "Faces seen", _count, "Faces seen"),
    ("alerts", "Alerts", _count, "Alerts"),
    ("incidents", "Incidents", _count, "Incidents"),
    ("true_alerts", "True alerts", _count, "True alerts"),
    ("false_alerts", "False alerts", _count, "False alerts"),
    ("confirmed_false_alerts", "Confirmed false alerts", _count, "Confirmed false alerts"),
    ("undecided", "Not adjudicated (alerts)", _count, "Per incident or per alert"),
    ("engagements", "Engagements (incidents)", _count, "Engagements"),
    ("dismissals", "Dismissed (alerts)", _count, "True alerts"),
    ("arrests", "Arrests (incidents)", _count, "Outcomes"),
    ("advice", "Conditions checked / advice (incidents)", _count, "Outcomes"),
    ("not_located", "Not located (incidents)", _count, "Outcomes"),
    ("awaiting_outcome", "Awaiting an outcome (incidents)", _count, "Outcomes"),
    ("outcomes_set_aside", "Outcomes set aside (alerts)", _count, "Outcomes"),
    ("corrected", "Decisions corrected (alerts)", _count, "Decision in force"),
    (
        "minutes_per_arrest",
        "Minutes of use per arrest",
        minutes_text,
        "Minutes of use per arrest",
    ),
    ("adjudication_median_s", "Time to adjudication, median", duration, "Time to adjudication"),
    ("adjudication_worst_s", "Time to adjudication, worst", duration, "Time to adjudication"),
    ("outcome_median_s", "Time to outcome, median", duration, "Time to outcome"),
    ("outcome_worst_s", "Time to outcome, worst", duration, "Time to outcome"),
    ("false_alert_rate", "False alerts per 1,000 faces", rate_text, "False alert rate"),
    ("dispatched", "Incidents sent to phones", _count, "Time to dispatch"),
    ("dispatch_median_s", "Time to dispatch, median", duration, "Time to dispatch"),
    ("dispatch_worst_s", "Time to dispatch, worst", duration, "Time to dispatch"),
    ("locate_median_s", "Time to locate, median", duration, "Time to locate"),
    ("locate_worst_s", "Time to locate, worst", duration, "Time to locate"),
    (
        "outcomes_on_the_ground",
        "Outcomes recorded on the ground",
        _count,
        "Outcomes by who recorded them",
    ),
    ("outcomes_at_the_desk", "Outcomes recorded at the desk", _count,
     "Outcomes by who recorded them"),
)
GROUPS = (
    ("Use", ("live_minutes", "camera_minutes", "watchlist_size", "faces_seen")),
    (
        "Rates and times",
        (
            "minutes_per_arrest",
            "false_alert_rate",
            "adjudication_median_s",
            "adjudication_worst_s",
            "outcome_median_s",
            "outcome_worst_s",
            "dispatch_median_s",
            "dispatch_worst_s",
            "locate_median_s",
            "locate_worst_s",
        ),
    ),
    (
        "Alerts",
        (
            "alerts",
            "incidents",
            "true_alerts",
            "false_alerts",
            "confirmed_false_alerts",
            "undecided",
            "corrected",
        ),
    ),
    (
        "Engagements and outcomes",
        (
            "engagements",
            "dismissals",
            "arrests",
            "advice",
            "not_located",
            "awaiting_outcome",
            "outcomes_set_aside",
            "dispatched",
            "outcomes_on_the_ground",
            "outcomes_at_the_desk",
        ),
    ),
)


def zone(t: datetime) -> str:
    """The local time zone's name at *t* (GMT, BST...), else its offset."""
    local = t.astimezone()
    return local.tzname() or local.strftime("%z")


def local_time(t: datetime | None) -> str:
    """A date and time as the records print it, always with its zone."""
    return f"{t.astimezone():%Y-%m-%d %H:%M} {zone(t)}" if t else NONE


def short_time(t: datetime | None) -> str:
    return f"{t.astimezone():%d %b %H:%M} {zone(t)}" if t else NONE
