"""Scoring a trainee's adjudication of a scenario against its known truth.

A scenario says who appears on which camera when, and for training what the right
decision is: *engage* for a watchlisted subject, *false match* for a lookalike. The
trainee's decisions on the alerts the console raised are compared with that truth.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.domain.alerts import Decision


@dataclass(frozen=True)
class Expectation:
    """One appearance in the scenario's truth that matters for training."""

    subject_id: str
    camera: str
    start_s: float
    end_s: float
    right_decision: Decision  # ENGAGE for a watchlisted subject, FALSE_MATCH for a lookalike

    def covers(self, camera: str, subject_id: str, t: float, slack_s: float = 1.0) -> bool:
        return (
            camera == self.camera
            and subject_id == self.subject_id
            and self.start_s - slack_s <= t <= self.end_s + slack_s
        )


@dataclass(frozen=True)
class TraineeDecision:
    """What the trainee decided about one alert, and how long it took them."""

    alert_id: str
    camera: str
    subject_id: str
    t: float  # scenario time the alert was raised
    decision: Decision
    seconds_to_decide: float


@dataclass
class ScoreSheet:
    correctly_engaged: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # no alert, or not engaged
    wrongly_dismissed: list[str] = field(default_factory=list)
    false_matches_called: list[str] = field(default_factory=list)
    wrong_engagements: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    decision_times: list[float] = field(default_factory=list)

    @property
    def mean_time_s(self) -> float | None:
        return statistics.fmean(self.decision_times) if self.decision_times else None

    @property
    def worst_time_s(self) -> float | None:
        return max(self.decision_times) if self.decision_times else None

    @property
    def right(self) -> int:
        return len(self.correctly_engaged) + len(self.false_matches_called)

    @property
    def judged(self) -> int:
        """Calls that had a right answer: each incident once, each lookalike alerted."""
        wrong = len(self.missed) + len(self.wrongly_dismissed) + len(self.wrong_engagements)
        return self.right + wrong

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.judged if self.judged else 100.0

    def passed(self, pass_mark: float) -> bool:
        return self.percent >= pass_mark

    def summary(self) -> dict[str, object]:
        return {
            "score_percent": round(self.percent),
            "correctly_engaged": len(self.correctly_engaged),
            "missed_or_wrongly_dismissed": len(self.missed) + len(self.wrongly_dismissed),
            "false_matches_called": len(self.false_matches_called),
            "wrong_engagements": len(self.wrong_engagements),
            "undecided_alerts": len(self.undecided),
            "mean_time_to_decide_s": _round(self.mean_time_s),
            "worst_time_to_decide_s": _round(self.worst_time_s),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


# A subject engaged this long before another sighting is still the same incident: the
# officers are already on their way (the console's incident window, 5 minutes).
INCIDENT_WINDOW_S = 300.0


def score(
    expectations: list[Expectation],
    decisions: list[TraineeDecision],
    alerts_raised: list[tuple[str, str, str, float]],
    names: Mapping[str, str] | None = None,
    incident_window_s: float = INCIDENT_WINDOW_S,
) -> ScoreSheet:
    """Score decisions; *alerts_raised* is (alert_id, camera, subject_id, t) of every alert.

    An expectation to engage is met when an alert covering it was engaged; it is *missed*
    when no alert covered it or none was decided, *wrongly dismissed* when it was
    dismissed or called a false match. An expectation of a false match is met when the
    trainee called it one (an alert that never came is fine: nothing to judge), and is a
    *wrong engagement* when engaged.

    One incident is scored once: a later sighting of a subject the trainee had already
    engaged (on any camera, within the incident window) is part of that engagement, so
    dismissing it ("already engaged") or leaving it is neither a miss nor a wrong
    dismissal; calling it a false match still is (that says it is not the subject).
    *names* turns subject ids into names on the sheet.
    """
    sheet = ScoreSheet(decision_times=[d.seconds_to_decide for d in decisions])
    by_alert = {d.alert_id: d for d in decisions}
    names = names or {}
    for e in expectations:
        label = f"{names.get(e.subject_id, e.subject_id)} on {e.camera} at {e.start_s:.0f} s"
        covering = [a for a in alerts_raised if e.covers(a[1], a[2], a[3])]
        decided = [by_alert[a[0]] for a in covering if a[0] in by_alert]
        made = {d.decision for d in decided}
        if e.right_decision == Decision.ENGAGE:
            engaged_before = any(
                d.subject_id == e.subject_id
                and d.decision == Decision.ENGAGE
                and e.start_s - incident_window_s <= d.t < e.start_s - 1.0
                for d in decisions
            )
            if engaged_before and Decision.FALSE_MATCH not in made:
                continue  # the same incident, already scored where it was engaged
            if Decision.ENGAGE in made:
                sheet.correctly_engaged.append(label)
            elif made:
                sheet.wrongly_dismissed.append(label)
            else:
                sheet.missed.append(label)
        elif Decision.ENGAGE in made:
            sheet.wrong_engagements.append(label)
        elif Decision.FALSE_MATCH in made:
            sheet.false_matches_called.append(label)
    sheet.undecided = [a[0] for a in alerts_raised if a[0] not in by_alert]
    return sheet
