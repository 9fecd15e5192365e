"""Safeguards enforced by the live session: cameras off until started, purge at the end,
planned end, roles, and privacy (a face that does not match is never written anywhere)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Alert, Decision, Evidence
from console.domain.deployments import DeploymentState, SafeguardError
from console.domain.officers import PermissionDenied, Role
from console.domain.policy import FalseAlertRate
from console.domain.sightings import AlertEvent
from console.live.feed import FeedState
from console.reports.record import decided_incidents
from console.storage import Store
from console.vision.operating_point import threshold_for
from console.vision.sources import SourceSpec
from tests import sessions
from tests.conftest import SAMPLES
from tests.sessions import Clock


class Recorder:
    """A SessionListener that remembers what a window would have shown."""

    def __init__(self) -> None:
        self.alerts, self.statuses, self.errors, self.restored = [], [], [], []

    def feed_frame(self, camera, preview_rgb, scale, index=-1) -> None: ...
    def feed_faces(self, camera, faces) -> None: ...

    def feed_status(self, status) -> None:
        self.statuses.append(status)

    def alert_raised(self, alert, is_new) -> None:
        self.alerts.append(alert)

    def storage_failed(self, message) -> None:
        self.errors.append(message)

    def deployment_changed(self, deployment) -> None: ...

    def alert_restored(self, alert, adjudication) -> None:
        self.restored.append((alert, adjudication))


def open_session(tmp_path, pool, plan=None, role=Role.SUPERVISOR, clock=None):
    recorder = Recorder()
    session, store = sessions.open_session(tmp_path, pool, recorder, plan, role, clock)
    return session, store, recorder


def decoded(session) -> int:
    return sum(f.counters.frames_decoded for f in session.feeds)


def files_containing(folder: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: needle {i}" for i, n in enumerate(needles) if n in data]
    return found


def test_cameras_stay_off_until_officers_are_confirmed_and_the_deployment_starts(
    tmp_path, process_pool
):
    async def scenario():
        session, store, recorder = open_session(tmp_path, process_pool)
        await asyncio.sleep(1.0)
        assert decoded(session) == 0
        assert all(f.state == FeedState.WAITING for f in session.feeds)
        assert "not started" in session.feeds[0].detail
        with pytest.raises(SafeguardError, match="officers are present"):
            await session.start()
        await session.confirm_officers_present()
        await asyncio.sleep(1.0)
        assert decoded(session) == 0  # confirmed, but not started
        await session.start()
        await asyncio.sleep(2.0)
        assert decoded(session) > 40
        # (the cameras' counts are sealed into the chain each minute in between)
        actions = [e.action for e in store.audit.entries() if e.action != "camera counts sealed"]
        await session.close()
        return actions

    actions = asyncio.run(scenario())
    assert actions[-2:] == ["officers on the ground confirmed", "deployment started"]


def test_conclusion_stops_the_cameras_and_leaves_no_watchlist_bytes(tmp_path, process_pool):
    async def scenario():
        session, store, recorder = open_session(tmp_path, process_pool)
        watchlist = session.watchlist
        needles = [np.asarray(s.encoding, np.float64).tobytes()[:64] for s in watchlist.subjects]
        needles += [s.image_jpeg[len(s.image_jpeg) // 2 :][:64] for s in watchlist.subjects]
        assert files_containing(tmp_path, needles), "the watchlist is on disk while planned"
        await session.confirm_officers_present()
        await session.start()
        await asyncio.sleep(1.5)
        summary = await session.conclude()
        frames = decoded(session)
        await asyncio.sleep(1.0)
        assert decoded(session) == frames, "cameras stopped at conclusion"
        assert all("concluded" in f.detail for f in session.feeds)
        assert len(session.matcher.watchlist) == 0, "encodings gone from memory too"
        await session.close()
        return store, summary, needles

    store, summary, needles = asyncio.run(scenario())
    assert summary["subjects_deleted"] == 2
    assert store.deployments.get(summary["reference"]).state == DeploymentState.CONCLUDED
    assert len(store.deployments.load_watchlist(summary["reference"])) == 0
    store.close()
    assert files_containing(tmp_path, needles) == []
    store = Store.in_dir(tmp_path)
    assert store.audit.verify().intact
    imported = next(e for e in store.audit.entries() if e.action == "watchlist imported")
    deleted = next(e for e in store.audit.entries() if e.action == "watchlist deleted")
    assert deleted.details["content_sha256"] == imported.details["content_sha256"]
    assert deleted.details["subjects_deleted"] == 2


def test_reaching_the_planned_end_concludes_the_deployment(tmp_path, process_pool):
    clock = Clock()

    async def scenario():
        session, store, recorder = open_session(tmp_path, process_pool, clock=clock)
        await session.confirm_officers_present()
        await session.start()
        clock.offset = timedelta(hours=8, minutes=1)
        for _ in range(40):
            await asyncio.sleep(0.1)
            if session.deployment.state == DeploymentState.CONCLUDED:
                break
        await session.close()
        return session, store

    session, store = asyncio.run(scenario())
    assert session.deployment.state == DeploymentState.CONCLUDED
    concluded = next(e for e in store.audit.entries() if e.action == "deployment concluded")
    assert concluded.actor == "console: planned end reached"
    assert len(store.deployments.load_watchlist(session.deployment.reference)) == 0


def test_only_a_supervisor_concludes_or_changes_the_false_alert_rate_and_it_is_audited(
    tmp_path, process_pool
):
    async def as_operator():
        session, _, _ = open_session(tmp_path / "op", process_pool, role=Role.OPERATOR)
        with pytest.raises(PermissionDenied, match="supervisor"):
            await session.change_false_alert_rate(FalseAlertRate(10_000))
        await session.confirm_officers_present()
        await session.start()
        with pytest.raises(PermissionDenied, match="supervisor"):
            await session.conclude()
        await session.close()

    async def as_supervisor():
        session, store, _ = open_session(tmp_path / "sup", process_pool)
        before = session.deployment.threshold
        # the site policy's loosest rate is 1 in 1,000 passers-by
        with pytest.raises(SafeguardError, match="looser than the site policy allows"):
            await session.change_false_alert_rate(FalseAlertRate(100))
        assert session.deployment.threshold == before
        await session.change_false_alert_rate(FalseAlertRate(100_000))
        expected = threshold_for(FalseAlertRate(100_000), len(session.watchlist))
        assert session.matcher.threshold == expected < before
        assert all(f.pipeline.sightings.threshold == expected for f in session.feeds)
        # the crowd engine chooses what to encode by the same distance
        assert all(f.pipeline.scheduler.threshold == expected for f in session.feeds)
        assert session.operating_point.rate == FalseAlertRate(100_000)
        await session.close()
        return store, before, expected

    asyncio.run(as_operator())
    store, before, expected = asyncio.run(as_supervisor())
    change = next(e for e in store.audit.entries() if e.action == "false-alert rate changed")
    assert change.details["old_threshold"] == before
    assert change.details["new_threshold"] == expected
    assert change.details["false_alert_rate"] == "1 in 100,000"
    assert change.actor == "PC 4821 Ward (ward, supervisor)"


def test_the_watchlists_size_sets_the_threshold_at_import(tmp_path, process_pool):
    """The sample plan runs at 1 in 1,000 passers-by against its 2 subjects."""

    async def scenario():
        session, store, _ = open_session(tmp_path, process_pool)
        await session.close()
        return session, store

    session, store = asyncio.run(scenario())
    assert len(session.watchlist) == 2
    assert session.deployment.threshold == threshold_for(FalseAlertRate(1000), 2)
    entry = next(e for e in store.audit.entries() if e.action == "operating point set")
    assert entry.details["watchlist_size"] == 2


def test_a_threshold_looser_than_the_site_policy_cannot_start(tmp_path, process_pool):
    """Checked when changed, and again at the start: a threshold stored behind the
    console's back (or under an older, looser policy) does not start."""

    async def scenario():
        session, store, _ = open_session(tmp_path, process_pool)
        loose = threshold_for(FalseAlertRate(100), 2)
        session.deployment = replace(session.deployment, threshold=loose)
        await session.confirm_officers_present()
        with pytest.raises(SafeguardError, match="looser than the site policy"):
            await session.start()
        session.deployment = replace(session.deployment, threshold=float("nan"))
        with pytest.raises(SafeguardError, match="not a usable threshold"):
            await session.start()
        assert all(f.counters.frames_decoded == 0 for f in session.feeds)
        await session.close()

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def passers_by_clip(tmp_path_factory) -> Path:
    """Ten seconds of the north camera with only passers-by in it (13 s to 23 s)."""
    path = tmp_path_factory.mktemp("clip") / "passers_by.avi"
    source = cv2.VideoCapture(str(SAMPLES / "north.mp4"))
    source.set(cv2.CAP_PROP_POS_FRAMES, 13 * 25)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (1280, 720))
    for _ in range(10 * 25):
        writer.write(source.read()[1])
    writer.release()
    return path


