"""Encode a face when its encoding can change the outcome, within a budget.

Encoding costs 15 ms of a core a face (dlib on OpenBLAS; 75 ms without), so encoding
every face of every analysed frame makes the cost grow with the crowd: 20 faces in view
at 3 analyses a second is 0.9 of a core a camera. Instead each followed face (a track)
is encoded when it can matter:

| the track | its next encoding is | worth |
| --- | --- | --- |
| matched once, not yet enough for an alert | wanted now: it may raise one | CONFIRM (urgent) |
| new: never encoded | wanted now | NEW (urgent) |
| may be somebody else (doubted by the tracker, until encoded) | wanted now | SWITCHED (urgent) |
| matching, its alert's evidence not settled yet | wanted every frame | MATCHING (urgent) |
| near the threshold | wanted every frame, the nearest first | NEAR (urgent) |
| matching, settled | a better crop, or once a second to keep the sighting open | SETTLED |
| not matching, the face has grown or sharpened enough to beat its best encoding | wanted | BETTER |
| confidently not matching at good quality | re-checked rarely | RECHECK |
| not matching otherwise | re-checked now and then | RECHECK |

A budget of encodings a second is shared by every camera (``EncodeBudget``). Urgent
wants are served first; the rest only from what a reserve leaves over, so one camera's
re-checks never starve another camera's newcomers. A want not served waits (and is
served first next time, the longer it waited the sooner); what waited, and how long, is
reported (``OverloadStatus``) for the camera's tile.

Memory only: the state kept per track is a distance, counts and times; no encoding.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from console.vision.track_evidence import face_weight

CONFIRM = 110.0
NEW = 100.0
SWITCHED = NEW  # perhaps somebody else on the track: as good as a new face
MATCHING = 80.0
NEAR = 60.0
SETTLED = 40.0
BETTER = 30.0
RECHECK = 10.0
URGENT = NEAR  # wants worth at least this are served before any other
# A second descriptor (console.vision.second_descriptor, for faces near the threshold)
# costs about as much as a dlib encoding (41 ms against 41 ms of a thread's CPU, side by
# side on this machine under load; docs/performance.md); the pool replaces this with the
# ratio its workers measure.
SECOND_COST = 1.0


@dataclass(frozen=True)
class ScheduleSettings:
    near_margin: float = 0.12  # nearest subject within threshold + this: near the threshold
    confident_margin: float = 0.2  # beyond threshold + this at good quality: confident
    good_quality: float = 0.5  # face_weight of a face good enough to be confident on
    better_by: float = 1.25  # a face this much better than the track's best is re-encoded
    recheck_s: float = 1.0  # a not-confident non-match is re-checked this often
    recheck_confident_s: float = 4.0  # a confident non-match: rarely
    settled_frames: int = 3  # matching encodings after which an alert's evidence is settled
    # The sighting's evidence rule (console.domain.sightings.EvidenceRule): an alert needs
    # this many matching frames, or one this far inside the threshold. A track short of
    # it is the one whose next encoding can put an alert in front of the officer.
    alert_frames: int = 2
    strong_margin: float = 0.1
    settled_recheck_s: float = 1.0  # under the sighting's 1.5 s gap: it stays one sighting


@dataclass
class TrackState:
    first_t: float
    encodings: int = 0
    best_quality: float = 0.0
    last_encoded_t: float = -math.inf
    distance: float | None = None  # the nearest subject's distance at the last encoding
    matching_frames: int = 0
    name: str | None = None  # the subject it matched last (for the tile's box)
    waiting_since: float | None = None
    seen_t: float = 0.0
    # The tracker doubted that the face is still the track's person: until an encoding
    # settles it (a doubt raised on one frame is not forgotten on the next, when the new
    # face looks like itself again).
    doubted: bool = False


@dataclass(frozen=True)
class Want:
    index: int  # the face's place in the frame's list
    track_id: int
    worth: float
    quality: float
    waited_s: float

    @property
    def urgent(self) -> bool:
        return self.worth >= URGENT

    def key(self) -> tuple[float, float, float]:
        return (-self.worth, -self.waited_s, -self.quality)


@dataclass(frozen=True)
class OverloadStatus:
    """What the budget made wait, for the tile: plain numbers, no faces."""

    waiting: int = 0  # tracks whose wanted encoding waits now
    urgent_waiting: int = 0  # of which new, switched, matching or near the threshold
    longest_wait_s: float = 0.0  # the longest any of them has waited so far
    waited_last_minute: int = 0  # encodings served late over the last minute
    worst_wait_last_minute_s: float = 0.0
    waiting_tracks: tuple[tuple[int, float], ...] = ()  # (track id, waited s), longest first

    @property
    def overloaded(self) -> bool:
        return self.waiting > 0 or self.waited_last_minute > 0

    def describe(self) -> tuple[str, str]:
        """A short line for the camera's tile and the detail for its tooltip ('' when
        nothing waited): the officer learns that faces are checked late, not silently."""
        if not self.overloaded:
            return "", ""
        if self.waiting:
            faces = "face" if self.waiting == 1 else "faces"
            line = (
                f"Crowded: {self.waiting} {faces} waiting to be checked "
                f"(longest {self.longest_wait_s:.1f} s)"
            )
        else:
            checks = "check" if self.waited_last_minute == 1 else "checks"
            line = (
                f"Crowded: {self.waited_last_minute} {checks} late in the last minute "
                f"(worst {self.worst_wait_last_minute_s:.1f} s)"
            )
        shown = self.waiting_tracks[:8]
        waiting = ", ".join(f"face {k} {s:.1f} s" for k, s in shown)
        if len(self.waiting_tracks) > len(shown):
            waiting += f" and {len(self.waiting_tracks) - len(shown)} more"
        detail = (
            "More faces than the encoding budget checks at once: new faces and faces near "
            "a match are checked first, the others wait.\n"
            f"Waiting now: {waiting or 'none'}"
            f"{f' ({self.urgent_waiting} new or near a match)' if self.urgent_waiting else ''}."
            f"\nLast minute: {self.waited_last_minute} "
            f"{'check' if self.waited_last_minute == 1 else 'checks'} late, worst "
            f"{self.worst_wait_last_minute_s:.1f} s."
        )
        return line, detail


class EncodeBudget:
    """Encodings a second, shared by the cameras of one console (a token bucket).

    ``clock`` None: time is the frames' own (a replay on the video clock is then
    deterministic, one budget per camera); live cameras share one budget on the wall
    clock. Thread-safe: cameras on threads of their own take from it.
    """

    def __init__(
        self,
        per_second: float = 10.0,
        burst_s: float = 1.0,
        reserve: float = 0.5,
        clock: Callable[[], float] | None = time.monotonic,
        second_cost: float = SECOND_COST,
    ) -> None:
        self.burst_s = burst_s
        # What one second descriptor costs, in encodings (the pool measures it).
        self.second_cost = second_cost
        self.reserve_share = reserve
        self.clock = clock
        self._lock = threading.Lock()
        self._apply_rate(per_second)
        self._tokens = self.capacity
        self._last: float | None = None
        self.granted = 0
        self.described = 0

    def _apply_rate(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, per_second * self.burst_s)
        self.reserve = self.reserve_share * self.capacity  # what optional wants may not take

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.per_second)
        self._last = now

    def set_rate(self, per_second: float) -> None:
        """Encodings a second from now on (what an encoding costs was measured again)."""
        with self._lock:
            if self.clock is not None:  # the time so far earned tokens at the old rate
                self._refill(self.clock())
            self._apply_rate(per_second)
            self._tokens = min(self._tokens, self.capacity)

    def charge(self, descriptions: int, t: float = 0.0) -> None:
        """Take the cost of *descriptions* second descriptors (computed for faces near
        the threshold after their encoding) from the budget: the next grants are smaller.
        At most one burst into debt, so a flood of them cannot stall a camera for long."""
        if descriptions <= 0:
            return
        with self._lock:
            self._refill(self.clock() if self.clock is not None else t)
            self._tokens = max(-self.capacity, self._tokens - descriptions * self.second_cost)
            self.described += descriptions

    def grant(self, urgent: int, optional: int, t: float = 0.0) -> tuple[int, int]:
        """How many urgent and optional encodings may run now (taken from the budget)."""
        with self._lock:
            self._refill(self.clock() if self.clock is not None else t)
            first = min(urgent, max(0, int(self._tokens)))
            self._tokens -= first
            second = min(optional, max(0, int(self._tokens - self.reserve)))
            self._tokens -= second
            self.granted += first + second
            return first, second


@dataclass
class _Recent:
    waits: deque[tuple[float, float]] = field(default_factory=deque)  # (t, waited s)


class EncodeScheduler:
    """Per camera: which of a frame's faces to encode."""

    def __init__(
        self,
        threshold: float,
        budget: EncodeBudget,
        settings: ScheduleSettings | None = None,
        min_sharpness: float = 25.0,
    ) -> None:
        self.threshold = threshold
        self.budget = budget
        self.settings = settings or ScheduleSettings()
        self.min_sharpness = min_sharpness
        self.tracks: dict[int, TrackState] = {}
        self._recent = _Recent()
        self._now = 0.0

    # -- deciding -----------------------------------------------------------------------
    def worth(self, state: TrackState, t: float, quality: float, switched: bool) -> float:
        """What encoding this face now is worth (0: nothing)."""
        s = self.settings
        if state.encodings == 0:
            return NEW
        if switched or state.doubted:
            return SWITCHED
        since = t - state.last_encoded_t
        better = quality >= state.best_quality * s.better_by
        distance = state.distance if state.distance is not None else math.inf
        if distance <= self.threshold:
            strong = distance <= self.threshold - s.strong_margin
            if state.matching_frames < s.alert_frames and not strong:
                return CONFIRM
            if state.matching_frames < s.settled_frames:
                return MATCHING
            return SETTLED if better or since >= s.settled_recheck_s else 0.0
        if distance <= self.threshold + s.near_margin:
            # The nearer the threshold, the likelier the next frame matches: when the
            # budget cannot serve every near face, the nearest are served first.
            return NEAR + 10.0 * (1.0 - (distance - self.threshold) / s.near_margin)
        confident = (
            distance > self.threshold + s.confident_margin and state.best_quality >= s.good_quality
        )
        if better and not confident:
            return BETTER + min(10.0, 10.0 * (quality / max(state.best_quality, 1e-6) - 1))
        if since >= (s.recheck_confident_s if confident else s.recheck_s):
            return RECHECK
        return 0.0

    def choose(
        self,
        t: float,
        faces: list[tuple[int, float, float]],
        uncertain: set[int] | frozenset[int] = frozenset(),
    ) -> list[int]:
        """The indices of the faces to encode now. *faces*: (track id, width px,
        sharpness) of each face found in the frame at *t*, in order."""
        self._now = t
        wants: list[Want] = []
        present = set()
        for index, (track_id, width, sharp) in enumerate(faces):
            present.add(track_id)
            state = self.tracks.get(track_id)
            if state is None:
                state = self.tracks[track_id] = TrackState(first_t=t)
            state.seen_t = t
            if track_id in uncertain and state.encodings:
                state.doubted = True
            if sharp < self.min_sharpness:
                continue  # the quality gate: never matched on, never encoded
            quality = face_weight(width, sharp)
            worth = self.worth(state, t, quality, track_id in uncertain)
            if worth <= 0:
                continue
            waited = t - state.waiting_since if state.waiting_since is not None else 0.0
            wants.append(Want(index, track_id, worth, quality, waited))
        urgent = sorted((w for w in wants if w.urgent), key=Want.key)
        optional = sorted((w for w in wants if not w.urgent), key=Want.key)
        n_urgent, n_optional = self.budget.grant(len(urgent), len(optional), t)
        chosen = urgent[:n_urgent] + optional[:n_optional]
        for want in urgent[n_urgent:] + optional[n_optional:]:
            state = self.tracks[want.track_id]
            if state.waiting_since is None:
                state.waiting_since = t
        for want in chosen:
            state = self.tracks[want.track_id]
            if state.waiting_since is not None:
                self._recent.waits.append((t, t - state.waiting_since))
                state.waiting_since = None
        # A track out of view waits for nothing.
        for track_id, state in self.tracks.items():
            if track_id not in present:
                state.waiting_since = None
        return sorted(w.index for w in chosen)

    def encoded(
        self,
        track_id: int,
        t: float,
        quality: float,
        distance: float | None,
        matched_name: str | None,
        switched: bool = False,
    ) -> None:
        """Record the outcome of an encoding: the nearest subject's distance, and the
        name when it matched (None otherwise)."""
        state = self.tracks.setdefault(track_id, TrackState(first_t=t))
        if switched or state.doubted:  # another person, perhaps: what was known no longer holds
            state.best_quality, state.matching_frames = 0.0, 0
            state.doubted = False
        state.encodings += 1
        state.last_encoded_t = t
        state.best_quality = max(state.best_quality, quality)
        state.distance = distance
        state.matching_frames = state.matching_frames + 1 if matched_name is not None else 0
        state.name = matched_name

    def forget_before(self, t: float) -> None:
        """Drop tracks not seen since *t* (the tracker gave them up)."""
        self.tracks = {k: s for k, s in self.tracks.items() if s.seen_t >= t}

    # -- reporting ----------------------------------------------------------------------
    def overload(self, window_s: float = 60.0) -> OverloadStatus:
        now = self._now
        while self._recent.waits and now - self._recent.waits[0][0] > window_s:
            self._recent.waits.popleft()
        waiting = sorted(
            (
                (k, now - s.waiting_since)
                for k, s in self.tracks.items()
                if s.waiting_since is not None
            ),
            key=lambda kv: -kv[1],
        )
        urgent = sum(1 for k, _ in waiting if self.worth(self.tracks[k], now, 0.0, False) >= URGENT)
        waits = [w for _, w in self._recent.waits]
        return OverloadStatus(
            waiting=len(waiting),
            urgent_waiting=urgent,
            longest_wait_s=waiting[0][1] if waiting else 0.0,
            waited_last_minute=len(waits),
            worst_wait_last_minute_s=max(waits, default=0.0),
            waiting_tracks=tuple(waiting),
        )
