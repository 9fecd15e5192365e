"""Deployment plans (TOML files) and where the console keeps its data.

A plan names the deployment, its site, cameras, watchlist folder, authorising officer,
planned times and safeguard settings; paths in it are relative to the file. Command-line
options override it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs

from console.domain.deployments import Deployment
from console.domain.watchlist import DEFAULT_MAX_SUBJECTS
from console.vision.sources import SourceSpec

APP_NAME = "lfr-console"
DATA_DIR_ENV = "LFR_CONSOLE_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DEPLOYMENT = REPO_ROOT / "sample_streams" / "sample_deployment.toml"

# Calibrated on the development face set for a watchlist of 1,000 (bench/
# calibrate_threshold.py), not dlib's 1:1 verification default of 0.6: see README,
# "Match threshold".
DEFAULT_THRESHOLD = 0.40
# The loosest threshold a supervisor may set: the floor on match strictness. At 0.45 a
# passer-by's single-frame chance of false-matching one of 1,000 subjects is ~10%.
DEFAULT_LOOSEST_THRESHOLD = 0.45
DEFAULT_RETENTION_DAYS = 31


class ConfigError(Exception):
    """The deployment file or the command line is wrong; the message says how."""


@dataclass(frozen=True)
class Safeguards:
    loosest_threshold: float = DEFAULT_LOOSEST_THRESHOLD
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_watchlist_size: int = DEFAULT_MAX_SUBJECTS
    pending_warning_s: float = 60.0  # a pending alert older than this is highlighted


@dataclass(frozen=True)
class DeploymentPlan:
    reference: str  # may hold "{seq}": the first number not used by a concluded deployment
    site: str
    watchlist: Path
    cameras: list[SourceSpec] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD
    authorised_by: str = ""
    authorised_rank: str = ""
    planned_start: datetime | None = None  # None: when the console first opens the plan
    duration: timedelta = timedelta(hours=8)
    safeguards: Safeguards = field(default_factory=Safeguards)
    sample: bool = False  # the bundled sample: its own data folder and sample accounts

    def with_cameras(self, overrides: list[SourceSpec]) -> DeploymentPlan:
        """Replace cameras of the same name, add the others, keep the order."""
        by_name = {c.camera: c for c in self.cameras}
        for spec in overrides:
            by_name[spec.camera] = spec
        return replace(self, cameras=list(by_name.values()))

    def deployment(self, reference: str, now: datetime) -> Deployment:
        start = self.planned_start or now
        return Deployment(
            reference=reference,
            site=self.site,
            cameras=tuple(c.camera for c in self.cameras),
            authorised_by=self.authorised_by,
            authorised_rank=self.authorised_rank,
            planned_start=start,
            planned_end=start + self.duration,
            threshold=self.threshold,
        )


def load_plan(path: Path) -> DeploymentPlan:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read deployment file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"deployment file {path} is not valid TOML: {exc}") from exc
    base = path.parent
    try:
        cameras = [
            SourceSpec.of(
                str(c["name"]),
                str(c["source"]),
                base,
                bool(c.get("loop", False)),
                # per-camera timeouts: timeout_s, stall_s, retry_s, retry_max_s
                **{k: float(c[k]) for k in SourceSpec.TIMING_FIELDS if k in c},
            )
            for c in data.get("camera", [])
        ]
        start = data.get("planned_start")
        if isinstance(start, datetime) and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        guards = data.get("safeguards", {})
        return DeploymentPlan(
            reference=str(data["reference"]),
            site=str(data.get("site", "")),
            watchlist=(base / str(data["watchlist"])).resolve(),
            cameras=cameras,
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
            authorised_by=str(data["authorised_by"]),
            authorised_rank=str(data["authorised_rank"]),
            planned_start=start if isinstance(start, datetime) else None,
            duration=timedelta(hours=float(data.get("duration_hours", 8))),
            safeguards=Safeguards(
                loosest_threshold=float(guards.get("loosest_threshold", DEFAULT_LOOSEST_THRESHOLD)),
                retention_days=int(guards.get("retention_days", DEFAULT_RETENTION_DAYS)),
                max_watchlist_size=int(guards.get("max_watchlist_size", DEFAULT_MAX_SUBJECTS)),
                pending_warning_s=float(guards.get("pending_warning_seconds", 60)),
            ),
            sample=bool(data.get("sample", False)),
        )
    except KeyError as exc:
        raise ConfigError(f"deployment file {path} lacks {exc.args[0]!r}") from exc


def data_dir(override: Path | None = None, sample: bool = False) -> Path:
    """Where the record lives: the option, then $LFR_CONSOLE_DATA_DIR, then the OS default.

    The bundled sample keeps its own record in a ``sample`` folder below the default,
    so its sample accounts never sit beside real ones.
    """
    if override is not None:
        return Path(override)
    if env := os.environ.get(DATA_DIR_ENV):
        base = Path(env)
    else:
        base = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return base / "sample" if sample else base
