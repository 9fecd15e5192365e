"""The desk's rules for keys: which incident a key may act on, and when.

A decision key must never act on a card the officer has not seen. In the reported case
the selection moved by itself (a more urgent incident arrived just after a decision), the
card changed under the officer's eyes, and "E then 1", meant for one person, engaged and
recorded an arrest for another whose card had been on screen for a fraction of a second.
Control-room alarm lists (Milestone, Genetec, NeoFace) never move what the operator is
looking at: a new alarm joins the list. The rules here:

- **The selection is the officer's.** It changes only by the officer's key or click.
  An arriving incident is announced by its row, colour, chime and the count, never by
  opening its card. After a decision the card closes; the next one opens when the
  officer asks (a key), or by the visible setting ``auto_open``.
- **Guard time.** A decision key acts only on the incident whose card has been on
  screen for at least ``guard_s``; otherwise it is refused with a message. Outcome keys
  act on the engagement the officer chose (or just engaged), highlighted for as long.
- **Text into nothing is refused.** Letters that are not commands, typed while no text
  field is open, are a note typed into nothing (a reason after D with nothing to dismiss,
  say): the command keys that follow them are refused until the typing stops.

Plain Python, no Qt: the Qt layer reports what it shows and asks before it acts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Long enough to see which face is on the card, short enough not to slow a decision the
# officer has already made by eye (a 0.5 s pause between a card opening and its key is
# slower than any deliberate decision measured in the trainer's score sheets).
GUARD_S = 0.5
# Typing into nothing goes on until a pause this long: people pause for a second or so
# between words while composing a reason, rarely longer in mid-sentence.
TYPING_PAUSE_S = 1.5

Clock = Callable[[], float]


class KeyRefused(Exception):
    """A key was not acted on; the message says why, in the officer's words."""


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


@dataclass
class OnScreen:
    """What the officer has had in front of them, and since when.

    ``card`` is the incident whose card is open (the decision keys' target); ``target``
    the engagement the outcome keys act on (highlighted under the queue). Times are a
    monotonic clock's seconds. A card (or target) counts as shown from its first paint on
    the screen, not from when the desk chose it: under load the picture can lag behind.
    A key is judged at the moment it was pressed (``at``), not when the desk got round to
    it: a key pressed 0.2 s after a card opened and handled a second later was still
    pressed before the officer could have read the card.
    """

    guard_s: float = GUARD_S
    clock: Clock = time.monotonic
    card: str | None = None
    card_since: float | None = None  # first painted (None: not on the screen yet)
    target: str | None = None
    target_since: float | None = None
    # Incidents whose card the officer had in view for the guard time: an engagement made
    # from such a card may take its outcome at once ("E then 1" for the same person).
    seen: set[str] = field(default_factory=set)

    # -- what is shown ---------------------------------------------------------------------
    def show_card(self, incident_id: str | None) -> None:
        """The card now holds *incident_id* (None: no incident is open); it counts as
        shown once painted (``card_painted``)."""
        self._note_seen()
        if incident_id != self.card:
            self.card, self.card_since = incident_id, None

    def card_painted(self, incident_id: str | None) -> None:
        """The card holding *incident_id* reached the screen."""
        if incident_id is not None and incident_id == self.card and self.card_since is None:
            self.card_since = self.clock()

    def show_target(self, incident_id: str | None, seen_before: bool = False) -> None:
        """The engagement highlighted for the outcome keys is now *incident_id*.

        *seen_before*: it became the target by the officer's own act on a card they had
        seen (engaging it): the guard is already met."""
        self._note_seen()
        if incident_id == self.target:
            return
        self.target = incident_id
        met = seen_before and incident_id in self.seen
        self.target_since = float("-inf") if met else None

    def target_painted(self, incident_id: str | None) -> None:
        if incident_id is not None and incident_id == self.target and self.target_since is None:
            self.target_since = self.clock()

    def _note_seen(self) -> None:
        if self.card is not None and self.card_on_screen_s() >= self.guard_s:
            self.seen.add(self.card)

    def card_on_screen_s(self, at: float | None = None) -> float:
        if self.card is None or self.card_since is None:
            return 0.0
        return max(0.0, (self.clock() if at is None else at) - self.card_since)

    def forget(self, incident_id: str) -> None:
        """The incident has left the desk for good (its outcome is recorded)."""
        self.seen.discard(incident_id)

    # -- what a key may act on -------------------------------------------------------------
    def decision_target(self, what: str = "decide on", at: float | None = None) -> str:
        """The incident a decision key pressed *at* acts on: the open card, if it had been
        on screen for the guard time when the key was pressed."""
        if self.card is None:
            raise KeyRefused(
                f"No incident is open: nothing to {what}. Open one with N, the arrow keys "
                "or a click on its row"
            )
        shown = self.card_on_screen_s(at)
        if shown < self.guard_s:
            raise KeyRefused(
                f"Not recorded: the key came {_seconds(shown)} after the card opened. Check "
                "the face, then press the key again"
            )
        self.seen.add(self.card)
        return self.card

    def outcome_target(self, at: float | None = None) -> str:
        """The engagement an outcome key acts on: the one highlighted, for long enough."""
        if self.target is None:
            raise KeyRefused(
                "No engagement is chosen for an outcome: click it in the engaged list "
                "(or Shift+Up / Shift+Down)"
            )
        since = self.target_since
        shown = 0.0 if since is None else max(0.0, (self.clock() if at is None else at) - since)
        if shown < self.guard_s:
            raise KeyRefused(
                f"Not recorded: the key came {_seconds(shown)} after the engagement was "
                "highlighted. Check whose it is, then press the key again"
            )
        return self.target


