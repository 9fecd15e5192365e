"""Scenarios: camera footage with a known truth, for acceptance tests and training.

A scenario is a folder: ``scenario.toml`` (the manifest), a watchlist folder and one
video per camera. The manifest names the cameras' videos and the watchlist, and holds
the ground truth: every *appearance* of a person on a camera (from which second to which
their whole face is in view), whether the console should alert on it, and the right
adjudication if it does; plus the tolerances an acceptance run allows. The format is
described in ``sample_streams/scenarios/README.md``.

:func:`evaluate` compares the alerts of a replay with that truth. This module is plain
Python; :mod:`console.training.uat` runs the replay.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from console.config import DEFAULT_THRESHOLD, ConfigError
from console.domain.alerts import Alert, Decision
from console.domain.sightings import EvidenceRule
from console.domain.watchlist import WatchlistError, read_watchlist_csv

MANIFEST_NAME = "scenario.toml"
DEFAULT_ANALYSES_PER_SECOND = 5.0
DEFAULT_PASS_MARK = 80.0  # trainer mode: the share of right calls that passes
TRAINING_DECISIONS = (Decision.ENGAGE, Decision.FALSE_MATCH)


class ScenarioError(ConfigError):
    """The scenario folder or its manifest is wrong; the message lists every problem."""


class Expect(StrEnum):
    """What the console should do about an appearance."""

    ALERT = "alert"
    NO_ALERT = "no_alert"


@dataclass(frozen=True)
class Tolerances:
    """How far an acceptance run may stray from the truth and still pass."""

    max_seconds_to_alert: float = 1.0  # from the moment the whole face is in view
    # A face is often found while it is still entering the frame, before the truth says
    # it is wholly in view: an alert up to this long before still belongs to it.
    early_seconds: float = 1.0
    allowed_false_alerts: int = 0
    allowed_duplicate_alerts: int = 0
    allowed_misses: int = 0  # expected alerts that never came, or came too late
    feed_failure_seconds: float = 1.0  # how close to ``fails_at`` a failing feed must stop


@dataclass(frozen=True)
class ScenarioCamera:
    name: str
    video: Path
    seconds: float | None = None  # how long the video runs; a feed that stops earlier fails
    fails_at: float | None = None  # truth: the feed breaks off here


@dataclass(frozen=True)
class Appearance:
    """One person in view of one camera for a while: a line of the ground truth."""

    number: int  # 1-based, in manifest order: errors and reports refer to it
    person: str  # a watchlist subject_id, or a label for someone not on it
    name: str
    camera: str
    visible_from: float
    visible_to: float
    expect: Expect
    decision: Decision  # the right adjudication if the console alerts on this person
    photo: str = ""  # what was composited into the video (provenance, for trainers)
    lookalike_of: str = ""  # the subject this person was made to resemble
    note: str = ""
    max_seconds_to_alert: float | None = None  # overrides the scenario's tolerance

    @property
    def who(self) -> str:
        return self.person if self.name in ("", self.person) else f"{self.person} {self.name}"

    @property
    def span(self) -> str:
        return f"{self.visible_from:.2f}-{self.visible_to:.2f} s"

    def answers_to(self, subject_id: str) -> bool:
        """Whether an alert naming *subject_id* is about this person (or their double)."""
        return subject_id in (self.person, self.lookalike_of)


@dataclass(frozen=True)
class Scenario:
    folder: Path
    name: str
    title: str
    description: str
    watchlist: Path
    cameras: tuple[ScenarioCamera, ...]
    appearances: tuple[Appearance, ...]
    tolerances: Tolerances = field(default_factory=Tolerances)
    threshold: float = DEFAULT_THRESHOLD
    analyses_per_second: float = DEFAULT_ANALYSES_PER_SECOND
    pass_mark: float = DEFAULT_PASS_MARK  # % of the trainee's calls right, to pass

    def appearance_for(self, camera: str, subject_id: str, t: float) -> Appearance | None:
        """The truth behind an alert: who was in view, for a trainer to mark the decision.

        An expected alert is preferred over a lookalike standing beside the subject.
        """
        early = self.tolerances.early_seconds
        candidates = [
            a
            for a in self.appearances
            if a.camera == camera
            and a.answers_to(subject_id)
            and a.visible_from - early <= t <= a.visible_to
        ]
        candidates.sort(key=lambda a: (a.person != subject_id, abs(t - a.visible_from)))
        return candidates[0] if candidates else None

    def in_view(self, camera: str, t: float) -> list[Appearance]:
        """Everyone the truth has in view of *camera* at second *t*."""
        early = self.tolerances.early_seconds
        return [
            a
            for a in self.appearances
            if a.camera == camera and a.visible_from - early <= t <= a.visible_to
        ]


# --------------------------------------------------------------------------- loading

_TOP_KEYS = {
    "name",
    "title",
    "description",
    "watchlist",
    "threshold",
    "analyses_per_second",
    "pass_mark",
    "tolerances",
    "camera",
    "appearance",
}
_CAMERA_KEYS = {"name", "video", "seconds", "fails_at"}
_APPEARANCE_KEYS = {f.name for f in fields(Appearance)} - {"number"}
_TOLERANCE_KEYS = {f.name for f in fields(Tolerances)}


class _Problems:
    """Collects every fault in a manifest, so its author sees them all in one go."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}" if where else message)

    def unknown_keys(self, where: str, table: Mapping[str, object], allowed: set[str]) -> None:
        for key in sorted(set(table) - allowed):
            self.add(where, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")

    def text(self, where: str, table: Mapping[str, object], key: str, required: bool) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.add(where, f"{key!r} is missing")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(where, f"{key!r} must be a non-empty string, not {value!r}")
            return ""
        return value.strip()

    def number(
        self, where: str, table: Mapping[str, object], key: str, required: bool = False
    ) -> float | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add(where, f"{key!r} is missing")
            return None
        # bool is an int in Python, and `true` is never a sensible number of seconds.
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.add(where, f"{key!r} must be a number >= 0, not {value!r}")
            return None
        return float(value)


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario folder (or its manifest); raise ScenarioError listing
    every problem. The watchlist's CSV is checked too; its images are enrolled later."""
    path = Path(path)
    manifest = path / MANIFEST_NAME if path.is_dir() else path
    folder = manifest.parent
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario manifest not found: {manifest}") from exc
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario manifest {manifest}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario manifest {manifest} is not valid TOML: {exc}") from exc

    problems = _Problems()
    problems.unknown_keys("", data, _TOP_KEYS)
    name = problems.text("", data, "name", required=True)
    watchlist_dir = folder / problems.text("", data, "watchlist", required=True)
    threshold = problems.number("", data, "threshold")
    if threshold is not None and not 0 < threshold <= 1:
        problems.add("", f"'threshold' must be in (0, 1], not {threshold}")
    rate = problems.number("", data, "analyses_per_second")
    if rate == 0:
        problems.add("", "'analyses_per_second' must be more than 0")
    pass_mark = problems.number("", data, "pass_mark")
    if pass_mark is not None and not 0 <= pass_mark <= 100:
        problems.add("", f"'pass_mark' is a percentage (0 to 100), not {pass_mark}")
    tolerances = _tolerances(data.get("tolerances", {}), problems)
    cameras = _cameras(data.get("camera"), folder, problems)
    subjects = _watchlist_subjects(watchlist_dir, problems)
    appearances = _appearances(data.get("appearance"), cameras, subjects, problems)
    if problems.lines:
        lines = [f"scenario {manifest} refused: {len(problems.lines)} problem(s)"]
        raise ScenarioError("\n".join(lines + [f"  {p}" for p in problems.lines]))
    return Scenario(
        folder=folder,
        name=name,
        title=str(data.get("title", "")),
        description=str(data.get("description", "")),
        watchlist=watchlist_dir,
        cameras=tuple(cameras),
        appearances=tuple(appearances),
        tolerances=tolerances,
        threshold=threshold if threshold is not None else DEFAULT_THRESHOLD,
        analyses_per_second=rate or DEFAULT_ANALYSES_PER_SECOND,
        pass_mark=pass_mark if pass_mark is not None else DEFAULT_PASS_MARK,
    )


def _tolerances(table: object, problems: _Problems) -> Tolerances:
    if not isinstance(table, dict):
        problems.add("[tolerances]", "must be a table")
        return Tolerances()
    problems.unknown_keys("[tolerances]", table, _TOLERANCE_KEYS)
    values: dict[str, float | int] = {}
    for f in fields(Tolerances):
        value = problems.number("[tolerances]", table, f.name)
        if value is None:
            continue
        if f.type == "int" and value != int(value):
            problems.add("[tolerances]", f"{f.name!r} must be a whole number, not {value}")
            continue
        values[f.name] = int(value) if f.type == "int" else value
    return Tolerances(**values)  # type: ignore[arg-type]


def _cameras(tables: object, folder: Path, problems: _Problems) -> list[ScenarioCamera]:
    if not isinstance(tables, list) or not tables:
        problems.add("", "no [[camera]]: a scenario needs at least one camera")
        return []
    cameras: list[ScenarioCamera] = []
    for number, table in enumerate(tables, start=1):
        where = f"camera {number}"
        problems.unknown_keys(where, table, _CAMERA_KEYS)
        name = problems.text(where, table, "name", required=True)
        video = problems.text(where, table, "video", required=True)
        seconds = problems.number(where, table, "seconds")
        fails_at = problems.number(where, table, "fails_at")
        if name and any(c.name == name for c in cameras):
            problems.add(where, f"camera name {name!r} is used by an earlier camera")
        if video and not (folder / video).is_file():
            problems.add(where, f"video {video!r} not found in {folder}")
        if seconds is not None and fails_at is not None and fails_at >= seconds:
            problems.add(where, f"fails_at {fails_at:g} s is not before the end ({seconds:g} s)")
        if name:
            cameras.append(ScenarioCamera(name, folder / video, seconds, fails_at))
    return cameras


def _watchlist_subjects(folder: Path, problems: _Problems) -> set[str]:
    try:
        return {entry.subject_id for entry in read_watchlist_csv(folder)}
    except WatchlistError as exc:
        problems.add("watchlist", str(exc).replace("\n", "\n  "))
        return set()


def _appearances(
    tables: object, cameras: list[ScenarioCamera], subjects: set[str], problems: _Problems
) -> list[Appearance]:
    if not isinstance(tables, list) or not tables:
        problems.add("", "no [[appearance]]: the ground truth is empty")
        return []
    by_name = {c.name: c for c in cameras}
    appearances: list[Appearance] = []
    for number, table in enumerate(tables, start=1):
        where = f"appearance {number}"
        problems.unknown_keys(where, table, _APPEARANCE_KEYS)
        person = problems.text(where, table, "person", required=True)
        camera = problems.text(where, table, "camera", required=True)
        start = problems.number(where, table, "visible_from", required=True)
        end = problems.number(where, table, "visible_to", required=True)
        chosen = _choice(problems, where, table, "expect", list(Expect))
        expect = Expect(chosen) if chosen else None
        chosen = _choice(problems, where, table, "decision", TRAINING_DECISIONS)
        # Unless the manifest says otherwise: engage the subject, reject anyone else.
        default = Decision.ENGAGE if expect == Expect.ALERT else Decision.FALSE_MATCH
        decision = Decision(chosen) if chosen else default
        lookalike_of = problems.text(where, table, "lookalike_of", required=False)
        limit = problems.number(where, table, "max_seconds_to_alert")
        if person and subjects:
            if expect == Expect.ALERT and person not in subjects and not lookalike_of:
                problems.add(
                    where,
                    f"expects an alert but {person!r} is not on the watchlist "
                    "(give lookalike_of for a lookalike the console should alert on)",
                )
            if expect == Expect.NO_ALERT and person in subjects:
                problems.add(where, f"{person!r} is on the watchlist: expect must be 'alert'")
            if lookalike_of and lookalike_of not in subjects:
                problems.add(where, f"lookalike_of {lookalike_of!r} is not on the watchlist")
        if camera and cameras and camera not in by_name:
            problems.add(where, f"camera {camera!r} is not one of {', '.join(by_name)}")
        if start is not None and end is not None:
            if end <= start:
                problems.add(where, f"visible_to {end:g} s is not after visible_from {start:g} s")
            cam = by_name.get(camera)
            if cam and cam.seconds is not None and end > cam.seconds:
                problems.add(where, f"visible_to {end:g} s is after the video ends ({cam.name})")
            if cam and cam.fails_at is not None and end > cam.fails_at:
                problems.add(
                    where,
                    f"visible until {end:g} s but camera {cam.name} fails at {cam.fails_at:g} s",
                )
        if None in (start, end, expect) or not (person and camera):
            continue
        appearances.append(
            Appearance(
                number=number,
                person=person,
                name=problems.text(where, table, "name", required=False) or person,
                camera=camera,
                visible_from=start,  # type: ignore[arg-type]
                visible_to=end,  # type: ignore[arg-type]
                expect=expect,  # type: ignore[arg-type]
                decision=decision,
                photo=problems.text(where, table, "photo", required=False),
                lookalike_of=lookalike_of,
                note=problems.text(where, table, "note", required=False),
                max_seconds_to_alert=limit,
            )
        )
    _check_cooldown(appearances, problems)
    return appearances


def _choice(
    problems: _Problems,
    where: str,
    table: Mapping[str, object],
    key: str,
    allowed: Sequence[StrEnum],
) -> str | None:
    """The value of *key* if it is one of *allowed* (None, with a problem noted, if not)."""
    value = table.get(key)
    if value is None:
        if key == "expect":
            problems.add(where, "'expect' is missing (alert or no_alert)")
        return None
    if value not in [str(a) for a in allowed]:
        names = " or ".join(str(a) for a in allowed)
        problems.add(where, f"{key!r} must be {names}, not {value!r}")
        return None
    return str(value)


def _check_cooldown(appearances: list[Appearance], problems: _Problems) -> None:
    """Two walks of one subject past one camera within the sighting cooldown are one
    alert by design (console.domain.sightings): a truth expecting two would be wrong."""
    cooldown = EvidenceRule().cooldown_seconds
    expected = sorted(
        (a for a in appearances if a.expect == Expect.ALERT),
        key=lambda a: (a.camera, a.person, a.visible_from),
    )
    for first, second in zip(expected, expected[1:], strict=False):
        same = (first.camera, first.person) == (second.camera, second.person)
        if same and second.visible_from - first.visible_to <= cooldown:
            problems.add(
                f"appearance {second.number}",
                f"{second.person} on {second.camera} again within {cooldown:g} s of "
                f"appearance {first.number}: the console makes that one sighting, one alert",
            )


# ------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class CameraRun:
    """What happened to one camera's feed during the replay."""

    camera: str
    frames_decoded: int
    stopped_at: float  # seconds of video decoded before the feed ended or failed
    error: str = ""  # why the feed could not be read at all, if it could not
    frames_analysed: int = 0
    faces_detected: int = 0
    faces_rejected: int = 0  # too small or blurred to match on


@dataclass(frozen=True)
class AppearanceResult:
    appearance: Appearance
    alerts: tuple[Alert, ...]  # the alerts that belong to it, earliest first
    ok: bool
    status: str  # ok, MISSED, LATE, ALERTED
    detail: str

    @property
    def delay(self) -> float | None:
        """Seconds from the face being wholly in view to the alert (negative: before)."""
        return self.alerts[0].t - self.appearance.visible_from if self.alerts else None


@dataclass
class UatReport:
    scenario: Scenario
    cameras: list[str]  # one line per camera
    expected: list[AppearanceResult]
    not_expected: list[AppearanceResult]
    false_alerts: list[str]  # one line per alert that should not have been raised
    duplicates: list[str]
    failures: list[str] = field(default_factory=list)  # why the run fails; empty: it passes
    # Evidence from someone else folded into an alert that was already up (the sighting
    # cooldown): no new card was raised for them. Not a failure by itself; it explains one.
    folded: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        s, tol = self.scenario, self.scenario.tolerances
        out = [f"scenario {s.name}: {s.title}".rstrip(": ")]
        out.append(
            f"  threshold {s.threshold:.2f}, {s.analyses_per_second:g} analyses a second, "
            f"alert within {tol.max_seconds_to_alert:g} s of the face being in view"
        )
        out.append("cameras")
        out += [f"  {line}" for line in self.cameras]
        out.append("expected alerts")
        out += [f"  {_result_line(r)}" for r in self.expected] or ["  (none)"]
        out.append("no alert expected")
        out += [f"  {_result_line(r)}" for r in self.not_expected] or ["  (none)"]
        misses = sum(not r.ok for r in self.expected)
        out.append(f"misses: {misses} (allowed {tol.allowed_misses})")
        out.append(f"false alerts: {len(self.false_alerts)} (allowed {tol.allowed_false_alerts})")
        out += [f"  {line}" for line in self.false_alerts]
        out.append(
            f"duplicate alerts: {len(self.duplicates)} (allowed {tol.allowed_duplicate_alerts})"
        )
        out += [f"  {line}" for line in self.duplicates]
        if self.folded:
            out.append("evidence folded into an earlier alert (no new alert raised)")
            out += [f"  {line}" for line in self.folded]
        out += [f"FAIL: {line}" for line in self.failures]
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} failure(s))"
        out.append(f"scenario {s.name}: {verdict}")
        return out