def test_faces_that_do_not_match_are_never_written_anywhere(
    tmp_path, process_pool, passers_by_clip, caplog
):
    caplog.set_level(logging.DEBUG)
    plan = load_plan(SAMPLE_DEPLOYMENT)
    plan = replace(plan, cameras=[SourceSpec("north", str(passers_by_clip))])
    data = tmp_path / "data"

    async def scenario():
        session, store, recorder = open_session(data, process_pool, plan=plan)
        await session.confirm_officers_present()
        await session.start()
        feed = session.feeds[0]
        for _ in range(150):
            await asyncio.sleep(0.1)
            if feed.state == FeedState.ENDED:
                break
        await session.conclude()
        await session.close()
        return session, store, recorder

    session, store, recorder = asyncio.run(scenario())
    assert session.feeds[0].state != FeedState.FAILED
    assert recorder.alerts == []
    faces_seen = store.deployments.counts(session.deployment.reference)["north"][0]
    counters = session.feeds[0].counters
    # Counted once per person followed (the rate's denominator), not once per frame.
    assert faces_seen == counters.people_seen >= 2, "the passers-by were seen (counted)"
    assert counters.faces_detected > 2 * faces_seen
    assert store.db.query("SELECT COUNT(*) FROM alerts") == [(0,)]
    store.close()
    names = sorted(p.name for p in data.rglob("*") if p.is_file())
    # The record and its sealing key and head (a key and a MAC: nothing about a face).
    assert set(names) <= {
        "console.db",
        "console.db-wal",
        "console.db-shm",
        "audit.seal",
        "audit.head",
    }
    assert files_containing(data, [b"\xff\xd8\xff"]) == [], "no image of any kind is left"
    for record in caplog.records:
        assert not any(isinstance(a, np.ndarray) for a in (record.args or ()))
        assert "encoding" not in record.getMessage().lower()


