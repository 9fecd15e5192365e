"""A deployment's equality report: referenced by its plan, required by the site policy at
start (enforced and audited), named by the record."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from console.config import SAMPLE_DEPLOYMENT, ConfigError, load_plan
from console.domain.deployments import SafeguardError
from console.domain.officers import Role
from console.domain.policy import FalseAlertRate
from console.equality import approval
from console.equality.adapter import ShippedMatcher
from console.reports.record import deployment_record
from console.storage import Store
from tests import sessions
from tests.test_deployment_session import Recorder


def write_report(path, made: datetime, points=((1000, 2),), matcher: str | None = None):
    """An evaluate-matcher JSON report as the contract gives it (figures beside the point
    here: the requirement reads who made it, when, on what, for which points)."""
    report = {
        "report": "per-group evaluation of the matcher",
        "generated_at": made.isoformat(),
        "console_version": "0.1.0",
        "matcher": {"id": matcher or ShippedMatcher().fingerprint()["id"]},
        "test_set": {"sha256": "ab" * 32, "people": 240},
        "operating_points": [
            {"rate": f"1 in {one_in:,}", "watchlist_size": size, "groups": {},
             "differences": []} for one_in, size in points
        ],
    }
    path.write_text(json.dumps(report))
    return path


def require_report(folder, months=12):
    store = Store.in_dir(folder)
    store.officers.add("root", "Admin One", Role.ADMIN, "correct horse battery", "test")
    admin = store.officers.authenticate("root", "correct horse battery")
    store.policy.change(admin, equality_report_months=str(months))
    store.close()


def start(tmp_path, pool, plan, before=None, then=None):
    async def scenario():
        session, store = sessions.open_session(tmp_path, pool, Recorder(), plan)
        if before:
            before()
        await session.confirm_officers_present()
        try:
            await session.start()
            if then:
                await then(session)
            return None, store
        except SafeguardError as exc:
            return str(exc), store
        finally:
            await session.close()

    return asyncio.run(scenario())


def actions(store, action):
    return [e.details for e in store.audit.entries() if e.action == action]


def test_a_start_without_the_required_report_is_refused_and_audited(tmp_path, process_pool):
    require_report(tmp_path)
    refused, store = start(tmp_path, process_pool, load_plan(SAMPLE_DEPLOYMENT))
    assert refused and "cannot start" in refused and "equality report" in refused
    assert "evaluate-matcher" in refused
    assert actions(store, approval.REFUSED)[-1]["reason"].startswith("the site policy requires")
    assert store.deployments.get(actions(store, approval.REFUSED)[-1]["reference"]
                                 ).started_at is None


@pytest.mark.parametrize("fault,words", [
    ("old", "made in the last 12 month"),
    ("other matcher", "this console's matcher"),
    ("other rate", "does not cover 1 in 1,000"),
    ("edited", "has changed since"),
])
def test_a_report_that_does_not_fit_refuses_the_start(tmp_path, process_pool, fault, words):
    require_report(tmp_path)
    now = datetime.now(UTC)
    made = now - timedelta(days=400) if fault == "old" else now - timedelta(days=3)
    points = ((10_000, 2),) if fault == "other rate" else ((1000, 2),)
    report = write_report(tmp_path / "equality.json", made, points,
                          "0" * 16 if fault == "other matcher" else None)
    plan = replace(load_plan(SAMPLE_DEPLOYMENT), equality_report=report)

    def edit():  # after the deployment was prepared on it (the reference is audited)
        data = json.loads(report.read_text())
        data["test_set"]["people"] = 2400
        report.write_text(json.dumps(data))

    refused, store = start(tmp_path, process_pool, plan, edit if fault == "edited" else None)
    assert refused and words in refused, refused
    assert words in actions(store, approval.REFUSED)[-1]["reason"]


def test_a_fitting_report_lets_the_start_proceed_and_the_record_names_it(tmp_path,
                                                                           process_pool):
    require_report(tmp_path)
    report = write_report(tmp_path / "equality.json", datetime.now(UTC) - timedelta(days=30))
    plan = replace(load_plan(SAMPLE_DEPLOYMENT), equality_report=report)
    moved: list[str] = []

    async def change_rate(session):  # to a rate the report does not speak for
        try:
            await session.change_false_alert_rate(FalseAlertRate(10_000))
        except SafeguardError as exc:
            moved.append(str(exc))

    refused, store = start(tmp_path, process_pool, plan, then=change_rate)
    assert refused is None
    assert moved and "does not cover 1 in 10,000" in moved[0]
    assert "does not cover" in actions(store, approval.REFUSED)[-1]["reason"]
    assert not [e for e in store.audit.entries() if e.action == "false-alert rate changed"]
    referenced = actions(store, approval.REFERENCED)[-1]
    checked = actions(store, approval.CHECKED)[0]
    assert referenced["sha256"] == checked["sha256"] and referenced["people"] == 240
    assert checked["rate"] == "1 in 1,000" and checked["watchlist_size"] == 2
    record = deployment_record(store, checked["reference"], keep=False)
    named = dict(record.facts())["Equality report"]
    assert "equality.json" in named and "240 people" in named


def test_without_the_policy_a_report_is_not_needed(tmp_path, process_pool):
    refused, store = start(tmp_path, process_pool, load_plan(SAMPLE_DEPLOYMENT))
    assert refused is None and not actions(store, approval.CHECKED)


def test_the_plan_key_stays_inside_the_plan_folder_and_must_exist(tmp_path):
    (tmp_path / "plan").mkdir()
    (tmp_path / "elsewhere.json").write_text("{}")
    text = SAMPLE_DEPLOYMENT.read_text().replace("sample = true", "sample = false")
    for report, words in (("../elsewhere.json", "outside the plan's folder"),
                          ("missing.json", "not a file")):
        (tmp_path / "plan" / "plan.toml").write_text(f'equality_report = "{report}"\n' + text)
        with pytest.raises(ConfigError, match=words):
            load_plan(tmp_path / "plan" / "plan.toml")


@pytest.mark.parametrize("body", [
    b"not json", b"{}", b'{"generated_at": "2026-01-01T00:00:00+00:00"}',
    json.dumps({"generated_at": "2026-01-01", "console_version": "x", "matcher": {"id": "y"},
                "test_set": {"sha256": "ab" * 32, "people": 3},
                "operating_points": [{"rate": "1 in 1000", "watchlist_size": 20}]}).encode(),
    json.dumps({"generated_at": "2026-01-01T00:00:00+00:00", "console_version": "x",
                "matcher": {"id": "y\u202e"}, "test_set": {"sha256": "ab" * 32, "people": 3},
                "operating_points": [{"rate": "1 in 1000", "watchlist_size": 20}]}).encode(),
])
def test_a_report_file_that_is_not_one_is_refused_in_words(tmp_path, body):
    (tmp_path / "r.json").write_bytes(body)
    with pytest.raises(approval.ApprovalError, match="not a report"):
        approval.read_report(tmp_path / "r.json")


def test_months_are_calendar_months():
    assert approval.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, tzinfo=UTC)
    assert approval.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14).date().isoformat() == (
        "2028-01-15")