def _result_line(r: AppearanceResult) -> str:
    a = r.appearance
    line = f"{r.status:<7} {a.camera:<6} {a.who:<40} visible {a.span:<14} {r.detail}"
    # The truth's note says why a miss or an alert is unsurprising (dusk, a lookalike).
    return f"{line} ({a.note})" if a.note and not r.ok else line


def evaluate(
    scenario: Scenario, alerts: Iterable[Alert], runs: Mapping[str, CameraRun]
) -> UatReport:
    """Compare a replay's alerts and camera runs with the scenario's truth."""
    tol = scenario.tolerances
    belongs: dict[int, list[Alert]] = {a.number: [] for a in scenario.appearances}
    owners: dict[int, Appearance] = {}  # id(alert) -> the appearance it is about
    unexplained: list[Alert] = []
    ordered = sorted(alerts, key=lambda a: (a.t, a.camera))
    for alert in ordered:
        appearance = scenario.appearance_for(alert.camera, alert.subject_id, alert.t)
        if appearance is None:
            unexplained.append(alert)
        else:
            belongs[appearance.number].append(alert)
            owners[id(alert)] = appearance

    expected, not_expected, false_alerts, duplicates = [], [], [], []
    for a in scenario.appearances:
        found = tuple(belongs[a.number])
        if a.expect == Expect.ALERT:
            expected.append(_judge_expected(a, found, tol, ordered))
            duplicates += [f"{_alert_text(x)}: again for {a.who}" for x in found[1:]]
        else:
            not_expected.append(_judge_unexpected(a, found))
            false_alerts += [
                f"{_alert_text(x)}: {a.who} is not the subject; right decision: "
                f"{a.decision.label.lower()}"
                for x in found
            ]
    for alert in unexplained:
        # Not the subject's appearance, so whoever was in view is someone else.
        present = ", ".join(p.who for p in scenario.in_view(alert.camera, alert.t)) or "nobody"
        false_alerts.append(
            f"{_alert_text(alert)}: in view: {present}; right decision: false match"
        )

    camera_lines, failures = _judge_cameras(scenario, runs, tol)
    misses = [r for r in expected if not r.ok]
    if len(misses) > tol.allowed_misses:
        failures += [
            f"{r.status.lower()}: {r.appearance.who} on {r.appearance.camera} "
            f"(visible {r.appearance.span}): {r.detail}"
            for r in misses
        ]
    if len(false_alerts) > tol.allowed_false_alerts:
        failures += [f"false alert: {line}" for line in false_alerts]
    if len(duplicates) > tol.allowed_duplicate_alerts:
        failures += [f"duplicate alert: {line}" for line in duplicates]
    folded = [
        line
        for found in belongs.values()
        for alert in found
        for line in _folded(scenario, alert, owners[id(alert)])
    ]
    return UatReport(
        scenario, camera_lines, expected, not_expected, false_alerts, duplicates, failures, folded
    )


