"""Camera analysis on a real Ray cluster, the console as its client.

A head and one worker node (one CPU each, labelled ``head`` and ``edge``) are started
with ``ray start`` inside a private network namespace that this module creates, so every
socket is on that namespace's loopback (tests/ray_cluster.py). The console runs inside it
too, as the command line (``replay --engine ray``) or as tests/ray_client.py.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from console.config import DEFAULT_FALSE_ALERT_RATE, ConfigError, load_plan
from console.engine import EngineError, EngineSettings, Placement
from console.engine.camera import CameraWork, slim_watchlist
from console.engine.ray_backend import read_token_file
from console.replay import replay
from console.vision.operating_point import threshold_for
from console.vision.sources import SourceSpec
from tests.conftest import SAMPLES, write_street_clip
from tests.ray_cluster import ClusterUnavailable, start_cluster, write_token

PYTHON = sys.executable
CLIENT = str(Path(__file__).resolve().parent / "ray_client.py")


# -- without a cluster: the camera's work and the settings -------------------------------


def run_camera(work: CameraWork) -> list:
    work.start()
    reports = []
    while True:
        reports.append(work.poll(0.5))
        if reports[-1].done:
            return reports


def test_a_camera_on_the_video_clock_raises_the_local_replays_alerts(
    street_clip, sample_watchlist, process_pool
):
    threshold = threshold_for(DEFAULT_FALSE_ALERT_RATE, len(sample_watchlist))
    spec = SourceSpec("north", str(street_clip))
    local, _ = replay([spec], sample_watchlist, process_pool, threshold)
    reports = run_camera(CameraWork(spec, slim_watchlist(sample_watchlist), threshold,
                                    realtime=False))
    crossed = {}
    for report in reports:
        for wired in report.alerts:
            crossed[wired.alert.alert_id] = wired.restored(crossed.get(wired.alert.alert_id))
    assert [a.to_record() for a in local] == [crossed[a.alert_id].to_record() for a in local]
    assert len(crossed) == len(local) == 1
    # The crop crosses losslessly: the officer compares the very pixels the local one shows.
    assert np.array_equal(crossed[local[0].alert_id].crop_rgb, local[0].crop_rgb)
    assert reports[-1].state == "ended" and reports[-1].counters.frames_decoded == 150


def test_only_alerts_previews_counts_and_health_leave_a_camera(tmp_path, sample_watchlist):
    """North 0-6 s: a passer-by (not watchlisted) walks past. Nothing of their face
    crosses: no alert, no array (no encoding, no crop), a box without a name."""
    clip = tmp_path / "passer_by.avi"
    import cv2

    capture = cv2.VideoCapture(str(SAMPLES / "north.mp4"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 25, (1280, 720))
    for _ in range(125):
        writer.write(capture.read()[1])
    writer.release()
    threshold = threshold_for(DEFAULT_FALSE_ALERT_RATE, len(sample_watchlist))
    work = CameraWork(SourceSpec("north", str(clip)), slim_watchlist(sample_watchlist),
                      threshold, realtime=False, preview_fps=10)
    reports = run_camera(work)
    assert reports[-1].counters.faces_detected > 5, "the passer-by's face was seen"
    assert not any(r.alerts for r in reports)
    for report in reports:
        for name, value in vars(report).items():
            assert not isinstance(value, np.ndarray), name
        assert all(label is None for _, label in report.boxes)
    previews = [r.preview_jpeg for r in reports if r.preview_jpeg]
    assert previews and all(p[:2] == b"\xff\xd8" for p in previews)  # JPEG
    widths = {cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR).shape[1]
              for p in previews}
    assert widths == {960}, "downscaled from 1280 to at most 960 px"
    # At most 10 previews a second of video: 5 s of video here.
    assert len(previews) <= 5 * 10 + 1


def test_the_watchlist_sent_to_a_node_holds_no_photo_image_or_path(sample_watchlist):
    slim = slim_watchlist(sample_watchlist)
    ids = [s.subject_id for s in sample_watchlist.subjects]
    assert [s.subject_id for s in slim.subjects] == ids
    assert np.array_equal(slim.encodings, sample_watchlist.encodings)
    for subject in slim.subjects:
        assert subject.photo_rgb.size == 0 and subject.image_jpeg == b""
        assert subject.entry.image_path == Path() and subject.entry.extra == {}


def test_the_token_file_must_be_private_and_named(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    with pytest.raises(EngineError, match="needs its token"):
        read_token_file(None)
    token = write_token(tmp_path / "token")
    assert read_token_file(token) == token
    token.chmod(0o644)
    with pytest.raises(EngineError, match="may be read by others.*chmod 600"):
        read_token_file(token)
    with pytest.raises(EngineError, match="cannot read"):
        read_token_file(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(EngineError, match="is empty"):
        read_token_file(empty)
    with pytest.raises(EngineError, match="HOST:PORT"):
        EngineSettings("ray", "127.0.0.1")
    with pytest.raises(EngineError, match="not a node label"):
        EngineSettings("ray", "127.0.0.1:6379", placements={"north": Placement("a b")})


def test_a_plan_names_the_engine_and_pins_cameras_each_value_checked(tmp_path):
    (tmp_path / "watchlist").mkdir()
    base = """reference = "CR-1"
