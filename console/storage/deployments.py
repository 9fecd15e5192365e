"""Deployments and their watchlists on disk.

A watchlist lives only inside its deployment: its subjects (encodings, photos, images)
are rows of ``watchlist_subjects`` and nothing else. At conclusion they are deleted with
``secure_delete`` on and the WAL truncated, so no watchlist bytes remain on disk; the
audit trail keeps only counts and a content hash.

Every write of a deployment row (plan, state, settings, watchlist size) and of its
watchlist (import, deletion) binds the rows' content digests into its audit entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from console.domain.deployments import Deployment, DeploymentState
from console.domain.watchlist import (
    Watchlist,
    WatchlistEntry,
    WatchlistSubject,
    second_columns,
    with_second_columns,
)
from console.storage.alerts import jpeg
from console.storage.audit import AuditTrail
from console.storage.bound import COUNTS
from console.storage.database import Database, StorageError

LEFTOVER_COUNTS = "camera counts sealed after a restart"
STOPPED_STATES = ("stopped", "waiting")  # a feed's state once the session stops it
_COLUMNS = (
    "reference, site, cameras, authorised_by, authorised_rank, planned_start, planned_end, "
    "threshold, state, watchlist_created_at, officers_present_confirmed_by, started_at, "
    "concluded_at"
)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def watchlist_hash(watchlist: Watchlist) -> str:
    """A content hash of a watchlist, for the audit trail: what was used, then deleted."""
    h = hashlib.sha256()
    for s in sorted(watchlist.subjects, key=lambda s: s.subject_id):
        h.update(s.subject_id.encode())
        h.update(np.asarray(s.encoding, dtype=np.float64).tobytes())
        h.update(s.image_jpeg)
    return h.hexdigest()


class DeploymentRecords:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit
        self._counts_epoch: dict[str, int] = {}  # the epoch each deployment's counts were sealed in

    # -- deployments ----------------------------------------------------------------
    def create(self, d: Deployment, by: str) -> None:
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO deployments ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    self._row(d),
                )
                self.audit.append(
                    conn,
                    by,
                    "deployment planned",
                    {
                        "reference": d.reference,
                        "site": d.site,
                        "cameras": list(d.cameras),
                        "authorised_by": f"{d.authorised_rank} {d.authorised_by}",
                        "planned_start": _iso(d.planned_start),
                        "planned_end": _iso(d.planned_end),
                        "threshold": d.threshold,
                    },
                    rows=[("deployments", d.reference)],
                )
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"a deployment {d.reference!r} already exists") from exc

    def get(self, reference: str) -> Deployment | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM deployments WHERE reference=?", (reference,))
        if not rows:
            return None
        r = rows[0]
        return Deployment(
            reference=r[0],
            site=r[1],
            cameras=tuple(json.loads(r[2])),
            authorised_by=r[3],
            authorised_rank=r[4],
            planned_start=datetime.fromisoformat(r[5]),
            planned_end=datetime.fromisoformat(r[6]),
            threshold=r[7],
            state=DeploymentState(r[8]),
            watchlist_created_at=_dt(r[9]),
            officers_present_confirmed_by=r[10],
            started_at=_dt(r[11]),
            concluded_at=_dt(r[12]),
        )

    def update(
        self,
        d: Deployment,
        by: str,
        action: str,
        details: dict | None = None,
        at: datetime | None = None,
    ) -> None:
        """Save a state change of a deployment together with its audit entry (which also
        seals the counts so far: a conclusion binds the final ones)."""
        with self.db.transaction() as conn:
            counted = _fold_counts(conn, d.reference)
            conn.execute(
                "UPDATE deployments SET threshold=?, state=?, watchlist_created_at=?, "
                "officers_present_confirmed_by=?, started_at=?, concluded_at=? WHERE reference=?",
                (
                    d.threshold,
                    d.state.value,
                    _iso(d.watchlist_created_at),
                    d.officers_present_confirmed_by,
                    _iso(d.started_at),
                    _iso(d.concluded_at),
                    d.reference,
                ),
            )
            self.audit.append(
                conn,
                by,
                action,
                {"reference": d.reference, **(details or {})},
                at=at,
                rows=[("deployments", d.reference)] + ([(COUNTS, d.reference)] if counted else []),
            )

    @staticmethod
    def _row(d: Deployment) -> tuple:
        return (
            d.reference,
            d.site,
            json.dumps(list(d.cameras)),
            d.authorised_by,
            d.authorised_rank,
            d.planned_start.isoformat(),
            d.planned_end.isoformat(),
            d.threshold,
            d.state.value,
            _iso(d.watchlist_created_at),
            d.officers_present_confirmed_by,
            _iso(d.started_at),
            _iso(d.concluded_at),
        )

    # -- watchlists -----------------------------------------------------------------
    def store_watchlist(
        self, d: Deployment, watchlist: Watchlist, by: str, overrides: dict[str, str] | None = None
    ) -> Deployment:
        """Replace the deployment's watchlist (only before it starts); audit the import."""
        if d.state != DeploymentState.PLANNED:
            raise StorageError(
                f"deployment {d.reference} is {d.state.value}: its watchlist is fixed"
            )
        updated = replace(d, watchlist_created_at=watchlist.created_at)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM watchlist_subjects WHERE deployment=?", (d.reference,))
            conn.execute("DELETE FROM watchlist_seconds WHERE deployment=?", (d.reference,))
            for s in watchlist.subjects:
                conn.execute(
                    "INSERT INTO watchlist_subjects VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        d.reference,
                        s.subject_id,
                        s.entry.row,
                        s.name,
                        s.category,
                        json.dumps(s.entry.extra),
                        np.asarray(s.encoding, dtype=np.float64).tobytes(),
                        jpeg(s.photo_rgb) or b"",
                        s.image_jpeg,
                    ),
                )
                conn.execute(
                    "INSERT INTO watchlist_seconds VALUES (?,?,?,?)",
                    (d.reference, s.subject_id, *second_columns(s)),
                )
            conn.execute(
                "UPDATE deployments SET watchlist_created_at=?, watchlist_size=? WHERE reference=?",
                (watchlist.created_at.isoformat(), len(watchlist), d.reference),
            )
            self.audit.append(
                conn,
                by,
                "watchlist imported",
                {
                    "reference": d.reference,
                    "subjects": len(watchlist),
                    "content_sha256": watchlist_hash(watchlist),
                    "folder": str(watchlist.folder),
                },
                at=watchlist.created_at,
                rows=[("deployments", d.reference), ("watchlist", d.reference)],
            )
            for subject_id, supervisor in (overrides or {}).items():
                self.audit.append(
                    conn,
                    supervisor,
                    "under-18 override",
                    {"reference": d.reference, "subject_id": subject_id},
                )
        return updated

    def watchlist_size(self, reference: str) -> int:
        """How many subjects the deployment's watchlist holds, without decoding them."""
        rows = self.db.query(
            "SELECT COUNT(*) FROM watchlist_subjects WHERE deployment=?", (reference,)
        )
        return rows[0][0]

    def load_watchlist(self, reference: str) -> Watchlist:
        rows = self.db.query(
            "SELECT subject_id, row, name, category, extra, encoding, photo_jpeg, image_jpeg "
            "FROM watchlist_subjects WHERE deployment=? ORDER BY row",
            (reference,),
        )
        d = self.get(reference)
        subjects = []
        for subject_id, row, name, category, extra, enc, photo, image in rows:
            entry = WatchlistEntry(row, subject_id, name, category, Path(), json.loads(extra))
            rgb = cv2.cvtColor(
                cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
            )
            subjects.append(WatchlistSubject(entry, np.frombuffer(enc, np.float64), rgb, image))
        extras = {
            r[0]: r[1:]
            for r in self.db.query(
                "SELECT subject_id, second, quality FROM watchlist_seconds WHERE deployment=?",
                (reference,),
            )
        }
        subjects = [with_second_columns(s, *extras[s.subject_id]) if s.subject_id in extras
                    else s for s in subjects]
        created = d.watchlist_created_at if d and d.watchlist_created_at else datetime.now(UTC)
        return Watchlist(Path(reference), subjects, created)

    def purge_watchlist(self, reference: str, by: str) -> dict[str, object]:
        """Delete every trace of the watchlist; return (and audit) what was deleted."""
        watchlist = self.load_watchlist(reference)
        summary = {
            "reference": reference,
            "subjects_deleted": len(watchlist),
            "content_sha256": watchlist_hash(watchlist),
        }
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM watchlist_subjects WHERE deployment=?", (reference,))
            conn.execute("DELETE FROM watchlist_seconds WHERE deployment=?", (reference,))
            conn.execute("UPDATE deployments SET watchlist_size=0 WHERE reference=?", (reference,))
            self.audit.append(
                conn,
                by,
                "watchlist deleted",
                summary,
                rows=[("deployments", reference), ("watchlist", reference)],
            )
        self.db.checkpoint()  # the WAL held copies of the deleted pages
        return summary

    # -- counts ---------------------------------------------------------------------
    # (a console killed within an epoch left them; they are sealed as found at the next open)
    def add_counts(
        self,
        reference: str,
        camera: str,
        faces: int,
        frames: int,
        live_seconds: float,
        state: str | None = None,
        detail: str = "",
    ) -> None:
        """Only counts are kept of the faces seen: never who they were.

        Added every second (a killed console loses at most that) to the unsealed counts,
        which no report reads; once an epoch they are folded into ``camera_counts`` in
        the same transaction as an audit entry that binds them ("camera counts sealed"),
        so a published count is in the chain and an unsealed one is at most an epoch
        (a minute) old. *state* is the camera's (live, failed, ...): the first time it is
        seen failed is kept, with *detail* (why).
        """
        now = datetime.now(UTC).isoformat()
        failed = state == "failed"
        with self.db.transaction() as conn:
            _add_counts(
                conn,
                "camera_counts_unsealed",
                (reference, camera, faces, frames, live_seconds, state,
                 now if failed else None, detail[:300] if failed else None),
            )
            epoch = self.audit.sealer.epoch_at(self.audit.sealer.clock())
            # Sealed once an epoch, and at once when the cameras stop (the last count of a
            # session is never left for the next console to find).
            due = self._counts_epoch.get(reference) != epoch or state in STOPPED_STATES
            if due and self._seal_counts(conn, reference, "camera counts sealed", "console"):
                self._counts_epoch[reference] = epoch

    def _seal_counts(self, conn: sqlite3.Connection, reference: str, action: str, by: str) -> bool:
        """Fold the unsealed counts of *reference* into ``camera_counts`` and bind them in
        an entry of *action* (inside the caller's transaction); False if there were none."""
        if not _fold_counts(conn, reference):
            return False
        totals = conn.execute(
            "SELECT COALESCE(SUM(faces_seen), 0), COALESCE(SUM(live_seconds), 0) "
            "FROM camera_counts WHERE deployment=?",
            (reference,),
        ).fetchone()
        self.audit.append(
            conn,
            by,
            action,
            {
                "reference": reference,
                "faces_seen": totals[0],
                "camera_seconds": round(totals[1], 1),
            },
            rows=[(COUNTS, reference)],
        )
        return True

    def seal_leftover_counts(self) -> int:
        """Counts a console left unsealed (it was killed within an epoch of them): sealed
        as found when the record is next opened, and said so in the entry."""
        found = self.db.query("SELECT DISTINCT deployment FROM camera_counts_unsealed")
        refs = [r for (r,) in found]
        with self.db.transaction() as conn:
            for reference in refs:
                self._seal_counts(conn, reference, LEFTOVER_COUNTS, "console")
        return len(refs)

    def counts(self, reference: str) -> dict[str, tuple[int, int, float]]:
        """The sealed counts per camera (what reports use)."""
        rows = self.db.query(
            "SELECT camera, faces_seen, frames_analysed, live_seconds FROM camera_counts "
            "WHERE deployment=?",
            (reference,),
        )
        return {c: (f, n, s) for c, f, n, s in rows}

    def camera_states(self, reference: str) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Each camera's last sealed state, when it was first seen failed, and why (none
        for a record read as it was kept before cameras' states were)."""
        try:
            rows = self.db.query(
                "SELECT camera, state, failed_at, failure FROM camera_counts WHERE deployment=?",
                (reference,),
            )
        except StorageError:
            return {}
        return {c: (state, at, why) for c, state, at, why in rows}

    def unsealed_seconds(self, reference: str) -> float:
        """Camera-seconds counted but not sealed yet (at most an epoch's)."""
        rows = self.db.query(
            "SELECT COALESCE(SUM(live_seconds), 0) FROM camera_counts_unsealed WHERE deployment=?",
            (reference,),
        )
        return float(rows[0][0])


def _fold_counts(conn: sqlite3.Connection, reference: str) -> bool:
    pending = conn.execute(
        "SELECT camera, faces_seen, frames_analysed, live_seconds, state, failed_at, failure "
        "FROM camera_counts_unsealed WHERE deployment=?",
        (reference,),
    ).fetchall()
    for row in pending:
        _add_counts(conn, "camera_counts", (reference, *row))
    conn.execute("DELETE FROM camera_counts_unsealed WHERE deployment=?", (reference,))
    return bool(pending)


def _add_counts(conn: sqlite3.Connection, table: str, row: tuple) -> None:
    """Add one camera's counts to *table* (the unsealed or the sealed counts): the counts
    add up; the state is the latest; the first failure and its reason are kept."""
    conn.execute(
        f"""INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?)
            ON CONFLICT(deployment, camera) DO UPDATE SET
              faces_seen = faces_seen + excluded.faces_seen,
              frames_analysed = frames_analysed + excluded.frames_analysed,
              live_seconds = live_seconds + excluded.live_seconds,
              state = COALESCE(excluded.state, state),
              failed_at = COALESCE(failed_at, excluded.failed_at),
              failure = COALESCE(failure, excluded.failure)""",
        row,
    )
