"""The audit trail is append-only, keyed, anchored outside the database, and tamper-evident
to someone who has the files but not the console."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys

import pytest

from console.storage import StorageError, Store
from console.storage.audit import (
    GENESIS,
    HEAD_NAME,
    KEY_NAME,
    Head,
    NoRecord,
    read_head,
    verify_folder,
)
from console.storage.database import Database
from tests.conftest import REPO


def filled(tmp_path) -> Store:
    store = Store.in_dir(tmp_path)
    for n in range(5):
        store.audit.record(f"PC {n}", "setting changed", {"n": n})
    return store


GUARDS = [
    """CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]


def tamper(tmp_path, *sql: str, restore: bool = False) -> None:
    """What someone with the file (not the console) could do: drop the guards, edit, and
    (*restore*) put the guards back as they were, to cover their tracks."""
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.execute("DROP TRIGGER audit_append_only_update")
    db.execute("DROP TRIGGER audit_append_only_delete")
    for statement in sql:
        db.execute(statement)
    for guard in GUARDS if restore else []:
        db.execute(guard)
    db.commit()
    db.close()


def rehash_with_sha256(tmp_path) -> None:
    """Re-chain every entry as the old console did (plain SHA-256, no key): what an
    attacker without the key can do after editing an entry."""
    db = sqlite3.connect(Database.path_in(tmp_path))
    prev = GENESIS
    rows = db.execute(
        "SELECT seq, at, actor, action, details, bound FROM audit ORDER BY seq"
    ).fetchall()
    for seq, at, actor, action, details, bound in rows:
        text = "|".join([prev, str(seq), at, actor, action, details, bound])
        mac = hashlib.sha256(text.encode()).hexdigest()
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, mac, seq))
        prev = mac
    db.commit()
    db.close()


def test_an_untouched_trail_verifies(tmp_path):
    store = filled(tmp_path)
    report = store.audit.verify()
    assert report.intact and report.entries == 5
    assert report.head == store.audit.head() == store.audit.last()
    assert verify_folder(tmp_path).intact


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
    report = verify_folder(tmp_path)
    assert report.first_problem == "entry 3 (setting changed) has been altered"


