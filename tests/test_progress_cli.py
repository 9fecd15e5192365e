"""The headless commands as an operator runs them: a progress line on stderr when it is a
terminal (a pseudo-terminal here), none with --quiet or into a pipe, no deprecation
warning from the face library, and a --help that lists every command."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import threading

from console.progress import ProgressLine
from tests.conftest import REPO, SAMPLES

COMMANDS = [
    "run",
    "officer",
    "policy",
    "report",
    "evaluate",
    "uat",
    "train",
    "audit",
    "watchlist",
    "replay",
]


def console(*args: str, terminal: bool) -> tuple[int, str, str]:
    """Run ``python -m console ARGS``; stderr on a pseudo-terminal or a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "LFR_QUIET"}
    command = [sys.executable, "-m", "console", *args]
    if not terminal:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    stdout, _ = process.communicate(timeout=600)
    reader.join(timeout=10)
    os.close(master)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_help_lists_every_command_and_quiet():
    code, out, _ = console("--help", terminal=False)
    assert code == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out, re.M), f"{command} missing from --help"
    assert "--quiet" in out


def test_replay_shows_frames_rate_and_time_left_on_a_terminal(street_clip):
    code, out, err = console(
        "replay",
        "--camera",
        f"north={street_clip}",
        "--watchlist",
        str(SAMPLES / "watchlist"),
        terminal=True,
    )
    assert code == 0, err
    assert re.search(r"replaying: \d+/150 frames · [\d.]+ frames/s · about .* left", err), err
    assert "replaying: 150/150 frames" in err
    assert "pkg_resources" not in err and "UserWarning" not in err
    assert '"alert_id"' in out, "the alerts still go to stdout, untouched"


def test_enrolment_progress_shown_on_a_terminal_and_not_with_quiet_nor_into_a_pipe():
    folder = str(SAMPLES / "watchlist")
    code, _, err = console("watchlist", folder, terminal=True)
    assert code == 0 and "enrolling watchlist: 2/2 images" in err, err
    assert "pkg_resources" not in err
    code, _, err = console("watchlist", folder, "--quiet", terminal=True)
    assert code == 0 and "enrolling watchlist" not in err, err
    code, _, err = console("--quiet", "watchlist", folder, terminal=True)
    assert code == 0 and "enrolling watchlist" not in err, err
    code, _, err = console("watchlist", folder, terminal=False)
    assert code == 0 and "enrolling watchlist" not in err and "\r" not in err, err


def test_the_line_is_rewritten_in_place_and_ends_with_a_newline():
    stream = io.StringIO()
    line = ProgressLine("replaying", 10, stream=stream, enabled=True, every_s=0)
    for _ in range(10):
        line.advance()
    line.finish()
    text = stream.getvalue()
    assert text.count("\r") >= 10 and text.endswith("\n")
    assert "replaying: 10/10 frames" in text.splitlines()[-1]
    silent = io.StringIO()
    ProgressLine("replaying", 10, stream=silent).advance()  # not a terminal
    assert silent.getvalue() == ""
