"""Scoring a trainee's adjudication of a scenario against its known truth.

A scenario says who appears on which camera when, and for training what the right
decision is: *engage* for a watchlisted subject, *false match* for a lookalike. The
trainee's decisions on the alerts the console raised are compared with that truth.
"""

from __future__ import annotations

import statistics
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

    def summary(self) -> dict[str, object]:
        return {
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


def score(
    expectations: list[Expectation],
    decisions: list[TraineeDecision],
    alerts_raised: list[tuple[str, str, str, float]],
) -> ScoreSheet:
    """Score decisions; *alerts_raised* is (alert_id, camera, subject_id, t) of every alert.

    An expectation to engage is met when an alert covering it was engaged; it is *missed*
    when no alert covered it or none was decided, *wrongly dismissed* when it was
    dismissed or called a false match. An expectation of a false match is met when the
    trainee called it one (an alert that never came is fine: nothing to judge), and is a
    *wrong engagement* when engaged.
    """
    sheet = ScoreSheet(decision_times=[d.seconds_to_decide for d in decisions])
    by_alert = {d.alert_id: d for d in decisions}
    for e in expectations:
        label = f"{e.subject_id} on {e.camera} at {e.start_s:.0f} s"
        covering = [a for a in alerts_raised if e.covers(a[1], a[2], a[3])]
        decided = [by_alert[a[0]] for a in covering if a[0] in by_alert]
        made = {d.decision for d in decided}
        if e.right_decision == Decision.ENGAGE:
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
