"""Accounts: memory-hard password hashes, roles and what they may do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.domain.officers import (
    Officer,
    Permission,
    PermissionDenied,
    Role,
    hash_password,
    verify_password,
)
from console.storage import LoginFailed, StorageError, Store
from console.storage.officers import BURST_GAP


def test_passwords_are_salted_scrypt_hashes():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a.startswith("scrypt$16384$8$1$") and a != b  # salted
    assert verify_password("correct horse", a)
    assert not verify_password("wrong horse", a)
    assert "correct horse" not in a


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        (Role.OPERATOR, Permission.ADJUDICATE, Permission.CONCLUDE_DEPLOYMENT),
        (Role.OPERATOR, Permission.START_DEPLOYMENT, Permission.CHANGE_THRESHOLD),
        (Role.SUPERVISOR, Permission.CHANGE_THRESHOLD, Permission.MANAGE_ACCOUNTS),
        (Role.TRAINER, Permission.RUN_SCENARIOS, Permission.ADJUDICATE),
        (Role.ADMIN, Permission.MANAGE_ACCOUNTS, Permission.OVERRIDE),
    ],
)
def test_roles(role, may, may_not):
    officer = Officer("u", "PC U", role)
    officer.require(may)
    with pytest.raises(PermissionDenied, match=may_not.value):
        officer.require(may_not)


def test_accounts_log_in_and_every_attempt_is_audited(tmp_path):
    """Sign-ins each; refusals once a burst, with the count (see test_accounts.py)."""
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PC 4821 Ward", Role.OPERATOR, "correct horse", by="admin")
    officer = store.officers.authenticate("ward", "correct horse")
    assert officer == Officer("ward", "PC 4821 Ward", Role.OPERATOR)
    with pytest.raises(LoginFailed):
        store.officers.authenticate("ward", "nope")
    with pytest.raises(LoginFailed):
        store.officers.authenticate("nobody", "correct horse")
    store.officers.close_bursts(datetime.now(UTC) + BURST_GAP)
    actions = [(e.actor, e.action) for e in store.audit.entries()]
    assert actions == [
        ("console", "record sealed"),
        ("admin", "officer added"),
        ("PC 4821 Ward (ward, operator)", "logged in"),
        ("ward", "sign-in refused"),
        ("nobody", "sign-in refused"),
    ]
    assert [e.details["refusals"] for e in store.audit.entries()[-2:]] == [1, 1]
    stored = store.db.query("SELECT password FROM officers")[0][0]
    assert "correct horse" not in stored


def test_short_passwords_and_duplicate_accounts_are_refused(tmp_path):
    store = Store.in_dir(tmp_path)
    with pytest.raises(StorageError, match="12 characters"):
        store.officers.add("a", "A", Role.ADMIN, "short", by="x")
    store.officers.add("a", "A", Role.ADMIN, "long enough now", by="x")
    with pytest.raises(StorageError, match="already exists"):
        store.officers.add("a", "A", Role.ADMIN, "long enough now", by="x")
