"""Trainees' scenario runs: kept apart from real deployments (their own file), so a
training decision can never be mistaken for an operational one.

The runs are compared with each other on the trainer's score sheet, so they are kept
like the record: every run, decision and score is bound into a chain of its own
(``training.db``'s audit table, its head ``training.head``), sealed with the data
folder's sealing key. A run written into the file behind the console's back is not
listed, and ``audit verify`` names it.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from console.domain.training import ScoreSheet, TraineeDecision
from console.storage.audit import check_not_lost, open_chain
from console.storage.bound import TRAINING, table_digests
from console.storage.database import Database
from console.storage.heads import TRAINING_HEAD_NAME
from console.storage.sealing import Clock, SealTicker, VerificationKey, utc_now

TRAINING_DB = "training.db"
TRAINER = "console (trainer)"
log = logging.getLogger(__name__)


class TrainingRecords:
    def __init__(self, data_dir: Path, clock: Clock = utc_now) -> None:
        folder = Path(data_dir)
        path = folder / TRAINING_DB
        head_path = folder / TRAINING_HEAD_NAME
        existed = check_not_lost(path, head_path, "training record")
        self.db = Database(path)
        self._ticker: SealTicker | None = None
        try:
            self.audit, issued = open_chain(
                self.db, head_path, existed=existed, binding=TRAINING, clock=clock
            )
            # A data folder's first record makes its sealing key: shown once, by the caller.
            self.verification_key: VerificationKey | None = issued
            self._ticker = SealTicker(self.audit.sealer, lambda exc: log.error("%s", exc))
        except BaseException:
            self.db.close()
            raise

    def start_run(self, trainee: str, scenario: str) -> str:
        run_id = f"run-{uuid.uuid4().hex[:10]}"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO training_runs (run_id, trainee, scenario, started_at) "
                "VALUES (?,?,?,?)",
                (run_id, trainee, scenario, datetime.now(UTC).isoformat()),
            )
            self.audit.append(
                conn, TRAINER, "training run started", {"run_id": run_id, "scenario": scenario},
                rows=[("training_runs", run_id)],
            )
        return run_id

    def record(self, run_id: str, d: TraineeDecision) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO training_decisions VALUES (?,?,?,?,?,?,?)",
                (
                    run_id,
                    d.alert_id,
                    d.camera,
                    d.subject_id,
                    d.t,
                    d.decision.value,
                    d.seconds_to_decide,
                ),
            )
            self.audit.append(
                conn, TRAINER, "training decision", {"run_id": run_id, "alert_id": d.alert_id},
                rows=[("training_decisions", run_id)],
            )

    def finish(self, run_id: str, sheet: ScoreSheet) -> None:
        details = asdict(sheet) | {"summary": sheet.summary()}
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE training_runs SET finished_at=?, score=? WHERE run_id=?",
                (datetime.now(UTC).isoformat(), json.dumps(details), run_id),
            )
            self.audit.append(
                conn, TRAINER, "training run scored", {"run_id": run_id},
                rows=[("training_runs", run_id)],
            )

    def runs(self, scenario: str | None = None) -> list[dict[str, object]]:
        """Finished runs, newest first, for the trainer to compare: only runs whose rows
        are as their sealed entries bound them (a run written in behind the console's back
        never shows as a score; ``audit verify`` names it)."""
        rows = self.db.query(
            "SELECT run_id, trainee, scenario, started_at, finished_at, score "
            "FROM training_runs WHERE score IS NOT NULL AND (? IS NULL OR scenario = ?) "
            "ORDER BY started_at DESC",
            (scenario, scenario),
        )
        sealed = self._sealed_runs()
        with self.db.lock:
            actual = table_digests(self.db.conn, "training_runs", binding=TRAINING)
        kept = [r for r in rows if sealed.get(r[0]) is not None and sealed[r[0]] == actual[r[0]]]
        if len(kept) < len(rows):
            log.error(
                "%d training run(s) in %s are not as their sealed entries bound them: not "
                "listed; run `python -m console audit verify`",
                len(rows) - len(kept),
                self.db.path,
            )
        return [
            {
                "run_id": r[0],
                "trainee": r[1],
                "scenario": r[2],
                "started_at": r[3],
                "finished_at": r[4],
                **json.loads(r[5])["summary"],
            }
            for r in kept
        ]

    def _sealed_runs(self) -> dict[str, str | None]:
        rows = self.db.query(
            "SELECT j.key, j.value FROM audit a, json_each(a.bound, '$.training_runs') j "
            "ORDER BY a.seq"
        )
        return {str(k): v for k, v in rows}

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.db.close()
