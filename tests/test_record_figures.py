"""#28's record items: every operating point in force and for how long; failed cameras in
the record with the time they failed, and camera-minutes of live time only; figures that
say whether they count incidents or alerts; an evaluation without 65.3495 or a watchlist
size summed over deployments; a PDF whose long tables repeat their header row on every
page, never cut a row in two, and print times with their zone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from console.domain.deployments import Deployment, DeploymentState
from console.reports.evaluation import evaluate
from console.reports.export import evaluation_text, record_text
from console.reports.html import record_html, signature
from console.reports.record import deployment_record
from console.storage import Store
from tests.test_reports import SCRIPT, build_deployment


def test_every_operating_point_in_force_is_in_the_record_with_how_long(tmp_path):
    """Main: 21 minutes at 1 in 1,000, then 1 in 10,000, read "Match threshold 0.452"
    everywhere: window, command line and PDF."""
    store = Store.in_dir(tmp_path)
    t0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    d = Deployment("CR-OP-1", "Croydon", ("north",), "J. Hart", "Supt", t0,
                   t0 + timedelta(hours=2), 0.5)
    store.deployments.create(d, "PC 1")
    d = replace(d, threshold=0.452)
    store.deployments.update(
        d, "PC 1", "operating point set",
        {"false_alert_rate": "1 in 1,000", "watchlist_size": 2, "threshold": 0.452},
        at=t0 - timedelta(minutes=5),
    )
    d = replace(d, state=DeploymentState.ACTIVE, started_at=t0)
    store.deployments.update(d, "PC 1", "deployment started", at=t0)
    d = replace(d, threshold=0.41)
    store.deployments.update(
        d, "Sgt 4 Reid", "false-alert rate changed",
        {"false_alert_rate": "1 in 10,000", "watchlist_size": 2, "old_threshold": 0.452,
         "new_threshold": 0.41, "reason": "crowd thickening"},
        at=t0 + timedelta(minutes=21),
    )
    d = replace(d, state=DeploymentState.CONCLUDED, concluded_at=t0 + timedelta(minutes=50))
    store.deployments.update(d, "PC 1", "deployment concluded", at=t0 + timedelta(minutes=50))
    record = deployment_record(store, "CR-OP-1")
    first, second = record.operating_points
    assert (first.rate, first.threshold, first.minutes) == ("1 in 1,000", 0.452, 21)
    assert (second.rate, second.threshold, second.minutes) == ("1 in 10,000", 0.41, 29)
    assert second.reason == "crowd thickening"
    facts = dict(record.facts())
    assert "Match threshold" not in facts
    assert facts["Operating point 1"].startswith("1 in 1,000 passers-by (match distance 0.452)")
    assert "(21 min)" in facts["Operating point 1"] and "(29 min)" in facts["Operating point 2"]
    text, html = record_text(record), record_html(record, (600, 200))
    for shown in (text, html):
        assert "1 in 1,000 passers-by" in shown and "1 in 10,000 passers-by" in shown
    store.close()


def test_a_failed_camera_is_in_the_record_and_adds_no_camera_minutes(tmp_path, process_pool):
    """Main: a camera FAILED (file not found) from the start was listed among the record's
    cameras, added camera-minutes, and nothing said it failed."""
    from console.config import SAMPLE_DEPLOYMENT, load_plan
    from console.vision.sources import SourceSpec
    from tests.test_deployment_session import open_session

    missing = tmp_path / "gone.mp4"
    plan = load_plan(SAMPLE_DEPLOYMENT).with_cameras([SourceSpec.parse(f"south={missing}",
                                                                       tmp_path)])

    async def scenario():
        session, store, _ = open_session(tmp_path / "record", process_pool, plan=plan)
        await session.confirm_officers_present()
        await session.start()
        await asyncio.sleep(4.0)
        await session.conclude()
        await session.close()
        return store

    store = asyncio.run(scenario())
    record = deployment_record(store, store.deployments.get("SAMPLE-CROYDON-001").reference)
    cameras = {c.camera: c for c in record.figures.cameras}
    assert cameras["south"].live_seconds == 0
    assert cameras["north"].live_seconds > 1
    assert record.figures.camera_minutes == pytest.approx(cameras["north"].live_seconds / 60)
    (failure,) = record.camera_failures
    assert failure.camera == "south" and "gone.mp4" in failure.why
    assert failure.failed_at is not None
    assert dict(record.facts())["Camera south"].startswith("FAILED ")
    assert "Camera south" in record_text(record)
    assert store.audit.verify().intact
    store.close()


def test_figures_say_whether_they_count_incidents_or_alerts(tmp_path):
    """Main: "Engagements 45" counted incidents while the per-camera "Engaged" summed to
    57 alerts; "Dismissed" counted alerts; nothing said which."""
    store = Store.in_dir(tmp_path)
    build_deployment(store)
    text = record_text(deployment_record(store, "CR-TEST-01"))
    for label in ("Engagements (incidents)", "Arrests (incidents)", "Dismissed (alerts)",
                  "Engaged (alerts)", "Not adjudicated (alerts)"):
        assert label in text
    store.close()


def test_an_evaluation_prints_rates_as_figures_and_sums_no_watchlists(tmp_path):
    """Main: `evaluate` printed 65.3495 and a watchlist size summed over deployments."""
    store = Store.in_dir(tmp_path)
    build_deployment(store)
    build_deployment(store, "CR-TEST-02", datetime(2026, 11, 23, tzinfo=UTC), SCRIPT[:3],
                     subjects=300)
    text = evaluation_text(evaluate(store))
    headline = text.split("\n\n")[1]
    assert "False alerts per 1,000 faces seen:" in headline
    assert "0.15 (1 in 6,667)" in headline or "(1 in" in headline
    assert not any(len(word.split(".")[-1]) == 4 for word in headline.split()
                   if word.replace(".", "").isdigit())  # no bare four-decimal numbers
    watchlists = next(line for line in text.splitlines() if line.startswith("Watchlist size"))
    assert watchlists.split()[2] == "—"  # the total column: not 712
    assert "412" in watchlists and "300" in watchlists
    store.close()


def test_the_pdf_repeats_headers_keeps_rows_whole_and_times_have_their_zone(tmp_path):
    """Main: continuation pages had no column headers, rows split across pages, and
    times carried no time zone."""
    from console.reports.export import ALERT_HEADINGS
    from console.reports.pdf import record_document, split_rows, write_record_pdf

    store = Store.in_dir(tmp_path)
    script = [
        (f"x{i}", base[1], f"{9 + i // 60:02d}:{i % 60:02d}", *base[3:])
        for i, base in enumerate(SCRIPT[i % len(SCRIPT)] for i in range(120))
    ]
    build_deployment(store, script=script)
    record = deployment_record(store, "CR-TEST-01")
    doc = record_document(record)
    assert doc.pageCount() >= 4
    from console.reports.pdf import _signature, _tables

    alert_tables = [t for t in _tables(doc.rootFrame()) if _signature(t) == signature(
        ALERT_HEADINGS)]
    assert alert_tables and all(t.format().headerRowCount() == 1 for t in alert_tables)
    assert sum(t.rows() - 1 for t in alert_tables) == 120  # every alert, once
    assert not [r for t, r in split_rows(doc) if _signature(t) == signature(ALERT_HEADINGS)]
    # Every page an alert row is on shows the header row at its top: drawn again by Qt
    # where a table runs on to a page (headerRowCount), or the new table's own.
    from console.reports.pdf import page_images

    layout, height = doc.documentLayout(), doc.pageSize().height()
    pages = {
        int(layout.blockBoundingRect(t.cellAt(r, 0).firstCursorPosition().block()).top()
            // height)
        for t in alert_tables for r in range(1, t.rows())
    }
    images = page_images(doc, "record", dpi=72)
    top = round(20 / 25.4 * 72)  # the 2 cm margin
    for page in sorted(pages - {min(pages)}):
        band = [images[page].pixelColor(x, y).name() for y in range(top, top + 8)
                for x in range(top + 5, top + 60)]
        assert "#eeeeee" in band, f"page {page + 1} has no header row at its top"
    html = record_html(record, (600, 200))
    zone = datetime(2026, 11, 20, 9, 0, tzinfo=UTC).astimezone().tzname()
    assert f"2026-11-20 09:00 {zone}" in html  # the start, in the particulars
    assert f"20 Nov 09:00 {zone}" in html  # the first alert, in the list
    write_record_pdf(record, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    store.close()
