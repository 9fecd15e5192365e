"""The deployment record and evaluation windows: the figures shown, the charts, exports."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog

from console.qt.record_view import RecordView, open_evaluation_view, open_record_view
from console.reports.charts import COLOURS
from console.storage import Store
from tests.test_reports import DAY, SCRIPT, build_deployment


@pytest.fixture
def store(tmp_path):
    s = Store.in_dir(tmp_path / "data")
    build_deployment(s)
    yield s
    s.close()


def cells(table) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def save_to(monkeypatch, path) -> None:
    """Answer the save dialog as an officer would, with *path*."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def has_colour(image, colour: str, tolerance: int = 12) -> bool:
    """Whether any pixel is close to *colour* (a chart bar in that class's colour)."""
    want = QColor(colour)
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - want.red()) < tolerance
                and abs(c.green() - want.green()) < tolerance
                and abs(c.blue() - want.blue()) < tolerance
            ):
                return True
    return False


def test_the_record_view_shows_every_figure_and_the_particulars(qtbot, store):
    view = open_record_view(store, "CR-TEST-01", None, by="PC 1 Ward (ward, supervisor)")
    qtbot.addWidget(view)
    assert view.isVisible() and view.windowTitle() == "Deployment record · CR-TEST-01"
    shown = dict(cells(view.figures))
    assert shown == {
        "Minutes live": "240",
        "Camera-minutes": "480",
        "Watchlist size": "412",
        "Faces seen": "20,000",
        "Alerts": "10",
        "Incidents": "10",
        "True alerts": "6",
        "False alerts": "2",
        "Confirmed false alerts": "1",
        "Not adjudicated (alerts)": "1",
        "Engagements (incidents)": "6",
        "Dismissed (alerts)": "1",
        "Arrests (incidents)": "2",
        "Conditions checked / advice (incidents)": "1",
        "Not located (incidents)": "1",
        "Awaiting an outcome (incidents)": "1",
        "Outcomes set aside (alerts)": "1",
        "Decisions corrected (alerts)": "3",
        "Minutes of use per arrest": "120",
        "Time to adjudication, median": "35 s",
        "Time to adjudication, worst": "1 min 30 s",
        "Time to outcome, median": "20 min 00 s",
        "Time to outcome, worst": "30 min 00 s",
        "False alerts per 1,000 faces": "0.15 (1 in 6,667)",
        # Officers on the ground (docs/field.md): none sent to phones here.
        "Incidents sent to phones": "0",
        "Time to dispatch, median": "—",
        "Time to dispatch, worst": "—",
        "Time to locate, median": "—",
        "Time to locate, worst": "—",
        "Outcomes recorded on the ground": "0",
        "Outcomes recorded at the desk": "5",
    }
    # The definition, on hover
    assert "rejected the alert at the desk" in view.figures.item(7, 0).toolTip()
    facts = {k: label.text() for k, label in view.fact_labels.items()}
    assert facts["Authorising officer"] == "Superintendent J. Hart"
    assert facts["Cameras"] == "north, south" and facts["State"] == "concluded"
    assert cells(view.cameras) == [
        ["north", "240", "12,000", "5", "3", "0", "2", "0", "0"],
        ["south", "240", "8,000", "5", "2", "1", "0", "1", "1"],
    ]
    alerts = cells(view.alerts)
    assert len(alerts) == 10
    assert alerts[6][3] == "Engage (corrected from False match)"
    assert alerts[8][4] == "Confirmed false (set aside)"
    shown_text = " ".join(t for row in alerts for t in row)
    assert "Subject" not in shown_text and "WL-" not in shown_text  # no names, no ids
    assert "1 outcome was recorded" in view.notes.text()


def test_the_charts_paint_with_bars_coloured_by_decision(qtbot, store):
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    time_chart = view.time_chart.grab().toImage()
    assert not time_chart.isNull() and time_chart.width() > 100
    assert has_colour(time_chart, COLOURS["engaged"])
    assert has_colour(time_chart, COLOURS["false"])
    assert has_colour(time_chart, COLOURS["confirmed_false"])
    assert has_colour(view.camera_chart.grab().toImage(), COLOURS["dismissed"])
    view.resize(300, 200)  # squeezed: still paints, without error
    view.time_chart.repaint()


