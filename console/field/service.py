"""The field service: phones paired to officers on the ground, their presence, and the
incidents the desk sends them. The session's ``GroundTeam`` (``console.live.ground``).

This module holds the rules and the state; ``console.field.server`` is the HTTPS front
(aiohttp) that phones talk to, and calls in here. Everything is on the event loop; every
write to the record (``console.storage.field``: audit entries) is awaited on the storage
thread.

Presence: a phone is *checked in* while its page is open and its heartbeat arrives (every
``HEARTBEAT_S``). Silent for ``LOST_AFTER_S`` (or its connection closed) it is lost. When
the last phone has been silent longer than the site policy allows the session pauses the
cameras; a check-in resumes them. Every check-in and loss is audited.

Dispatch: an engaged incident goes to the checked-in phones (or the one the desk chose);
each phone's steps (seen, going, located or not located, outcome) are audited and shown to
the desk live. An incident no phone has seen within ``UNSEEN_ALARM_S`` is flagged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from console.domain.alerts import Alert, Outcome, OutcomeReport
from console.domain.field import (
    NEXT_STEPS,
    OUTCOMES_WHEN_LOCATED,
    STREET_WORDS,
    CameraSite,
    Step,
    plain_category,
    risk_of_harm,
    travel_direction,
)
from console.domain.officers import Officer, Permission
from console.domain.policy import SitePolicy
from console.field.images import clothing_crop, jpeg, photo_frame
from console.field.pairing import (
    Pairing,
    PairingRefused,
    new_device_id,
    new_token,
    shown,
    token_hash,
)
from console.live.ground import GroundHooks
from console.storage import AlreadyDecided, AsyncStore, StorageError
from console.storage import field as entries
from console.storage.field import FieldLog

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
LOST_AFTER_S = 20.0
UNSEEN_ALARM_S = 30.0
CLEAR_WAIT_S = 1.5  # how long an open page has to confirm it cleared itself
# The desk is told of changes at most this often: twenty phones' "seen" in one burst are
# one repaint of its panel, not twenty on the event loop the phones' messages share.
TELL_EVERY_S = 0.2
PUSH_TIMEOUT_S = 10.0  # a phone that takes longer to take a message is left to reconnect
# After conclusion a phone coming back online is told so (410) for this long; then the
# service stops listening.
CONCLUDED_GRACE_S = 300.0
ACTOR = "console: field"
IMAGE_KINDS = ("watchlist", "live", "clothing")
# The deployment's supervisor (who may conclude it) pairs and revokes phones.
PAIRING = Permission.CONCLUDE_DEPLOYMENT


class Refused(Exception):
    """A phone's request is refused: an HTTP status and words for the phone."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Channel(Protocol):
    """A phone's open page, as the service pushes to it."""

    async def send(self, message: dict[str, Any]) -> None: ...
    async def send_bytes(self, frame: bytes) -> None: ...
    async def close(self, code: int, why: str) -> None: ...


class FieldListener(Protocol):
    """What the desk is told (on the event loop)."""

    def field_changed(self) -> None:
        """Phones, presence or an incident's steps changed: show them again."""

    def field_alarm(self, message: str) -> None:
        """Something the desk must act on now (said loudly)."""

    def field_outcome(self, incident_id: str, outcome: Outcome, officer: str) -> None:
        """An outcome was recorded on the street: the incident leaves the desk's list."""


@dataclass(eq=False)  # one object per phone: its identity is the phone
class Phone:
    device: str
    officer: str
    token_sha256: str
    paired_at: datetime
    channel: Channel | None = None
    page: str = ""  # the open page's id: every request must name it
    last_heard: float | None = None
    checked_in: bool = False
    ended: bool = False
    cleared_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.officer} (phone {self.device})"


