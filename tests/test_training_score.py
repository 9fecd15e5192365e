from __future__ import annotations

from console.domain.alerts import Decision
from console.domain.training import Expectation, TraineeDecision, score

E, F, D = Decision.ENGAGE, Decision.FALSE_MATCH, Decision.DISMISS
TRUTH = [
    Expectation("WL-1", "north", 5, 9, E),
    Expectation("WL-1", "south", 20, 24, E),
    Expectation("WL-2", "north", 30, 34, E),
    Expectation("WL-3", "south", 40, 44, E),  # never alerted
    Expectation("WL-1", "north", 50, 54, F),  # a lookalike of WL-1
    Expectation("WL-2", "south", 55, 58, F),  # another lookalike
]
ALERTS = [
    ("a1", "north", "WL-1", 5.5),
    ("a2", "south", "WL-1", 20.2),
    ("a3", "north", "WL-2", 30.4),
    ("a4", "north", "WL-1", 50.8),
    ("a5", "south", "WL-2", 55.1),
    ("a6", "north", "WL-9", 12.0),  # an alert nobody decided
]


def decide(alert_id, decision, seconds):
    a = next(a for a in ALERTS if a[0] == alert_id)
    return TraineeDecision(alert_id, a[1], a[2], a[3], decision, seconds)


def test_a_score_sheet_counts_what_the_trainee_did():
    decisions = [
        decide("a1", E, 4.0),
        decide("a2", D, 6.0),  # already engaged on north: the same incident
        decide("a3", E, 2.0),
        decide("a4", F, 8.0),  # lookalike rightly called a false match
        decide("a5", E, 10.0),  # lookalike engaged: wrong
    ]
    sheet = score(TRUTH, decisions, ALERTS)
    assert sheet.correctly_engaged == ["WL-1 on north at 5 s", "WL-2 on north at 30 s"]
    assert sheet.wrongly_dismissed == []
    assert sheet.missed == ["WL-3 on south at 40 s"]
    assert sheet.false_matches_called == ["WL-1 on north at 50 s"]
    assert sheet.wrong_engagements == ["WL-2 on south at 55 s"]
    assert sheet.undecided == ["a6"]
    assert sheet.summary()["mean_time_to_decide_s"] == 6.0
    assert sheet.summary()["worst_time_to_decide_s"] == 10.0
    assert sheet.summary()["missed_or_wrongly_dismissed"] == 1
    # Right: two engagements and a lookalike; wrong: a miss and a lookalike engaged.
    assert (sheet.right, sheet.judged) == (3, 5) and sheet.summary()["score_percent"] == 60


def test_one_incident_is_scored_once_and_a_false_match_on_the_subject_is_still_wrong():
    both = [decide("a1", E, 4.0), decide("a2", E, 3.0)]  # one engagement, two sightings
    sheet = score(TRUTH[:2], both, ALERTS[:2], names={"WL-1": "Alex Marsh"})
    assert sheet.correctly_engaged == ["Alex Marsh on north at 5 s"]
    called_false = [decide("a1", E, 4.0), decide("a2", F, 3.0)]
    sheet = score(TRUTH[:2], called_false, ALERTS[:2], names={"WL-1": "Alex Marsh"})
    assert sheet.wrongly_dismissed == ["Alex Marsh on south at 20 s"]
    dismissed_first = [decide("a1", D, 4.0), decide("a2", E, 3.0)]
    sheet = score(TRUTH[:2], dismissed_first, ALERTS[:2])
    assert sheet.wrongly_dismissed == ["WL-1 on north at 5 s"]
    assert sheet.correctly_engaged == ["WL-1 on south at 20 s"]