@dataclass
class InputClock:
    """When an input event happened, on the desk's clock.

    The window system stamps each key and click (milliseconds on its own clock); the desk
    may handle it later (a busy event loop). The offset between the two clocks is the
    smallest gap seen between an event's stamp and its handling, so an event's own time
    is its stamp plus that offset (never later than its handling)."""

    clock: Clock = time.monotonic
    offset: float | None = None
    # A stamp that would put the event this far before its handling is not believed (a
    # stamp not from the window system's clock): the handling time is used instead.
    max_lag_s: float = 5.0

    def event_time(self, stamp_ms: int) -> float:
        now = self.clock()
        if stamp_ms <= 0:  # not stamped (a synthesised event): when it is handled
            return now
        stamp = stamp_ms / 1000.0
        gap = now - stamp
        if self.offset is None or gap < self.offset:
            self.offset = gap
        at = stamp + self.offset
        return at if now - self.max_lag_s <= at <= now else now


@dataclass
class Selection:
    """Which incident's card is open: only the officer's keys and clicks change it.

    ``auto_open`` is the visible setting "open the next incident by itself": after a
    decision, and when nothing is open and an incident arrives, the most urgent opens
    (still behind the guard time)."""

    auto_open: bool = False
    selected: str | None = None

    def choose(self, incident_id: str | None) -> None:
        """The officer's key or click."""
        self.selected = incident_id

    def after_decision(self, decided: str, head: str | None) -> None:
        """*decided* has left the queue; *head* is the most urgent remaining."""
        if self.selected == decided:
            self.selected = head if self.auto_open else None

    def after_arrival(self, head: str | None) -> None:
        """An incident arrived (or came back after a restart): the open card stays."""
        if self.selected is None and self.auto_open:
            self.selected = head

    def still_there(self, exists: Callable[[str], bool]) -> None:
        """The selected incident may have gone (the deployment concluded, a write failed
        and it was taken out): then nothing is open, rather than some other incident."""
        if self.selected is not None and not exists(self.selected):
            self.selected = None


@dataclass
class TypingGuard:
    """Letters typed while no text field is open are refused, and so are the command
    keys that follow them until the typing pauses (or Escape): a reason typed after a
    refused D must not engage, record an outcome or open the history."""

    pause_s: float = TYPING_PAUSE_S
    clock: Clock = time.monotonic
    _until: float = 0.0

    def text_typed(self, at: float | None = None) -> None:
        """A key that is not a command, or a D with nothing to dismiss: typing began."""
        self._until = (self.clock() if at is None else at) + self.pause_s

    def typing_at(self, at: float | None = None) -> bool:
        return (self.clock() if at is None else at) < self._until

    @property
    def typing(self) -> bool:
        return self.typing_at()

    def check_command(self, at: float | None = None) -> None:
        """Before a command key (pressed *at*) acts: refused while the typing goes on
        (which it prolongs)."""
        if self.typing_at(at):
            self.text_typed(at)
            raise KeyRefused(
                "Typing ignored: no text field is open, so the letters are not taken as "
                "commands. Stop typing (or press Esc), then use the keys"
            )

    def stop(self) -> None:
        """Escape: the officer says the typing is over."""
        self._until = 0.0
