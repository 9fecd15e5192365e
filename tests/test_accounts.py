"""Accounts: sign-in throttling and lockout, no timing difference for unknown usernames,
accounts managed only by a signed-in admin, the sample's accounts only in the sample's
record, and passwords that are long and not common."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest

from console import __main__ as cli
from console.config import SAMPLE_DEPLOYMENT, ConfigError, load_plan
from console.domain.officers import Role, WeakPassword, check_password
from console.storage import LoginFailed, StorageError, Store
from console.storage.officers import LOCKOUT, LOCKOUT_AFTER, LoginThrottled

PASSWORD = "correct horse"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path):
    s = Store.in_dir(tmp_path)
    s.officers.add("ward", "PC 4821 Ward", Role.OPERATOR, PASSWORD, by="admin")
    s.officers.clock = Clock()
    yield s
    s.close()


def fail(store, times: int, username: str = "ward") -> None:
    for _ in range(times):
        with pytest.raises(LoginFailed, match="unknown user or wrong password"):
            store.officers.authenticate(username, "wrong password")


def test_repeated_failures_make_the_next_attempt_wait_even_with_the_right_password(store):
    """Main: 50 wrong passwords in 3.6 s, then the right one worked."""
    clock = store.officers.clock
    fail(store, 3)
    with pytest.raises(LoginThrottled, match="wait 1 s before trying again"):
        store.officers.authenticate("ward", PASSWORD)
    clock.wait(1)
    fail(store, 1)
    with pytest.raises(LoginThrottled, match="wait 2 s"):  # the wait doubles
        store.officers.authenticate("ward", PASSWORD)
    clock.wait(2)
    assert store.officers.authenticate("ward", PASSWORD).username == "ward"
    refused = [e.details for e in store.audit.entries() if e.action == "login refused"]
    assert [d["reason"] for d in refused].count("throttled") == 2


def test_an_account_locks_after_repeated_failures_and_the_lock_is_audited(store):
    clock = store.officers.clock
    for _ in range(LOCKOUT_AFTER):
        fail(store, 1)
        clock.wait(60)  # past each wait: only the lockout stops them now
    with pytest.raises(LoginThrottled, match="locked until"):
        store.officers.authenticate("ward", PASSWORD)
    actions = [e.action for e in store.audit.entries()]
    assert "account locked" in actions
    assert store.audit.entries()[-1].details["reason"] == "locked"
    # Hammering while locked neither unlocks it nor counts against the window.
    for _ in range(50):
        with pytest.raises(LoginThrottled):
            store.officers.authenticate("ward", PASSWORD)
    clock.wait(LOCKOUT.total_seconds())
    assert store.officers.authenticate("ward", PASSWORD).username == "ward"


def test_a_sign_in_clears_the_count(store):
    fail(store, 2)
    store.officers.authenticate("ward", PASSWORD)
    fail(store, 2)
    assert store.officers.authenticate("ward", PASSWORD).username == "ward"


def test_an_unknown_username_costs_the_same_scrypt_work_and_is_throttled_alike(
    store, monkeypatch
):
    """Main answered an unknown username in 0.5 ms and a real one in ~70 ms."""
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(kwargs.get("n"))
        return real(*args, **kwargs)

    store.officers.authenticate("ward", PASSWORD)  # the dummy hash is made before timing
    monkeypatch.setattr(hashlib, "scrypt", counting)
    fail(store, 1, "ward")
    known = list(calls)
    calls.clear()
    fail(store, 1, "nobody")
    assert calls == known == [2**14]  # one scrypt of the same cost each
    fail(store, 2, "nobody")
    with pytest.raises(LoginThrottled, match="wait 1 s"):
        store.officers.authenticate("nobody", "anything at all")


# -- passwords ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password", "12 characters"),
        (" " * 8, "12 characters"),
        (" " * 12, "different characters"),
        ("aaaaaaaaaaaa", "different characters"),
        ("password1234", "common passwords"),
        ("Password1234!", "common passwords"),
        ("qwertyuiop123", "common passwords"),
        ("123456789012", "common passwords"),
        ("iloveyou2026", "common passwords"),
        ("ward12345678", "the username"),
    ],
)
def test_weak_passwords_are_refused(password, why):
    with pytest.raises(WeakPassword, match=why):
        check_password(password, "ward")


def test_a_long_uncommon_password_is_accepted_and_the_policy_applies_to_accounts(tmp_path):
    check_password("correct horse", "ward")
    check_password("supervisor-sample", "supervisor")  # the sample's published passwords
    check_password("operator-sample", "operator")
    store = Store.in_dir(tmp_path)
    with pytest.raises(StorageError, match="common passwords"):
        store.officers.add("ward", "PC 4821 Ward", Role.OPERATOR, "password1234", by="x")
    assert store.officers.count() == 0


# -- the command line -----------------------------------------------------------------------
def officer_add(monkeypatch, tmp_path, *args: str, stdin: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["officer", "add", *args, "--password-stdin", "--data-dir", str(tmp_path)])


def test_the_command_line_manages_accounts_only_after_an_admin_signs_in(
    tmp_path, monkeypatch, capsys
):
    """Main: `officer add --role admin` worked from the command line with no sign-in."""
    # A record with no admin: the first account must be the admin, created once.
    assert officer_add(
        monkeypatch, tmp_path, "ward", "--name", "PC 1", "--role", "supervisor",
        stdin=PASSWORD + "\n",
    ) == 2
    assert "no admin yet" in capsys.readouterr().err
    assert officer_add(
        monkeypatch, tmp_path, "root", "--name", "Admin", "--role", "admin",
        stdin="admin password here\n",
    ) == 0
    # Now nobody adds an account without an admin signing in...
    assert officer_add(
        monkeypatch, tmp_path, "eve", "--name", "Eve", "--role", "admin", stdin=PASSWORD + "\n"
    ) == 2
    assert "an admin signs in" in capsys.readouterr().err
    # ...with the right password (refused, audited and throttled like the window's)...
    assert officer_add(
        monkeypatch, tmp_path, "eve", "--name", "Eve", "--role", "admin", "--admin", "root",
        stdin="guess guess guess\n" + PASSWORD + "\n",
    ) == 2
    assert "wrong password" in capsys.readouterr().err
    # ...and an admin's account: a supervisor may not manage accounts.
    assert officer_add(
        monkeypatch, tmp_path, "ward", "--name", "PC 1", "--role", "supervisor",
        "--admin", "root", stdin="admin password here\n" + PASSWORD + "\n",
    ) == 0
    assert officer_add(
        monkeypatch, tmp_path, "eve", "--name", "Eve", "--role", "admin", "--admin", "ward",
        stdin=PASSWORD + "\n" + "another password\n",
    ) == 2
    assert "may not manage accounts" in capsys.readouterr().err
    store = Store.in_dir(tmp_path)
    assert sorted(u for (u,) in store.db.query("SELECT username FROM officers")) == [
        "root",
        "ward",
    ]
    added = [e for e in store.audit.entries() if e.action == "officer added"]
    assert "first admin" in added[0].actor
    assert added[1].actor.startswith("Admin (root, admin)")
    assert store.audit.verify().intact


def test_run_never_seeds_the_sample_accounts_into_a_data_directory(tmp_path, monkeypatch):
    """Main: `run --data-dir X` seeded the sample's published accounts into X."""
    import console.qt.app as app

    opened = []
    monkeypatch.setattr(app, "run_console", lambda plan, folder: opened.append(folder) or 0)
    chosen = tmp_path / "records"
    assert cli.main(["run", "--data-dir", str(chosen)]) == 0
    assert opened == [chosen / "sample"]  # the sample's own record, below the folder
    assert not (chosen / "console.db").exists()


def test_only_the_bundled_sample_plan_is_the_sample(tmp_path):
    """A plan of one's own that says `sample = true` does not get the sample's accounts."""
    plan = load_plan(SAMPLE_DEPLOYMENT)
    with pytest.raises(ConfigError, match="only the bundled sample is"):
        cli.record_folder(plan, tmp_path / "my_plan.toml", tmp_path / "records")


def test_the_sign_in_window_says_how_long_to_wait(qtbot, store):
    from PySide6.QtCore import Qt

    from console.qt.login import LoginDialog
    from tests.conftest import pause_like_a_person

    dialog = LoginDialog(store.officers.authenticate, username="ward")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for _ in range(3):
        qtbot.keyClicks(dialog.password, "wrong horse")
        pause_like_a_person(qtbot)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert "wrong password" in dialog.error.text()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.error.text() == "Too many failed sign-ins: wait 1 s before trying again"
    assert dialog.officer is None and dialog.isVisible()
    store.officers.clock.wait(1)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.result() == LoginDialog.DialogCode.Accepted