def _folded(scenario: Scenario, alert: Alert, own: Appearance) -> list[str]:
    """Who else's frames an alert took as evidence, as lines (empty: none).

    The sighting cooldown joins a match within seconds of an alert's last evidence to that
    alert: a lookalike passing just after the subject updates the subject's card instead
    of raising one, and the subject coming back just after the lookalike is then missed.
    """
    early = scenario.tolerances.early_seconds
    spans: dict[str, list[float]] = {}
    for e in alert.evidence:
        if own.visible_from - early <= e.t <= own.visible_to + early:
            continue
        others = [
            a
            for a in scenario.appearances
            if a.camera == alert.camera
            and a.number != own.number
            and a.visible_from - early <= e.t <= a.visible_to + early
        ]
        # Of those in view, whoever answers to the subject (the subject, a lookalike).
        likely = [a for a in others if a.answers_to(alert.subject_id)] or others
        who = ", ".join(a.who for a in likely) or "nobody in view"
        spans.setdefault(who, []).append(e.t)
    return [
        f"{alert.alert_id} ({alert.subject_id}, raised at {alert.t:.2f} s) took "
        f"{len(ts)} frame(s) at {min(ts):.2f}-{max(ts):.2f} s from {who}"
        for who, ts in spans.items()
    ]


def _alert_text(alert: Alert) -> str:
    return (
        f"{alert.alert_id} {alert.subject_id} {alert.subject_name} on {alert.camera} "
        f"at {alert.t:.2f} s (distance {alert.distance:.3f})"
    )