def test_the_officer_decides_on_exactly_what_is_stored(tmp_path, process_pool):
    """The sighting adds evidence to its alert in place between the updates it reports;
    the card (what the listener got) and the record hold one snapshot, so the frames the
    officer saw matched are the frames stored, and the decision names its incident."""

    async def scenario():
        session, store, recorder = open_session(tmp_path, process_pool)
        subject = next(iter(session.watchlist.subjects))
        live = Alert(
            "north-test-1", "north", subject.subject_id, subject.name, subject.category,
            0.30, 0.45, 3.0, 75, (10, 60, 60, 10), session.now(),
            evidence=[Evidence(70, 2.8, 0.31), Evidence(75, 3.0, 0.30)],
        )  # fmt: skip
        session._on_alert(AlertEvent(live, is_new=True))
        live.evidence.append(Evidence(80, 3.2, 0.33))  # the tracker, after the event
        await asyncio.sleep(0.5)  # the alert's save
        await session.decide_incident([live.alert_id], Decision.ENGAGE)
        await session.close()
        return store, recorder

    store, recorder = asyncio.run(scenario())
    (shown,) = recorder.alerts
    stored = store.db.query("SELECT frames_seen FROM alerts WHERE alert_id = 'north-test-1'")
    assert shown.frames_seen == stored[0][0] == 2
    incidents = decided_incidents(store)
    assert incidents == {"north-test-1": "north-test-1"}
    store.close()