site = "Croydon"
watchlist = "watchlist"
authorised_by = "J. Hart"
authorised_rank = "Superintendent"
"""
    good = tmp_path / "good.toml"
    good.write_text(base + """engine = "ray"
ray_address = "10.0.0.5:6379"
ray_token_file = "cluster.token"
[[camera]]
name = "north"
source = "north.mp4"
node = "croydon-north-edge"
node_fallback = true
[[camera]]
name = "south"
source = "south.mp4"
""")
    plan = load_plan(good)
    assert (plan.engine, plan.ray_address) == ("ray", "10.0.0.5:6379")
    assert plan.ray_token_file == tmp_path / "cluster.token"
    assert plan.placements == {"north": Placement("croydon-north-edge", True)}
    bad = tmp_path / "bad.toml"
    bad.write_text(base + """engine = "spark"
ray_address = "10.0.0.5"
[[camera]]
name = "north"
source = "north.mp4"
node = "edge; rm -rf /"
node_fallback = "yes"
rack = 3
""")
    with pytest.raises(ConfigError) as refused:
        load_plan(bad)
    message = str(refused.value)
    for key in ("engine:", "ray_address:", "camera 1 node:", "camera 1 node_fallback:",
                "camera 1 rack:"):
        assert key in message, message
    no_address = tmp_path / "no_address.toml"
    no_address.write_text(base + 'engine = "ray"\n')
    with pytest.raises(ConfigError, match="ray_address: is missing"):
        load_plan(no_address)


def test_the_live_console_on_a_cluster_it_cannot_reach_fails_before_its_window_opens(
    tmp_path,
):
    """`run --engine ray`: an address that does not answer is said at once (exit 2, no
    window, no hang); a local replay refuses node placements."""
    import subprocess

    from tests.conftest import REPO

    token = write_token(tmp_path / "token")
    done = subprocess.run(
        [sys.executable, "-m", "console", "run", "--engine", "ray", "--ray-address",
         "127.0.0.1:9", "--ray-token-file", str(token), "--data-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "console", "replay", "--camera", f"north={SAMPLES / 'north.mp4'}",
         "--watchlist", str(SAMPLES / "watchlist"), "--node", "north=edge"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 2 and "add --engine ray" in done.stderr


def test_a_deployment_whose_cluster_cannot_run_its_cameras_is_refused_and_stays_planned(
    tmp_path,
):
    """The cluster went away between opening and starting: the start is refused with
    the reason (shown on the bar as any refusal), the deployment stays planned, the tiles
    say why, and the record shows no start."""
    import asyncio

    from console.domain.deployments import DeploymentState, SafeguardError
    from tests.ray_client import open_live_session

    token = write_token(tmp_path / "token")

    async def scenario():
        session, store, recorder = open_live_session("127.0.0.1:9", str(token),
                                                     str(tmp_path / "record"))
        session.open()
        await session.confirm_officers_present()
        with pytest.raises(SafeguardError, match="cannot reach the Ray cluster at 127.0.0.1:9"):
            await session.start()
        state = session.deployment.state
        await session.close()
        return state, store, recorder

    state, store, recorder = asyncio.run(scenario())
    assert state == DeploymentState.PLANNED
    assert any(s == "failed" and "cannot reach the Ray cluster" in d
               for s, d in recorder.states["north"])
    actions = [e.action for e in store.audit.entries()]
    assert "deployment started" not in actions
    assert "deployment purged from the Ray cluster" not in actions


# -- on a real cluster -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        running = start_cluster(tmp_path_factory.mktemp("cluster"))
    except ClusterUnavailable as exc:
        pytest.skip(f"no private network namespace for a Ray cluster: {exc}")
    yield running
    running.close()


@pytest.fixture(scope="module")
def node_ids(cluster) -> dict[str, str]:
    """label -> node id, as the cluster itself reports them."""
    done = cluster.run([PYTHON, CLIENT, "nodes", cluster.address, str(cluster.token_file)])
    assert done.returncode == 0, done.stderr[-3000:]
    nodes = json.loads(done.stdout.splitlines()[-1])["nodes"]
    return {label: node for node, label in nodes.items()}


def console_replay(cluster, *args: str, token_file: Path | None = None):
    return cluster.run(
        [PYTHON, "-m", "console", "--quiet", "replay", *args],
        token_file=token_file,
        timeout=900,
    )


def test_replay_on_the_cluster_gives_the_local_alerts_on_the_nodes_named(
    cluster, node_ids, sample_watchlist, process_pool, tmp_path
):
    """Both sample streams, north pinned to the head and south to the edge node: exactly
    the alerts of the local engine (the replay runs on the video clock), each camera
    served by the node it was pinned to."""
    out = tmp_path / "ray.jsonl"
    done = console_replay(
        cluster,
        "--camera", f"north={SAMPLES / 'north.mp4'}",
        "--camera", f"south={SAMPLES / 'south.mp4'}",
        "--watchlist", str(SAMPLES / "watchlist"),
        "--engine", "ray", "--ray-address", cluster.address,
        "--ray-token-file", str(cluster.token_file),
        "--node", "north=head", "--node", "south=edge",
        "--out", str(out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cameras = [SourceSpec("north", str(SAMPLES / "north.mp4")),
               SourceSpec("south", str(SAMPLES / "south.mp4"))]
    threshold = threshold_for(DEFAULT_FALSE_ALERT_RATE, len(sample_watchlist))
    local, local_summary = replay(cameras, sample_watchlist, process_pool, threshold)
    on_cluster = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(local) >= 4
    assert on_cluster == [a.to_record() for a in local]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["frames_analysed"] == local_summary.frames_analysed
    assert summary["nodes"] == {"north": [node_ids["head"]], "south": [node_ids["edge"]]}
    assert node_ids["head"] != node_ids["edge"]
    assert "purged on the Ray cluster" in done.stdout


def test_a_wrong_token_an_open_token_file_and_no_cluster_are_refused_clearly(
    cluster, tmp_path
):
    common = ["--camera", f"north={SAMPLES / 'north.mp4'}",
              "--watchlist", str(SAMPLES / "watchlist"), "--engine", "ray"]
    wrong = write_token(tmp_path / "wrong")
    done = console_replay(cluster, *common, "--ray-address", cluster.address,
                          "--ray-token-file", str(wrong))
    assert done.returncode == 2
    assert "refused the console's token" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    readable = write_token(tmp_path / "readable", cluster.token_file.read_text().strip())
    readable.chmod(0o644)
    done = console_replay(cluster, *common, "--ray-address", cluster.address,
                          "--ray-token-file", str(readable))
    assert done.returncode == 2 and "may be read by others" in done.stderr
    done = console_replay(cluster, *common, "--ray-address", "127.0.0.1:6999",
                          "--ray-token-file", str(cluster.token_file))
    assert done.returncode == 2
    assert "cannot reach the Ray cluster at 127.0.0.1:6999" in done.stderr, done.stderr[-2000:]
    # A camera pinned to a node the cluster does not have is refused, not left pending.
    done = console_replay(cluster, *common, "--ray-address", cluster.address,
                          "--ray-token-file", str(cluster.token_file), "--node", "north=nowhere")
    assert done.returncode == 2 and "no node of the cluster is labelled 'nowhere'" in done.stderr


def test_a_concluded_deployment_leaves_no_actor_and_no_watchlist_on_the_cluster(
    cluster, node_ids, tmp_path, sample_watchlist
):
    clip = write_street_clip(tmp_path / "street.avi")
    done = cluster.run([PYTHON, CLIENT, "purge", cluster.address, str(cluster.token_file),
                        str(clip)], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["alerted"] == ["north", "south"]
    # The check can see the watchlist object while the cameras run ...
    assert result["in_store_during"], "the watchlist object should be visible while running"
    # ... and it is gone from every node's store, and unreferenced, after conclusion.
    assert not result["in_store_after"] and not result["referenced_after"]
    assert set(result["actor_states"].values()) == {"DEAD"}
    assert set(result["receipt_nodes"]) == {node_ids["head"], node_ids["edge"]}
    assert result["receipt_labels"] == {node_ids["head"]: "head", node_ids["edge"]: "edge"}
    assert result["previews"] > 0 and max(result["preview_widths"]) <= 960
    assert result["arrays_in_reports"] == []
    # Nothing of the watchlist was written to the nodes' disk (logs, session files, no
    # spilled objects): its encodings' bytes are in no file the cluster wrote.
    probes = [e.astype(dtype).tobytes()[:32] for e in sample_watchlist.encodings
              for dtype in (np.float64, np.float32)]
    written = [f for f in [*cluster.tmpdir.rglob("*"), *cluster.folder.glob("*.log")]
               if f.is_file() and not f.is_symlink()]
    assert len(written) > 10, "the scan should see the cluster's files"
    assert not [f for f in written if "spill" in str(f)]
    for f in written:
        data = f.read_bytes()
        assert not any(probe in data for probe in probes), f


def test_a_live_deployment_on_the_cluster_alerts_audits_its_nodes_and_leaves_nothing(
    cluster, node_ids, tmp_path
):
    """The live console's session on engine ray (the sample plan: both streams, north
    pinned to the head, south to the edge): no actor before the start; alerts from both
    cameras reach the session and the record as the desk's do, with previews at most
    960 px; the audit names the engine, the cluster's address and each camera's node;
    after conclusion no actor is alive and the watchlist is in no node's store."""
    done = cluster.run([PYTHON, CLIENT, "live", cluster.address, str(cluster.token_file),
                        str(tmp_path / "record")], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert not result["connected_before_start"], "nothing goes to the cluster before the start"
    new_alerts = [a for a in result["alerts"] if a[3]]
    assert {(camera, subject) for _, camera, subject, _, _ in new_alerts} >= {
        ("north", "WL-0001"), ("south", "WL-0002")}
    assert all(crop for *_, crop in new_alerts), "each alert card has its face crop"
    assert {a[0] for a in new_alerts} <= set(result["saved_alerts"])
    # Counts (never who) reach the record as the desk's: faces seen, frames, time live.
    for camera in ("north", "south"):
        faces, frames, live_s = result["counts"][camera]
        assert faces > 0 and frames > 0 and live_s > 0, result["counts"]
    assert result["errors"] == []
    for camera, (count, width, scales) in result["frames"].items():
        assert count > 10 and width <= 960 and scales == [0.75], (camera, width, scales)
    assert ["live", ""] in result["states"]["north"]
    audit = result["audit"]
    started = next(d for _, action, d in audit if action == "deployment started")
    assert started["engine"] == "ray" and started["ray_address"] == cluster.address
    assert started["camera_nodes"] == {
        "north": [{"node": node_ids["head"], "label": "head"}],
        "south": [{"node": node_ids["edge"], "label": "edge"}],
    }
    purged = next(d for _, action, d in audit if action == "deployment purged from the Ray cluster")
    assert purged["nodes"] == {node_ids["head"]: "head", node_ids["edge"]: "edge"}
    assert purged["actors_killed"] == 2 and purged["why"] == "deployment concluded"
    actions = [action for _, action, _ in audit]
    assert actions.index("deployment purged from the Ray cluster") < actions.index(
        "watchlist deleted")
    assert result["audit_intact"]
    assert any("purged on the Ray cluster" in line for line in result["concluded"]["ray_purge"])
    assert result["object_in_store_during"] and not result["object_in_store_after"]
    assert result["actor_states"] == ["DEAD", "DEAD"]
    assert not result["ray_connected_after_close"]


def test_killing_the_worker_node_moves_its_camera_to_the_head_and_alerts_resume(
    cluster, node_ids, tmp_path
):
    """The live console's session, its camera on the edge node (falling back to any
    other). Kill that node: the tile says RECONNECTING with the reason, then LIVE on the
    head; alerts raised before stay in the queue, new ones follow; the audit records the
    move. Runs last: it kills the module's worker node."""
    clip = write_street_clip(tmp_path / "street.avi")
    go = tmp_path / "killed"
    client = cluster.popen([PYTHON, CLIENT, "failover", cluster.address,
                            str(cluster.token_file), str(clip), str(go), str(tmp_path / "rec")])
    try:
        line = client.stdout.readline()
        assert line, client.stderr.read()[-3000:]
        first = json.loads(line)
        assert first["kill"] == node_ids["edge"], "the camera starts on its preferred node"
        edge = next(n for n in cluster.nodes if n.label == "edge")
        edge.kill()
        go.write_text(repr(time.time()))
        out, err = client.communicate(timeout=300)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err[-3000:]
    result = json.loads(out.splitlines()[-1])
    assert result["nodes"] == [node_ids["edge"], node_ids["head"]]
    assert result["moved_after_s"] < 30
    states = result["states"]
    lost = next(i for i, (state, reason) in enumerate(states)
                if state == "reconnecting" and re.search("node .* lost", reason))
    assert ["live", ""] in states[lost:], states
    # Alerts raised before the failure stay in the queue; new ones follow on the head.
    assert set(first["alerts"]) <= set(result["pending"])
    assert len(result["alerts"]) > len(first["alerts"])
    assert node_ids["edge"] not in result["alive"]
    audit = {action: details for _, action, details in result["audit"]}
    assert audit["deployment started"]["camera_nodes"] == {
        "north": [{"node": node_ids["edge"], "label": "edge"}]}
    moved = audit["camera served by a Ray node"]
    assert (moved["camera"], moved["node"], moved["label"]) == ("north", node_ids["head"], "head")
    assert moved["why"].startswith(f"moved from node {node_ids['edge']}: node ")
    assert audit["deployment purged from the Ray cluster"]["nodes"] == {
        node_ids["edge"]: "edge", node_ids["head"]: "head"}
    assert result["audit_intact"]
