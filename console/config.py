"""Deployment plans (TOML files) and where the console keeps its data.

A plan names the deployment, its site, cameras, watchlist folder, authorising officer,
planned times and the false-alert rate it is run at; paths in it are relative to the
file. Command-line options override it. A plan is read as hostile input: every value is
checked and every fault names its key. Safeguards are not a plan's to set: they come
from the site policy (``console.domain.policy``), which only an admin changes.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import platformdirs

from console.domain.deployments import Deployment
from console.domain.engine_settings import (
    ENGINES,
    NODE_LABEL,
    EngineError,
    EngineSettings,
    Placement,
    check_address,
)
from console.domain.policy import FalseAlertRate, OperatingPointError, SitePolicy
from console.vision.operating_point import DEFAULT_ONE_IN, threshold_for
from console.vision.sources import SourceSpec

APP_NAME = "lfr-console"
DATA_DIR_ENV = "LFR_CONSOLE_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DEPLOYMENT = REPO_ROOT / "sample_streams" / "sample_deployment.toml"

# The distance scenarios are replayed at unless they name their own (their truths were
# set at it). Live deployments derive theirs from a false-alert rate: see
# console/vision/operating_point.py and docs/accuracy.md.
DEFAULT_THRESHOLD = 0.40
DEFAULT_FALSE_ALERT_RATE = FalseAlertRate(DEFAULT_ONE_IN)

_PLAN_KEYS = {
    "reference", "site", "watchlist", "false_alert_rate", "authorised_by", "authorised_rank",
    "planned_start", "duration_hours", "sample", "camera",
    "engine", "ray_address", "ray_token_file",  # where the cameras are analysed
}
_CAMERA_KEYS = {"name", "source", "loop", "node", "node_fallback", *SourceSpec.TIMING_FIELDS}
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*(\{seq\}[A-Za-z0-9._\-]*)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


class ConfigError(Exception):
    """The deployment file or the command line is wrong; the message says how."""


@dataclass(frozen=True)
class DeploymentPlan:
    reference: str  # may hold "{seq}": the first number not used by a concluded deployment
    site: str
    watchlist: Path
    cameras: list[SourceSpec] = field(default_factory=list)
    false_alert_rate: FalseAlertRate = DEFAULT_FALSE_ALERT_RATE
    authorised_by: str = ""
    authorised_rank: str = ""
    planned_start: datetime | None = None  # None: when the console first opens the plan
    duration: timedelta = timedelta(hours=8)
    sample: bool = False  # the bundled sample: its own data folder and sample accounts
    engine: str = "local"  # console.engine: local (embedded) or ray (a cluster)
    ray_address: str | None = None  # the Ray cluster's head, HOST:PORT
    ray_token_file: Path | None = None  # its token, a 0600 file
    placements: dict[str, Placement] = field(default_factory=dict)  # camera -> node label

    def with_cameras(self, overrides: list[SourceSpec]) -> DeploymentPlan:
        """Replace cameras of the same name, add the others, keep the order."""
        by_name = {c.camera: c for c in self.cameras}
        for spec in overrides:
            by_name[spec.camera] = spec
        return replace(self, cameras=list(by_name.values()))

    def deployment(self, reference: str, now: datetime, policy: SitePolicy) -> Deployment:
        """The planned deployment, within the site policy. Its threshold is provisional
        (the rate against one subject) until its watchlist is enrolled."""
        policy.check_duration(self.duration.total_seconds() / 3600)
        policy.check_rate(self.false_alert_rate)
        start = self.planned_start or now
        return Deployment(
            reference=reference,
            site=self.site,
            cameras=tuple(c.camera for c in self.cameras),
            authorised_by=self.authorised_by,
            authorised_rank=self.authorised_rank,
            planned_start=start,
            planned_end=start + self.duration,
            threshold=threshold_for(self.false_alert_rate, 1),
        )


class _Plan:
    """Reads one plan's values, collecting every fault with its key."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data, self.problems = path, data, []
        self.placements: dict[str, Placement] = {}

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def text(self, key: str, data: dict | None = None, required: bool = True,
             limit: int = 200, label: str = "") -> str:
        data = self.data if data is None else data
        label = label or key
        if key not in data:
            if required:
                self.fail(label, "is missing")
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.fail(label, f"must be text, not {type(value).__name__} {value!r}")
            return ""
        if required and not value.strip():
            self.fail(label, "is empty")
        elif len(value) > limit:
            self.fail(label, f"is {len(value):,} characters; at most {limit} are allowed")
        elif _CONTROL.search(value):
            self.fail(label, "holds control or text-direction characters")
        return value.strip()

    def number(self, key: str, data: dict, default: float, low: float, high: float,
               label: str = "") -> float:
        label = label or key
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(label, f"must be a number, not {value!r}")
            return default
        if not math.isfinite(value) or not low < value <= high:
            self.fail(label, f"must be a number above {low:g} and at most {high:g}, not {value!r}")
            return default
        return float(value)


