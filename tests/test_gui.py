"""The console window, driven as an officer would: watch the feeds, click decisions."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Decision
from console.domain.policy import FalseAlertRate
from console.storage.database import Database
from console.vision.operating_point import threshold_for
from console.vision.sources import SourceSpec
from tests.conftest import OFFICER, SAMPLES, fill_up, pause_like_a_person


def decisions(tmp_path) -> dict[str, tuple[str, str]]:
    db = sqlite3.connect(Database.path_in(tmp_path))
    rows = db.execute("SELECT alert_id, decision, officer FROM decisions").fetchall()
    return {alert_id: (decision, officer) for alert_id, decision, officer in rows}


def pending(panel, incident) -> bool:
    return incident in panel.pending


def pick(qtbot, panel, incident) -> None:
    """Click the incident's row in the queue, as an officer would."""
    pause_like_a_person(qtbot)
    row = [i.incident_id for i in panel.pending].index(incident.incident_id)
    rect = panel.list.visualItemRect(panel.list.item(row))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.selected is incident and panel.card.incident is incident


def click(qtbot, panel, decision: Decision) -> None:
    qtbot.wait(650)  # the officer reads the card first: the desk's guard time
    qtbot.mouseClick(panel.card.buttons[decision], Qt.MouseButton.LeftButton)


def test_officer_sees_feeds_and_adjudicates_alert_cards(qtbot, open_sample, tmp_path):
    console = open_sample()
    window, panel = console.window, console.window.alerts
    qtbot.waitUntil(
        lambda: all("LIVE" in t.state_text for t in window.tiles.values()), timeout=15_000
    )
    assert list(window.tiles) == ["north", "south"]

    # Alex Marsh walks past north and Sam Keane past south from about 7 s into the videos.
    qtbot.waitUntil(lambda: len(panel.pending) >= 2, timeout=30_000)
    assert "Pending: 2 incidents" in panel.title.text()
    first, second = panel.pending[:2]
    assert {first.subject_name, second.subject_name} == {"Alex Marsh", "Sam Keane"}
    pick(qtbot, panel, first)
    card = panel.card
    assert not card.live_photo.image().isNull() and not card.watchlist_photo.image().isNull()
    assert "Best distance" in card.facts.text()
    # The sample runs at 1 in 1,000 passers-by: against its 2 subjects, this distance.
    assert f"alerts at {threshold_for(FalseAlertRate(1000), 2):.2f} or less" in card.facts.text()
    assert "fps" in window.tiles["north"].health_text

    click(qtbot, panel, Decision.ENGAGE)
    qtbot.waitUntil(lambda: first in panel.engaged, timeout=5_000)
    # The card changes only once the decision is on disk; engaged, it awaits the outcome.
    assert all(decisions(tmp_path)[a] == ("engage", OFFICER) for a in first.alert_ids)
    assert not pending(panel, first) and panel.engaged_list.count() == 1
    assert "Engage recorded" in window.statusBar().currentMessage()

    pick(qtbot, panel, second)
    click(qtbot, panel, Decision.FALSE_MATCH)
    qtbot.waitUntil(lambda: not pending(panel, second), timeout=5_000)
    assert all(decisions(tmp_path)[a] == ("false_match", OFFICER) for a in second.alert_ids)

    # The next pair of sightings starts at 25 s: new incidents (the first were decided).
    qtbot.waitUntil(lambda: len(panel.pending) >= 1, timeout=30_000)
    third = panel.pending[0]
    assert third.incident_id not in (first.incident_id, second.incident_id)
    pick(qtbot, panel, third)
    click(qtbot, panel, Decision.DISMISS)
    assert "reason is needed" in panel.card.status.text() and pending(panel, third)
    qtbot.keyClicks(panel.card.note, "already arrested this morning")
    click(qtbot, panel, Decision.DISMISS)
    qtbot.waitUntil(lambda: not pending(panel, third), timeout=5_000)
    assert decisions(tmp_path)[third.alert_ids[0]] == ("dismiss", OFFICER)


def test_a_broken_camera_shows_why_while_the_other_keeps_playing(qtbot, open_sample):
    plan = load_plan(SAMPLE_DEPLOYMENT).with_cameras(
        [
            SourceSpec("south", str(SAMPLES / "no-such-video.mp4")),
            SourceSpec("east", "http://127.0.0.1:9/video.mjpg"),
        ]
    )
    console = open_sample(plan)
    tiles = console.window.tiles
    qtbot.waitUntil(lambda: "FAILED" in tiles["south"].state_text, timeout=10_000)
    assert "video file not found" in tiles["south"].state_text
    qtbot.waitUntil(
        lambda: (
            "RECONNECTING" in tiles["east"].state_text
            and "cannot connect" in tiles["east"].state_text
        ),
        timeout=20_000,
    )
    north = console.session.feed("north")
    before = north.counters.frames_decoded
    qtbot.wait(1500)
    assert north.counters.frames_decoded > before + 20
    assert "LIVE" in tiles["north"].state_text


def check_refused_decision(qtbot, console, reason: str) -> None:
    """The officer clicks Engage; the write fails: the banner says so, nothing is lost."""
    panel = console.window.alerts
    pause_like_a_person(qtbot)
    qtbot.keyClick(panel.list, Qt.Key.Key_N)  # open it
    incident = panel.selected
    qtbot.wait(650)  # the officer reads the card for the guard time before deciding
    click(qtbot, panel, Decision.ENGAGE)
    qtbot.waitUntil(lambda: "NOT recorded" in panel.banner.text(), timeout=5_000)
    assert reason in panel.banner.text()
    assert panel.banner.isVisible()
    assert pending(panel, incident)
    assert panel.card.buttons[Decision.ENGAGE].isEnabled()
    assert all(a in console.session.pending for a in incident.alert_ids)


def test_a_read_only_database_is_reported_and_the_alert_stays_pending(qtbot, open_sample):
    console = open_sample()
    qtbot.waitUntil(lambda: len(console.window.alerts.pending) >= 1, timeout=30_000)
    qtbot.wait(500)  # let the alert's own save land first
    console.store.store.db.conn.execute("PRAGMA query_only=ON")  # as a read-only mount would
    check_refused_decision(qtbot, console, "readonly")


def test_a_full_disk_is_reported_and_the_alert_stays_pending(qtbot, open_sample, small_disk):
    console = open_sample(data_dir=small_disk)
    qtbot.waitUntil(lambda: len(console.window.alerts.pending) >= 1, timeout=30_000)
    qtbot.wait(500)
    fill_up(small_disk)
    check_refused_decision(qtbot, console, "full")
