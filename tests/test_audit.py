"""The audit trail is append-only, forward-sealed, anchored outside the database, and
tamper-evident to someone who has the data folder but not the verification key.

Each attack is what a local user with write access to the folder could do: open
console.db with sqlite3, drop a trigger, edit, put the trigger back; copy, delete or
plant the files beside it. The issue's attacks (#25) are marked with what main did."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.storage import StorageError, Store
from console.storage.audit import (
    GENESIS,
    HEAD_NAME,
    KEY_NAME,
    Head,
    entry_mac,
    read_head,
    sealed_text,
)
from console.storage.database import Database
from console.storage.sealing import SEAL_NAME, Sealer, VerificationKey, evolve, mac
from console.storage.verification import NoRecord, verify_folder
from tests.conftest import REPO


class Clock:
    """The sealing epochs' time, moved by the test (a deployment's minutes in a moment)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def minutes(self, n: float) -> None:
        self.now += timedelta(minutes=n)


def filled(tmp_path, clock=None) -> Store:
    store = Store.in_dir(tmp_path, **({"clock": clock} if clock else {}))
    for n in range(5):
        store.audit.record(f"PC {n}", "setting changed", {"n": n})
    return store


GUARDS = [
    """CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]


def tamper(tmp_path, *sql: str, restore: bool = True) -> None:
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


def entries(tmp_path) -> list[tuple]:
    db = sqlite3.connect(Database.path_in(tmp_path))
    rows = db.execute(
        "SELECT seq, at, actor, action, details, bound, prev_hash, hash, epoch FROM audit "
        "ORDER BY seq"
    ).fetchall()
    db.close()
    return rows


def reseal(
    tmp_path, key_for, head_epoch: int | None = None, record: str | None = None, start: int = 1
) -> None:
    """Seal every entry from *start* again with the keys a forger has (*key_for(epoch)*),
    and write a head sealed the same way: the most a forger can do with what they hold."""
    db = sqlite3.connect(Database.path_in(tmp_path))
    for g in ("audit_append_only_update", "audit_append_only_delete"):
        db.execute(f"DROP TRIGGER {g}")
    prev, last = GENESIS, None
    for seq, at, actor, action, details, bound, _, stored, epoch in entries(tmp_path):
        if seq < start:  # left as it was sealed
            prev, last = stored, (seq, epoch)
            continue
        text = sealed_text(prev, seq, epoch, at, actor, action, details, bound)
        new = mac(key_for(epoch), text)
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, new, seq))
        prev, last = new, (seq, epoch)
    for guard in GUARDS:
        db.execute(guard)
    db.commit()
    db.close()
    epoch = head_epoch if head_epoch is not None else last[1]
    record = record or json.loads(entries(tmp_path)[0][4])["record"]
    head = Head(last[0], prev, epoch, None, record)
    head = head.resealed(epoch, lambda text: mac(key_for(epoch), text))
    write_raw_head(tmp_path, head)


def write_raw_head(tmp_path, head: Head) -> None:
    body = {"seq": head.seq, "mac": head.mac}
    if head.sealed:
        body |= {"epoch": head.epoch, "seal": head.seal, "record": head.record}
    (tmp_path / HEAD_NAME).write_text(json.dumps(body))
    os.chmod(tmp_path / HEAD_NAME, 0o600)


def stolen_key(tmp_path) -> tuple[int, bytes]:
    """What a thief reads from the data folder: the current epoch and its key."""
    state = json.loads((tmp_path / SEAL_NAME).read_text())
    return state["epoch"], bytes.fromhex(state["key"])


def audit_verify(tmp_path, *extra: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify", "--data-dir", str(tmp_path), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        input=stdin,
    )


# -- the chain -----------------------------------------------------------------------------
def test_an_untouched_trail_verifies_and_with_its_key_every_seal(tmp_path):
    store = filled(tmp_path)
    vk = store.verification_key
    assert vk is not None and vk.record_id == store.audit.sealer.record_id
    report = store.audit.verify()
    assert report.intact and report.entries == 6  # the record's sealing entry, then five
    assert not report.sealed_checked
    assert (report.head.seq, report.head.mac) == (store.audit.last().seq, store.audit.last().mac)
    assert store.audit.head() is not None and store.audit.head().sealed
    store.close()
    assert verify_folder(tmp_path).intact
    checked = verify_folder(tmp_path, verify_key=vk)
    assert checked.verified and checked.record_id == vk.record_id


def test_the_verification_key_is_written_nowhere(tmp_path):
    store = filled(tmp_path)
    seed = store.verification_key.seed
    store.close()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert seed not in data and seed.hex().encode() not in data, path.name
    assert Store.in_dir(tmp_path).verification_key is None  # shown once, at creation


def test_the_database_refuses_edits_and_deletions(tmp_path):
    filled(tmp_path).close()
    db = sqlite3.connect(Database.path_in(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET actor='someone else' WHERE seq=2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq=2")


def test_an_altered_entry_is_named(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=4""")
    report = verify_folder(tmp_path)
    assert report.first_problem.startswith(
        "entry 4 (setting changed) is not sealed by the key of its epoch"
    )