def load_plan(path: Path) -> DeploymentPlan:
    """Read and check a plan; ConfigError lists every fault, each naming its key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read deployment file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"deployment file {path} is not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"deployment file {path} is not valid TOML: {exc}") from exc
    plan = _Plan(path, data)
    if "safeguards" in data:
        plan.fail("safeguards", "safeguards are set by the site policy (console policy), "
                                "not by a deployment plan")
    if "threshold" in data:
        plan.fail("threshold", "the match distance is derived from false_alert_rate "
                               "(for example false_alert_rate = \"1 in 10000\")")
    for key in sorted(set(data) - _PLAN_KEYS - {"safeguards", "threshold"}):
        plan.fail(key, f"is not a plan setting (settings: {', '.join(sorted(_PLAN_KEYS))})")
    base = path.parent.resolve()
    reference = plan.text("reference", limit=64)
    if reference and not _REFERENCE.fullmatch(reference):
        plan.fail("reference", "may hold only letters, digits, '.', '_', '-' and one {seq}")
    watchlist = plan.text("watchlist", limit=500)
    folder = (base / watchlist).resolve() if watchlist else base
    if watchlist and not folder.is_relative_to(base):
        plan.fail("watchlist", f"{watchlist!r} is outside the plan's folder {base}")
    rate = DEFAULT_FALSE_ALERT_RATE
    if "false_alert_rate" in data:
        try:
            rate = FalseAlertRate.parse(data["false_alert_rate"])
        except OperatingPointError as exc:
            plan.fail("false_alert_rate", str(exc))
    start = data.get("planned_start")
    if start is not None:
        if isinstance(start, datetime):
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
        else:
            kind = "a date without a time" if isinstance(start, date) else repr(start)
            plan.fail("planned_start", f"must be a date and time such as "
                                       f"2026-11-27T10:00:00Z, not {kind}")
            start = None
    hours = plan.number("duration_hours", data, 8.0, 0.0, 24 * 366)
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        plan.fail("sample", f"must be true or false, not {sample!r}")
    engine, address, token = _engine(plan, base)
    result = DeploymentPlan(
        reference=reference,
        site=plan.text("site", required=False),
        watchlist=folder,
        cameras=_cameras(plan, base),
        false_alert_rate=rate,
        authorised_by=plan.text("authorised_by", limit=100),
        authorised_rank=plan.text("authorised_rank", limit=100),
        planned_start=start,
        duration=timedelta(hours=hours),
        sample=sample is True,
        engine=engine,
        ray_address=address,
        ray_token_file=token,
        placements=plan.placements,
    )
    if plan.problems:
        raise ConfigError(
            f"deployment file {path} refused:\n" + "\n".join(f"  {p}" for p in plan.problems)
        )
    return result


def _cameras(plan: _Plan, base: Path) -> list[SourceSpec]:
    tables = plan.data.get("camera", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        plan.fail("camera", "must be [[camera]] tables")
        return []
    cameras, names = [], set()
    for n, table in enumerate(tables, start=1):
        label = f"camera {n}"
        for key in sorted(set(table) - _CAMERA_KEYS):
            allowed = ", ".join(sorted(_CAMERA_KEYS))
            plan.fail(f"{label} {key}", f"is not a camera setting ({allowed})")
        name = plan.text("name", table, limit=40, label=f"{label} name")
        if name in names:
            plan.fail(f"{label} name", f"{name!r} is used by an earlier camera")
        names.add(name)
        source = table.get("source")
        if isinstance(source, int) and not isinstance(source, bool):
            source = str(source)  # a webcam index
        if not isinstance(source, str) or not source.strip():
            plan.fail(f"{label} source", f"must be a file, URL or webcam index, not {source!r}")
            continue
        loop = table.get("loop", False)
        if not isinstance(loop, bool):
            plan.fail(f"{label} loop", f"must be true or false, not {loop!r}")
        timings = {
            k: plan.number(k, table, 1.0, 0.0, 600.0, label=f"{label} {k}")
            for k in SourceSpec.TIMING_FIELDS
            if k in table
        }
        if name:
            cameras.append(SourceSpec.of(name, source.strip(), base, loop is True, **timings))
        node = plan.text("node", table, required=False, limit=63, label=f"{label} node")
        fallback = table.get("node_fallback", False)
        if not isinstance(fallback, bool):
            plan.fail(f"{label} node_fallback", f"must be true or false, not {fallback!r}")
        if node and not NODE_LABEL.fullmatch(node):
            plan.fail(f"{label} node", f"{node!r} is not a node label (letters, digits, "
                                       "'.', '_', '-'; as ray start --labels lfr-node=LABEL)")
        elif node and name:
            plan.placements[name] = Placement(node, fallback is True)
    return cameras


def _engine(plan: _Plan, base: Path) -> tuple[str, str | None, Path | None]:
    """engine, ray_address and ray_token_file: checked together."""
    data = plan.data
    engine = plan.text("engine", required=False, limit=10) or "local"
    if engine not in ENGINES:
        plan.fail("engine", f"must be one of {', '.join(ENGINES)}, not {engine!r}")
        engine = "local"
    address = plan.text("ray_address", required=False, limit=300) or None
    if address:
        try:
            check_address(address)
        except EngineError as exc:
            plan.fail("ray_address", str(exc))
    elif engine == "ray":
        plan.fail("ray_address", "is missing: engine = \"ray\" needs the cluster's HOST:PORT")
    token = plan.text("ray_token_file", required=False, limit=500)
    if "ray_token_file" in data and not token:
        plan.fail("ray_token_file", "is empty")
    token_file = (base / Path(token).expanduser()) if token else None
    return engine, address, token_file


def record_dir(override: Path | None, sample: bool) -> Path:
    """The data directory, or the bundled sample deployment's own folder in it (a run of
    the sample keeps its record there, ``--data-dir`` included)."""
    if sample and override is not None:
        return Path(override) / "sample"
    return data_dir(override, sample=sample)


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


def plan_engine(plan: DeploymentPlan) -> EngineSettings:
    """The engine a (checked) deployment plan names: local, or ray with its cluster."""
    return EngineSettings(
        kind=plan.engine,  # type: ignore[arg-type]  # checked when the plan was read
        address=plan.ray_address,
        token_file=plan.ray_token_file,
        placements=dict(plan.placements),
    )
