"""The audit trail is append-only and tamper-evident."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from console.storage import Store
from console.storage.database import Database
from tests.conftest import REPO


def filled(tmp_path) -> Store:
    store = Store.in_dir(tmp_path)
    for n in range(5):
        store.audit.record(f"PC {n}", "setting changed", {"n": n})
    return store


def tamper(tmp_path, *sql: str) -> None:
    """What someone with the file (not the console) could do: drop the guards, edit."""
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.execute("DROP TRIGGER audit_append_only_update")
    db.execute("DROP TRIGGER audit_append_only_delete")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def test_an_untouched_trail_verifies(tmp_path):
    report = filled(tmp_path).audit.verify()
    assert report.intact and report.entries == 5


def test_the_database_refuses_edits_and_deletions(tmp_path):
    filled(tmp_path).close()
    db = sqlite3.connect(Database.path_in(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET actor='someone else' WHERE seq=2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq=2")


def test_an_altered_entry_is_named(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=3""")
    report = Store.in_dir(tmp_path).audit.verify()
    assert report.first_problem == "entry 3 (setting changed) has been altered"


def test_a_missing_entry_is_named(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit WHERE seq=2")
    assert Store.in_dir(tmp_path).audit.verify().first_problem == "entry 2 is missing"


def test_a_rewritten_hash_breaks_the_next_link(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "UPDATE audit SET hash='0' || substr(hash, 2) WHERE seq=4")
    report = Store.in_dir(tmp_path).audit.verify()
    assert report.first_problem in {
        "entry 4 (setting changed) has been altered",
        "entry 5 does not follow entry 4",
    }


def audit_verify(tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_the_verify_command_reports_the_first_problem(tmp_path):
    filled(tmp_path).close()
    ok = audit_verify(tmp_path)
    assert ok.returncode == 0 and "intact: 5 entries" in ok.stdout
    tamper(tmp_path, "UPDATE audit SET actor='PC 9' WHERE seq=2")
    broken = audit_verify(tmp_path)
    assert broken.returncode == 1
    assert "BROKEN: entry 2 (setting changed) has been altered" in broken.stdout
