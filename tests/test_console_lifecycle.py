"""Closing, reopening, crashing and concluding, as an officer meets them: the console asks
before it stops the cameras, audits each step, resumes with the cameras paused until
officers on the ground are confirmed again, and keeps minutes live and faces seen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from console.domain.alerts import Decision
from console.qt.images import FacePhoto, qimage_from_rgb
from console.reports.record import deployment_record
from console.storage.console_log import CLOSED
from tests.conftest import OFFICER, REPO, pause_like_a_person, run_on_loop

YES = QMessageBox.StandardButton.Yes
NO = QMessageBox.StandardButton.No


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    pause_like_a_person(qtbot)
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifier)


def answer(qtbot, box: QMessageBox, button) -> None:
    qtbot.waitUntil(box.isVisible)
    pause_like_a_person(qtbot)
    qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)


def faces(session) -> int:
    """Faces seen as the record counts them: people followed (one a pass of a camera)."""
    return sum(f.counters.people_seen for f in session.feeds)


def audit(store) -> list:
    return store.audit.entries()


def recorded_use(store, reference: str) -> tuple[float, int]:
    """Minutes live (as seconds) and faces seen, as the deployment record has them."""
    figures = deployment_record(store, reference, keep=False).figures
    return figures.live_minutes * 60, figures.faces_seen


def check_resumed_paused(qtbot, console, after: str) -> None:
    session, window = console.session, console.window
    resumed = [e for e in audit(session.store.store) if e.action == "console resumed"][-1]
    assert resumed.details["after"] == after and resumed.actor == OFFICER
    assert session.deployment.is_active
    assert session.deployment.officers_present_confirmed_by is None
    assert not session.cameras.running, "no camera runs until officers are confirmed"
    qtbot.waitUntil(
        lambda: all("paused until officers" in t.state_text for t in window.tiles.values())
    )
    assert window.bar.confirm_button.isVisible()
    assert sum(f.counters.frames_decoded for f in session.feeds) == 0


def test_closing_mid_deployment_asks_and_reopening_pauses_the_cameras(qtbot, open_sample, tmp_path):
    console = open_sample()
    window, session = console.window, console.session
    started = time.monotonic()
    reference = session.deployment.reference
    qtbot.waitUntil(lambda: faces(session) >= 4, timeout=90_000)
    qtbot.waitUntil(lambda: time.monotonic() - started > 20, timeout=30_000)

    # Ctrl+Q asks first, saying the cameras stop; No keeps everything running.
    press(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.close_box is not None and "cameras stop" in window.close_box.text()
    answer(qtbot, window.close_box, NO)
    assert window.isVisible() and not window.closed.done() and session.cameras.running
    press(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    answer(qtbot, window.close_box, YES)
    qtbot.waitUntil(window.closed.done)
    assert window.closed.result() == "quit" and not window.isVisible()
    run_on_loop(qtbot, console.close(CLOSED))
    live_s, seen = time.monotonic() - started, faces(session)

    again = open_sample(start=False)
    closed = [e for e in audit(again.store.store) if e.action == "console closed"]
    assert len(closed) == 1 and closed[0].actor == OFFICER
    check_resumed_paused(qtbot, again, after="close")
    record_live, record_faces = recorded_use(again.store.store, reference)
    assert record_live == pytest.approx(live_s, rel=0.05)
    assert record_faces == pytest.approx(seen, rel=0.05) and record_faces > 0

    # The signed-in officer confirms officers on the ground: the cameras run again.
    pause_like_a_person(qtbot)
    qtbot.mouseClick(again.window.bar.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: all("LIVE" in t.state_text for t in again.window.tiles.values()), timeout=15_000
    )
    # File → Sign out hands the desk over: nothing to confirm, the cameras keep running,
    # and the sign-out is audited (tests/test_handover.py signs the next officer in).
    decoded = sum(f.counters.frames_decoded for f in again.session.feeds)
    again.window.sign_out_action.trigger()
    qtbot.waitUntil(lambda: again.window.handover.locked)
    assert again.window.close_box is None or not again.window.close_box.isVisible()
    qtbot.waitUntil(
        lambda: sum(f.counters.frames_decoded for f in again.session.feeds) > decoded + 25,
        timeout=15_000,
    )
    # (The record goes on meanwhile: sealed counts may follow the sign-out's entry.)
    def signed_out():
        return [e for e in audit(again.store.store) if e.action == "desk signed out"]

    qtbot.waitUntil(lambda: bool(signed_out()), timeout=10_000)
    assert [e.actor for e in signed_out()] == [OFFICER]
    assert not again.window.closed.done()


def test_a_killed_console_resumes_paused_and_loses_at_most_a_few_seconds(
    qtbot, open_sample, tmp_path
):
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.console_child", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    last = None
    try:
        for line in child.stdout:
            if line.startswith("live "):
                _, live, _, seen = line.split()
                last = (float(live), int(seen))
                if last[0] >= 40 and last[1] >= 8:
                    break
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no clean-up at all: a crash or power cut
        child.wait()
    assert last is not None and last[0] >= 40, "the console ran and counted faces"

    console = open_sample(start=False)
    check_resumed_paused(qtbot, console, after="crash")
    assert not [e for e in audit(console.session.store.store) if e.action == "console closed"]
    record_live, record_faces = recorded_use(
        console.store.store, console.session.deployment.reference
    )
    assert record_live == pytest.approx(last[0], rel=0.05)
    # People arrive a few a minute: the second lost with the kill holds at most one.
    assert abs(record_faces - last[1]) <= max(1, 0.05 * last[1])


def watchlist_images_on_screen(window, photos) -> list[str]:
    """Every face widget, shown or not, holding one of the watchlist photos (as FacePhoto
    scales it); and any label on screen showing a picture at all."""
    found = []
    for widget in QApplication.allWidgets():
        top = widget.window()
        if top is not window and top.parentWidget() is not window:
            continue  # another test's window
        if isinstance(widget, FacePhoto) and not widget.image().isNull():
            for photo in photos:
                scaled = qimage_from_rgb(photo).scaled(
                    widget.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                if scaled == widget.image():
                    found.append(f"FacePhoto {widget.parent()}")
        picture = isinstance(widget, QLabel) and not widget.pixmap().isNull()
        if picture and widget.isVisible():
            found.append(f"QLabel {widget.text()!r}")
    return found


def test_concluding_with_undecided_alerts_asks_then_refuses_engage_and_clears_the_screen(
    qtbot, open_sample, tmp_path
):
    console = open_sample()
    window, panel, session = console.window, console.window.alerts, console.session
    photos = [s.photo_rgb for s in session.watchlist.subjects]
    qtbot.waitUntil(lambda: len(panel.pending) >= 2, timeout=30_000)
    press(qtbot, window, Qt.Key.Key_N)
    assert watchlist_images_on_screen(window, photos), "the card shows the watchlist photo"
    engaged = panel.selected
    qtbot.wait(650)  # the officer reads the card
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: engaged in panel.engaged, timeout=10_000)
    press(qtbot, window, Qt.Key.Key_N)
    left = panel.selected
    undecided = window.undecided_alerts()
    assert undecided >= 1

    pause_like_a_person(qtbot)
    qtbot.mouseClick(window.bar.conclude_button, Qt.MouseButton.LeftButton)
    box = window.conclude_box
    qtbot.waitUntil(box.isVisible)
    incidents = len(panel.pending)
    said = box.informativeText()
    assert f"{incidents} incident" in said and f"({undecided} alert" in said
    assert "still undecided" in said and "(s)" not in said
    assert not session.deployment.concluded_at, "nothing happens before the answer"
    answer(qtbot, box, YES)
    qtbot.waitUntil(lambda: session.deployment.concluded_at is not None, timeout=15_000)
    qtbot.waitUntil(lambda: "CONCLUDED" in window.bar.state_label.text())

    # Engage on the card left open is refused, by the button and by the key.
    assert panel.selected is left
    assert not panel.card.buttons[Decision.ENGAGE].isEnabled()
    press(qtbot, window, Qt.Key.Key_E)
    run_on_loop(qtbot, session.store.call(lambda: None))  # anything queued has been written
    # Said calmly where the officer looks, not as a failure to write the record.
    assert "has concluded: no new decision" in window.statusBar().currentMessage()
    assert panel.banner.isHidden()
    # What is left open waits for nothing now: no overdue clock, no stale operating point,
    # no paused camera, no watchlist size.
    waited = panel.card.waiting.text()
    assert "not adjudicated" in waited and "OVERDUE" not in waited
    assert all("not adjudicated" in panel.list.item(r).text() for r in range(panel.list.count()))
    qtbot.wait(1100)
    panel.refresh()
    assert panel.card.waiting.text() == waited, "the waiting clock stopped at the conclusion"
    assert window.bar.operating.full_text.startswith("Operating point: none")
    assert all("STOPPED" in t.state_text for t in window.tiles.values())
    assert "watchlist deleted" in window.deployment_label.text()
    with pytest.raises(Exception, match="concluded"):
        run_on_loop(qtbot, session.adjudicate(left.alert_ids[0], Decision.ENGAGE))
    assert left in panel.pending
    assert all(session.store.store.alerts.decision_for(a) is None for a in left.alert_ids)
    # The outcome of the engagement is still recorded.
    press(qtbot, window, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: not panel.engaged, timeout=10_000)
    assert session.store.store.alerts.outcome_for(engaged.alert_ids[0]).outcome.value == "advice"

    assert watchlist_images_on_screen(window, photos) == []
    assert "Watchlist deleted" in panel.card.watchlist_photo.text()
    assert all(t.video.image is None for t in window.tiles.values())
