"""A monitoring session: one deployment's feeds, safeguards, alerts and adjudication.

Cameras are only read while the deployment is active and officers on the ground have
been confirmed; until then (and after conclusion) the feeds wait and say why.

The session composes its services behind small interfaces and never asks their kind:

- the cameras (``console.live.cameras``): the local pool's feeds, or each camera an actor
  on a Ray cluster (``console.engine.ray_live``), started only when the cameras may run,
  stopped (and on a cluster purged) when they may not;
- the record (``console.live.record``): every decision on disk before it is said done;
- the ground team (``console.live.ground``), when the site policy ties the cameras to
  officers checked in on their phones (``console.field``): their check-in is the
  confirmation, their silence pauses the cameras, an engaged incident goes to their
  phones and the outcome they record on the street is the outcome of record. Under the
  desk's manual confirmation there is none, and the desk confirms as before.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from console.domain.alerts import (
    Adjudication,
    Alert,
    Correction,
    Decision,
    Outcome,
    OutcomeReport,
)
from console.domain.deployments import Deployment, DeploymentState, SafeguardError
from console.domain.incidents import (
    UNDO_WINDOW,
    RecentDecision,
    UndoRefused,
    check_decision_allowed,
)
from console.domain.officers import Officer, Permission
from console.domain.policy import FalseAlertRate, PolicyError, SitePolicy
from console.domain.sightings import AlertEvent
from console.domain.watchlist import Watchlist
from console.engine import EngineSettings
from console.equality.approval import check_rate_change as check_equality_rate
from console.equality.approval import check_session as check_equality_report
from console.live.cameras import (
    Cameras,
    CamerasStarted,
    CamerasUnavailable,
    Feed,
    open_cameras,
)
from console.live.feed import FeedListener, FeedState
from console.live.ground import GroundTeam
from console.live.record import SessionRecord
from console.storage import AlreadyDecided, AsyncStore, StorageError
from console.storage.console_log import CLOSED, OPENED, RESUMED, SIGNED_OUT, UNDONE
from console.vision.matcher import Matcher
from console.vision.operating_point import (
    MAX_THRESHOLD,
    OperatingPoint,
    nearest_rate,
    operating_point,
    threshold_for,
)
from console.vision.pool import AnalysisPool
from console.vision.sources import SourceSpec

log = logging.getLogger(__name__)

CONFIRMED = "officers on the ground confirmed"
GONE = "officers on the ground no longer checked in"
# How the confirmation was given, for the record (the site policy chooses).
MANUAL = "manual: confirmed at the desk (site policy officers_present = manual)"

STATUS_INTERVAL_S = 0.5
# Minutes live and faces seen are added to the record this often while the cameras run,
# so a crash or a killed console loses at most this much of them.
COUNTS_EVERY_S = 1.0


class PartlyRecorded(StorageError):
    """A write failed part way through an incident: ``recorded`` were decided, the rest not."""

    def __init__(self, message: str, recorded: list[Adjudication]) -> None:
        super().__init__(message)
        self.recorded = recorded


class SessionListener(FeedListener, Protocol):
    """What the session tells its presenter, on the event loop's thread."""

    def alert_raised(self, alert: Alert, is_new: bool) -> None: ...
    def storage_failed(self, message: str) -> None: ...
    def alert_restored(self, alert: Alert, adjudication: Adjudication | None) -> None: ...
    def deployment_changed(self, deployment: Deployment) -> None: ...


def _new_alert_id(camera: str) -> str:
    return f"{camera}-{uuid.uuid4().hex[:12]}"


