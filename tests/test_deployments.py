"""The deployment safeguards as domain rules: each one refuses on its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from console.domain.deployments import Deployment, DeploymentState, SafeguardError

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ready(**changes) -> Deployment:
    """A planned deployment that meets every rule for starting at NOW."""
    d = Deployment(
        reference="CR-1",
        site="Croydon, North End",
        cameras=("north", "south"),
        authorised_by="J. Smith",
        authorised_rank="Superintendent",
        planned_start=NOW - timedelta(minutes=5),
        planned_end=NOW + timedelta(hours=6),
        threshold=0.4,
        watchlist_created_at=NOW - timedelta(hours=2),
        officers_present_confirmed_by="PC 1 Ward",
    )
    return replace(d, **changes)


def test_a_ready_deployment_starts():
    started = ready().start(NOW)
    assert started.state == DeploymentState.ACTIVE and started.started_at == NOW
    assert started.cameras_off_reason() is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"watchlist_created_at": None}, "no watchlist"),
        ({"watchlist_created_at": NOW - timedelta(hours=24, minutes=1)}, "24 hours"),
        ({"officers_present_confirmed_by": None}, "officers are present on the ground"),
        ({"planned_start": NOW + timedelta(minutes=30)}, "cannot start earlier"),
        ({"planned_end": NOW, "planned_start": NOW - timedelta(hours=1)}, "plan a new deployment"),
        ({"state": DeploymentState.CONCLUDED}, "not planned"),
    ],
)
def test_each_start_rule_refuses_with_a_clear_message(changes, message):
    with pytest.raises(SafeguardError, match=message):
        ready(**changes).start(NOW)


def test_a_watchlist_just_under_24_hours_old_is_accepted():
    ready(watchlist_created_at=NOW - timedelta(hours=23, minutes=59)).start(NOW)


def test_cameras_run_only_while_active_with_officers_confirmed():
    assert "not started" in ready().cameras_off_reason()
    active = ready().start(NOW)
    assert active.cameras_off_reason() is None
    assert (
        "not confirmed" in replace(active, officers_present_confirmed_by=None).cameras_off_reason()
    )
    assert "concluded" in active.conclude(NOW).cameras_off_reason()


def test_conclusion_is_final_and_planned_end_is_noticed():
    active = ready().start(NOW)
    assert not active.is_past_planned_end(NOW)
    assert active.is_past_planned_end(NOW + timedelta(hours=6))
    concluded = active.conclude(NOW)
    with pytest.raises(SafeguardError, match="already concluded"):
        concluded.conclude(NOW)
    with pytest.raises(SafeguardError, match="concluded"):
        concluded.confirm_officers_present("PC 2")


def test_an_authorising_officer_is_required():
    with pytest.raises(SafeguardError, match="authorising officer"):
        ready(authorised_rank=" ")
