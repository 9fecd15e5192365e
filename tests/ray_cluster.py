"""A real Ray cluster for tests: a head and worker nodes started with ``ray start`` inside
a private network namespace, so every socket is on that namespace's loopback and nothing
leaves the machine (see /work/shared/NOTES.md, "Ray").

The namespace is held open by one ``sleep`` process started with ``unshare --net``; every
command of the cluster (``ray start``, the console as its client) joins it with
``nsenter --net=/proc/PID/ns/net``. Each node is one ``ray start --block`` process: its
raylet, object store and actor processes are its descendants, so a node is stopped (or
killed, to test a node failure) by the ids of exactly the processes this helper started,
never by name (``ray stop`` would stop every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RAY = Path(sys.executable).parent / "ray"
HEAD_PORT = 6391
NODE_START_S = 120.0  # a node starts in ~5 s idle; the shared machine can be much slower
# Spilling off: frames and encodings must never be written to a node's disk. Health
# checks every second, three misses: a dead node is declared within a few seconds.
SYSTEM_CONFIG = {
    "automatic_object_spilling_enabled": False,
    "health_check_period_ms": 1000,
    "health_check_failure_threshold": 3,
}


class ClusterUnavailable(Exception):
    """This machine cannot make a private network namespace (not root, no unshare)."""


def namespace_problem() -> str | None:
    """Why a private network namespace cannot be made here, or None if it can."""
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (util-linux / iproute2)"
    done = subprocess.run(
        ["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True, text=True
    )
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip() or done.returncode}"
    return None


def write_token(path: Path, token: str | None = None) -> Path:
    path.write_text((token or secrets.token_hex(32)) + "\n")
    path.chmod(0o600)
    return path


@dataclass
class Node:
    label: str
    process: subprocess.Popen
    log: Path
    head: bool

    def wait_started(self, timeout: float = NODE_START_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace") if self.log.exists() else ""
            if "Ray runtime started" in text:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.label} did not start:\n{text[-3000:]}")
            time.sleep(0.5)
        raise RuntimeError(f"node {self.label} did not start in {timeout:.0f} s")

    def processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the node's every process at once: a machine losing power."""
        for proc in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        procs = self.processes()
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
        if self.process.poll() is None:
            self.process.wait(timeout=10)


@dataclass
class LocalCluster:
    """A head and worker nodes on loopback in a private network namespace."""

    folder: Path
    token_file: Path
    # RAY_TMPDIR: short, because Ray's socket paths below it must fit AF_UNIX's 107 bytes
    # (a pytest tmp_path does not); removed at close.
    namespace: subprocess.Popen | None = None
    nodes: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{HEAD_PORT}"

    tmpdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lfr-ray-")))

    def env(self, token_file: Path | None = None, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("RAY_AUTH_TOKEN", "RAY_ADDRESS"):
            env.pop(key, None)
        env.update(
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN_PATH=str(token_file or self.token_file),
            RAY_TMPDIR=str(self.tmpdir),
            RAY_USAGE_STATS_ENABLED="0",
            PYTHONPATH=str(REPO),
            QT_QPA_PLATFORM="offscreen",
        )
        env.update(extra)
        return env

    def enter(self) -> list[str]:
        """The command prefix that runs a program inside the namespace."""
        assert self.namespace is not None
        return ["nsenter", f"--net=/proc/{self.namespace.pid}/ns/net", "--"]

    def open_namespace(self) -> None:
        problem = namespace_problem()
        if problem:
            raise ClusterUnavailable(problem)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        # unshare execs bash, which execs sleep: the Popen's pid holds the namespace.
        self.namespace = subprocess.Popen(
            ["unshare", "--net", "bash", "-c", "ip link set lo up && exec sleep infinity"]
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait for lo to be up inside
            done = subprocess.run(
                [*self.enter(), "ip", "-o", "link", "show", "lo"], capture_output=True, text=True
            )
            if "UP" in done.stdout.split("state")[-1] or ",UP" in done.stdout:
                return
            time.sleep(0.1)
        raise ClusterUnavailable("loopback did not come up in the namespace")

    def start_node(self, label: str, head: bool = False, cpus: int = 1) -> Node:
        args = [str(RAY), "start", "--block", f"--num-cpus={cpus}", "--disable-usage-stats"]
        args += ["--labels", f"lfr-node={label}"]
        if head:
            args += [
                "--head",
                f"--port={HEAD_PORT}",
                "--include-dashboard=false",
                f"--system-config={json.dumps(SYSTEM_CONFIG)}",
            ]
        else:
            args += [f"--address={self.address}"]
        log = self.folder / f"node-{label}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [*self.enter(), *args], env=self.env(), stdout=out, stderr=subprocess.STDOUT
            )
        node = Node(label, process, log, head)
        self.nodes.append(node)
        node.wait_started()
        return node

    def run(
        self, args: list[str], timeout: float = 600, token_file: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess:
        """Run a command (the console, a client script) inside the namespace."""
        return subprocess.run(
            [*self.enter(), *args],
            env=self.env(token_file, **env),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )

    def popen(self, args: list[str], token_file: Path | None = None, **env: str):
        return subprocess.Popen(
            [*self.enter(), *args],
            env=self.env(token_file, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )

    def close(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        self.nodes.clear()
        if self.namespace is not None:
            self.namespace.kill()
            self.namespace.wait(timeout=10)
            self.namespace = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def start_cluster(folder: Path, labels: tuple[str, ...] = ("head", "edge")) -> LocalCluster:
    """A head (labelled labels[0]) and one worker per further label, one CPU each."""
    folder.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(folder, write_token(folder / "auth_token"))
    try:
        cluster.open_namespace()
        cluster.start_node(labels[0], head=True)
        for label in labels[1:]:
            cluster.start_node(label)
    except BaseException:
        cluster.close()
        raise
    return cluster