@dataclass
class Dispatch:
    """An engaged incident as the phones get it."""

    incident_id: str
    alert_ids: list[str]
    subject_name: str
    category: str
    camera: str
    site: CameraSite
    sighted_at: datetime
    direction: str | None
    images: dict[str, bytes]
    engaged_by: str = ""
    engaged_at: datetime | None = None
    sent_at: float = 0.0  # monotonic, for the unseen alarm
    recipients: set[str] = field(default_factory=set)
    steps: dict[str, list[tuple[Step, datetime]]] = field(default_factory=dict)  # per device
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id -> reply
    outcome: tuple[Outcome, str, datetime] | None = None  # outcome, by whom, when
    closed: bool = False
    alarmed: bool = False
    pushed_at: datetime | None = None  # when it left for the phones (for the bench)
    phone_ms: dict[str, float] = field(default_factory=dict)  # arrival -> shown, per phone
    _frames: list[bytes] | None = field(default=None, repr=False)

    def photo_frames(self) -> list[bytes]:
        """The photos as binary frames (``photo_frame``), made once for every phone; none
        once the incident is closed."""
        if self._frames is None or not self.images:
            self._frames = [photo_frame(self.incident_id, k, self.images[k])
                            for k in IMAGE_KINDS if k in self.images]
        return self._frames

    def forget_photos(self) -> None:
        self.images, self._frames = {}, None

    def last_step(self, device: str) -> Step | None:
        steps = self.steps.get(device)
        return steps[-1][0] if steps else None

    def first(self, step: Step) -> tuple[str, datetime] | None:
        """The first device to take *step*, and when."""
        found = [(at, d) for d, steps in self.steps.items() for s, at in steps if s == step]
        return (min(found)[1], min(found)[0]) if found else None

    def message(self, device: str, now: datetime) -> dict[str, Any]:
        """The incident's text as its phone gets it; the photos it names follow at once
        as binary frames over the same connection (``photo_frames``): nothing to fetch,
        nothing for a browser cache to keep."""
        return {
            "type": "incident",
            "id": self.incident_id,
            "name": self.subject_name,
            "category": plain_category(self.category),
            "risk": risk_of_harm(self.category),
            "camera": self.camera,
            "side": self.site.side,
            "seconds_ago": max(0.0, (now - self.sighted_at).total_seconds()),
            "direction": self.direction,
            "images": [k for k in IMAGE_KINDS if k in self.images],
            "engaged_by": self.engaged_by,
            "step": (self.last_step(device) or Step.SENT).value,
        }


@dataclass
class FieldSettings:
    """The site policy's field keys, and where the install's own certificate is kept."""

    host: str  # the address to listen on ("all": every interface)
    port: int
    silence_s: float
    data_dir: Path
    certificate: str = ""  # the force's PEM certificate and key ("": the install's own)
    key: str = ""

    @classmethod
    def of(cls, policy: SitePolicy, data_dir: Path) -> FieldSettings:
        return cls(
            policy.field_interface, policy.field_port, policy.field_silence_seconds,
            Path(data_dir), policy.field_certificate, policy.field_key,
        )


