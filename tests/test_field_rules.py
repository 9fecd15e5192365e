"""The field service's plain rules and settings: direction of travel, the category in plain
words, the clothing crop, the site policy's field keys, the certificate, the figures, and
the desk's manual confirmation (the record says so; a ground team refuses it)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from console.domain.alerts import Decision, Outcome
from console.domain.field import parse_facing, plain_category, risk_of_harm, travel_direction
from console.domain.policy import PolicyError, SitePolicy
from console.field.certs import CertificateError, force_certificate, install_certificate
from console.field.images import clothing_crop
from console.reports.figures import AlertLine, field_figures
from console.storage.field import DispatchLine
from tests.field_helpers import engaged_alert, open_field_session

TOWARDS = [(0.0, (200, 520, 280, 440)), (2.0, (180, 545, 300, 425))]  # the face grows
ACROSS = [(0.0, (200, 300, 260, 240)), (2.0, (200, 500, 260, 440))]  # moves right


def test_the_direction_of_travel_comes_from_the_track_and_the_cameras_compass():
    assert travel_direction(TOWARDS) == "walking towards the camera"
    # A camera at the north end looking south: walking towards it is walking north.
    assert travel_direction(TOWARDS, "south") == "heading north (towards the camera)"
    # Its right is west: a face moving right across its view walks west.
    assert travel_direction(ACROSS, "south").startswith("heading west")
    assert travel_direction(ACROSS, "north").startswith("heading east")
    # Too short, or standing still: the track does not show a direction.
    assert travel_direction(TOWARDS[:1], "south") is None
    assert travel_direction([(0.0, (200, 520, 280, 440)), (2.0, (201, 521, 281, 441))]) is None
    assert parse_facing("SW") == "south-west" and parse_facing(" North East ") == "north-east"
    with pytest.raises(ValueError):
        parse_facing("up")


def test_categories_in_plain_words_and_the_risk_of_harm_marker():
    assert plain_category("wanted by the courts") == "Wanted by the courts (a warrant)"
    assert plain_category("something new") == "Something new"
    assert risk_of_harm("risk of harm") and not risk_of_harm("victim or witness")


def test_the_clothing_crop_is_cut_around_the_person_from_the_scene():
    scene = np.zeros((540, 960, 3), np.uint8)
    scene[150:540, 335:635] = 200  # the person (2.5 face widths), below and around the face
    alert = engaged_alert(None, scene=scene)
    alert.frame_size = (1920, 1080)  # the scene is the frame at half size
    alert.bbox = (360, 1090, 600, 850)
    crop = clothing_crop(alert)
    assert crop is not None and crop.mean() > 140, "mostly the person, not the street"
    assert crop[crop.shape[0] // 2, crop.shape[1] // 2].tolist() == [200, 200, 200]
    assert crop.shape[0] > crop.shape[1], "taller than wide: a body"
    alert.scene_rgb = None
    assert clothing_crop(alert) is None  # after a restart: nothing to cut


def test_the_site_policy_names_the_interface_port_and_certificate_and_refuses_nonsense():
    policy = SitePolicy.from_mapping({
        "officers_present": "checked_in", "field_interface": "192.0.2.10",
        "field_port": "9443", "field_silence_seconds": "120",
    })
    assert policy.officers_checked_in and policy.field_port == 9443
    assert SitePolicy().officers_present == "manual", "a site keeps the desk's confirmation"
    assert SitePolicy(field_interface="all").field_interface == "all"
    for bad, said in [
        ({"field_interface": "0.0.0.0"}, "every interface"),
        ({"field_interface": "::"}, "every interface"),
        ({"field_interface": "wlan0"}, "not an IP address"),
        ({"field_port": "80"}, "outside"),
        ({"officers_present": "trust me"}, "not one of"),
        ({"field_certificate": "/etc/force.pem"}, "name both"),
        ({"field_silence_seconds": "1"}, "outside"),
    ]:
        with pytest.raises(PolicyError, match=said):
            SitePolicy.from_mapping(bad)


def test_a_certificate_is_made_once_per_install_and_the_forces_is_checked(tmp_path):
    first = install_certificate(tmp_path, ["127.0.0.1", "localhost"])
    again = install_certificate(tmp_path, ["127.0.0.1", "localhost"])
    assert first.sha256 == again.sha256 and first.self_signed
    assert len(first.sha256.split(":")) == 32 and first.spki_sha256.endswith("=")
    assert oct(os.stat(first.key_path).st_mode & 0o777) == "0o600"
    moved = install_certificate(tmp_path, ["192.0.2.7"])  # a new address: a new certificate
    assert moved.sha256 != first.sha256
    force = force_certificate(moved.cert_path, moved.key_path)
    assert force.sha256 == moved.sha256 and not force.self_signed
    other = install_certificate(tmp_path / "other", ["127.0.0.1"])
    with pytest.raises(CertificateError, match="cannot be used"):
        force_certificate(moved.cert_path, other.key_path)  # a key of another certificate
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(CertificateError, match="cannot read"):
        force_certificate(tmp_path / "junk.pem", first.key_path)
    assert ipaddress.ip_address("192.0.2.7")


def test_time_to_dispatch_and_to_locate_and_outcomes_by_who_recorded_them():
    t0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    def line(alert, incident, outcome):
        return AlertLine(alert, "north", "risk of harm", t0, Decision.ENGAGE, t0, None,
                         outcome, t0 + timedelta(minutes=5), incident)

    lines = [line("a1", "i1", Outcome.ARRESTED), line("a2", "i1", Outcome.ARRESTED),
             line("b1", "i2", Outcome.ADVICE), line("c1", "i3", None)]
    dispatches = [
        DispatchLine("i1", t0, t0, t0 + timedelta(seconds=2), t0 + timedelta(seconds=200),
                     outcome_at=t0 + timedelta(seconds=300), outcome_on_phone=True),
        DispatchLine("i2", t0, t0, t0 + timedelta(seconds=4), t0 + timedelta(seconds=400)),
        DispatchLine("i3", t0, t0),  # never seen: the radio
    ]
    f = field_figures(lines, dispatches)
    assert f["dispatched"] == 3
    assert f["dispatch_median_s"] == 3 and f["dispatch_worst_s"] == 4
    assert f["locate_median_s"] == 300 and f["locate_worst_s"] == 400
    assert (f["outcomes_on_the_ground"], f["outcomes_at_the_desk"]) == (1, 1)


def test_manual_confirmation_is_recorded_as_manual_and_a_ground_team_refuses_it(
    tmp_path, process_pool
):
    from console.domain.deployments import SafeguardError
    from tests import sessions
    from tests.test_deployment_session import Recorder

    async def manual():
        session, store = sessions.open_session(tmp_path / "manual", process_pool, Recorder())
        assert session.ground is None
        await session.confirm_officers_present()
        await session.close()
        return [e.details for e in store.audit.entries()
                if e.action == "officers on the ground confirmed"]

    async def ground():
        session, service, store, _ = open_field_session(tmp_path / "ground")
        session.open()
        with pytest.raises(SafeguardError, match="checked in"):
            await session.confirm_officers_present()
        await session.close()
        return session.deployment.officers_present_confirmed_by

    confirmed = asyncio.run(manual())
    assert confirmed[-1]["confirmation"].startswith("manual")
    assert asyncio.run(ground()) is None


def test_an_alert_decided_the_moment_it_arrives_is_saved_before_its_decision(tmp_path):
    """Found by the browser test: an engagement in the same turn of the event loop as the
    alert's arrival reached the disk before the alert did (refused: 'not in the record')."""
    from console.domain.sightings import AlertEvent

    async def scenario():
        session, service, store, listener = open_field_session(tmp_path)
        alert = engaged_alert(None)
        session._on_alert(AlertEvent(alert, True))
        recorded = await session.decide_incident(
            [alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
        await session.close()
        return recorded, store.alerts.decision_for(alert.alert_id)

    recorded, decision = asyncio.run(scenario())
    assert len(recorded) == 1 and decision is not None and decision.decision == Decision.ENGAGE
