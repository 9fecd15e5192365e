"""A live session with its field service on loopback, and a phone that talks to it over
real HTTPS (aiohttp's client, trusting the install's own certificate)."""

from __future__ import annotations

import json
import ssl
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Alert, Evidence
from console.domain.deployments import Deployment
from console.domain.officers import Role
from console.domain.policy import SitePolicy
from console.field.server import COOKIE
from console.field.service import FieldService, ground_team
from console.live.session import MonitoringSession
from console.storage import AsyncStore, Store

POLICY = SitePolicy(officers_present="checked_in", field_interface="127.0.0.1")


class Listener:
    """What a window would have shown of the session and of the field service."""

    def __init__(self) -> None:
        self.statuses, self.errors, self.alarms, self.outcomes = [], [], [], []

    def feed_frame(self, *args) -> None: ...
    def feed_faces(self, *args) -> None: ...

    def feed_status(self, status) -> None:
        self.statuses.append(status)

    def alert_raised(self, alert, is_new) -> None: ...
    def alert_restored(self, alert, adjudication) -> None: ...
    def deployment_changed(self, deployment) -> None: ...

    def storage_failed(self, message) -> None:
        self.errors.append(message)

    def field_changed(self) -> None: ...

    def field_alarm(self, message) -> None:
        self.alarms.append(message)

    def field_outcome(self, incident_id, outcome, officer) -> None:
        self.outcomes.append((incident_id, outcome, officer))


