"""The desk's rules as plain Python: which incident a key may act on, and when; the
selection is the officer's; text typed into nothing is refused."""

from __future__ import annotations

import pytest

from console.domain.desk import GUARD_S, KeyRefused, OnScreen, Selection, TypingGuard


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def wait(self, seconds: float) -> None:
        self.t += seconds


def show(screen: OnScreen, incident: str | None) -> None:
    screen.show_card(incident)
    screen.card_painted(incident)


def test_a_decision_key_acts_only_on_a_card_shown_for_the_guard_time():
    clock = Clock()
    screen = OnScreen(clock=clock)
    with pytest.raises(KeyRefused, match="No incident is open"):
        screen.decision_target()
    show(screen, "A")
    clock.wait(GUARD_S - 0.01)
    with pytest.raises(KeyRefused, match=r"came 0\.[45] s after the card opened"):
        screen.decision_target()
    clock.wait(0.02)
    assert screen.decision_target() == "A"
    # The card changes: the guard starts again for the new incident.
    show(screen, "B")
    with pytest.raises(KeyRefused):
        screen.decision_target()
    clock.wait(GUARD_S)
    assert screen.decision_target() == "B"
    # Showing the same card again (a sighting added to it) does not restart the guard.
    show(screen, "B")
    assert screen.decision_target() == "B"
    # Off screen (hidden), then back: the officer must look again.
    show(screen, None)
    show(screen, "B")
    with pytest.raises(KeyRefused):
        screen.decision_target()


def test_the_guard_counts_from_the_paint_and_judges_a_key_when_it_was_pressed():
    """Under load the picture lags behind the desk's choice, and keys wait in the event
    loop: a key is judged against what had reached the screen when it was pressed."""
    clock = Clock()
    screen = OnScreen(clock=clock)
    screen.show_card("A")  # chosen, not yet painted
    clock.wait(1.0)
    with pytest.raises(KeyRefused, match="came 0.0 s after"):
        screen.decision_target()
    screen.card_painted("A")
    painted = clock.t
    clock.wait(0.9)
    # Pressed 0.2 s after the paint, handled 0.7 s later: refused.
    with pytest.raises(KeyRefused, match="came 0.2 s after"):
        screen.decision_target(at=painted + 0.2)
    assert screen.decision_target(at=painted + 0.6) == "A"

    from console.domain.desk import InputClock

    keys = InputClock(clock=clock)
    # The window system's stamps: the first key handled at once sets the offset...
    assert keys.event_time(5_000) == clock.t
    clock.wait(3.0)
    # ...a key stamped 0.2 s later but handled 3 s later happened 0.2 s after the first.
    assert keys.event_time(5_200) == pytest.approx(clock.t - 2.8)
    assert keys.event_time(0) == clock.t, "no stamp: when handled"
    clock.wait(60.0)
    assert keys.event_time(5_300) == clock.t, "a stamp from another clock is not believed"


def test_an_outcome_key_acts_on_the_chosen_engagement_once_it_has_been_highlighted():
    clock = Clock()
    screen = OnScreen(clock=clock)
    with pytest.raises(KeyRefused, match="No engagement is chosen"):
        screen.outcome_target()
    # Engaged from a card the officer had seen: "E then 1" is for that person, at once.
    show(screen, "A")
    clock.wait(GUARD_S)
    assert screen.decision_target() == "A"
    show(screen, None)
    screen.show_target("A", seen_before=True)
    assert screen.outcome_target() == "A"
    # Chosen by a click on another engagement: its name must be on screen first.
    screen.show_target("C")
    clock.wait(GUARD_S)
    with pytest.raises(KeyRefused, match="highlighted"):
        screen.outcome_target()  # not painted yet
    screen.target_painted("C")
    with pytest.raises(KeyRefused, match="highlighted"):
        screen.outcome_target()
    clock.wait(GUARD_S)
    assert screen.outcome_target() == "C"
    # Engaged "seen before" is not a pass for an incident whose card was never looked at.
    screen.show_target("Z", seen_before=True)
    with pytest.raises(KeyRefused):
        screen.outcome_target()


def test_the_selection_moves_only_by_the_officers_choice_unless_they_set_auto_open():
    selection = Selection()
    selection.after_arrival("A")
    assert selection.selected is None, "an arrival never opens a card"
    selection.choose("A")
    selection.after_arrival("B")  # more urgent
    assert selection.selected == "A", "nor takes the open card away"
    selection.after_decision("A", head="B")
    assert selection.selected is None, "after a decision the card closes"
    selection.choose("B")
    selection.after_decision("C", head="D")  # another incident left the queue
    assert selection.selected == "B"
    selection.still_there(lambda i: i != "B")
    assert selection.selected is None, "a vanished incident leaves nothing open"

    auto = Selection(auto_open=True)
    auto.after_arrival("A")
    assert auto.selected == "A"
    auto.after_arrival("B")
    assert auto.selected == "A"
    auto.after_decision("A", head="B")
    assert auto.selected == "B"


def test_letters_typed_into_nothing_refuse_the_commands_typed_with_them():
    clock = Clock()
    typing = TypingGuard(clock=clock)
    typing.check_command()  # nothing typed: commands act
    typing.text_typed()  # "s"
    for _ in range(10):  # "een by PC 4821": each within the typing pause
        clock.wait(0.2)
        with pytest.raises(KeyRefused, match="Typing ignored"):
            typing.check_command()
    clock.wait(typing.pause_s + 0.01)
    typing.check_command()  # the typing stopped: keys are commands again
    typing.text_typed()
    typing.stop()  # Escape
    typing.check_command()
