"""The witness off the machine: a real rsyslog on loopback (Debian's rsyslogd, RFC 5425
over TLS, certificates made here) receives every sealed head, and `audit verify
--witness-log` finds any head the record no longer reaches: a rollback to an older
copy, a tail deleted and re-sealed with the stolen current key, an emptied or replaced
record. While the collector is down the heads queue, and the desk says so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from console.domain.officers import Officer, Role
from console.storage import Store
from console.storage.witness import parse_witness_lines, read_witness_log
from tests.conftest import REPO
from tests.syslog_witness import RSYSLOGD, make_witness

ADMIN = Officer("root", "Admin", Role.ADMIN)

pytestmark = pytest.mark.skipif(
    shutil.which(RSYSLOGD) is None and not __import__("os").path.exists(RSYSLOGD),
    reason="rsyslogd is not installed (scripts/system-deps.sh test)",
)


@pytest.fixture
def witness(tmp_path):
    w = make_witness(tmp_path / "witness")
    w.start()
    yield w
    w.stop()


def witnessed_record(folder, witness) -> Store:
    """A record whose site policy names the witness (set by an admin, audited)."""
    store = Store.in_dir(folder)
    store.policy.change(
        ADMIN, witness_address=witness.address, witness_ca_file=str(witness.ca_file)
    )
    store.close()
    return Store.in_dir(folder)  # the witness is the policy's from the next opening


def add_entries(store: Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        store.audit.record("PC 1", "setting changed", {"n": i})


def audit_verify(folder, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify", "--data-dir", str(folder), *extra],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )


def test_every_head_is_sent_to_the_witness_as_it_moves(tmp_path, witness):
    store = witnessed_record(tmp_path / "record", witness)
    vk_folder = tmp_path / "record"
    add_entries(store, 3)
    last = store.audit.last()
    assert store.witness.flush(10)
    assert store.witness_status().text().endswith(f"up to date (audit entry {last.seq})")
    text = witness.wait_for(lambda t: f"seq={last.seq} " in t)
    heads = parse_witness_lines(text.splitlines())
    record = store.audit.sealer.record_id
    assert {h.record for h in heads} == {record}
    assert [h.seq for h in heads][-4:] == list(range(last.seq - 3, last.seq + 1))
    mine = {h.seq: h for h in heads}[last.seq]
    assert mine.mac == last.mac and mine.seal  # the sealed head, as on disk
    # RFC 5424 over RFC 5425: a framed message with its structured data, as received.
    assert text.startswith("<109>1 ") and '[lfr-head@32473 record="' in text
    store.close()
    done = audit_verify(vk_folder, "--witness-log", str(witness.log))
    assert done.returncode == 3, done.stdout  # intact; the seals need the key
    assert f"the last head it saw is entry {last.seq}" in done.stdout


def test_a_rollback_to_an_older_copy_is_found_with_the_last_head_the_witness_saw(
    tmp_path, witness
):
    """#25: the folder replaced by an older copy of itself verified "intact"."""
    folder = tmp_path / "record"
    store = witnessed_record(folder, witness)
    add_entries(store, 3)
    assert store.witness.flush(10)
    old = tmp_path / "older copy"
    shutil.copytree(folder, old)  # taken while the console runs
    add_entries(store, 4, start=3)  # an engagement, its outcome...
    last = store.audit.last()
    store.close()
    witness.wait_for(lambda t: f"seq={last.seq} " in t)
    shutil.rmtree(folder)
    shutil.copytree(old, folder)  # the rollback
    done = audit_verify(folder, "--witness-log", str(witness.log))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"the witness saw entry {last.seq}" in done.stdout
    assert "rolled back to an older copy" in done.stdout
    assert f"the last head it saw is entry {last.seq} ({last.seq}:{last.mac})" in done.stdout
    # Without the witness's file nothing on the machine finds it, and verify says so.
    plain = audit_verify(folder)
    assert plain.returncode == 3 and "a rollback to an older copy" in plain.stdout