def test_export_to_pdf_from_the_button(qtbot, store, tmp_path, monkeypatch):
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    target = tmp_path / "record.pdf"
    save_to(monkeypatch, target)
    qtbot.mouseClick(view.pdf_button, Qt.MouseButton.LeftButton)
    data = target.read_bytes()
    assert data.startswith(b"%PDF") and pdf_pages(data) > 0
    assert str(target) in view.status.text()


def test_csv_and_json_exports_from_the_buttons(qtbot, store, tmp_path, monkeypatch):
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    save_to(monkeypatch, tmp_path / "record.csv")
    qtbot.mouseClick(view.csv_button, Qt.MouseButton.LeftButton)
    assert "CR-TEST-01,deployment,arrests,Arrests (incidents),count,2" in (
        tmp_path / "record.csv"
    ).read_text()
    save_to(monkeypatch, tmp_path / "record.json")
    qtbot.mouseClick(view.json_button, Qt.MouseButton.LeftButton)
    assert '"arrests": 2' in (tmp_path / "record.json").read_text()


def test_a_cancelled_save_dialog_writes_nothing(qtbot, store, tmp_path, monkeypatch):
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    assert view.export_pdf() is None and view.status.text() == ""


def test_choosing_another_deployment_shows_its_record(qtbot, store):
    build_deployment(store, "CR-TEST-02", DAY + timedelta(days=3), SCRIPT[:1])
    view = RecordView(store, "CR-TEST-01")
    qtbot.addWidget(view)
    view.chooser.setCurrentIndex(view.chooser.findData("CR-TEST-02"))
    assert view.record.reference == "CR-TEST-02" and view.figure_text("Alerts") == "1"


def test_an_empty_record_says_so(qtbot, tmp_path):
    view = RecordView(Store.in_dir(tmp_path / "empty"))
    qtbot.addWidget(view)
    assert view.heading.text() == "No deployments in the record"
    assert view.export_pdf() is None


def test_the_evaluation_view_sums_and_exports(qtbot, store, tmp_path, monkeypatch):
    build_deployment(
        store,
        "CR-TEST-02",
        DAY + timedelta(days=3),
        SCRIPT[:3] + SCRIPT[4:5],
        faces=(3_000, 1_000),
        hours_live=2.0,
        subjects=300,
    )
    view = open_evaluation_view(store, None)
    qtbot.addWidget(view)
    assert view.headline["Deployments"].text() == "2"
    assert view.headline["Arrests"].text() == "3"
    assert view.headline["Arrests per deployment"].text() == "1.50"
    assert view.headline["Minutes of use per arrest"].text() == "120"
    # The rate reads as it does in the figures' table, not with another number of places.
    assert view.headline["False alerts per 1,000 faces seen"].text() == "0.167 (1 in 6,000)"
    total_column = {row[0]: row[1] for row in cells(view.table)}
    assert total_column["False alerts per 1,000 faces"] == "0.167 (1 in 6,000)"
    rows = {row[0]: row[1:] for row in cells(view.table)}
    assert rows["Alerts"] == ["14", "10", "4"]
    assert rows["Faces seen"] == ["24,000", "20,000", "4,000"]
    assert view.alerts_chart.grab().toImage().width() > 100
    view.site.setEditText("cardiff")
    qtbot.mouseClick(view.apply_button, Qt.MouseButton.LeftButton)
    assert view.headline["Deployments"].text() == "0"
    view.site.setEditText("")
    view.refresh()
    target = tmp_path / "evaluation.pdf"
    save_to(monkeypatch, target)
    qtbot.mouseClick(view.pdf_button, Qt.MouseButton.LeftButton)
    assert target.read_bytes().startswith(b"%PDF") and pdf_pages(target.read_bytes()) > 0
