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


def test_a_decision_key_acts_only_on_a_card_shown_for_the_guard_time():
    clock = Clock()
    screen = OnScreen(clock=clock)
    with pytest.raises(KeyRefused, match="No incident is open"):
        screen.decision_target()
    screen.show_card("A")
    clock.wait(GUARD_S - 0.01)
    with pytest.raises(KeyRefused, match="card opened 0.5 s ago|card opened 0.4 s ago"):
        screen.decision_target()
    clock.wait(0.02)
    assert screen.decision_target() == "A"
    # The card changes: the guard starts again for the new incident.
    screen.show_card("B")
    with pytest.raises(KeyRefused):
        screen.decision_target()
    clock.wait(GUARD_S)
    assert screen.decision_target() == "B"
    # Showing the same card again (a sighting added to it) does not restart the guard.
    screen.show_card("B")
    assert screen.decision_target() == "B"
    # Off screen (hidden), then back: the officer must look again.
    screen.show_card(None)
    screen.show_card("B")
    with pytest.raises(KeyRefused):
        screen.decision_target()


def test_an_outcome_key_acts_on_the_chosen_engagement_once_it_has_been_highlighted():
    clock = Clock()
    screen = OnScreen(clock=clock)
    with pytest.raises(KeyRefused, match="No engagement is chosen"):
        screen.outcome_target()
    # Engaged from a card the officer had seen: "E then 1" is for that person, at once.
    screen.show_card("A")
    clock.wait(GUARD_S)
    assert screen.decision_target() == "A"
    screen.show_card(None)
    screen.show_target("A", seen_before=True)
    assert screen.outcome_target() == "A"
    # Chosen by a click on another engagement: its name must be on screen first.
    screen.show_target("C")
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