def _judge_expected(
    a: Appearance, found: tuple[Alert, ...], tol: Tolerances, alerts: list[Alert]
) -> AppearanceResult:
    if not found:
        # Matched, but within the cooldown of an alert already raised: say which.
        early = tol.early_seconds
        took = [
            x
            for x in alerts
            if x.camera == a.camera
            and a.answers_to(x.subject_id)
            and any(a.visible_from - early <= e.t <= a.visible_to + early for e in x.evidence)
        ]
        detail = "no alert"
        if took:
            detail += (
                f" of its own: its matches went to {took[0].alert_id}, raised at "
                f"{took[0].t:.2f} s (sighting cooldown)"
            )
        return AppearanceResult(a, found, False, "MISSED", detail)
    first = found[0]
    delay = first.t - a.visible_from
    limit = (
        a.max_seconds_to_alert if a.max_seconds_to_alert is not None else tol.max_seconds_to_alert
    )
    detail = (
        f"alerted at {first.t:.2f} s, {delay:+.2f} s after visible, "
        f"distance {first.distance:.3f} [{first.alert_id}]"
    )
    if first.subject_id != a.person:  # a lookalike the console is meant to alert on
        detail += f" as {first.subject_id}; right decision: {a.decision.label.lower()}"
    if delay > limit:
        return AppearanceResult(a, found, False, "LATE", f"{detail}; limit {limit:g} s")
    return AppearanceResult(a, found, True, "ok", detail)