class FieldService:
    """The ground team for one deployment (see the module docstring)."""

    def __init__(
        self,
        settings: FieldSettings,
        store: AsyncStore,
        reference: str,
        sites: dict[str, CameraSite] | None = None,
        listener: FieldListener | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.reference = reference
        self.sites = sites or {}
        self.listener = listener
        self.clock = clock
        self.wall = wall
        self.log = FieldLog(store.store.db, store.store.audit)
        self.pairing = Pairing(clock)
        self.phones: dict[str, Phone] = {}
        self.dispatches: dict[str, Dispatch] = {}
        self.target: str | None = None  # the device the desk sends to; None: every one
        self.hooks: GroundHooks | None = None
        self.concluded = False
        self._concluded_at = 0.0
        self.receipt: list[str] = []  # each phone at conclusion: token ended, page cleared
        self.address = ""  # https://host:port once listening
        self.fingerprint = ""
        self.server: Any = None  # console.field.server.FieldServer, once open
        self._tick: asyncio.Task | None = None
        self._writes: set[asyncio.Task] = set()
        self._queued: list[tuple[str, str, dict[str, Any], asyncio.Future[None]]] = []
        self._flushing: asyncio.Task | None = None
        self._last_heard_any: float | None = None
        self._told_at = -TELL_EVERY_S
        self._telling: asyncio.TimerHandle | None = None

    # -- the record --------------------------------------------------------------------
    async def _audit(self, actor: str, action: str, details: dict[str, Any]) -> None:
        """Audit an entry; return once it is on disk. Entries that arrive while a write
        is under way go to disk together in the next one (group commit), in order."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((actor, action, details, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        try:
            await done
        except StorageError as exc:
            log.error("field: %s not recorded: %s", action, exc)
            self._alarm(f"The record could not be written ({action}): {exc}")

    async def _flush(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await self.store.call(
                    self.log.record_many, self.reference, [e[:3] for e in batch]
                )
            except StorageError as exc:
                for *_, done in batch:
                    done.done() or done.set_exception(exc)
                continue
            for *_, done in batch:
                done.done() or done.set_result(None)

    def _audit_soon(self, actor: str, action: str, details: dict[str, Any]) -> None:
        task = asyncio.create_task(self._audit(actor, action, details))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _changed(self) -> None:
        """Tell the desk: at once, or (within TELL_EVERY_S of the last time) once when that
        has passed, however many changes came meanwhile."""
        if self.listener is None or self._telling is not None:
            return
        wait = self._told_at + TELL_EVERY_S - time.monotonic()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            wait = 0.0
        if wait <= 0:
            self._tell()
        else:
            self._telling = loop.call_later(wait, self._tell)

    def _tell(self) -> None:
        self._telling = None
        self._told_at = time.monotonic()
        if self.listener is not None:
            self.listener.field_changed()

    def _alarm(self, message: str) -> None:
        log.warning("field: %s", message)
        if self.listener is not None:
            self.listener.field_alarm(message)

    # -- GroundTeam: lifecycle ---------------------------------------------------------
    async def open(self, hooks: GroundHooks) -> None:
        """Phones paired earlier in this deployment (a restart) keep their tokens; then
        listen, and watch the phones' silence."""
        self.hooks = hooks
        phones = await self.store.call(self.log.phones, self.reference)
        for p in phones:
            if p.live:
                self.phones[p.device] = Phone(p.device, p.officer, p.token_sha256, p.paired_at)
        if self.server is None:
            from console.field.server import FieldServer

            self.server = FieldServer(self)
        try:
            self.address, self.fingerprint = await self.server.start()
        except Exception as exc:  # the desk must hear why phones cannot reach it
            self._alarm(f"The field service could not start: {exc}")
            raise
        await self._audit(
            ACTOR, entries.SERVICE,
            {"state": "listening", "address": self.address,
             "certificate_sha256": self.fingerprint},
        )
        self._tick = asyncio.create_task(self._watch())
        self._changed()

    async def _stop_listening(self, why: str) -> None:
        """Off: nothing listens once the deployment is over (after a grace in which a phone
        coming back is told, rather than left guessing)."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
            await self._audit(ACTOR, entries.SERVICE, {"state": "stopped", "why": why})
            self._changed()

    async def close(self) -> None:
        if self._telling is not None:
            self._telling.cancel()
            self._telling = None
        if self._tick is not None:
            self._tick.cancel()
            await asyncio.gather(self._tick, return_exceptions=True)
            self._tick = None
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    # -- presence ----------------------------------------------------------------------
    def present(self) -> str | None:
        names = sorted({p.officer for p in self.phones.values() if p.checked_in})
        return ", ".join(names) if names else None

    def absence(self) -> str:
        if not self.phones:
            return "no officer on the ground has a paired phone: cameras are off"
        if self._last_heard_any is None:
            return "no paired officer on the ground has checked in yet: cameras are off"
        silent = self.clock() - self._last_heard_any
        return (
            f"cameras paused: no officer on the ground has checked in for "
            f"{_minutes(silent)} (the site policy allows {_minutes(self.settings.silence_s)})"
        )

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.concluded and self.clock() - self._concluded_at > CONCLUDED_GRACE_S:
                await self._stop_listening("deployment concluded")
                return
            try:
                await self._check_presence()
                self._check_unseen()
            except Exception:  # the watch must outlive a surprise
                log.exception("field: presence check")

    async def _check_presence(self) -> None:
        now = self.clock()
        for phone in self.phones.values():
            if phone.checked_in and (phone.last_heard is None or
                                     now - phone.last_heard > LOST_AFTER_S):
                await self._lose(phone, f"no heartbeat for {now - phone.last_heard:.0f} s"
                                 if phone.last_heard else "no heartbeat")
        if self.present() is None and self.hooks is not None and not self.concluded:
            last = self._last_heard_any
            if last is not None and now - last > self.settings.silence_s:
                await self.hooks.officers_gone(
                    self.absence(), {"silent_s": round(now - last), "phones": len(self.phones)}
                )

    async def _lose(self, phone: Phone, why: str) -> None:
        phone.checked_in = False
        silent = 0 if phone.last_heard is None else round(self.clock() - phone.last_heard)
        await self._audit(ACTOR, entries.LOST, {
            "device": phone.device, "officer": phone.officer, "why": why, "silent_s": silent,
        })
        self._changed()

    async def _heard(self, phone: Phone) -> None:
        phone.last_heard = self._last_heard_any = self.clock()
        if phone.checked_in:
            return
        phone.checked_in = True
        await self._audit(phone.officer, entries.CHECKED_IN,
                          {"device": phone.device, "officer": phone.officer})
        self._changed()
        if self.hooks is not None and not self.concluded:
            await self.hooks.officers_checked_in(
                self.present() or phone.officer,
                {"device": phone.device, "officer": phone.officer},
            )
        for dispatch in self.dispatches.values():  # what it missed while away
            if phone.device in dispatch.recipients and not dispatch.closed:
                await self._deliver(phone, dispatch, "again, after the phone was away")

    # -- pairing -----------------------------------------------------------------------
    async def issue_code(self, officer: str, by: Officer) -> tuple[str, float]:
        """A one-time code for *officer*, shown on the desk (and as a QR code): the
        deployment's supervisor pairs phones."""
        by.require(PAIRING)
        officer = " ".join(officer.split())
        if not officer or len(officer) > 80:
            raise ValueError("give the officer's name and number (at most 80 characters)")
        if self.concluded:
            raise ValueError("the deployment has concluded: no phone can be paired")
        code, lifetime = self.pairing.issue(officer, str(by))
        await self._audit(str(by), entries.CODE_ISSUED,
                          {"officer": officer, "valid_s": lifetime})
        return code, lifetime

    def pairing_url(self, code: str) -> str:
        return f"{self.address}/#pair={shown(code)}"

    async def pair(self, typed: str, source: str) -> tuple[Phone, str]:
        """A phone presents a code: its token (and phone), or PairingRefused (audited)."""
        if self.concluded:
            raise Refused(410, "The deployment has concluded.")
        try:
            officer, by = self.pairing.redeem(str(typed)[:64], source)
        except PairingRefused as exc:
            action = entries.PAIRING_LOCKED if exc.locked else entries.PAIRING_REFUSED
            await self._audit(ACTOR, action, {"from": source, "why": exc.why})
            if exc.locked:
                self._alarm(f"Pairing: {exc.why} (from {source})")
            raise
        token, device = new_token(), new_device_id()
        while device in self.phones:
            device = new_device_id()
        phone = Phone(device, officer, token_hash(token), self.wall())
        await self._audit(by, entries.PAIRED, {
            "device": device, "officer": officer, "token_sha256": phone.token_sha256,
            "paired_by": by, "from": source,
        })
        self.phones[device] = phone
        self._changed()
        return phone, token

    async def revoke(self, device: str, by: Officer) -> None:
        by.require(PAIRING)
        phone = self.phones.get(device)
        if phone is None or phone.ended:
            return
        phone.ended = True
        await self._audit(str(by), entries.REVOKED, {
            "device": device, "officer": phone.officer, "why": f"revoked by {by}",
        })
        await self._clear(phone, f"revoked at the desk by {by}")
        del self.phones[device]
        if self.target == device:
            self.target = None
        self._changed()

    # -- a phone's requests ------------------------------------------------------------
    async def authenticate(self, token: str | None, source: str) -> Phone:
        """The phone a token belongs to; Refused (401, audited) for anything else."""
        if self.concluded:
            raise Refused(410, "The deployment has concluded: this phone is cleared.")
        digest = token_hash(token or "")
        for phone in self.phones.values():
            if secrets.compare_digest(phone.token_sha256, digest) and not phone.ended:
                return phone
        await self._audit(ACTOR, entries.TOKEN_REFUSED, {
            "from": source, "why": "no token" if not token else "unknown or ended token",
        })
        raise Refused(401, "This phone is not paired (or its pairing has ended): ask the "
                           "desk for a code.")

    def check_page(self, phone: Phone, page: str | None) -> None:
        """A request must come from the phone's open page (not a copy of its token)."""
        if not page or not phone.page or not secrets.compare_digest(page, phone.page):
            raise Refused(409, "This page is not the phone's open page: reload it.")

    async def connect(self, phone: Phone, channel: Channel, source: str) -> str:
        """A page opens: it becomes the phone's page, unless another page of the same
        token is checked in (a stolen token: refused, and the desk is told)."""
        now = self.clock()
        if phone.channel is not None and phone.last_heard is not None and (
            now - phone.last_heard <= LOST_AFTER_S
        ):
            await self._audit(ACTOR, entries.SECOND_DEVICE, {
                "device": phone.device, "officer": phone.officer, "from": source,
            })
            self._alarm(
                f"{phone.officer}'s token was presented by a second device ({source}) while "
                f"their phone is checked in: refused. Revoke the phone if it was not theirs."
            )
            raise Refused(409, "This phone's pairing is in use on another device.")
        old = phone.channel
        phone.channel, phone.page = channel, secrets.token_urlsafe(16)
        if old is not None:
            await old.close(4000, "opened elsewhere")
        await channel.send({
            "type": "hello", "officer": phone.officer, "device": phone.device,
            "page": phone.page, "heartbeat_s": HEARTBEAT_S,
        })
        was_in = phone.checked_in
        await self._heard(phone)
        if was_in:  # a page reopened: it shows again what it was sent (once checked in,
            for dispatch in self.dispatches.values():  # _heard has done it)
                if phone.device in dispatch.recipients and not dispatch.closed:
                    await self._deliver(phone, dispatch, "again, to a reopened page")
        return phone.page

    async def heartbeat(self, phone: Phone, page: str) -> None:
        if page == phone.page:
            await self._heard(phone)

    async def disconnected(self, phone: Phone, page: str) -> None:
        if page != phone.page:
            return
        phone.channel = None
        if phone.checked_in and not phone.ended:
            await self._lose(phone, "page closed or connection lost")

    async def refuse_message(self, phone: Phone, why: str) -> None:
        """A page sent what no page of ours sends (its connection is then closed)."""
        log.info("field: refused from %s: %s", phone.label, why)
        await self._audit(ACTOR, entries.MESSAGE_REFUSED, {
            "device": phone.device, "officer": phone.officer, "why": why,
        })

    async def cleared(self, phone: Phone) -> None:
        """The page confirms it wiped what it showed."""
        if phone.cleared_at is None:
            phone.cleared_at = self.wall()
            await self._audit(phone.officer, entries.CLEARED, {
                "device": phone.device, "officer": phone.officer,
            })

    def dispatch_for(self, phone: Phone, incident_id: str) -> Dispatch:
        """Only incidents sent to this phone exist for it."""
        dispatch = self.dispatches.get(incident_id)
        if dispatch is None or phone.device not in dispatch.recipients:
            raise Refused(404, "No such incident on this phone.")
        return dispatch

    async def _deliver(self, phone: Phone, d: Dispatch, why: str) -> None:
        """Push an incident again to one phone, its photos audited before they leave."""
        await self._audit(ACTOR, entries.IMAGE, {
            "incident": d.incident_id, "device": phone.device, "officer": phone.officer,
            "images": sorted(d.images), "why": why,
        })
        await self._push(phone, d.message(phone.device, self.wall()), d)

    def _request(
        self, phone: Phone, incident_id: str, request: str, kind: type, value: str
    ) -> tuple[Dispatch, Any, dict[str, Any] | None]:
        """A phone's step or outcome: its incident, what it asks for, and the reply already
        given when the same request comes again (the phone lost the first reply)."""
        dispatch = self.dispatch_for(phone, incident_id)
        if request in dispatch.requests:
            return dispatch, None, dispatch.requests[request]
        try:
            return dispatch, kind(value), None
        except ValueError:
            raise Refused(400, f"Unknown {kind.__name__.lower()}.") from None

    async def step(
        self, phone: Phone, incident_id: str, step: str, request: str,
        viewed: list[str] | None = None, shown_ms: float | None = None,
    ) -> dict[str, Any]:
        """Seen, going, located or not located: recorded once per request id."""
        dispatch, wanted, reply = self._request(phone, incident_id, request, Step, step)
        if reply is not None:
            return reply
        if dispatch.closed:
            raise Refused(409, "This incident is closed.")
        if wanted not in NEXT_STEPS.get(dispatch.last_step(phone.device), ()):
            if wanted == dispatch.last_step(phone.device):
                return {"ok": True, "step": wanted.value}
            raise Refused(409, f"'{wanted.label}' does not follow the last step.")
        at = self.wall()  # when the phone said it (the page sends it at once)
        details: dict[str, Any] = {
            "incident": incident_id, "step": wanted.value, "device": phone.device,
            "officer": phone.officer, "request": request[:64], "at": at.isoformat(),
        }
        if wanted == Step.SEEN:
            details["images_viewed"] = [k for k in (viewed or []) if k in dispatch.images]
            if shown_ms is not None:  # the phone's own time from arrival to the screen
                details["phone_ms"] = round(shown_ms)
                dispatch.phone_ms[phone.device] = shown_ms
        await self._audit(phone.officer, entries.STEP, details)
        dispatch.steps.setdefault(phone.device, []).append((wanted, at))
        reply = {"ok": True, "step": wanted.value}
        dispatch.requests[request] = reply
        self._changed()
        return reply

    async def outcome(
        self, phone: Phone, incident_id: str, outcome: str, note: str, request: str
    ) -> dict[str, Any]:
        """The outcome from the street: recorded exactly once, whatever is sent again."""
        dispatch, chosen, reply = self._request(phone, incident_id, request, Outcome, outcome)
        if reply is not None:
            return reply
        last = dispatch.last_step(phone.device)
        allowed = OUTCOMES_WHEN_LOCATED if last == Step.LOCATED else (
            (Outcome.NOT_LOCATED,) if last == Step.NOT_LOCATED else ())
        if dispatch.outcome is not None:
            raise Refused(409, f"An outcome is already recorded by {dispatch.outcome[1]}.")
        if chosen not in allowed:
            raise Refused(409, "Record Located or Not located first.")
        note = " ".join(str(note).split())[:500]
        source = f"on the ground: {phone.label}"
        assert self.hooks is not None
        try:
            reports = await self.hooks.record_outcome_from_ground(
                dispatch.alert_ids, chosen, phone.officer, source, note
            )
        except AlreadyDecided:
            raise Refused(409, "An outcome is already recorded for this incident.") from None
        except StorageError as exc:
            raise Refused(503, f"Not recorded, try again: {exc}") from exc
        at = reports[0].recorded_at if reports else self.wall()
        await self._audit(phone.officer, entries.STEP, {
            "incident": incident_id, "step": Step.OUTCOME.value, "device": phone.device,
            "officer": phone.officer, "outcome": chosen.value, "request": request[:64],
        })
        dispatch.steps.setdefault(phone.device, []).append((Step.OUTCOME, at))
        dispatch.outcome = (chosen, phone.officer, at)
        reply = {"ok": True, "outcome": chosen.value, "recorded": STREET_WORDS[chosen]}
        dispatch.requests[request] = reply
        await self._close(dispatch, f"{STREET_WORDS[chosen]}: recorded by {phone.officer}")
        if self.listener is not None:
            self.listener.field_outcome(incident_id, chosen, phone.officer)
        self._changed()
        return reply

    # -- GroundTeam: dispatch ----------------------------------------------------------
    def prepare_dispatch(
        self, incident_id: str, alerts: list[Alert], watchlist_photo: np.ndarray | None = None
    ) -> Dispatch | None:
        if not alerts:
            return None
        best = min(alerts, key=lambda a: a.distance)
        latest = max(alerts, key=lambda a: a.raised_at)
        scene = next((a for a in sorted(alerts, key=lambda a: a.raised_at, reverse=True)
                      if a.scene_rgb is not None), None)
        site = self.sites.get(latest.camera, CameraSite())
        images = {
            "watchlist": jpeg(watchlist_photo),
            "live": jpeg(best.crop_rgb),
            "clothing": jpeg(clothing_crop(scene)) if scene is not None else None,
        }
        return Dispatch(
            incident_id=incident_id,
            alert_ids=[a.alert_id for a in alerts],
            subject_name=best.subject_name,
            category=best.category,
            camera=(scene or latest).camera,
            site=self.sites.get((scene or latest).camera, site),
            sighted_at=latest.raised_at,
            direction=travel_direction(latest.path, site.facing),
            images={k: v for k, v in images.items() if v},
        )

    async def dispatch(self, prepared: object, engaged_by: str, engaged_at: datetime) -> None:
        if not isinstance(prepared, Dispatch) or self.concluded:
            return
        d = prepared
        d.engaged_by, d.engaged_at, d.sent_at = engaged_by, engaged_at, self.clock()
        checked_in = [p for p in self.phones.values() if p.checked_in and not p.ended]
        chosen = self.phones.get(self.target) if self.target else None
        recipients = [chosen] if chosen is not None and chosen.checked_in else checked_in
        d.recipients = {p.device for p in recipients}
        self.dispatches[d.incident_id] = d
        await self._audit(engaged_by, entries.SENT, {
            "incident": d.incident_id, "alert_ids": d.alert_ids,
            "devices": sorted(d.recipients), "officers": sorted({p.officer for p in recipients}),
            "engaged_at": engaged_at.isoformat(), "images": sorted(d.images),
            "to": "chosen officer" if recipients == [chosen] else "every checked-in officer",
        })
        if not recipients:
            d.alarmed = True
            self._alarm(f"{d.subject_name}: engaged, but no officer's phone is checked in: "
                        "use the radio")
        if chosen is not None and not chosen.checked_in:
            self._alarm(f"{chosen.officer} is not checked in: {d.subject_name} was sent to "
                        "every checked-in officer")
        now = self.wall()
        d.pushed_at = now
        await self._push_each({p: d.message(p.device, now) for p in recipients}, d)
        self._changed()

    async def send_to(self, incident_id: str, device: str | None, by: str) -> None:
        """The desk sends an engaged incident again, to one phone or to every one."""
        d = self.dispatches.get(incident_id)
        if d is None or d.closed:
            return
        phones = [self.phones[device]] if device in self.phones else [
            p for p in self.phones.values() if p.checked_in]
        new = [p for p in phones if p.device not in d.recipients]
        d.recipients |= {p.device for p in phones}
        await self._audit(by, entries.SENT, {
            "incident": incident_id, "alert_ids": d.alert_ids,
            "devices": sorted(p.device for p in phones),
            "officers": sorted({p.officer for p in phones}),
            "engaged_at": (d.engaged_at or self.wall()).isoformat(), "images": sorted(d.images),
            "to": "sent again by the desk",
        })
        now = self.wall()
        await self._push_each({p: d.message(p.device, now) for p in new}, d)
        self._changed()

    async def withdraw(self, incident_id: str, why: str) -> None:
        d = self.dispatches.pop(incident_id, None)
        if d is None:
            return
        await self._audit(ACTOR, entries.WITHDRAWN, {
            "incident": incident_id, "why": why, "devices": sorted(d.recipients),
        })
        await self._close(d, why, withdrawn=True)
        self._changed()

    async def outcome_at_desk(self, report: OutcomeReport) -> None:
        for d in self.dispatches.values():
            if report.alert_id in d.alert_ids and not d.closed:
                d.outcome = (report.outcome, report.officer, report.recorded_at)
                await self._close(
                    d, f"{STREET_WORDS[report.outcome]}: recorded at the desk by "
                       f"{report.officer}")
                self._changed()

    async def _close(self, d: Dispatch, words: str, withdrawn: bool = False) -> None:
        """The incident is over for the phones: they drop it, images and all."""
        d.closed = True
        d.forget_photos()
        closed = {"type": "closed", "id": d.incident_id, "words": words, "withdrawn": withdrawn}
        await self._push_each({self.phones[device]: closed for device in d.recipients
                               if device in self.phones})

    def _check_unseen(self) -> None:
        now = self.clock()
        for d in self.dispatches.values():
            if d.closed or d.alarmed or d.first(Step.SEEN) is not None:
                continue
            if now - d.sent_at >= UNSEEN_ALARM_S:
                d.alarmed = True
                self._alarm(f"NO PHONE HAS SEEN {d.subject_name} after "
                            f"{UNSEEN_ALARM_S:.0f} s: use the radio")
                self._changed()

    async def _push(
        self, phone: Phone, message: dict[str, Any], photos_of: Dispatch | None = None
    ) -> None:
        """A message, then (for an incident) its photos as binary frames, in that order:
        the page lays the card out while the photos are on their way. Pushed to many
        phones at once (``_push_each``), every text leaves before any photo: a write that
        fits the socket's buffer does not yield, so without the ``sleep(0)`` the last
        phone's text would wait for every other phone's photos."""
        channel = phone.channel
        if channel is None:
            return
        try:
            async with asyncio.timeout(PUSH_TIMEOUT_S):
                await channel.send(message)
                if photos_of is not None:
                    await asyncio.sleep(0)
                    for frame in photos_of.photo_frames():
                        if photos_of.closed:  # closed meanwhile: no photo leaves after that
                            break
                        await channel.send_bytes(frame)
        except Exception as exc:  # a dead or stuck connection: the phone is lost, not the desk
            log.info("field: push to %s failed: %s", phone.label, exc)

    async def _push_each(
        self, messages: dict[Phone, dict[str, Any]], photos_of: Dispatch | None = None
    ) -> None:
        """To every phone at once: a slow phone delays no other (nor the desk)."""
        await asyncio.gather(*(self._push(p, m, photos_of) for p, m in messages.items()))

    # -- the end -----------------------------------------------------------------------
    async def _clear(self, phone: Phone, why: str) -> None:
        """Wipe the phone's page (pushed at once), wait briefly for it to confirm, and end
        its connection."""
        await self._clear_all([phone], why)

    async def _clear_all(self, phones: list[Phone], why: str) -> None:
        open_pages = [(p, p.channel) for p in phones if p.channel is not None]
        for phone, _ in open_pages:
            phone.checked_in = False
        await self._push_each({p: {"type": "clear", "why": why} for p, _ in open_pages})
        deadline = self.clock() + CLEAR_WAIT_S
        while any(p.cleared_at is None for p, _ in open_pages) and self.clock() < deadline:
            await asyncio.sleep(0.02)
        for phone, channel in open_pages:
            phone.channel = None
            try:
                await channel.close(4001, why[:100])
            except Exception as exc:
                log.info("field: closing %s: %s", phone.label, exc)

    async def conclude(self) -> dict[str, object]:
        """Every open page cleared at once, every token ended from now on: the receipt
        lists each phone and when its page confirmed it was cleared."""
        self.concluded, self._concluded_at = True, self.clock()
        self.pairing.void()
        ended = self.wall().astimezone()
        phones = list(self.phones.values())
        for phone in phones:
            phone.ended = True
        await self._audit(ACTOR, entries.ENDED, {
            "devices": [p.device for p in phones], "why": "deployment concluded",
        })
        for d in self.dispatches.values():
            d.closed = True
            d.forget_photos()
        await self._clear_all(phones, "deployment concluded")
        self.receipt = [
            f"{p.label}: token ended {ended:%H:%M:%S}; page "
            + (f"cleared {p.cleared_at.astimezone():%H:%M:%S}" if p.cleared_at
               else "not open (nothing to clear; the token is refused from now on)")
            for p in phones
        ]
        self._changed()
        return {"field_phones": list(self.receipt)}

    # -- for the desk ------------------------------------------------------------------
    def steps_text(self, incident_id: str) -> tuple[str, bool] | None:
        """An engaged incident's steps with their times, the latest first (a row cut to
        the list's width keeps it), and whether it needs the radio."""
        d = self.dispatches.get(incident_id)
        if d is None:
            return None
        done = [f"sent {_hms(d.engaged_at)} to {len(d.recipients)} phone(s)"]
        for step in (Step.SEEN, Step.GOING, Step.LOCATED, Step.NOT_LOCATED):
            first = d.first(step)
            if first is not None:
                phone = self.phones.get(first[0])
                done.append(f"{step.value} {_hms(first[1])}" + (f" {phone.officer}" if phone
                                                               else ""))
        if d.outcome is not None:
            done.append(f"{STREET_WORDS[d.outcome[0]]} {_hms(d.outcome[2])} {d.outcome[1]}")
        needs_radio = d.first(Step.SEEN) is None and (
            not d.recipients or self.clock() - d.sent_at >= UNSEEN_ALARM_S)
        if needs_radio:
            done.append("⚠ NOT SEEN ON ANY PHONE: USE THE RADIO")
        return " · ".join(reversed(done)), needs_radio


def _hms(t: datetime | None) -> str:
    return t.astimezone().strftime("%H:%M:%S") if t else ""


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def ground_team(
    policy: SitePolicy,
    data_dir: Path,
    store: AsyncStore,
    reference: str,
    sites: dict[str, CameraSite] | None = None,
) -> FieldService | None:
    """The field service a deployment runs with, or None when the site policy keeps the
    desk's manual confirmation (the deployment then runs exactly as without one)."""
    if not policy.officers_checked_in:
        return None
    return FieldService(FieldSettings.of(policy, data_dir), store, reference, sites)
