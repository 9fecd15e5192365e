"""The alert chime: played by the desktop's player, never piling up processes."""

from __future__ import annotations

import sys

from console.qt.sound import AlertSound


def test_each_chime_process_is_let_go_once_it_ends(qtbot):
    sound = AlertSound()
    sound._player = sys.executable  # a "player" that exits at once: python CHIME -> error
    for _ in range(3):
        sound.play()
    assert sound.played == 3
    qtbot.waitUntil(lambda: not sound._processes, timeout=10_000)


def test_a_player_that_cannot_start_leaves_nothing_behind(qtbot):
    sound = AlertSound()
    sound._player = "/nonexistent/player"
    for _ in range(5):
        sound.play()
    qtbot.waitUntil(lambda: not sound._processes, timeout=5_000)


def test_a_muted_chime_plays_nothing(qtbot):
    sound = AlertSound()
    sound._player = "/nonexistent/player"
    assert sound.toggle_mute() is True
    sound.play()
    assert sound.played == 0 and not sound._processes
