"""Handover and views, as officers use them: sign out and the next officer signs in while
the cameras run (audited: who held the desk when; the mute stays); a camera in its own
window, one over the whole window with the others listed, the camera map from the plan;
the sign-in dialog; the card's watchlist facts and close runners-up."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.officers import Role
from console.live.handover import holders
from console.qt.login import LoginDialog
from console.storage import Store
from tests.conftest import OFFICER, pause_like_a_person
from tests.test_queue_gui import raise_alert


def frames(session) -> int:
    return sum(f.counters.frames_decoded for f in session.feeds)


def test_the_next_officer_takes_the_desk_while_the_cameras_run(qtbot, open_sample, tmp_path):
    console = open_sample(data_dir=tmp_path)
    window, panel, session = console.window, console.window.alerts, console.session
    store = session.store.store
    store.officers.add("reed", "PC 5150 Reed", Role.OPERATOR, "another horse 55", "test")
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: frames(session) > 50, timeout=30_000)
    pause_like_a_person(qtbot)
    qtbot.keyClick(panel.list, Qt.Key.Key_M)  # muted
    assert window.mute_label.isVisible()

    window.sign_out_action.trigger()
    qtbot.waitUntil(lambda: window.handover.locked)
    dialog = window.handover.dialog
    qtbot.waitUntil(dialog.isVisible)
    assert window.pages.currentIndex() == 1 and not panel.isVisible(), "the desk is covered"
    assert session.deployment.reference in dialog.opens.text()
    # Nobody holds the desk: no key acts, but the cameras and the queue go on.
    shown = frames(session)
    raise_alert(session, 1, 1, "north", 0)
    qtbot.waitUntil(lambda: frames(session) > shown + 25, timeout=15_000)
    assert len(panel.pending) >= 1 and not window.closed.done()
    assert all("LIVE" in t.state_text for t in window.tiles.values())
    assert "incident" in window.handover.page.text.text()

    qtbot.keyClicks(dialog.username, "reed")
    qtbot.keyClicks(dialog.password, "another horse 55")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.handover.locked, timeout=10_000)
    assert str(window.officer) == "PC 5150 Reed (reed, operator)"
    assert str(session.officer) == str(window.officer)
    assert window.mute_label.isVisible() and window.sound.muted, "the mute survives"
    assert not window.bar.rate_button.isEnabled(), "an operator's desk"
    # The new officer's decisions are theirs.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.list)
    pause_like_a_person(qtbot)
    qtbot.keyClick(panel.list, Qt.Key.Key_N)
    incident = panel.selected
    qtbot.wait(650)
    qtbot.keyClick(panel.list, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: incident not in panel.pending, timeout=10_000)
    assert store.alerts.decision_for(incident.alert_ids[0]).officer == str(window.officer)
    # The audit says who held the desk when.
    held = holders(store, session.deployment.reference)
    assert [h.officer for h in held] == [OFFICER, "PC 5150 Reed (reed, operator)"]
    assert held[0].until is not None and held[0].until <= held[1].since and held[1].until is None
    signed_out = [e for e in store.audit.entries() if e.action == "desk signed out"]
    assert signed_out[-1].details["cameras"] == "running"


def test_a_trainer_account_cannot_take_the_desk(qtbot, tmp_path):
    store = Store.in_dir(tmp_path)
    store.officers.add("tess", "Tess Trainer", Role.TRAINER, "trainer horse 99", "test")
    from console.qt.handover import may_hold_the_desk

    dialog = LoginDialog(store.officers.authenticate, check=may_hold_the_desk)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username, "tess")
    qtbot.keyClicks(dialog.password, "trainer horse 99")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.officer is None and "may not adjudicate" in dialog.error.text()
    store.close()


def test_sign_in_names_its_deployment_refocuses_and_clears_the_old_error(qtbot, tmp_path):
    from console.qt.app import login_dialog

    plan = load_plan(SAMPLE_DEPLOYMENT)
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PC 4821 Ward", Role.OPERATOR, "correct horse", "test")
    dialog = login_dialog(store, replace(plan, sample=False))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    assert "SAMPLE-CROYDON-001" in dialog.opens.text() and plan.site in dialog.opens.text()
    qtbot.keyClicks(dialog.username, "ward")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Return)  # Return moves on to the password
    assert dialog.focusWidget() is dialog.password
    qtbot.keyClicks(dialog.password, "wrong horse")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert "wrong password" in dialog.error.text().lower()
    assert dialog.focusWidget() is dialog.password, "back in the field to retype"
    qtbot.keyClicks(dialog.password, "c")
    assert dialog.error.text() == "", "the old message goes once the officer types"
    qtbot.keyClicks(dialog.password, "orrect horse")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.officer is not None
    store.close()


def test_cameras_pop_out_enlarge_over_the_window_and_sit_on_the_map(qtbot, open_sample):
    console = open_sample()
    window = console.window
    north, south = window.tiles["north"], window.tiles["south"]
    qtbot.waitUntil(lambda: north.video.current is not None, timeout=30_000)

    # North in a window of its own (a second monitor); the wall says where it went.
    popped = window.views.pop_out(north)
    qtbot.waitExposed(popped)
    assert north.window() is popped and not window.tile_grid.isAncestorOf(north)
    assert window.views.camera_list.isVisible()
    assert any("own window" in b.text() for b in window.views.camera_list.findChildren(QPushButton))
    shown = north.video.current.index
    qtbot.waitUntil(lambda: north.video.current.index != shown, timeout=10_000)
    popped.close()
    qtbot.waitUntil(lambda: north.window() is window)
    assert north.isVisible() and not window.views.camera_list.isVisible()

    # South over the whole window, north listed beside it; a click switches.
    window.tile_grid.enlarge(south)
    assert not window.alerts.isVisible()
    qtbot.waitUntil(lambda: south.width() > window.width() * 0.6)
    other = window.views.camera_list.findChild(QPushButton, "other-north")
    assert other is not None and other.isVisible()
    pause_like_a_person(qtbot)
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert window.tile_grid.enlarged is north
    # A decision key is refused while the queue is hidden, and says how to get it back.
    window.activateWindow()
    pause_like_a_person(qtbot)
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_E)
    assert "Esc brings it back" in window.statusBar().currentMessage()
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Escape)
    assert window.tile_grid.enlarged is None and window.alerts.isVisible()

    # The camera map, from the plan's positions: north above south, each facing its way.
    window.views.show_map()
    points = window.views.camera_map.placed(300, 300)
    assert set(points) == {"north", "south"} and points["north"].y() < points["south"].y()
    assert window.views.camera_map.positions["north"].facing == 180


def test_the_card_shows_the_watchlist_facts_and_a_close_runner_up(qtbot, open_sample):
    from console.domain.sightings import AlertEvent

    console = open_sample(start=False)
    panel, session = console.window.alerts, console.session

    keane = raise_alert(session, 1, 0, "north", 5)  # Sam Keane
    # A second sighting, closer, with another subject not far behind it.
    close = replace(
        keane,
        alert_id="south-close",
        camera="south",
        distance=keane.distance - 0.01,
        runners_up=(("WL-0001", "Alex Marsh", keane.threshold + 0.05),),
    )
    session._on_alert(AlertEvent(close, True))
    qtbot.waitUntil(lambda: len(panel.pending) == 1)
    pause_like_a_person(qtbot)
    qtbot.keyClick(panel.list, Qt.Key.Key_N)
    facts = panel.card.facts.text()
    assert "Born 1994-09-17" in facts and "Sought for: reported missing" in facts
    assert "Warning: self-harm" in facts
    assert "Also close: Alex Marsh" in facts
