"""Equality monitoring in operation: the officer may record the engaged person's perceived
groups with an engagement's outcome (never required), stored final and audited; the
record tabulates alerts and engagements by group beside the watchlist's share."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from html import escape

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Decision, Outcome, OutcomeReport
from console.domain.equality import NOT_RECORDED, EqualityFields
from console.domain.officers import Role
from console.domain.policy import PolicyError, SitePolicy
from console.domain.watchlist import WatchlistError, read_watchlist_csv
from console.equality.monitoring import CAVEAT, tabulate
from console.qt.equality_dialog import EqualityDialog
from console.reports.html import record_html
from console.reports.record import deployment_record
from console.storage import AlreadyDecided, StorageError, Store
from console.storage.equality import RECORDED
from tests.conftest import SAMPLES, pause_like_a_person, run_on_loop
from tests.test_storage import alert, decide

AT = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)


def engaged_with_outcome(store, alert_id="north-1"):
    store.alerts.save("DEP-1", alert(alert_id))
    store.alerts.record_decision(decide(alert_id))
    store.alerts.record_outcome(OutcomeReport(alert_id, Outcome.ARRESTED, "PC 1", AT))


def test_answers_are_stored_once_final_and_audited(tmp_path):
    store = Store.in_dir(tmp_path)
    engaged_with_outcome(store)
    fields = EqualityFields.parse(ethnicity_code="ic3", sex="Female")
    store.equality.record("north-1", fields, "PC 1 Ward", AT)
    assert store.equality.for_alert("north-1") == EqualityFields("IC3", "female", NOT_RECORDED)
    entry = [e for e in store.audit.entries() if e.action == RECORDED][-1]
    assert entry.actor == "PC 1 Ward"
    assert entry.details == {"alert_id": "north-1", "ethnicity_code": "IC3", "sex": "female",
                             "age_band": NOT_RECORDED}
    with pytest.raises(AlreadyDecided):
        store.equality.record("north-1", EqualityFields(), "PC 2", AT)
    db = sqlite3.connect(tmp_path / "console.db")
    with pytest.raises(sqlite3.DatabaseError, match="cannot be changed"):
        db.execute("UPDATE outcome_equality SET ethnicity_code = 'IC1'")
    assert store.audit.verify().intact


def test_answers_need_a_recorded_outcome(tmp_path):
    store = Store.in_dir(tmp_path)
    store.alerts.save("DEP-1", alert())
    store.alerts.record_decision(decide(decision=Decision.FALSE_MATCH))
    with pytest.raises(StorageError, match="no recorded outcome"):
        store.equality.record("north-1", EqualityFields(), "PC 1", AT)


def test_only_the_codes_are_accepted():
    with pytest.raises(ValueError, match="IC1"):
        EqualityFields.parse(ethnicity_code="IC7")
    with pytest.raises(ValueError):
        EqualityFields(sex="unknown")  # stored values are codes; "not recorded" is one
    assert EqualityFields.parse(age_band="25 to 34").age_band == "25-34"


def test_the_site_policy_switch_is_checked():
    assert SitePolicy.from_mapping({"equality_monitoring": "on"}).equality_monitoring is True
    assert SitePolicy.from_mapping({"equality_monitoring": "no"}).equality_monitoring is False
    with pytest.raises(PolicyError, match="equality_monitoring"):
        SitePolicy.from_mapping({"equality_monitoring": "sometimes"})
    with pytest.raises(PolicyError, match="equality_report_months"):
        SitePolicy.from_mapping({"equality_report_months": "200"})


def watchlist_with_groups(folder, rows):
    shutil.copytree(SAMPLES / "watchlist", folder)
    path = folder / "watchlist.csv"
    with path.open(newline="") as fh:
        data = list(csv.DictReader(fh))
    for row, extra in zip(data, rows, strict=True):
        row.update(extra)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return folder


def test_watchlist_group_columns_are_optional_and_checked(tmp_path):
    good = watchlist_with_groups(tmp_path / "good", [
        {"ethnicity_code": "ic1", "sex": "male", "age_band": ""},
        {"ethnicity_code": "", "sex": "Female", "age_band": "35 to 44"},
    ])
    entries = read_watchlist_csv(good)
    assert [e.extra["ethnicity_code"] for e in entries] == ["IC1", NOT_RECORDED]
    assert entries[1].extra["age_band"] == "35-44"
    bad = watchlist_with_groups(tmp_path / "bad", [
        {"ethnicity_code": "IC9", "sex": "male"}, {"ethnicity_code": "", "sex": "x"}])
    with pytest.raises(WatchlistError) as refused:
        read_watchlist_csv(bad)
    assert "row 1" in str(refused.value) and "row 2" in str(refused.value)


def open_with_monitoring(open_sample, tmp_path, monitoring: bool):
    store = Store.in_dir(tmp_path)
    store.officers.add("root", "Admin One", Role.ADMIN, "correct horse battery", "test")
    store.officers.add("ward", "PC 4821 Ward", Role.SUPERVISOR, "correct horse", "test")
    admin = store.officers.authenticate("root", "correct horse battery")
    store.policy.change(admin, equality_monitoring="on" if monitoring else "off")
    store.close()
    listed = watchlist_with_groups(tmp_path / "watchlist", [
        {"ethnicity_code": "IC1", "sex": "male", "age_band": "55-64"},
        {"ethnicity_code": "IC1", "sex": "female", "age_band": "55-64"},
    ])
    plan = replace(load_plan(SAMPLE_DEPLOYMENT), watchlist=listed)
    return open_sample(plan=plan, data_dir=tmp_path)


def engage_and_record_outcome(qtbot, console):
    window, panel = console.window, console.window.alerts
    window.activateWindow()
    qtbot.waitUntil(lambda: len(panel.pending) >= 1, timeout=30_000)
    pause_like_a_person(qtbot)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_N)  # open the next card
    first = panel.selected
    assert first is not None
    qtbot.wait(650)  # read it: a key on a card shown for less than the guard time is refused
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: first.engaged, timeout=5_000)
    pause_like_a_person(qtbot)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_1)  # arrested
    return first


def test_the_officer_records_perceived_groups_with_the_outcome(qtbot, open_sample, tmp_path):
    console = open_with_monitoring(open_sample, tmp_path, monitoring=True)
    engaged = engage_and_record_outcome(qtbot, console)
    qtbot.waitUntil(lambda: console.window.findChild(EqualityDialog) is not None
                    and console.window.findChild(EqualityDialog).isVisible(), timeout=5_000)
    dialog = console.window.findChild(EqualityDialog)
    assert all(box.currentData() == NOT_RECORDED for box in dialog.fields.values())
    assert dialog.record_button.isEnabled(), "nothing is required to proceed"
    ethnicity = dialog.fields["ethnicity_code"]
    ethnicity.setFocus()
    for _ in range(3):  # Not recorded -> IC1 -> IC2 -> IC3, as an officer's arrow keys
        qtbot.keyClick(ethnicity, Qt.Key.Key_Down)
    assert ethnicity.currentData() == "IC3"
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    store = console.session.store.store
    alert_id = engaged.alert_ids[0]
    qtbot.waitUntil(lambda: store.equality.for_alert(alert_id) is not None, timeout=5_000)
    assert store.equality.for_alert(alert_id).ethnicity_code == "IC3"
    qtbot.waitUntil(lambda: "Equality monitoring recorded" in
                    console.window.statusBar().currentMessage(), timeout=5_000)
    audited = [e for e in store.audit.entries() if e.action == RECORDED]
    assert audited[-1].details["alert_id"] == alert_id
    assert audited[-1].details["ethnicity_code"] == "IC3"
    reference = console.session.deployment.reference
    tables = tabulate(store, reference, keep=False).table
    assert tables["ethnicity_code"]["IC3"]["engagements"] == 1
    assert tables["ethnicity_code"]["IC3"]["arrests"] == 1
    assert tables["ethnicity_code"]["IC1"]["watchlist"] == 2  # both subjects listed IC1
    assert tables["ethnicity_code"]["IC1"]["alerts"] >= 1  # by the subject's listed group
    assert tables["sex"][NOT_RECORDED]["engagements"] == 1  # sex left not recorded
    html = record_html(deployment_record(store, reference, keep=False), (600, 200))
    assert "Equality monitoring" in html and escape(CAVEAT)[:40] in html


def test_skipping_records_nothing_and_without_the_policy_nothing_is_asked(
        qtbot, open_sample, tmp_path):
    console = open_with_monitoring(open_sample, tmp_path / "on", monitoring=True)
    engaged = engage_and_record_outcome(qtbot, console)
    qtbot.waitUntil(lambda: console.window.findChild(EqualityDialog) is not None
                    and console.window.findChild(EqualityDialog).isVisible(), timeout=5_000)
    dialog = console.window.findChild(EqualityDialog)
    qtbot.mouseClick(dialog.skip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
    store = console.session.store.store
    assert store.alerts.outcome_for(engaged.alert_ids[0]).outcome == Outcome.ARRESTED
    assert store.equality.for_alert(engaged.alert_ids[0]) is None
    run_on_loop(qtbot, console.close())  # one console's cameras at a time

    other = open_with_monitoring(open_sample, tmp_path / "off", monitoring=False)
    engaged = engage_and_record_outcome(qtbot, other)
    store = other.session.store.store
    qtbot.waitUntil(lambda: store.alerts.outcome_for(engaged.alert_ids[0]) is not None,
                    timeout=5_000)
    qtbot.wait(300)
    assert other.window.findChild(EqualityDialog) is None


def test_the_record_and_the_evaluation_tabulate_by_group_and_keep_the_counts(tmp_path):
    """Alerts by the subject's listed group beside the watchlist's share, engagements and
    outcomes by the perceived group; the counts outlive the alerts' retention."""
    from dataclasses import replace as changed
    from datetime import timedelta
    from pathlib import Path

    import numpy as np

    from console.domain.alerts import Adjudication, Alert, Evidence
    from console.domain.deployments import Deployment
    from console.domain.watchlist import Watchlist, WatchlistEntry, WatchlistSubject
    from console.reports.evaluation import evaluate
    from console.reports.export import evaluation_dict
    from console.reports.html import evaluation_html

    now = datetime.now(UTC)
    store = Store.in_dir(tmp_path)
    d = Deployment("CR-1", "Croydon", ("north",), "J. Hart", "Superintendent",
                   now - timedelta(hours=1), now + timedelta(hours=7), 0.4)
    store.deployments.create(d, "PC 1")
    groups = [{"ethnicity_code": "IC3", "sex": "female"}, {"ethnicity_code": "IC1"},
              {"ethnicity_code": "IC1"}]
    subjects = [
        WatchlistSubject(
            WatchlistEntry(i + 1, f"WL-{i}", f"S {i}", "wanted by the courts", Path(), g),
            np.full(128, i / 10), np.full((30, 20, 3), 100, np.uint8), b"img")
        for i, g in enumerate(groups)
    ]
    stored = store.deployments.store_watchlist(d, Watchlist(Path("wl"), subjects, now), "PC 1")
    store.deployments.update(changed(stored, started_at=now), "PC 1", "deployment started")

    def raise_alert(alert_id, subject, decision, outcome=None, perceived=None):
        # Raised 60 days ago: past the 31 days' retention, so the purge below may act
        # (the record's own triggers hold it to the real clock).
        a = Alert(alert_id, "north", subject, "S", "wanted by the courts", 0.35, 0.4, 7.2,
                  180, (1, 2, 3, 4), now - timedelta(days=60), None,
                  [Evidence(180, 7.2, 0.35)])
        store.alerts.save("CR-1", a)
        store.alerts.record_decision(Adjudication(alert_id, decision, "PC 1", now, "seen"))
        if outcome:
            store.alerts.record_outcome(OutcomeReport(alert_id, outcome, "PC 1", now))
        if perceived:
            store.equality.record(alert_id, perceived, "PC 1", now)

    raise_alert("a1", "WL-0", Decision.ENGAGE, Outcome.ARRESTED,
                EqualityFields.parse(ethnicity_code="IC3", sex="female", age_band="25-34"))
    raise_alert("a2", "WL-0", Decision.FALSE_MATCH)
    raise_alert("a3", "WL-1", Decision.ENGAGE, Outcome.CONFIRMED_FALSE,
                EqualityFields.parse(ethnicity_code="IC2"))
    raise_alert("a4", "WL-1", Decision.DISMISS)
    raise_alert("a5", "WL-2", Decision.ENGAGE, Outcome.NOT_LOCATED)  # nothing recorded

    table = tabulate(store, "CR-1").table["ethnicity_code"]
    assert (table["IC3"]["watchlist"], table["IC1"]["watchlist"]) == (1, 2)
    assert (table["IC3"]["alerts"], table["IC3"]["false_alerts"]) == (2, 1)
    assert (table["IC1"]["alerts"], table["IC1"]["false_alerts"]) == (3, 1)
    assert table["IC3"]["engagements"] == 1 and table["IC3"]["arrests"] == 1
    assert table["IC2"]["engagements"] == 1 and table["IC2"]["confirmed_false"] == 1
    assert table[NOT_RECORDED]["engagements"] == 1 and table[NOT_RECORDED]["not_located"] == 1
    assert store.audit.verify().intact

    ev = evaluate(store)
    assert evaluation_dict(ev)["equality"]["table"]["ethnicity_code"]["IC1"]["alerts"] == 3
    assert escape(CAVEAT)[:40] in evaluation_html(ev, (600, 200), (300, 200))
    # The watchlist is deleted at conclusion and the alerts at the end of retention: the
    # counts kept in the audit trail stand in for them.
    store.deployments.purge_watchlist("CR-1", "PC 1")
    assert store.alerts.purge_expired(now) == 5
    kept = tabulate(store, "CR-1")
    assert kept.kept_at is not None
    assert kept.table["ethnicity_code"]["IC1"]["alerts"] == 3
    assert kept.table["ethnicity_code"]["IC1"]["watchlist"] == 2
    assert store.db.query("SELECT COUNT(*) FROM outcome_equality")[0][0] == 0
    assert store.db.query("SELECT COUNT(*) FROM alert_subject_groups")[0][0] == 0
    assert store.audit.verify().intact
