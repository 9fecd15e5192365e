"""The desk's side of the ground team, in the real window: pairing shows a code and its QR
code, a phone's check-in starts the cameras, an engaged incident shows its steps live on
its row, one no phone has seen within 30 s is flagged loudly, and an outcome recorded on
the street takes it off the desk's list."""

from __future__ import annotations

from PySide6.QtCore import Qt

from console.domain.officers import Role
from console.storage import Store
from tests.conftest import pause_like_a_person, run_on_loop
from tests.field_helpers import PhoneClient, free_port
from tests.test_adjudication_gui import press


def field_record(tmp_path) -> None:
    """A record whose site policy ties the cameras to phones checked in on loopback."""
    store = Store.in_dir(tmp_path)
    store.officers.add("admin", "Admin One", Role.ADMIN, "a long admin passphrase 7", "test")
    admin = store.officers.authenticate("admin", "a long admin passphrase 7")
    store.officers.add("ward", "PC 4821 Ward", Role.SUPERVISOR, "correct horse", "test")
    store.policy.change(admin, officers_present="checked_in", field_interface="127.0.0.1",
                        field_port=str(free_port()))
    store.close()


def test_the_desk_pairs_a_phone_sees_each_step_and_is_told_when_no_phone_has_seen_it(
    qtbot, open_sample, tmp_path
):
    field_record(tmp_path)
    console = open_sample(start=False, data_dir=tmp_path)
    window, session = console.window, console.session
    panel = window.field_panel
    service = session.ground
    qtbot.waitUntil(lambda: bool(service.address), timeout=20_000)
    assert "Nobody checked in" in panel.presence.text()

    # The supervisor pairs a phone: a code and its QR code, for 2 minutes.
    qtbot.mouseClick(panel.pair, Qt.MouseButton.LeftButton)
    dialog = panel.dialog
    qtbot.keyClicks(dialog.name, "PC 4821 Ward")
    qtbot.mouseClick(dialog.issue, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "-" in dialog.code.text(), timeout=10_000)
    assert dialog.qr.pixmap() is not None and not dialog.qr.pixmap().isNull()
    assert "Valid for 1:5" in dialog.left.text() or "Valid for 2:00" in dialog.left.text()
    assert service.fingerprint in dialog.details.text()

    phone = PhoneClient(service)
    assert run_on_loop(qtbot, phone.pair(dialog.code.text())) == 200
    run_on_loop(qtbot, phone.open_page())
    qtbot.waitUntil(lambda: "Checked in" in panel.presence.text(), timeout=10_000)
    dialog.close()
    qtbot.waitUntil(lambda: bool(session.deployment.officers_present_confirmed_by))
    pause_like_a_person(qtbot)
    qtbot.mouseClick(window.bar.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.cameras.running, timeout=20_000)

    # An alert, engaged with E: its row shows it was sent, then each step from the phone.
    qtbot.waitUntil(lambda: bool(window.alerts.pending), timeout=90_000)
    press(qtbot, window, Qt.Key.Key_N)  # open its card
    assert window.alerts.selected is not None
    qtbot.wait(650)  # read it: the desk refuses a key on a card shown for under 0.5 s
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: window.alerts.engaged_list.count() == 1, timeout=20_000)
    incident = window.alerts.engaged[0]
    def row():
        return window.alerts.engaged_list.item(0)

    qtbot.waitUntil(lambda: row().text().splitlines()[-1].startswith("sent"), timeout=10_000)
    assert "to 1 phone" in row().toolTip()
    message = run_on_loop(qtbot, phone.next_message())
    assert message["type"] == "incident" and message["id"] == incident.incident_id
    path = f"/api/incidents/{incident.incident_id}/step"
    for step in ("seen", "going"):
        status, _, _ = run_on_loop(qtbot, phone.request("POST", path, {
            "step": step, "request": f"step-{step}-1"}))
        assert status == 200
    qtbot.waitUntil(lambda: row().text().splitlines()[-1].startswith("going"), timeout=5_000)
    assert "seen" in row().toolTip()

    # A second engagement nobody's phone shows (the phone went quiet): after 30 s, loudly.
    service.phones[next(iter(service.phones))].channel = None
    qtbot.waitUntil(lambda: bool(window.alerts.pending), timeout=90_000)
    press(qtbot, window, Qt.Key.Key_N)
    qtbot.wait(650)
    press(qtbot, window, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: window.alerts.engaged_list.count() == 2, timeout=20_000)
    service.clock = _later(service.clock, 31)  # half a minute on
    qtbot.waitUntil(lambda: panel.alarm.isVisible(), timeout=5_000)
    assert "NO PHONE HAS SEEN" in panel.alarm.text()
    assert "NO PHONE HAS SEEN" in window.alerts.banner.text()
    qtbot.waitUntil(lambda: any(
        "NOT SEEN" in window.alerts.engaged_list.item(i).text() for i in range(2)), timeout=3_000)
    radio = next(window.alerts.engaged_list.item(i) for i in range(2)
                 if "NOT SEEN" in window.alerts.engaged_list.item(i).text())
    assert "USE THE RADIO" in radio.toolTip() and radio.background().color().red() > 200

    # The outcome from the street: the first incident leaves the desk's list.
    for step in ("located",):
        run_on_loop(qtbot, phone.request("POST", path, {"step": step, "request": "step-loc-1"}))
    status, body, _ = run_on_loop(qtbot, phone.request(
        "POST", f"/api/incidents/{incident.incident_id}/outcome",
        {"outcome": "arrested", "note": "", "request": "outcome-1"}))
    assert status == 200, body
    qtbot.waitUntil(lambda: window.alerts.engaged_list.count() == 1, timeout=5_000)
    assert window.alerts.incident(incident.incident_id) is None
    run_on_loop(qtbot, phone.close())


def _later(clock, seconds: float):
    return lambda: clock() + seconds
