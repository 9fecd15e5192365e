"""Exports are written where the officer chose, named from safe identifiers and readable
by the officer's account only (#25): a camera named ``../../PWNED`` does not choose where
a face is written, a ``/`` in one does not crash the export, and every file is 0600 in a
folder the console made 0700, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from console.domain.alerts import Adjudication, Alert, Decision
from console.domain.deployments import Deployment, DeploymentState
from console.history_export import export_csv, export_json
from console.reports import export
from console.reports.record import deployment_record
from console.storage import Store

RAISED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def lax_umask():
    old = os.umask(0o022)  # what a shell usually has: files 0644, folders 0755
    yield
    os.umask(old)


def record_with_cameras(store: Store, *cameras: str) -> str:
    d = Deployment(
        "CR-EXP-01", "Croydon", cameras, "J. Hart", "Supt", RAISED - timedelta(hours=1),
        RAISED + timedelta(hours=6), 0.4, state=DeploymentState.PLANNED,
    )
    store.deployments.create(d, "PC 1")
    for n, camera in enumerate(cameras):
        alert = Alert(
            f"{camera}-{n:012x}", camera, "WL-1", "Alex Marsh", "wanted by the courts", 0.38,
            0.4, 12.0, 300, (1, 2, 3, 4), RAISED, np.full((40, 30, 3), 200, np.uint8),
        )
        store.alerts.save(d.reference, alert, np.full((30, 20, 3), 90, np.uint8))
        store.alerts.record_decision(
            Adjudication(alert.alert_id, Decision.ENGAGE, "PC 2", RAISED + timedelta(seconds=9))
        )
    return d.reference


def test_a_camera_name_cannot_choose_where_a_face_is_written(tmp_path):
    """Main: a camera named ../../PWNED wrote face JPEGs outside the chosen folder; a '/'
    in a camera name crashed the export with a traceback."""
    store = Store.in_dir(tmp_path / "record")
    reference = record_with_cameras(store, "../../PWNED", "north/east")
    chosen = tmp_path / "exports" / "deep" / "folder"
    chosen.mkdir(parents=True)
    written = export_csv(store.alerts.history(reference), chosen / "history.csv", images=True)
    inside = sorted(p.relative_to(chosen).as_posix() for p in chosen.rglob("*") if p.is_file())
    assert inside == [
        "history.csv",
        "history_images/alert-00001-live.jpg",
        "history_images/alert-00001-watchlist.jpg",
        "history_images/alert-00002-live.jpg",
        "history_images/alert-00002-watchlist.jpg",
    ]
    everywhere = [p for p in tmp_path.rglob("*.jpg") if chosen not in p.parents]
    assert everywhere == []  # nothing written anywhere else
    text = written.read_text()
    assert "../../PWNED" in text  # the camera is still named, as data
    store.close()


def test_every_export_is_private_whatever_the_umask(tmp_path, lax_umask):
    """Main: a history CSV and its face images were 0644 in a 0755 folder; so were the
    record and evaluation exports."""
    store = Store.in_dir(tmp_path / "record")
    reference = record_with_cameras(store, "north")
    out = tmp_path / "out"
    out.mkdir()
    history = store.alerts.history(reference)
    export_csv(history, out / "history.csv", images=True)
    export_json(history, out / "history.json", reference, images=True)
    record = deployment_record(store, reference)
    export.write_text(out / "record.csv", export.record_csv(record))
    export.write_text(out / "record.json", export.record_json(record))
    from console.reports.pdf import write_record_pdf

    write_record_pdf(record, out / "record.pdf")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 7
    for path in files:
        assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
    assert mode(out / "history_images") == 0o700
    assert json.loads((out / "history.json").read_text())["deployment"] == reference
    assert (out / "record.pdf").read_bytes().startswith(b"%PDF")
    store.close()


def test_the_console_process_writes_everything_private(tmp_path):
    """The command line sets the process's umask: even a file a library writes (Qt's
    PDF, its settings) is its user's alone."""
    import subprocess
    import sys

    from tests.conftest import REPO

    done = subprocess.run(
        [sys.executable, "-c",
         "import os, sys; from console import __main__ as m; "
         "sys.argv=['x']; m.os.umask(0o022); "
         "rc = m.main(['audit', 'show', '--data-dir', sys.argv[0]]); "
         "print(oct(os.umask(0)))"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.stdout.strip().endswith("0o77"), done.stdout + done.stderr
