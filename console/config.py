"""Deployment configuration: which cameras, which watchlist, which threshold, where data lives.

A deployment file is TOML (see ``sample_streams/sample_deployment.toml``); paths in it
are relative to the file. Command-line options override it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from console.vision.sources import SourceSpec

APP_NAME = "lfr-console"
DATA_DIR_ENV = "LFR_CONSOLE_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DEPLOYMENT = REPO_ROOT / "sample_streams" / "sample_deployment.toml"

# Calibrated on the development face set for a watchlist console, not dlib's 1:1
# verification default of 0.6: see README, "Match threshold".
DEFAULT_THRESHOLD = 0.5


class ConfigError(Exception):
    """The deployment file or the command line is wrong; the message says how."""


@dataclass(frozen=True)
class DeploymentConfig:
    reference: str
    site: str
    watchlist: Path
    cameras: list[SourceSpec] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD

    def with_cameras(self, overrides: list[SourceSpec]) -> DeploymentConfig:
        """Replace cameras of the same name, add the others, keep the order."""
        by_name = {c.camera: c for c in self.cameras}
        for spec in overrides:
            by_name[spec.camera] = spec
        return replace(self, cameras=list(by_name.values()))


def load_deployment(path: Path) -> DeploymentConfig:
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
            SourceSpec.of(str(c["name"]), str(c["source"]), base, bool(c.get("loop", False)))
            for c in data.get("camera", [])
        ]
        return DeploymentConfig(
            reference=str(data["reference"]),
            site=str(data.get("site", "")),
            watchlist=(base / str(data["watchlist"])).resolve(),
            cameras=cameras,
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
        )
    except KeyError as exc:
        raise ConfigError(f"deployment file {path} lacks {exc.args[0]!r}") from exc


def data_dir(override: Path | None = None) -> Path:
    """Where the database lives: the option, then $LFR_CONSOLE_DATA_DIR, then the OS default."""
    if override is not None:
        return Path(override)
    if env := os.environ.get(DATA_DIR_ENV):
        return Path(env)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
