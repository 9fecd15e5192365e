"""Trainees' scenario runs: kept apart from real deployments (their own file), so a
training decision can never be mistaken for an operational one."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from console.domain.training import ScoreSheet, TraineeDecision
from console.storage.database import Database

TRAINING_DB = "training.db"


class TrainingRecords:
    def __init__(self, data_dir: Path) -> None:
        self.db = Database(Path(data_dir) / TRAINING_DB)

    def start_run(self, trainee: str, scenario: str) -> str:
        run_id = f"run-{uuid.uuid4().hex[:10]}"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO training_runs (run_id, trainee, scenario, started_at) "
                "VALUES (?,?,?,?)",
                (run_id, trainee, scenario, datetime.now(UTC).isoformat()),
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

    def finish(self, run_id: str, sheet: ScoreSheet) -> None:
        details = asdict(sheet) | {"summary": sheet.summary()}
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE training_runs SET finished_at=?, score=? WHERE run_id=?",
                (datetime.now(UTC).isoformat(), json.dumps(details), run_id),
            )

    def runs(self, scenario: str | None = None) -> list[dict[str, object]]:
        """Finished runs, newest first, for the trainer to compare."""
        rows = self.db.query(
            "SELECT run_id, trainee, scenario, started_at, finished_at, score "
            "FROM training_runs WHERE score IS NOT NULL AND (? IS NULL OR scenario = ?) "
            "ORDER BY started_at DESC",
            (scenario, scenario),
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
            for r in rows
        ]

    def close(self) -> None:
        self.db.close()