def test_a_missing_entry_is_named(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit WHERE seq=3")
    assert verify_folder(tmp_path).first_problem == "entry 3 is missing"


def test_an_entry_edited_and_the_chain_rehashed_to_its_end_is_found(tmp_path):
    """An edit re-chained with plain SHA-256 (what main's first chain was) to the end."""
    filled(tmp_path).close()
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=4""", restore=False)
    db = sqlite3.connect(Database.path_in(tmp_path))
    prev = GENESIS
    for seq, at, actor, action, details, bound, _, _, epoch in entries(tmp_path):
        text = sealed_text(prev, seq, epoch, at, actor, action, details, bound)
        new = hashlib.sha256(text.encode()).hexdigest()
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, new, seq))
        prev = new
    db.commit()
    db.close()
    report = verify_folder(tmp_path)
    assert report.first_problem.startswith("entry 1 (record sealed) is not sealed")


def test_a_rolled_back_entry_does_not_move_the_head(tmp_path):
    store = filled(tmp_path)
    before = store.audit.head()
    with pytest.raises(RuntimeError), store.db.transaction() as conn:
        store.audit.append(conn, "PC 1", "setting changed", {"n": 6})
        raise RuntimeError("the change that went with it failed")
    assert store.audit.head() == before
    assert (before.seq, before.mac) == (store.audit.last().seq, store.audit.last().mac)


def test_the_head_outside_the_database_follows_every_entry_sealed(tmp_path):
    store = filled(tmp_path)
    for n in range(3):
        entry = store.audit.record("PC 9", "setting changed", {"n": n})
        head = read_head(tmp_path / HEAD_NAME)
        assert (head.seq, head.mac) == (entry.seq, entry.mac)
        assert head.sealed and head.record == store.audit.sealer.record_id
        assert store.audit.sealer.check(head.epoch, head.text(), head.seal)
    # Only the final file is left: written to a temporary file, then renamed.
    assert sorted(p.name for p in tmp_path.iterdir() if "head" in p.name) == [HEAD_NAME]


# -- #25: the tail deleted without the key ---------------------------------------------------
def record_with_an_engagement(tmp_path) -> Store:
    """A deployment with its watchlist, alerts, an engagement and its outcome (arrest)."""
    from console.domain.alerts import Outcome, OutcomeReport
    from tests.test_record_integrity import recorded

    store = recorded(tmp_path)
    store.alerts.record_outcome(
        OutcomeReport("north-1", Outcome.ARRESTED, "PC 1", datetime.now(UTC))
    )
    return store


@pytest.mark.parametrize("erase", ["the engagement and its outcome", "the active deployment"])
def test_deleting_the_tail_and_pointing_the_head_back_is_found_without_the_key(tmp_path, erase):
    """#25: they deleted the last entries (an engagement and its outcome) and set audit.head
    to an earlier entry's hash read from the database; main said "intact", even with the
    printed anchor, and kept appending. An active deployment (no anchor yet) alike."""
    store = record_with_an_engagement(tmp_path)
    store.close()
    rows = entries(tmp_path)
    actions = [r[3] for r in rows]
    keep = actions.index("alert raised") if erase == "the engagement and its outcome" else (
        actions.index("deployment planned")
    )
    cut = rows[keep - 1][0]  # the last entry kept
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.executescript(
        "DROP TRIGGER audit_append_only_delete; DROP TRIGGER outcomes_kept_until_expiry;"
        "DROP TRIGGER decisions_kept_until_expiry; DROP TRIGGER alerts_kept_until_expiry;"
        f"DELETE FROM audit WHERE seq > {cut}; DELETE FROM outcomes; DELETE FROM decisions;"
        "DELETE FROM alerts;"
        + ("DELETE FROM watchlist_subjects; DELETE FROM deployments;" if "active" in erase else "")
    )
    db.close()
    # Put the dropped triggers back exactly as the schema has them.
    from console.storage.database import expected_triggers

    db = sqlite3.connect(Database.path_in(tmp_path))
    present = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    for name, text in expected_triggers().items():
        if name not in present:
            db.execute(text)
    db.commit()
    db.close()
    write_raw_head(tmp_path, Head(cut, rows[cut - 1][7]))  # read from the database
    report = verify_folder(tmp_path)
    assert not report.intact
    assert report.first_problem == (
        "the audit head outside the database is not sealed by this record's key: it was "
        "written without the sealing key"
    )
    with pytest.raises(StorageError, match="is not sealed by this record's key"):
        Store.in_dir(tmp_path)  # the console does not carry on over the gap
    # A head sealed by someone who has not got the key does no better.
    forged = Head(cut, rows[cut - 1][7], 0, "0" * 64, report.record_id)
    write_raw_head(tmp_path, forged)
    assert "seal is not the record's" in verify_folder(tmp_path).first_problem


def test_the_newest_entries_removed_are_found(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit WHERE seq >= 5")
    report = verify_folder(tmp_path)
    assert report.first_problem == (
        "the audit trail ends at entry 4 but its head, kept outside the database, is entry 6: "
        "entries have been removed"
    )
    with pytest.raises(StorageError, match="does not reach its head"):
        Store.in_dir(tmp_path)


def test_an_emptied_audit_table_is_found(tmp_path):
    filled(tmp_path).close()
    tamper(tmp_path, "DELETE FROM audit")
    report = verify_folder(tmp_path)
    assert report.entries == 0 and not report.intact
    assert "head, kept outside the database, is entry 6" in report.first_problem


def test_an_emptied_record_with_its_key_and_head_deleted_is_found(tmp_path):
    """#25: every table emptied, the key and head deleted: main said "audit trail intact:
    0 entries" and exited 0."""
    store = record_with_an_engagement(tmp_path)
    store.close()
    from console.storage.database import expected_triggers

    db = sqlite3.connect(Database.path_in(tmp_path))
    tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    db.executescript(
        "".join(f"DROP TRIGGER {n};" for n in expected_triggers())
        + "".join(f"DELETE FROM {t};" for t in tables)
        + "".join(f"{sql};" for sql in expected_triggers().values())  # tracks covered
    )
    db.close()
    for name in (HEAD_NAME, SEAL_NAME, KEY_NAME):
        (tmp_path / name).unlink(missing_ok=True)
    done = audit_verify(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "holds no audit entries" in done.stdout and "emptied" in done.stdout
    assert "intact" not in done.stdout
    with pytest.raises(StorageError, match="holds no audit trail"):
        Store.in_dir(tmp_path)  # not taken for a new record


def test_a_deleted_database_is_found_and_not_replaced(tmp_path):
    filled(tmp_path).close()
    Database.path_in(tmp_path).unlink()
    report = verify_folder(tmp_path)
    assert report.first_problem.endswith("is missing; its audit head says it held 6 entries")
    with pytest.raises(StorageError, match="is missing"):
        Store.in_dir(tmp_path)
    assert not Database.path_in(tmp_path).exists()


def test_a_missing_sealing_key_is_refused_not_replaced(tmp_path):
    filled(tmp_path).close()
    (tmp_path / SEAL_NAME).unlink()
    with pytest.raises(StorageError, match="sealing key .* is missing"):
        Store.in_dir(tmp_path)
    assert not (tmp_path / SEAL_NAME).exists()


# -- #25: forging with a key -----------------------------------------------------------------
def test_a_key_stolen_at_minute_5_cannot_forge_an_entry_sealed_at_minute_2(tmp_path):
    """The thief copies the sealing key from the data folder at minute 5 of a deployment
    and rewrites the decision the officer made at minute 2 (engage becomes dismiss),
    sealing it, and everything after it, with the best key they have. The verification
    key finds the entry."""
    from console.domain.alerts import Adjudication, Decision
    from console.domain.deployments import Deployment
    from tests.test_record_integrity import make_alert

    clock = Clock(datetime.now(UTC) - timedelta(minutes=20))
    store = Store.in_dir(tmp_path, clock=clock)
    vk = store.verification_key
    now = clock.now
    d = Deployment("CR-5", "Croydon", ("north",), "J. Hart", "Supt", now, now + timedelta(hours=8),
                   0.4)
    store.deployments.create(d, "PC 1")
    for minute in range(1, 7):
        clock.minutes(1)
        alert = make_alert(f"north-{minute}", clock.now)
        store.alerts.save("CR-5", alert)
        decision = Decision.ENGAGE if minute == 2 else Decision.DISMISS
        note = "" if minute == 2 else "not the subject"
        store.alerts.record_decision(
            Adjudication(alert.alert_id, decision, "PC 1", clock.now, note)
        )
        if minute == 5:
            epoch, key = stolen_key(tmp_path)
            assert epoch == 5  # the key on disk is this minute's: the earlier ones are gone
    store.close()
    rows = entries(tmp_path)
    (target,) = [r for r in rows if r[3] == "alert adjudicated" and '"north-2"' in r[4]]
    assert target[8] == 2  # sealed at minute 2
    # The forgery: the row and its entry say "dismiss"; then every seal from there.
    db = sqlite3.connect(Database.path_in(tmp_path))
    db.executescript(
        "DROP TRIGGER decisions_are_final; DROP TRIGGER audit_append_only_update;"
        "UPDATE decisions SET decision='dismiss' WHERE alert_id='north-2';"
    )
    from console.storage.bound import row_digest

    digest = row_digest(db, "decisions", "north-2")
    details = json.loads(target[4]) | {"decision": "dismiss"}
    db.execute(
        "UPDATE audit SET details=?, bound=? WHERE seq=?",
        (json.dumps(details, sort_keys=True, separators=(",", ":")),
         json.dumps({"decisions": {"north-2": digest}}, separators=(",", ":")), target[0]),
    )
    db.commit()
    db.close()
    from console.storage.database import expected_triggers

    db = sqlite3.connect(Database.path_in(tmp_path))
    for name in ("decisions_are_final",):
        db.execute(expected_triggers()[name])
    db.execute(GUARDS[0])
    db.commit()
    db.close()

    def best_key(e: int) -> bytes:  # nothing before epoch 5 can be had from K(5)
        k = key
        for _ in range(max(0, e - epoch)):
            k = evolve(k)
        return k

    reseal(tmp_path, best_key, start=target[0])
    report = verify_folder(tmp_path, verify_key=vk)
    assert not report.intact
    assert report.first_problem.startswith(
        f"entry {target[0]} (alert adjudicated) is not sealed by the key of its epoch (epoch 2,"
    ), report.first_problem
    # The machine cannot tell (the key of minute 2 is gone from it, and the thief can run
    # theirs forward to seal a head as fresh as the record's): its check says it verified
    # nothing of the kind.
    assert verify_folder(tmp_path).intact
    plain = audit_verify(tmp_path)
    assert plain.returncode == 3 and "NOT VERIFIED" in plain.stdout
    keyed = audit_verify(tmp_path, "--verify-key", vk.text())
    assert keyed.returncode == 1 and f"entry {target[0]} (alert adjudicated)" in keyed.stdout


def attacker_record(tmp_path) -> Path:
    """A record of the attacker's own, made with the console: its sealing key is real."""
    theirs = tmp_path / "theirs"
    filled(theirs).close()
    return theirs


@pytest.mark.parametrize("which", ["a new key", "a key planted from another record"])
def test_a_record_resealed_under_another_key_never_verifies(tmp_path, which):
    """#25: with a new random key, or an audit.key planted beside a record whose real key
    was kept elsewhere, main's verify said "intact". Here the forger rewrites an entry and
    re-seals the whole record with a key of their own: a new one, or one taken from
    another genuine record."""
    folder = tmp_path / "record"
    store = filled(folder)
    vk = store.verification_key
    store.close()
    if which == "a new key":
        (folder / SEAL_NAME).unlink()
        sealer, _ = Sealer.create(folder / SEAL_NAME)
        record = sealer.record_id
    else:
        shutil.copy(attacker_record(tmp_path) / SEAL_NAME, folder / SEAL_NAME)
        record = json.loads((folder / SEAL_NAME).read_text())["record"]
    epoch, key = stolen_key(folder)
    tamper(
        folder,
        """UPDATE audit SET details='{"n":99}' WHERE seq=4""",
        f"""UPDATE audit SET details='{{"record":"{record}"}}' WHERE seq=1""",
    )
    reseal(folder, lambda e: key, head_epoch=epoch, record=record)
    keyed = audit_verify(folder, "--verify-key", vk.text())
    assert keyed.returncode == 1
    assert "sealed under another key" in keyed.stdout and vk.record_id in keyed.stdout
    plain = audit_verify(folder)
    assert plain.returncode == 3 and "intact" not in plain.stdout
    assert "a record rebuilt under a new key" in plain.stdout


def test_a_printed_anchor_catches_a_forger_who_has_the_current_key(tmp_path):
    """Within the epoch the key is for, a forger with it can re-seal entries of that epoch
    and the head; the anchor a supervisor kept from the deployment record still differs."""
    store = filled(tmp_path)
    anchor = store.audit.last()
    vk = store.verification_key
    store.close()
    assert verify_folder(tmp_path, [anchor]).intact
    epoch, key = stolen_key(tmp_path)
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=4""")
    reseal(tmp_path, lambda e: key if e == epoch else b"?" * 32)
    assert verify_folder(tmp_path).intact  # the forger with this epoch's key fools the files
    report = verify_folder(tmp_path, [anchor], verify_key=vk)
    assert report.first_problem == "entry 6 is not the entry the anchor names"


def test_the_verification_key_is_checked_against_the_record_it_was_made_for(tmp_path):
    filled(tmp_path / "a").close()
    other = filled(tmp_path / "b")
    report = verify_folder(tmp_path / "a", verify_key=other.verification_key)
    assert report.first_problem.startswith("the record was sealed under another key")
    other.close()


# -- records made before sealing ------------------------------------------------------------
def legacy_record(folder: Path) -> None:
    """A record as main kept it: entries keyed with audit.key, no epochs, an unsealed head."""
    store = filled(folder)
    store.close()
    key = os.urandom(32)
    rows = entries(folder)[1:]  # main had no sealing entry
    db = sqlite3.connect(Database.path_in(folder))
    db.executescript(
        "DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;"
    )
    db.execute("DELETE FROM audit WHERE seq = 1")
    prev = GENESIS
    for seq, at, actor, action, details, bound, _, _, _ in rows:
        new_seq = seq - 1
        m = entry_mac(key, prev, new_seq, at, actor, action, details, bound)
        db.execute(
            "UPDATE audit SET seq=?, prev_hash=?, hash=?, epoch=NULL WHERE seq=?",
            (new_seq, prev, m, seq),
        )
        prev = m
    # As main's schema had it: no epoch, no counts' state, none of the new tables.
    db.executescript(
        "CREATE TABLE audit_main (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,"
        " action TEXT NOT NULL, details TEXT NOT NULL, bound TEXT NOT NULL DEFAULT '{}',"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
        "INSERT INTO audit_main SELECT seq, at, actor, action, details, bound, prev_hash, hash"
        " FROM audit;"
        "DROP TABLE audit; ALTER TABLE audit_main RENAME TO audit;"
        "CREATE INDEX audit_by_action ON audit(action);"
        "ALTER TABLE camera_counts DROP COLUMN state;"
        "ALTER TABLE camera_counts DROP COLUMN failed_at;"
        "ALTER TABLE camera_counts DROP COLUMN failure;"
        "DROP TABLE camera_counts_unsealed; DROP TABLE officer_status;"
        "DROP TABLE sign_in_failures;"
    )
    for guard in GUARDS:
        db.execute(guard)
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    (folder / SEAL_NAME).unlink()
    (folder / KEY_NAME).write_text(key.hex() + "\n")
    os.chmod(folder / KEY_NAME, 0o600)
    write_raw_head(folder, Head(5, prev))


def test_a_record_made_before_sealing_says_so_plainly_and_starts_sealing(tmp_path):
    legacy_record(tmp_path)
    plain = audit_verify(tmp_path)
    assert plain.returncode == 3, plain.stdout + plain.stderr
    assert "Entries 1 to 5 were written before sealing began" in plain.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "console", "audit", "show", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert shown.returncode == 0 and "[unsealed]" in shown.stdout
    store = Store.in_dir(tmp_path)  # the first console to open it starts sealing it
    vk = store.verification_key
    assert vk is not None
    assert [e.action for e in store.audit.entries()][-1] == "sealing began"
    store.audit.record("PC 1", "setting changed", {"n": 6})
    store.close()
    report = verify_folder(tmp_path, verify_key=vk)
    assert report.verified and report.legacy_entries == 5
    assert any("before sealing began" in note for note in report.unchecked)
    # An older entry edited and re-keyed with the key beside it: the seal of the entry
    # that began sealing names the old chain's end, so it shows.
    key = bytes.fromhex((tmp_path / KEY_NAME).read_text())
    tamper(tmp_path, """UPDATE audit SET details='{"n":99}' WHERE seq=3""")
    db = sqlite3.connect(Database.path_in(tmp_path))
    for g in ("audit_append_only_update",):
        db.execute(f"DROP TRIGGER {g}")
    prev = GENESIS
    for seq, at, actor, action, details, bound, _, _, epoch in entries(tmp_path):
        if epoch is not None:
            break
        m = entry_mac(key, prev, seq, at, actor, action, details, bound)
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, m, seq))
        prev = m
    db.execute(GUARDS[0])
    db.commit()
    db.close()
    assert verify_folder(tmp_path, verify_key=vk).first_problem == (
        "entry 6 does not follow entry 5"
    )


# -- #25: the key file held to the Ray token's rules ------------------------------------------
def test_a_sealing_key_readable_by_others_is_refused(tmp_path):
    """#25: an audit key file of mode 0644 was accepted (a Ray token of that mode is not)."""
    filled(tmp_path).close()
    os.chmod(tmp_path / SEAL_NAME, 0o644)
    with pytest.raises(StorageError, match="may be read or written by others .*0644"):
        Store.in_dir(tmp_path)
    done = audit_verify(tmp_path)
    assert done.returncode == 2 and "chmod 600" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("key", ["/dev/zero", "a FIFO", "a 10 MB file"])
def test_an_audit_key_that_is_not_a_small_file_is_refused_at_once(tmp_path, monkeypatch, key):
    """#25: LFR_CONSOLE_AUDIT_KEY=/dev/zero read 7.6 GB."""
    filled(tmp_path).close()
    if key == "a FIFO":
        path = tmp_path / "fifo"
        os.mkfifo(path, 0o600)
    elif key == "a 10 MB file":
        path = tmp_path / "big"
        path.write_bytes(b"ab" * 5_000_000)
        os.chmod(path, 0o600)
    else:
        path = Path(key)
    monkeypatch.setenv("LFR_CONSOLE_AUDIT_KEY", str(path))
    started = time.monotonic()
    with pytest.raises(StorageError, match="is not a file|cannot be more than"):
        Store.in_dir(tmp_path)
    assert time.monotonic() - started < 5


# -- the command --------------------------------------------------------------------------
def test_the_verify_command_reports_the_first_problem_and_what_it_did_not_check(tmp_path):
    store = filled(tmp_path)
    head, vk = store.audit.head(), store.verification_key
    store.close()
    unverified = audit_verify(tmp_path, "--anchor", str(head))
    assert unverified.returncode == 3
    assert "consistent: 6 entries" in unverified.stdout and "NOT VERIFIED" in unverified.stdout
    assert "No witness is configured" in unverified.stdout  # and what that leaves open
    verified = audit_verify(tmp_path, "--verify-key", vk.spaced())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact: 6 entries" in verified.stdout and "every seal checked" in verified.stdout
    from_stdin = audit_verify(tmp_path, "--verify-key", "-", stdin=vk.text() + "\n")
    assert from_stdin.returncode == 0
    tamper(tmp_path, "UPDATE audit SET actor='PC 9' WHERE seq=3")
    broken = audit_verify(tmp_path)
    assert broken.returncode == 1
    assert "BROKEN: entry 3 (setting changed) is not sealed" in broken.stdout
    wrong = audit_verify(tmp_path, "--verify-key", "lfr1-1-60-00")
    assert wrong.returncode == 2 and "not a verification key" in wrong.stderr


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
    assert result.returncode == 3 and "consistent" in result.stdout
    assert str(tmp_path / "sample") in result.stdout


# -- #25: a read-only data folder ---------------------------------------------------------
@pytest.fixture
def read_only_disk(tmp_path):
    """A real filesystem (tmpfs) the test fills, then remounts read-only; skipped where
    the test may not mount one."""
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a filesystem here: {done.stderr.decode().strip()}")

    def freeze() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)

    yield mount, freeze
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_read_only_data_folder_is_said_plainly(read_only_disk):
    """#25: on a read-only filesystem `audit verify` and `run` ended in tracebacks."""
    mount, freeze = read_only_disk
    folder = mount / "record"
    store = filled(folder)
    vk = store.verification_key
    store.close()
    freeze()
    verified = audit_verify(folder, "--verify-key", vk.text())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout and "Traceback" not in verified.stderr
    for command in (["run"], ["report", "CR-1"], ["officer", "list", "--admin", "root"]):
        done = subprocess.run(
            [sys.executable, "-m", "console", *command, "--data-dir", str(folder)],
            capture_output=True, text=True, cwd=REPO, timeout=120, input="x\n",
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (command, done.stderr)
        assert "cannot be written" in done.stderr or "read-only" in done.stderr.lower() or (
            "Read-only file system" in done.stderr
        ), (command, done.stderr)


# -- the seal and the machine ---------------------------------------------------------------
def test_the_key_moves_on_each_epoch_even_when_nothing_is_written(tmp_path):
    clock = Clock(datetime.now(UTC) - timedelta(minutes=30))
    store = filled(tmp_path, clock)
    first = (tmp_path / SEAL_NAME).read_bytes()
    before = stolen_key(tmp_path)
    clock.minutes(3)
    assert store.audit.sealer.advance()  # what the ticker does at each epoch's start
    after = stolen_key(tmp_path)
    assert after[0] == before[0] + 3 and after[1] != before[1]
    assert before[1].hex().encode() not in (tmp_path / SEAL_NAME).read_bytes()
    assert len((tmp_path / SEAL_NAME).read_bytes()) == len(first)  # one block, rewritten
    head = read_head(tmp_path / HEAD_NAME)
    assert head.epoch == after[0]  # the head was sealed again with the new key first
    assert hmac.compare_digest(mac(after[1], head.text()), head.seal)
    store.close()
    assert verify_folder(tmp_path).intact


def test_the_ticker_moves_the_key_on_while_the_record_is_open(tmp_path):
    tmp_path.chmod(0o700)
    Sealer.create(tmp_path / SEAL_NAME, period=1)  # one-second epochs, for the test
    store = Store.in_dir(tmp_path)
    deadline = time.monotonic() + 30
    while stolen_key(tmp_path)[0] < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stolen_key(tmp_path)[0] >= 3  # on disk: nothing written, and the key moved on
    assert read_head(tmp_path / HEAD_NAME).epoch >= stolen_key(tmp_path)[0]
    store.close()


def test_verification_key_text_round_trips():
    vk = VerificationKey(bytes(range(32)), 1_796_000_000, 60)
    assert VerificationKey.parse(vk.text()) == vk
    assert VerificationKey.parse(vk.spaced().upper()) == vk
    with pytest.raises(ValueError, match="not a verification key"):
        VerificationKey.parse("lfr1-1-0-" + "00" * 32)


def test_an_entry_appended_behind_the_head_without_the_key_is_refused(tmp_path):
    """Appending after the head (which then lags, as after a crash) with a made-up seal of
    an earlier minute: the machine cannot check that seal, so it does not accept it."""
    clock = Clock(datetime.now(UTC) - timedelta(minutes=10))
    store = filled(tmp_path, clock)
    clock.minutes(3)
    store.audit.sealer.advance()
    store.close()
    last = entries(tmp_path)[-1]
    tamper(
        tmp_path,
        "INSERT INTO audit (seq, at, actor, action, details, bound, prev_hash, hash, epoch) "
        f"VALUES ({last[0] + 1}, '{last[1]}', 'Sgt 4 Reid', 'decision corrected', '{{}}', '{{}}', "
        f"'{last[7]}', '{'ab' * 32}', 0)",
    )
    assert "cannot be checked on this machine" in verify_folder(tmp_path).first_problem
    with pytest.raises(StorageError, match="follows its head but was sealed with a key older"):
        Store.in_dir(tmp_path)