def test_a_missing_entry_is_named(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit WHERE seq=2")
    assert verify_folder(tmp_path).first_problem == "entry 2 is missing"


def test_a_rewritten_hash_breaks_the_next_link(tmp_path):
    filled(tmp_path).close()
    # Change the first hex digit (a MAC starting with '0' would make '0' a no-op: 1 in 16).
    tamper(
        tmp_path,
        "UPDATE audit SET hash = CASE substr(hash, 1, 1) WHEN '0' THEN '1' ELSE '0' END"
        " || substr(hash, 2) WHERE seq=4",
    )
    assert verify_folder(tmp_path).first_problem in {
        "entry 4 (setting changed) has been altered",
        "entry 5 does not follow entry 4",
    }


def test_an_entry_edited_and_the_chain_rehashed_to_its_end_is_found(tmp_path):
    """Main's chain was plain SHA-256: an edit re-hashed to the end verified 'intact'."""
    filled(tmp_path).close()
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=3""")
    rehash_with_sha256(tmp_path)
    report = verify_folder(tmp_path)
    assert not report.intact
    assert report.first_problem == "entry 1 (setting changed) has been altered"


def test_the_chain_is_keyed_by_a_key_outside_the_database(tmp_path):
    filled(tmp_path).close()
    key = (tmp_path / KEY_NAME).read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    assert key.encode() not in Database.path_in(tmp_path).read_bytes()
    # Another key (a forger's own) does not verify the record.
    (tmp_path / KEY_NAME).write_text("ab" * 32)
    assert verify_folder(tmp_path).first_problem == "entry 1 (setting changed) has been altered"


def test_a_record_whose_key_is_missing_is_refused(tmp_path):
    filled(tmp_path).close()
    (tmp_path / KEY_NAME).unlink()
    with pytest.raises(StorageError, match="audit key .* is missing"):
        Store.in_dir(tmp_path)
    assert "audit key is missing" in verify_folder(tmp_path).first_problem
    assert not (tmp_path / KEY_NAME).exists()  # not quietly replaced by a new one


def test_the_head_outside_the_database_follows_every_entry(tmp_path):
    store = filled(tmp_path)
    for n in range(3):
        entry = store.audit.record("PC 9", "setting changed", {"n": n})
        assert read_head(tmp_path / HEAD_NAME) == Head(entry.seq, entry.mac)
    # Only the final file is left: written to a temporary file, then renamed.
    assert sorted(p.name for p in tmp_path.iterdir() if "head" in p.name) == [HEAD_NAME]


def test_a_rolled_back_entry_does_not_move_the_head(tmp_path):
    store = filled(tmp_path)
    before = store.audit.head()
    with pytest.raises(RuntimeError), store.db.transaction() as conn:
        store.audit.append(conn, "PC 1", "setting changed", {"n": 6})
        raise RuntimeError("the change that went with it failed")
    assert store.audit.head() == before == store.audit.last()


def test_the_newest_entries_removed_are_found(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit WHERE seq >= 4", restore=True)
    report = verify_folder(tmp_path)
    assert report.first_problem == (
        "the audit trail ends at entry 3 but its head, kept outside the database, is entry 5: "
        "entries have been removed"
    )
    with pytest.raises(StorageError, match="does not reach its head"):
        Store.in_dir(tmp_path)  # the console does not carry on over the gap


def test_an_emptied_audit_table_is_found(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit")
    report = verify_folder(tmp_path)
    assert report.entries == 0 and not report.intact
    assert "head, kept outside the database, is entry 5" in report.first_problem


def test_a_deleted_database_is_found_and_not_replaced(tmp_path):
    filled(tmp_path).close()
    Database.path_in(tmp_path).unlink()
    report = verify_folder(tmp_path)
    assert report.first_problem.endswith("is missing; its audit head says it held 5 entries")
    with pytest.raises(StorageError, match="is missing"):
        Store.in_dir(tmp_path)
    assert not Database.path_in(tmp_path).exists()


def test_a_printed_anchor_catches_a_forger_who_has_the_key(tmp_path):
    """Someone with the key file can re-chain the whole trail and its head; the anchor a
    supervisor kept from the deployment record still does not match."""
    store = filled(tmp_path)
    anchor = store.audit.last()
    store.close()
    assert verify_folder(tmp_path, [anchor]).intact
    key = bytes.fromhex((tmp_path / KEY_NAME).read_text())
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=3""")
    db = sqlite3.connect(Database.path_in(tmp_path))
    from console.storage.audit import entry_mac

    prev = GENESIS
    for seq, at, actor, action, details, bound in db.execute(
        "SELECT seq, at, actor, action, details, bound FROM audit ORDER BY seq"
    ).fetchall():
        mac = entry_mac(key, prev, seq, at, actor, action, details, bound)
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, mac, seq))
        prev = mac
    db.commit()
    (tmp_path / HEAD_NAME).write_text(json.dumps({"seq": 5, "mac": prev}))
    for guard in GUARDS:
        db.execute(guard)
    db.commit()
    db.close()
    assert verify_folder(tmp_path).intact  # the forger with the key fools the files...
    report = verify_folder(tmp_path, [anchor])  # ...not the anchor kept on paper
    assert report.first_problem == "entry 5 is not the entry the anchor names"


def audit_verify(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify", "--data-dir", str(tmp_path), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_the_verify_command_reports_the_first_problem(tmp_path):
    store = filled(tmp_path)
    head = store.audit.head()
    store.close()
    ok = audit_verify(tmp_path, "--anchor", str(head))
    assert ok.returncode == 0 and "intact: 5 entries" in ok.stdout
    tamper(tmp_path, "UPDATE audit SET actor='PC 9' WHERE seq=2")
    broken = audit_verify(tmp_path)
    assert broken.returncode == 1
    assert "BROKEN: entry 2 (setting changed) has been altered" in broken.stdout


def test_verify_refuses_a_folder_with_no_record_and_creates_nothing(tmp_path):
    """Main created an empty database at a mistyped --data-dir and said 'intact: 0'."""
    mistyped = tmp_path / "recrod"
    result = audit_verify(mistyped)
    assert result.returncode == 2
    assert f"no record at {mistyped}" in result.stderr
    assert "intact" not in result.stdout
    assert not mistyped.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert audit_verify(empty).returncode == 2
    assert list(empty.iterdir()) == []
    with pytest.raises(NoRecord):
        verify_folder(empty)


def test_verify_on_the_folder_given_to_run_points_to_the_sample_record(tmp_path):
    """`make run ARGS="--data-dir X"` keeps the sample deployment's record in X/sample: a
    tester who verifies X is told where it is, and --sample verifies it."""
    Store.in_dir(tmp_path / "sample").close()
    result = audit_verify(tmp_path)
    assert result.returncode == 2
    assert f"record is in {tmp_path / 'sample'}" in result.stderr and "--sample" in result.stderr
    result = audit_verify(tmp_path, "--sample")
    assert result.returncode == 0 and "intact" in result.stdout
    assert str(tmp_path / "sample") in result.stdout
