"""Getting a deployment ready to monitor: find or plan it, give it a fresh watchlist.

Plain Python (no Qt): the window and the tests call the same steps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from console.config import DeploymentPlan
from console.domain.deployments import (
    WATCHLIST_MAX_AGE,
    Deployment,
    DeploymentState,
    SafeguardError,
)
from console.domain.officers import Officer, Permission, Role
from console.domain.watchlist import Watchlist
from console.equality.approval import note_reference as note_equality_report
from console.equality.monitoring import note_composition as note_watchlist_groups
from console.reports.record import keep_counts
from console.storage import StorageError, Store
from console.vision.enrolment import Progress, enrol_watchlist
from console.vision.operating_point import threshold_for
from console.vision.pool import AnalysisPool

# The bundled sample's accounts: its record lives in a folder of its own (see README).
SAMPLE_ACCOUNTS = {
    "supervisor": ("Sgt Sample Supervisor", Role.SUPERVISOR, "supervisor-sample"),
    "operator": ("PC Sample Operator", Role.OPERATOR, "operator-sample"),
    "trainer": ("Sample Trainer", Role.TRAINER, "trainer-sample"),  # the bundled scenarios
}


def seed_sample_accounts(store: Store) -> None:
    """The sample record's accounts (a sample record made before an account was added to
    the list gets it now)."""
    if store.officers.count() >= len(SAMPLE_ACCOUNTS):
        return
    for username, (name, role, password) in SAMPLE_ACCOUNTS.items():
        try:
            store.officers.add(username, name, role, password, by="console (sample set-up)")
        except StorageError as exc:
            if "already exists" not in str(exc):
                raise


def reference_to_open(store: Store, plan: DeploymentPlan) -> str:
    """The deployment reference the plan opens: a ``{seq}`` takes the first number whose
    deployment has not concluded, so the sample can run again after it concluded.
    SafeguardError if the plan's fixed reference has concluded."""
    seq = 1
    while True:
        reference = plan.reference.replace("{seq}", f"{seq:03d}")
        existing = store.deployments.get(reference)
        if existing is None or existing.state != DeploymentState.CONCLUDED:
            return reference
        if "{seq}" not in plan.reference:
            raise SafeguardError(
                f"deployment {reference} has concluded; plan a new deployment with a new reference"
            )
        seq += 1


def resolve_deployment(
    store: Store, plan: DeploymentPlan, officer: Officer, now: datetime
) -> Deployment:
    """The plan's deployment from the record, planned afresh if it does not exist yet."""
    # The site's cap on cameras holds for a deployment planned earlier, and for cameras
    # added on the command line, as for a new one.
    store.policy.current().check_cameras(len(plan.cameras))
    reference = reference_to_open(store, plan)
    existing = store.deployments.get(reference)
    if existing is not None:
        return existing
    deployment = plan.deployment(reference, now, store.policy.current())
    store.deployments.create(deployment, str(officer))
    return deployment


def needs_watchlist(store: Store, d: Deployment, now: datetime) -> bool:
    """A planned deployment without a watchlist, or with one too old to start with."""
    if d.state != DeploymentState.PLANNED:
        return False
    created = d.watchlist_created_at
    empty = store.deployments.watchlist_size(d.reference) == 0
    return empty or created is None or now - created > WATCHLIST_MAX_AGE


def import_watchlist(
    store: Store,
    plan: DeploymentPlan,
    deployment: Deployment,
    officer: Officer,
    pool: AnalysisPool,
    progress: Progress | None = None,
    minors_allowed: dict[str, str] | None = None,
) -> Deployment:
    """Enrol the plan's watchlist folder into the deployment (blocking: run off the GUI).

    *minors_allowed* maps subject ids to the supervisor who overrode the under-18 rule.
    The threshold then follows from the plan's false-alert rate and the watchlist's size.
    """
    officer.require(Permission.IMPORT_WATCHLIST)
    policy = store.policy.current()
    policy.check_rate(plan.false_alert_rate)
    watchlist = enrol_watchlist(
        plan.watchlist,
        progress,
        pool,
        deployment_day=deployment.planned_start.date(),
        minors_allowed=frozenset(minors_allowed or {}),
        max_subjects=policy.max_watchlist_size,
    )
    stored = store.deployments.store_watchlist(deployment, watchlist, str(officer), minors_allowed)
    note_watchlist_groups(store, deployment.reference, watchlist, str(officer))  # #27
    threshold = threshold_for(plan.false_alert_rate, len(watchlist))
    updated = replace(stored, threshold=threshold)
    store.deployments.update(
        updated,
        str(officer),
        "operating point set",
        {
            "false_alert_rate": str(plan.false_alert_rate),
            "watchlist_size": len(watchlist),
            "threshold": threshold,
        },
    )
    return updated


def prepare(
    store: Store,
    plan: DeploymentPlan,
    officer: Officer,
    pool: AnalysisPool,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[Deployment, Watchlist]:
    """Everything before monitoring: retention purge, the deployment, its watchlist."""
    keep_counts(store)  # the published figures survive the purge, as counts only
    store.alerts.purge_expired(now)  # retention is enforced every time the console opens
    deployment = resolve_deployment(store, plan, officer, now)
    note_equality_report(store, deployment, plan.equality_report, str(officer))  # audited
    if needs_watchlist(store, deployment, now):
        deployment = import_watchlist(store, plan, deployment, officer, pool, progress)
    return deployment, store.deployments.load_watchlist(deployment.reference)