def test_a_tail_deleted_and_resealed_with_the_stolen_key_is_found(tmp_path, witness):
    """Someone who reads the current sealing key can cut the newest entries and seal a
    head for the shortened chain: only the witness still knows better."""
    import sqlite3

    from console.storage.heads import HEAD_NAME, Head
    from console.storage.sealing import SEAL_NAME, mac

    folder = tmp_path / "record"
    store = witnessed_record(folder, witness)
    add_entries(store, 5)
    last = store.audit.last()
    store.close()
    witness.wait_for(lambda t: f"seq={last.seq} " in t)
    state = json.loads((folder / SEAL_NAME).read_text())
    key, epoch = bytes.fromhex(state["key"]), state["epoch"]
    db = sqlite3.connect(folder / "console.db")
    db.execute("DROP TRIGGER audit_append_only_delete")
    db.execute(f"DELETE FROM audit WHERE seq > {last.seq - 2}")
    seq, entry_mac = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC").fetchone()
    db.execute(
        "CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit\n"
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.commit()
    db.close()
    head = Head(seq, entry_mac, epoch, None, state["record"]).resealed(
        epoch, lambda text: mac(key, text)
    )
    (folder / HEAD_NAME).write_text(
        json.dumps({"seq": head.seq, "mac": head.mac, "epoch": head.epoch, "seal": head.seal,
                    "record": head.record})
    )
    assert audit_verify(folder).returncode == 3  # the machine cannot tell
    done = audit_verify(folder, "--witness-log", str(witness.log))
    assert done.returncode == 1
    assert f"the witness saw entry {last.seq}" in done.stdout


def test_a_record_emptied_or_replaced_is_found(tmp_path, witness):
    folder = tmp_path / "record"
    store = witnessed_record(folder, witness)
    add_entries(store, 2)
    last, record = store.audit.last(), store.audit.sealer.record_id
    store.close()
    witness.wait_for(lambda t: f"seq={last.seq} " in t)
    shutil.rmtree(folder)
    Store.in_dir(folder).close()  # a fresh record in its place, with a key of its own
    done = audit_verify(folder, "--witness-log", str(witness.log))
    assert done.returncode == 1
    assert "the witness never saw this record" in done.stdout
    assert f"record {record} up to entry {last.seq}" in done.stdout


def test_heads_queue_while_the_witness_is_down_and_the_desk_is_told(tmp_path, witness):
    store = witnessed_record(tmp_path / "record", witness)
    assert store.witness.flush(10)
    witness.stop()
    add_entries(store, 3)
    deadline = time.monotonic() + 20
    while not store.witness_status().alarming and time.monotonic() < deadline:
        time.sleep(0.1)
    status = store.witness_status()
    assert status.alarming and status.queued >= 1
    assert "UNREACHABLE" in status.text() and "audit heads waiting, retrying" in status.text()
    witness.start()  # the collector is back, on the same address
    last = store.audit.last()
    assert store.witness.flush(60), store.witness_status().text()
    assert not store.witness_status().alarming
    witness.wait_for(lambda t: f"seq={last.seq} " in t, timeout=30)
    store.close()
    heads = read_witness_log(witness.log)
    assert max(h.seq for h in heads) == last.seq


def test_a_collector_with_a_certificate_the_site_does_not_trust_is_refused(tmp_path, witness):
    from tests.syslog_witness import make_certificates

    other = tmp_path / "other-ca"
    other.mkdir()
    wrong_ca, _, _ = make_certificates(other)
    store = Store.in_dir(tmp_path / "record")
    store.policy.change(ADMIN, witness_address=witness.address, witness_ca_file=str(wrong_ca))
    store.close()
    store = Store.in_dir(tmp_path / "record")
    deadline = time.monotonic() + 20
    while not store.witness_status().alarming and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "certificate was refused" in store.witness_status().text()
    store.close()


def test_the_desk_shows_the_witness_in_the_status_bar(qtbot, tmp_path, witness):
    from PySide6.QtWidgets import QLabel, QMainWindow

    from console.qt.witness_status import show_witness_status

    store = witnessed_record(tmp_path / "record", witness)
    window = QMainWindow()
    qtbot.addWidget(window)
    label = show_witness_status(window, store.witness_status)
    window.show()
    assert isinstance(label, QLabel) and label.isVisible()
    qtbot.waitUntil(lambda: "up to date" in label.text(), timeout=10_000)
    witness.stop()
    add_entries(store, 1)
    qtbot.waitUntil(lambda: "UNREACHABLE" in label.text(), timeout=20_000)
    assert "b3261e" in label.styleSheet()
    store.close()
    assert show_witness_status(QMainWindow(), lambda: None) is None  # none configured