def _judge_unexpected(a: Appearance, found: tuple[Alert, ...]) -> AppearanceResult:
    if not found:
        return AppearanceResult(a, found, True, "ok", "no alert")
    first = found[0]
    detail = (
        f"alerted as {first.subject_id} at {first.t:.2f} s, distance {first.distance:.3f} "
        f"[{first.alert_id}]; right decision: {a.decision.label.lower()}"
    )
    return AppearanceResult(a, found, False, "ALERTED", detail)


def _judge_cameras(
    scenario: Scenario, runs: Mapping[str, CameraRun], tol: Tolerances
) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    failures: list[str] = []
    for camera in scenario.cameras:
        run = runs.get(camera.name)
        if run is None:
            failures.append(f"camera {camera.name} was not replayed")
            continue
        stats = (
            f"{run.frames_analysed} frames analysed, {run.faces_detected} faces "
            f"({run.faces_rejected} too small or blurred to match)"
        )
        expected_break = camera.fails_at is not None and (
            abs(run.stopped_at - camera.fails_at) <= tol.feed_failure_seconds
        )
        if expected_break:
            stopped = f"feed broke off at {run.stopped_at:.2f} s, as the truth says"
        elif run.error:
            stopped = f"feed failed at {run.stopped_at:.2f} s ({run.error})"
        else:
            stopped = f"feed ran to {run.stopped_at:.2f} s"
        lines.append(f"{camera.name:<6} {camera.video.name}: {stopped}; {stats}")
        if expected_break:
            continue
        if camera.fails_at is not None:
            failures.append(
                f"camera {camera.name} should break off at {camera.fails_at:g} s; its {stopped}"
            )
        elif run.error:
            failures.append(f"camera {camera.name}: {run.error}")
        elif camera.seconds is not None and (
            run.stopped_at < camera.seconds - tol.feed_failure_seconds
        ):
            failures.append(
                f"camera {camera.name}: its feed stopped at {run.stopped_at:.2f} s; "
                f"the video should run {camera.seconds:g} s"
            )
    return lines, failures