class MonitoringSession:
    def __init__(
        self,
        deployment: Deployment,
        sources: list[SourceSpec],
        watchlist: Watchlist,
        pool: AnalysisPool,
        store: AsyncStore,
        officer: Officer,
        listener: SessionListener,
        *,
        policy: SitePolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        engine: EngineSettings | None = None,
        ground: GroundTeam | None = None,
    ) -> None:
        self.deployment = deployment
        self.watchlist = watchlist
        self.pool = pool
        self.store = store
        self.officer = officer
        self.listener = listener
        self.policy = policy
        self._clock = clock
        self.matcher = Matcher(watchlist, deployment.threshold)
        self.pending: dict[str, Alert] = {}
        self.engaged: dict[str, Alert] = {}  # engaged, awaiting the ground's outcome
        self.engine = engine or EngineSettings()
        self.record = SessionRecord(store, deployment.reference, listener.storage_failed)
        self.cameras: Cameras = open_cameras(
            self.engine, sources, self.matcher, pool, listener, self._on_alert, _new_alert_id,
            self.record.audit_later,
        )
        # The officers on the ground, when the site policy ties the cameras to them.
        self.ground: GroundTeam | None = ground
        self._tasks: list[asyncio.Task] = []
        self._saves = self.record.pending  # writes nobody waits for, until they land
        self._live_since: float | None = None
        self._footfall_since: float | None = None  # first start of the feeds this session
        self.log = self.record.log
        # Decisions just made (alert and decision), which their officer may still undo,
        # and alerts whose decision was undone: their next decision is a correction.
        self._recent: dict[str, tuple[Alert, Adjudication]] = {}
        self.undone: dict[str, Adjudication] = {}
        self.resumed_after: str | None = None  # "close", "sign-out" or "crash" on resuming
        self._closed = False
        self._unsaved_live: dict[str, float] = {}
        self._was_live: dict[str, bool] = {}  # each camera LIVE at the last count
        self._counts_failing = False

    @property
    def feeds(self) -> list[Feed]:
        return list(self.cameras.feeds)

    # -- lifecycle --------------------------------------------------------------------
    def open(self) -> None:
        """Bring back the open alerts, watch the clock, start the cameras if they may run."""
        self._restore()
        self._resume_or_open()
        self._tasks.append(asyncio.create_task(self._tick()))
        if self.ground is not None:
            self._tasks.append(asyncio.create_task(self.ground.open(self)))
        if self.deployment.cameras_off_reason() is None:
            self._tasks.append(asyncio.create_task(self._resume_cameras()))
        else:
            self._show_cameras_off()

    def _resume_or_open(self) -> None:
        """Audit the console opening; an active deployment resumes with its cameras paused.

        Whoever signs in now, and however the last console ended (closed, or crashed: no
        close in the audit trail), nobody has confirmed that officers are on the ground
        for this console: the cameras wait until the signed-in officer confirms it (or,
        with a ground team, until a paired officer checks in).
        """
        d, by = self.deployment, str(self.officer)
        try:
            last = self.record.last_session_event()
            if d.is_active:
                how_it_ended = {CLOSED: "close", SIGNED_OUT: "sign-out"}
                after = how_it_ended.get(last[0] if last else "", "crash")
                paused = replace(d, officers_present_confirmed_by=None)
                self.record.save_deployment_now(
                    paused,
                    by,
                    RESUMED,
                    {
                        "after": after,
                        "confirmed_before_by": d.officers_present_confirmed_by,
                        "cameras": "paused until officers on the ground are confirmed",
                    },
                )
                self.deployment, self.resumed_after = paused, after
                self.listener.deployment_changed(paused)
            elif d.state != DeploymentState.CONCLUDED:
                self.record.audit_now(by, OPENED)
        except StorageError as exc:
            self.listener.storage_failed(f"The console's opening could not be recorded: {exc}")

    async def close(self, how: str = CLOSED) -> None:
        """Stop everything (the console is closing, or its officer signs out); the
        deployment's state is kept, and the close is audited (*how*: closed or signed out)."""
        await self._stop_feeds("console closed")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ground is not None:
            await self.ground.close()
        await self.record.drain()
        await self.cameras.close()
        if self._closed:
            return
        self._closed = True
        if self.deployment.state != DeploymentState.CONCLUDED or how == SIGNED_OUT:
            try:
                await self.record.audit(
                    str(self.officer),
                    how,
                    {"state": self.deployment.state.value, "cameras": "stopped"},
                )
            except StorageError as exc:
                log.error("the console's close was not recorded: %s", exc)

    def _start_feeds(self) -> None:
        self._live_since = time.monotonic()
        self._footfall_since = self._footfall_since or self._live_since
        self.cameras.run()

    async def _start_cameras(self) -> CamerasStarted:
        """Bring the cameras up (only once every check for them to run has passed); what
        the audit records of it. CamerasUnavailable, with the engine's reason, if they
        cannot run: nothing is left running then."""
        try:
            return await self.cameras.start(self.watchlist, self.deployment.threshold)
        except CamerasUnavailable as exc:
            raise CamerasUnavailable(f"deployment {self.deployment.reference}: {exc}") from exc

    async def _run_cameras(self, by: str | None = None) -> None:
        """The cameras start again (officers confirmed, or checked in): brought up, the
        start audited where the engine has one to audit, then frames flow."""
        if self.cameras.running:
            return
        started = await self._start_cameras()
        if started.action is not None:
            await self.record.audit(by or started.actor, started.action, started.details)
        self._start_feeds()

    async def _resume_cameras(self) -> None:
        """Cameras that may run at opening (rare: a resumed deployment waits for
        officers to be confirmed) start; a failure shows on the tiles."""
        try:
            await self._run_cameras()
        except (SafeguardError, StorageError) as exc:
            log.error("cameras not started: %s", exc)

    async def _stop_feeds(self, why: str) -> dict[str, object]:
        """Stop the cameras; what stopping them freed elsewhere is audited, and returned
        for the conclusion's summary."""
        stopped = await self.cameras.stop(why)
        await self._save_counts(stopping=True)
        for actor, action, details in stopped.entries:
            try:
                await self.record.audit(actor, action, details)
            except StorageError as exc:
                self.listener.storage_failed(f"'{action}' could not be recorded: {exc}")
        return stopped.summary

    def _show_cameras_off(self) -> None:
        reason = self.deployment.cameras_off_reason() or ""
        concluded = self.deployment.state == DeploymentState.CONCLUDED
        unconfirmed = self.deployment.officers_present_confirmed_by is None and not concluded
        if self.resumed_after and unconfirmed:
            reason = (
                f"console resumed after a {self.resumed_after}: cameras are paused until "
                "officers on the ground are confirmed"
            )
        if self.ground is not None and unconfirmed:
            reason = self.ground.absence()
        for feed in self.feeds:
            feed.wait(reason, for_good=concluded)

    async def _save_counts(self, stopping: bool = False) -> None:
        """Add the faces seen and the time live since the last save to the record (only
        counts, never who they were): every COUNTS_EVERY_S while live, and at the stop.
        What a failed write could not add is kept and added by the next save."""
        now = time.monotonic()
        live = now - self._live_since if self._live_since else 0.0
        # Taken before the write is awaited, so a save running beside this one cannot
        # count the same seconds or faces twice.
        self._live_since = None if stopping or self._live_since is None else now
        failed = None
        for feed in self.feeds:
            c, camera = feed.counters, feed.spec.camera
            # Faces seen are people followed (a track each), not detections summed over
            # frames: the false-alert rate is per passer-by, as the operating point is.
            faces, frames = (
                c.people_seen - feed.saved_faces,
                c.frames_analysed - feed.saved_frames,
            )
            # Camera-minutes are live time only: a failed, ended or reconnecting camera
            # adds none (at the stop, the last stretch counts if it was live then).
            is_live = feed.state == FeedState.LIVE
            credited = live if is_live or (stopping and self._was_live.get(camera)) else 0.0
            self._was_live[camera] = is_live
            seconds = self._unsaved_live.pop(camera, 0.0) + credited
            feed.saved_faces, feed.saved_frames = c.people_seen, c.frames_analysed
            try:
                await self.record.add_counts(
                    camera, faces, frames, seconds, feed.state.value, feed.detail
                )
            except StorageError as exc:
                feed.saved_faces -= faces
                feed.saved_frames -= frames
                self._unsaved_live[camera] = seconds
                failed = f"Counts for {camera} not saved (kept, retried): {exc}"
        # Said once, not every second, so it cannot push a decision's error off the banner.
        if failed and not self._counts_failing:
            self.listener.storage_failed(failed)
        self._counts_failing = failed is not None

    async def _tick(self) -> None:
        saved = time.monotonic()
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            if self.cameras.running and time.monotonic() - saved >= COUNTS_EVERY_S:
                saved = time.monotonic()
                await self._save_counts()
            for feed in self.feeds:
                if feed.state != FeedState.WAITING:
                    self.listener.feed_status(feed.status())
            if self.deployment.is_past_planned_end(self._clock()):
                await self._conclude("console: planned end reached")

    # -- safeguarded actions ----------------------------------------------------------
    async def _save_deployment(
        self, updated: Deployment, action: str, details=None, by: str | None = None
    ) -> None:
        await self.record.save_deployment(updated, by or str(self.officer), action, details)
        self.deployment = updated
        self.listener.deployment_changed(updated)

    async def confirm_officers_present(self) -> None:
        """The desk confirms officers on the ground (the site policy's manual confirmation);
        with a ground team their phones' check-in is the confirmation, and the desk's is
        refused."""
        if self.ground is not None:
            raise SafeguardError(
                "the site policy ties the cameras to the ground team: they run while a "
                "paired officer's phone is checked in (Field: pair a phone), not on the "
                "desk's word"
            )
        updated = self.deployment.confirm_officers_present(str(self.officer))
        await self._save_deployment(updated, CONFIRMED, {"confirmation": MANUAL})
        self.resumed_after = None
        if updated.is_active:
            await self._run_cameras(str(self.officer))

    async def officers_checked_in(self, who: str, details: dict[str, object]) -> None:
        """A paired officer's phone checked in: the evidence that officers are on the
        ground. The cameras start if the deployment is live (GroundHooks)."""
        d = self.deployment
        if d.state == DeploymentState.CONCLUDED or d.officers_present_confirmed_by == who:
            return
        updated = d.confirm_officers_present(who)
        await self._save_deployment(
            updated, CONFIRMED, {"confirmation": "checked in", **details}, by=who
        )
        self.resumed_after = None
        if updated.is_active:
            try:
                await self._run_cameras(who)
            except SafeguardError as exc:
                self.listener.storage_failed(str(exc))

    async def officers_gone(self, why: str, details: dict[str, object]) -> None:
        """The last checked-in officer has been silent longer than the site policy
        allows: the cameras pause, the reason on every tile (GroundHooks)."""
        d = self.deployment
        if d.state == DeploymentState.CONCLUDED or d.officers_present_confirmed_by is None:
            return
        paused = replace(d, officers_present_confirmed_by=None)
        await self._save_deployment(
            paused, GONE, {"cameras": "paused", "why": why, **details}, by="console: field"
        )
        if self.cameras.running:
            await self._stop_feeds(why)
        self._show_cameras_off()

    async def start(self) -> None:
        """Start the deployment: SafeguardError says which rule refused."""
        self.officer.require(Permission.START_DEPLOYMENT)
        self.check_site_policy()  # what is checked when a value changes holds at start too
        updated = self.deployment.start(self._clock())
        started = await self._start_cameras()
        try:
            await self._save_deployment(updated, "deployment started", started.details)
        except BaseException:
            await self.cameras.stop("the start was not recorded")  # no camera runs for it
            raise
        self._start_feeds()

    async def conclude(self) -> dict[str, object]:
        self.officer.require(Permission.CONCLUDE_DEPLOYMENT)
        return await self._conclude(str(self.officer))

    async def _conclude(self, by: str) -> dict[str, object]:
        """Stop every feed, then delete the watchlist; return what was deleted (and what
        the cameras' engine and the ground team cleared)."""
        if self.deployment.state.value == "concluded":
            return {}
        freed = await self._stop_feeds("deployment concluded")
        updated = self.deployment.conclude(self._clock())
        summary = await self.record.conclude(updated, by)
        self.watchlist = Watchlist(self.watchlist.folder, [])
        self.cameras.use_watchlist(self.watchlist)  # the encodings leave memory as well as disk
        self.deployment = updated
        self._show_cameras_off()
        self.listener.deployment_changed(updated)
        if self.ground is not None:
            freed = {**freed, **await self.ground.conclude()}
        return {**summary, **freed}

    def use_watchlist(self, deployment: Deployment, watchlist: Watchlist) -> None:
        """A freshly imported watchlist (before the start): match against it from now on."""
        self.deployment = deployment
        self.watchlist = watchlist
        self.cameras.use_watchlist(watchlist)
        self.listener.deployment_changed(deployment)

    @property
    def operating_point(self) -> OperatingPoint:
        """The false-alert rate the deployment's threshold stands for, and its meaning."""
        size = max(1, len(self.watchlist))
        return operating_point(nearest_rate(self.deployment.threshold, size), size)

    def passers_by_per_hour(self) -> float | None:
        """Footfall: faces followed per hour of live cameras, over all cameras."""
        if self._footfall_since is None:
            return None
        hours = (time.monotonic() - self._footfall_since) / 3600
        people = sum(f.counters.people_seen for f in self.feeds)
        return people / hours if hours > 1 / 60 else None

    def check_site_policy(self) -> None:
        """The deployment's length and operating point are within the site policy."""
        d = self.deployment
        try:
            self.policy.check_duration((d.planned_end - d.planned_start).total_seconds() / 3600)
            if not (math.isfinite(d.threshold) and 0 < d.threshold <= MAX_THRESHOLD):
                raise PolicyError(f"match distance {d.threshold!r} is not a usable threshold")
            loosest = self.policy.loosest_false_alert_rate
            allowed = threshold_for(loosest, max(1, len(self.watchlist)))
            if d.threshold > allowed + 1e-9:
                raise PolicyError(
                    f"match distance {d.threshold:.3f} is looser than the site policy's "
                    f"loosest false-alert rate ({loosest} passers-by: at most "
                    f"{allowed:.3f} against {len(self.watchlist):,} subjects)"
                )
            check_equality_report(self)  # the site policy may require one (audited)
        except PolicyError as exc:
            raise SafeguardError(f"deployment {d.reference} cannot start: {exc}") from exc

    async def change_false_alert_rate(self, rate: FalseAlertRate, reason: str = "") -> None:
        """A supervisor chooses the rate (and says why); the threshold follows from it and
        the watchlist."""
        self.officer.require(Permission.CHANGE_THRESHOLD)
        self.policy.check_rate(rate)
        check_equality_rate(self, rate)  # a required equality report must cover it too
        old = self.deployment.threshold
        value = threshold_for(rate, max(1, len(self.watchlist)))
        await self._save_deployment(
            replace(self.deployment, threshold=value),
            "false-alert rate changed",
            {
                "false_alert_rate": str(rate),
                "watchlist_size": len(self.watchlist),
                "old_threshold": old,
                "new_threshold": value,
                **({"reason": reason} if reason else {}),
            },
        )
        await self.cameras.set_threshold(value)

    # -- alerts -----------------------------------------------------------------------
    def _restore(self) -> None:
        """After a restart (or crash), the officer's open work comes back from disk."""
        undone = self.record.undone()
        for record in self.record.history():
            alert = record.alert
            at = undone.get(alert.alert_id)
            last = record.correction.corrected_at if record.correction else None
            if record.adjudication is not None and at is not None and (last is None or at > last):
                # Undone and not yet decided again: pending, its next decision a correction.
                self.undone[alert.alert_id] = record.adjudication
                self.pending[alert.alert_id] = alert
                self.listener.alert_restored(alert, None)
            elif record.adjudication is None:
                self.pending[alert.alert_id] = alert
                self.listener.alert_restored(alert, None)
            elif record.awaiting_outcome:
                self.engaged[alert.alert_id] = alert
                self.listener.alert_restored(alert, record.adjudication)

    def feed(self, camera: str) -> Feed:
        return next(f for f in self.feeds if f.spec.camera == camera)

    def _on_alert(self, event: AlertEvent) -> None:
        # The sighting keeps adding evidence to its alert in place, between the updates it
        # reports: the card and the record get the same snapshot, so the officer decides
        # on exactly what is stored (frames matched included).
        alert = replace(
            event.alert, evidence=list(event.alert.evidence), path=list(event.alert.path)
        )
        if event.is_new or alert.alert_id in self.pending:
            self.pending[alert.alert_id] = alert
            self.listener.alert_raised(alert, event.is_new)
        self.record.later(self._save(alert), f"Alert from {alert.camera} could not be saved")

    async def _save(self, alert: Alert) -> None:
        await self.record.save_alert(alert, self._watchlist_photo(alert.subject_id))

    def _watchlist_photo(self, subject_id: str) -> np.ndarray | None:
        try:
            return self.watchlist.subject(subject_id).photo_rgb
        except KeyError:
            return None

    async def adjudicate(
        self, alert_id: str, decision: Decision, note: str = "", incident: str = ""
    ) -> Adjudication:
        """Record the officer's decision (taken in *incident*, if any); return only once it
        is on disk.

        Raises StorageError (the alert stays pending) if it could not be written.
        """
        self.officer.require(Permission.ADJUDICATE)
        check_decision_allowed(self.deployment)
        adjudication = Adjudication(
            alert_id, decision, str(self.officer), self._clock(), note, incident
        )
        original = self.undone.get(alert_id)
        if original is not None:
            # The officer undid their decision: the new one follows it as a correction,
            # and the original stays in the record.
            reason = (
                f"undone by the officer within the undo window: {original.decision.label} "
                f"changed to {decision.label}" + (f"; note: {note}" if note else "")
            )
            correction = Correction(
                alert_id, decision, str(self.officer), adjudication.decided_at, reason
            )
            await self.record.correction(correction)
            del self.undone[alert_id]
        else:
            # The alert's own save is written before its decision: a save not yet queued
            # on the storage thread (an alert decided the moment it arrived) is waited for.
            await self.record.drain()
            await self.record.decision(adjudication)
        alert = self.pending.pop(alert_id, None)
        self._forget_old_decisions(adjudication.decided_at)
        if alert is not None:
            # The camera frame shows passers-by: keep it no longer than it is needed.
            alert.scene_rgb = None
            self._recent[alert_id] = (alert, adjudication)
        if decision == Decision.ENGAGE and alert is not None:
            self.engaged[alert_id] = alert
        return adjudication

    def now(self) -> datetime:
        """The session's clock (the safeguards' time)."""
        return self._clock()

    def _forget_old_decisions(self, now: datetime) -> None:
        """Past the undo window a decision's alert is no longer kept here (its crop is)."""
        for alert_id, (_, adjudication) in list(self._recent.items()):
            if now - adjudication.decided_at > UNDO_WINDOW * 2:
                del self._recent[alert_id]

    async def decide_incident(
        self,
        alert_ids: list[str],
        decision: Decision,
        note: str = "",
        incident_id: str | None = None,
    ) -> list[Adjudication]:
        """One decision for every alert of an incident (by default its first alert names
        it), each recorded and audited on its own with the incident it belongs to. An alert
        decided elsewhere first is skipped; a failed write raises PartlyRecorded with the
        decisions that are on disk (the rest stay pending)."""
        recorded: list[Adjudication] = []
        incident = incident_id or (alert_ids[0] if alert_ids else "")
        dispatch = None
        if decision == Decision.ENGAGE and self.ground is not None:
            # Taken before the decision drops the camera frame from memory.
            alerts = [a for a in map(self.pending.get, alert_ids) if a is not None]
            photo = self._watchlist_photo(alerts[0].subject_id) if alerts else None
            dispatch = self.ground.prepare_dispatch(incident, alerts, photo)
        try:
            await self._decide_each(alert_ids, decision, note, incident, recorded)
        finally:
            if dispatch is not None and recorded:
                await self.ground.dispatch(dispatch, str(self.officer), recorded[0].decided_at)
        return recorded

    async def _decide_each(
        self,
        alert_ids: list[str],
        decision: Decision,
        note: str,
        incident: str,
        recorded: list[Adjudication],
    ) -> None:
        for alert_id in alert_ids:
            try:
                recorded.append(await self.adjudicate(alert_id, decision, note, incident))
            except AlreadyDecided:
                self.pending.pop(alert_id, None)
            except StorageError as exc:
                if not recorded:
                    raise  # nothing recorded: the plain refusal
                raise PartlyRecorded(str(exc), recorded) from exc

    async def undo(self, decided: RecentDecision) -> None:
        """Take back a decision its officer made moments ago (a stray key): audited, and
        the alerts are pending again; their next decision is recorded as a correction.
        UndoRefused once the window has closed: correct through the history instead."""
        self.officer.require(Permission.ADJUDICATE)
        if not decided.undo_open(self._clock(), str(self.officer)):
            raise UndoRefused(
                "the undo window has closed: a supervisor corrects the decision in the "
                "history, with a reason"
            )
        ids = [a for a in decided.incident.alert_ids if a in self._recent]
        outcomes = [a for a in ids if a not in self.engaged and decided.decision.value == "engage"]
        if outcomes:
            raise UndoRefused("an outcome has already been recorded for this engagement")
        await self.record.audit(
            str(self.officer), UNDONE, {"alert_ids": ids, "decision": decided.decision.value}
        )
        for alert_id in ids:
            alert, adjudication = self._recent.pop(alert_id)
            self.engaged.pop(alert_id, None)
            self.pending[alert_id] = alert
            self.undone[alert_id] = adjudication
        if self.ground is not None and decided.decision == Decision.ENGAGE:
            await self.ground.withdraw(
                decided.incident.incident_id, f"engagement undone at the desk by {self.officer}"
            )

    async def record_outcome(
        self, alert_id: str, outcome: Outcome, note: str = ""
    ) -> OutcomeReport:
        """The second stage: what officers on the ground found. On disk before it returns."""
        self.officer.require(Permission.ADJUDICATE)
        report = OutcomeReport(alert_id, outcome, str(self.officer), self._clock(), note)
        await self.record.outcome(report)
        self.engaged.pop(alert_id, None)
        if self.ground is not None:
            await self.ground.outcome_at_desk(report)
        return report

    async def record_outcome_from_ground(
        self, alert_ids: list[str], outcome: Outcome, officer: str, source: str, note: str
    ) -> list[OutcomeReport]:
        """The outcome an officer on the ground recorded on their phone: the outcome of
        record, attributed to them, *source* saying from where (GroundHooks). An alert whose
        outcome is already recorded is skipped (AlreadyDecided if none was new)."""
        reports, already = [], None
        at = self._clock()
        for alert_id in alert_ids:
            report = OutcomeReport(alert_id, outcome, officer, at, note, source=source)
            try:
                await self.record.outcome(report)
            except AlreadyDecided as exc:
                already = exc
                continue
            self.engaged.pop(alert_id, None)
            reports.append(report)
        if not reports and already is not None:
            raise already
        return reports

    async def correct(self, alert_id: str, decision: Decision, reason: str) -> Correction:
        """A supervisor corrects a recorded decision; the original stays in the record."""
        self.officer.require(Permission.OVERRIDE)
        correction = Correction(alert_id, decision, str(self.officer), self._clock(), reason)
        await self.record.correction(correction)
        return correction


__all__ = ["CamerasUnavailable", "MonitoringSession", "SafeguardError", "SessionListener"]