class Clock:
    """Monotonic time a test can move forward (the phones' silence)."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self._real = time.monotonic

    def __call__(self) -> float:
        return self._real() + self.offset


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_field_session(tmp_path: Path, watchlist=None, sources=(), policy=None, pool=None):
    """A planned deployment of the sample plan (no cameras unless given), its session
    composed with a field service on 127.0.0.1; not yet opened."""
    from console.domain.watchlist import Watchlist

    plan = load_plan(SAMPLE_DEPLOYMENT)
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PS 1203 Ward", Role.SUPERVISOR, "correct horse", "test")
    officer = store.officers.authenticate("ward", "correct horse")
    now = datetime.now(UTC)
    deployment = Deployment(
        "FIELD-1", plan.site, tuple(s.camera for s in sources) or ("north",), "A. Example",
        "Superintendent", now - timedelta(minutes=1), now + timedelta(hours=2), 0.5,
        watchlist_created_at=now,
    )
    store.deployments.create(deployment, str(officer))
    policy = policy or replace(POLICY, field_port=free_port())
    astore = AsyncStore(store)
    ground = ground_team(policy, tmp_path, astore, deployment.reference, plan.camera_sites)
    assert isinstance(ground, FieldService)
    listener = Listener()
    ground.listener = listener
    ground.clock = Clock()
    ground.pairing.clock = ground.clock
    session = MonitoringSession(
        deployment, list(sources), watchlist or Watchlist(plan.watchlist, []), pool,
        astore, officer, listener, policy=policy, ground=ground,
    )
    return session, ground, store, listener


def engaged_alert(subject, camera: str = "north", scene=None) -> Alert:
    """An alert of *subject* with a face crop, a scene frame and a track that walks
    towards the camera."""
    import numpy as np

    crop = subject.photo_rgb if subject is not None else np.full((80, 80, 3), 120, np.uint8)
    scene = scene if scene is not None else np.full((540, 960, 3), 90, np.uint8)
    path = [(0.0, (200, 520, 280, 440)), (1.0, (190, 530, 290, 430)),
            (2.0, (180, 545, 300, 425))]
    return Alert(
        alert_id=f"{camera}-{subject.subject_id if subject else 'x'}-1", camera=camera,
        subject_id=subject.subject_id if subject else "S-1",
        subject_name=subject.name if subject else "Sam Example",
        category=subject.category if subject else "risk of harm", distance=0.3, threshold=0.5,
        t=2.0, frame=50, bbox=(180, 545, 300, 425), raised_at=datetime.now(UTC),
        crop_rgb=crop, evidence=[Evidence(50, 2.0, 0.3)], scene_rgb=scene, path=path,
        frame_size=(960, 540),
    )


class PhoneClient:
    """An officer's phone, talking HTTPS to the field service as the page does."""

    def __init__(self, service: FieldService) -> None:
        self.service = service
        context = ssl.create_default_context(cafile=str(service.server.certificate.cert_path))
        self.ssl = context
        self.base = service.address
        self.origin = service.address
        self.token: str | None = None
        self.page = ""
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[dict] = []
        self.photos: list[tuple[dict, bytes]] = []  # (header, JPEG) as the frames came
        self.beating = None

    def headers(self, extra: dict | None = None) -> dict:
        h = {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"}
        if self.token:
            h["Cookie"] = f"{COOKIE}={self.token}"
        if self.page:
            h["X-Field-Page"] = self.page
        return {**h, **(extra or {})}

    async def request(self, method: str, path: str, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        h = self.headers(headers)
        if data is not None and "Content-Type" not in h:
            h["Content-Type"] = "application/json"
        async with self.http.request(method, self.base + path, data=data, headers=h,
                                     ssl=self.ssl) as response:
            payload = await response.read()
            return response.status, payload, response

    async def pair(self, code: str) -> int:
        status, payload, response = await self.request("POST", "/api/pair", {"code": code})
        if status == 200:
            self.token = response.cookies[COOKIE].value
        return status

    async def open_page(self, beat: bool = True) -> dict:
        """Open the page's connection; with *beat*, send its heartbeat as the page does."""
        import asyncio

        h = self.headers()
        h.pop("X-Field-Page", None)
        self.ws = await self.http.ws_connect(self.base.replace("https", "wss") + "/api/live",
                                             headers=h, ssl=self.ssl)
        hello = await self.next_message()
        if hello.get("type") == "hello":
            self.page = hello["page"]
            if beat:
                self.beating = asyncio.ensure_future(self._beat())
        return hello

    async def _beat(self) -> None:
        import asyncio

        while self.ws is not None and not self.ws.closed:
            await asyncio.sleep(2.0)
            await self.heartbeat()

    async def next_message(self, timeout: float = 10.0) -> dict:
        """The next text message; photo frames on the way are kept in ``photos``. A closed
        connection is {"type": "socket CLOSE", "code": ...}."""
        import asyncio

        while True:
            message = await asyncio.wait_for(self.ws.receive(), timeout)
            if message.type == aiohttp.WSMsgType.BINARY:
                self.photos.append(photo_frame(message.data))
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                return {"type": f"socket {message.type.name}", "code": message.data}
            data = json.loads(message.data)
            self.messages.append(data)
            return data

    async def photos_of(self, incident_id: str, kinds, timeout: float = 10.0) -> dict:
        """Read on until a photo of each of *kinds* for the incident has come: kind -> JPEG."""
        import asyncio

        def have() -> dict:
            return {h["kind"]: jpeg for h, jpeg in self.photos if h["id"] == incident_id}

        while not set(kinds) <= set(have()):
            message = await asyncio.wait_for(self.ws.receive(), timeout)
            if message.type == aiohttp.WSMsgType.BINARY:
                self.photos.append(photo_frame(message.data))
            elif message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))
            else:
                raise AssertionError(f"the connection ended: {message.type.name}")
        return have()

    async def heartbeat(self) -> None:
        await self.ws.send_str(json.dumps({"type": "heartbeat"}))

    async def close(self) -> None:
        if self.beating is not None:
            self.beating.cancel()
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


def photo_frame(data: bytes) -> tuple[dict, bytes]:
    """A photo frame as the page reads it: a 2-byte length, a JSON header, the JPEG."""
    length = int.from_bytes(data[:2], "big")
    return json.loads(data[2:2 + length]), data[2 + length:]


def audit_actions(store: Store, reference: str = "FIELD-1") -> list[tuple[str, str, dict]]:
    return [(e.actor, e.action, e.details) for e in store.audit.entries()
            if e.details.get("reference") == reference]
