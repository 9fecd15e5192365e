"""Incidents: repeat sightings of one subject, decided once.

A busy street (or a looping camera) sights the same watchlisted person again and again:
each sighting is an alert of its own (so the record keeps every one), but the officer has
one question to answer about the person, not one per pass. An *incident* gathers the
alerts of one subject, on any camera, raised within ``window`` of the incident's first
alert; the officer decides the incident once and the decision is recorded for every alert
in it, each with its own entry in the record and the audit trail.

Only undecided incidents gather new alerts: a sighting after the decision (or of a subject
already engaged) opens a new incident, because nobody has looked at it yet.

Plain Python (no Qt): the queue's order and the undo window are rules here (which card is
open and what a key may act on are in ``console.domain.desk``); the Qt layer only shows
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.domain.alerts import Alert, Decision, Outcome, Urgency
from console.domain.deployments import Deployment, DeploymentState, SafeguardError

DEFAULT_WINDOW = timedelta(minutes=5)
# A decision can be taken back by the officer who made it for this long (a stray key);
# after that only a supervisor corrects it, through the history, with a reason.
UNDO_WINDOW = timedelta(seconds=5)


@dataclass
class Incident:
    """One subject's sightings awaiting one decision (or, engaged, one outcome)."""

    incident_id: str  # the first alert's id: stable for the incident's life
    subject_id: str
    subject_name: str
    category: str
    alerts: list[Alert] = field(default_factory=list)
    engaged: bool = False
    engaged_at: datetime | None = None

    @property
    def urgency(self) -> Urgency:
        return self.alerts[0].urgency

    @property
    def opened_at(self) -> datetime:
        return min(a.raised_at for a in self.alerts)

    @property
    def last_seen(self) -> datetime:
        return max(a.raised_at for a in self.alerts)

    @property
    def cameras(self) -> list[str]:
        """Cameras in the order the subject was first seen on them."""
        ordered = sorted(self.alerts, key=lambda a: a.raised_at)
        return list(dict.fromkeys(a.camera for a in ordered))

    @property
    def best(self) -> Alert:
        """The closest match of all sightings: the face the officer compares first."""
        return min(self.alerts, key=lambda a: a.distance)

    @property
    def alert_ids(self) -> list[str]:
        return [a.alert_id for a in self.alerts]

    def waiting_s(self, now: datetime) -> float:
        """How long the officer has had it: from its first alert."""
        return max(0.0, (now - self.opened_at).total_seconds())

    def queue_key(self) -> tuple:
        """Most urgent first, then the one waiting longest (nothing is forgotten)."""
        return (-int(self.urgency), self.opened_at, self.incident_id)

    def takes(self, alert: Alert, window: timedelta) -> bool:
        """Whether *alert* is a repeat sighting that belongs to this incident."""
        return (
            alert.subject_id == self.subject_id and abs(alert.raised_at - self.opened_at) <= window
        )


