"""Incidents as plain rules: grouping of repeat sightings, queue order, the undo window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.domain.alerts import Alert, Decision
from console.domain.deployments import Deployment, DeploymentState, SafeguardError
from console.domain.incidents import (
    UNDO_WINDOW,
    IncidentQueue,
    RecentDecision,
    check_decision_allowed,
    waiting_text,
)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SUBJECTS = {
    "A": ("Alex Marsh", "wanted by the courts"),
    "S": ("Sam Keane", "missing person at risk"),
    "R": ("Rob Third", "bail or order"),
}


def alert(n: int, subject: str, camera: str, seconds: float, distance: float = 0.35) -> Alert:
    name, category = SUBJECTS[subject]
    return Alert(
        f"{camera}-{n}",
        camera,
        subject,
        name,
        category,
        distance,
        0.4,
        seconds,
        n,
        (0, 10, 10, 0),
        T0 + timedelta(seconds=seconds),
    )


def test_repeat_sightings_of_a_subject_on_any_camera_group_within_the_window():
    queue = IncidentQueue(timedelta(minutes=5))
    first, new = queue.add(alert(1, "A", "north", 0))
    assert new
    same, new = queue.add(alert(2, "A", "south", 60, distance=0.30))
    assert same is first and not new
    queue.add(alert(3, "A", "north", 299))
    later, new = queue.add(alert(4, "A", "north", 301))  # past the window: a new incident
    assert new and later is not first
    other, new = queue.add(alert(5, "S", "north", 10))
    assert new and other is not first
    assert first.alert_ids == ["north-1", "south-2", "north-3"]
    assert first.cameras == ["north", "south"]
    assert first.best.alert_id == "south-2"
    assert len(queue) == 3


def test_an_improved_alert_replaces_itself_and_does_not_count_twice():
    queue = IncidentQueue()
    incident, _ = queue.add(alert(1, "A", "north", 0, distance=0.38))
    again, new = queue.add(alert(1, "A", "north", 0, distance=0.31))
    assert again is incident and not new
    assert len(incident.alerts) == 1 and incident.best.distance == 0.31


def test_queue_order_is_urgency_then_waiting_and_after_a_decision_the_most_urgent_is_next():
    queue = IncidentQueue()
    routine, _ = queue.add(alert(1, "R", "north", 0))
    priority, _ = queue.add(alert(2, "A", "north", 5))
    immediate, _ = queue.add(alert(3, "S", "south", 20))
    older_priority_subject = alert(4, "A", "south", 2)  # joins the priority incident
    queue.add(older_priority_subject)
    assert [i.incident_id for i in queue.pending] == [
        immediate.incident_id,
        priority.incident_id,
        routine.incident_id,
    ]
    assert priority.opened_at == T0 + timedelta(seconds=2)
    queue.remove(immediate.incident_id)
    assert queue.most_urgent() is priority


def test_a_decided_incident_takes_no_new_sightings_and_engaged_ones_wait_apart():
    queue = IncidentQueue()
    incident, _ = queue.add(alert(1, "S", "north", 0))
    queue.mark_engaged(incident.incident_id, T0 + timedelta(seconds=30))
    fresh, new = queue.add(alert(2, "S", "south", 40))
    assert new, "nobody has looked at a sighting after the decision"
    assert queue.engaged == [incident] and queue.pending == [fresh]
    queue.remove_alerts(fresh.incident_id, ["south-2"])
    assert queue.pending == [] and queue.of_alert("south-2") is None


def test_an_undone_incident_comes_back_as_it_was():
    queue = IncidentQueue()
    incident, _ = queue.add(alert(1, "A", "north", 0))
    queue.add(alert(2, "A", "south", 3))
    queue.mark_engaged(incident.incident_id, T0)
    queue.remove(incident.incident_id)
    queue.put_back(incident)
    assert queue.pending == [incident] and not incident.engaged
    assert queue.of_alert("south-2") is incident


def test_a_sighting_during_the_undo_window_joins_the_incident_put_back():
    """Dismissed, a new sighting of the same person arrives, then the dismissal is undone:
    one pending incident for the person, not two."""
    queue = IncidentQueue()
    incident, _ = queue.add(alert(1, "A", "north", 0))
    queue.remove(incident.incident_id)  # decided
    during, new = queue.add(alert(2, "A", "south", 3))
    assert new, "nobody has looked at it yet"
    other, _ = queue.add(alert(3, "S", "south", 4))
    queue.put_back(incident)  # undone
    assert {i.incident_id for i in queue.pending} == {incident.incident_id, other.incident_id}
    assert incident.alert_ids == ["north-1", "south-2"]
    assert queue.of_alert("south-2") is incident and queue.get(during.incident_id) is None


def test_the_undo_window_is_five_seconds_and_only_for_the_officer_who_decided():
    queue = IncidentQueue()
    incident, _ = queue.add(alert(1, "A", "north", 0))
    recent = RecentDecision(incident, Decision.FALSE_MATCH, "PC Ward", T0)
    assert timedelta(seconds=5) == UNDO_WINDOW
    assert recent.undo_open(T0 + timedelta(seconds=4.9), "PC Ward")
    assert not recent.undo_open(T0 + timedelta(seconds=5.1), "PC Ward")
    assert not recent.undo_open(T0 + timedelta(seconds=1), "Sgt Other")
    assert recent.seconds_left(T0 + timedelta(seconds=2)) == pytest.approx(3)


def test_no_decision_after_conclusion():
    d = Deployment(
        "R-1", "Croydon", ("north",), "J. Hart", "Superintendent", T0, T0 + timedelta(hours=8), 0.4
    )
    check_decision_allowed(d)
    with pytest.raises(SafeguardError, match="concluded"):
        check_decision_allowed(Deployment(**{**d.__dict__, "state": DeploymentState.CONCLUDED}))


def test_waiting_is_shown_as_minutes_and_seconds():
    assert (
        waiting_text(0) == "0:00" and waiting_text(75.9) == "1:15" and waiting_text(600) == "10:00"
    )