def waiting_text(seconds: float) -> str:
    """m:ss, as the queue shows waiting times."""
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class IncidentQueue:
    """The open incidents: pending ones in queue order, engaged ones awaiting outcomes."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._incidents: dict[str, Incident] = {}
        self._of_alert: dict[str, str] = {}

    def add(self, alert: Alert, engaged: bool = False) -> tuple[Incident, bool]:
        """File an alert (new, improved in place, or restored); return its incident and
        whether the incident is new."""
        known = self._of_alert.get(alert.alert_id)
        if known is not None and known in self._incidents:
            incident = self._incidents[known]
            incident.alerts = [
                alert if a.alert_id == alert.alert_id else a for a in incident.alerts
            ]
            return incident, False
        # A live alert joins only an undecided incident; *engaged* is for alerts restored
        # after a restart, which regroup as they were decided.
        for incident in self._incidents.values():
            if incident.engaged == engaged and incident.takes(alert, self.window):
                incident.alerts.append(alert)
                self._of_alert[alert.alert_id] = incident.incident_id
                return incident, False
        incident = Incident(
            alert.alert_id, alert.subject_id, alert.subject_name, alert.category, [alert]
        )
        incident.engaged = engaged
        self._incidents[incident.incident_id] = incident
        self._of_alert[alert.alert_id] = incident.incident_id
        return incident, True

    def get(self, incident_id: str | None) -> Incident | None:
        return self._incidents.get(incident_id) if incident_id else None

    def of_alert(self, alert_id: str) -> Incident | None:
        return self.get(self._of_alert.get(alert_id))

    @property
    def pending(self) -> list[Incident]:
        return sorted(
            (i for i in self._incidents.values() if not i.engaged), key=Incident.queue_key
        )

    @property
    def engaged(self) -> list[Incident]:
        """Engaged incidents, the longest awaiting its outcome first."""
        return sorted(
            (i for i in self._incidents.values() if i.engaged),
            key=lambda i: (i.engaged_at or i.opened_at, i.incident_id),
        )

    def most_urgent(self) -> Incident | None:
        """The head of the queue: what N opens next."""
        pending = self.pending
        return pending[0] if pending else None

    def mark_engaged(self, incident_id: str, at: datetime) -> None:
        incident = self._incidents[incident_id]
        incident.engaged, incident.engaged_at = True, at

    def remove(self, incident_id: str) -> Incident | None:
        incident = self._incidents.pop(incident_id, None)
        if incident is not None:
            for alert_id in incident.alert_ids:
                self._of_alert.pop(alert_id, None)
        return incident

    def remove_alerts(self, incident_id: str, alert_ids: list[str]) -> None:
        """Some alerts of an incident were decided (a write failed for the rest)."""
        incident = self._incidents.get(incident_id)
        if incident is None:
            return
        incident.alerts = [a for a in incident.alerts if a.alert_id not in alert_ids]
        for alert_id in alert_ids:
            self._of_alert.pop(alert_id, None)
        if not incident.alerts:
            self.remove(incident_id)

    def put_back(self, incident: Incident) -> None:
        """An undone decision: the incident returns to the queue as it was, undecided.

        A sighting of the same subject that arrived while it was decided opened an
        incident of its own; it joins the one put back (one person, one decision)."""
        incident.engaged, incident.engaged_at = False, None
        self._incidents[incident.incident_id] = incident
        for alert_id in incident.alert_ids:
            self._of_alert[alert_id] = incident.incident_id
        for other in list(self._incidents.values()):
            if other is incident or other.engaged or other.subject_id != incident.subject_id:
                continue
            if all(incident.takes(alert, self.window) for alert in other.alerts):
                self.remove(other.incident_id)
                incident.alerts.extend(other.alerts)
                for alert_id in other.alert_ids:
                    self._of_alert[alert_id] = incident.incident_id

    def __len__(self) -> int:
        return len(self._incidents)


@dataclass(frozen=True)
class RecentDecision:
    """A decision just recorded for an incident, which its officer may still undo."""

    incident: Incident
    decision: Decision
    officer: str
    decided_at: datetime

    def undo_open(self, now: datetime, officer: str) -> bool:
        return officer == self.officer and timedelta(0) <= now - self.decided_at <= UNDO_WINDOW

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (UNDO_WINDOW - (now - self.decided_at)).total_seconds())


@dataclass(frozen=True)
class RecentOutcome:
    """An outcome just recorded for an engagement. It cannot be taken back (officers on
    the ground acted on it), but its officer may correct it, with a reason, if they ask
    within the undo window; after that only a supervisor corrects it."""

    incident: Incident
    outcome: Outcome
    officer: str
    recorded_at: datetime

    def undo_open(self, now: datetime, officer: str) -> bool:
        return officer == self.officer and timedelta(0) <= now - self.recorded_at <= UNDO_WINDOW

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (UNDO_WINDOW - (now - self.recorded_at)).total_seconds())


class UndoRefused(Exception):
    """The undo window has closed (or the decision is someone else's): correct it through
    the history instead, with a reason."""


def check_decision_allowed(deployment: Deployment) -> None:
    """After conclusion no new decision is taken on an alert left open: the watchlist it
    would be compared with is gone. Outcomes of engagements are still recorded."""
    if deployment.state == DeploymentState.CONCLUDED:
        raise SafeguardError(
            f"deployment {deployment.reference} has concluded: no new decision is accepted "
            "(the outcome of an engaged alert still is)"
        )
