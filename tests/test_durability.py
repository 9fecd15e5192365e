"""Nothing lost: decisions acknowledged to the officer survive a kill at any moment, and
the open work of the active deployment comes back on restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

from console.domain.alerts import Decision
from console.domain.deployments import Deployment
from console.domain.officers import Officer, Role
from console.domain.watchlist import Watchlist
from console.live.session import MonitoringSession
from console.storage import AsyncStore, Store
from tests.conftest import REPO

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    import numpy as np
    from console.domain.alerts import Adjudication, Alert, Decision, Evidence
    from console.storage import AsyncStore, Store

    async def main(folder):
        store = AsyncStore(Store.in_dir(folder))
        for n in range(100_000):
            alert = Alert(f"a-{n}", "north", "WL-1", "Ann", "wanted by the courts", 0.3, 0.4,
                          1.0, n, (1, 2, 3, 4), datetime.now(UTC),
                          np.full((60, 50, 3), n % 255, np.uint8), [Evidence(n, 1.0, 0.3)])
            await store.call(store.store.alerts.save, "DEP-1", alert)
            decision = [Decision.ENGAGE, Decision.FALSE_MATCH][n % 2]
            await store.call(store.store.alerts.record_decision,
                             Adjudication(alert.alert_id, decision, "PC 1", datetime.now(UTC)))
            # Only now would the card tell the officer the decision was taken.
            print(alert.alert_id, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_a_kill_at_any_moment_loses_no_acknowledged_decision(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        acknowledged.append(child.stdout.readline().strip())
    os.kill(child.pid, signal.SIGKILL)  # mid-write, most likely: it writes non-stop
    child.wait(timeout=10)
    acknowledged += [line.strip() for line in child.stdout.read().splitlines() if line.strip()]
    assert len(acknowledged) >= 40
    store = Store.in_dir(tmp_path)
    for alert_id in acknowledged:
        assert store.alerts.decision_for(alert_id) is not None, f"{alert_id} was lost"
    assert store.audit.verify().intact


def test_open_alerts_of_the_active_deployment_come_back_after_a_crash(tmp_path):
    # The first run: a deployment is live, alerts are raised, some decided, then a crash.
    child = textwrap.dedent(
        """
        import sys, os, signal
        from datetime import UTC, datetime, timedelta
        import numpy as np
        from console.domain.alerts import Adjudication, Alert, Decision, Evidence, Outcome
        from console.domain.alerts import OutcomeReport
        from console.domain.deployments import Deployment
        from console.storage import Store

        store = Store.in_dir(sys.argv[1])
        now = datetime.now(UTC)
        d = Deployment("CR-7", "Croydon", ("north",), "J. Smith", "Supt", now,
                       now + timedelta(hours=4), 0.4, watchlist_created_at=now,
                       officers_present_confirmed_by="PC 1")
        store.deployments.create(d, "PC 1")
        store.deployments.update(d.start(now), "PC 1", "deployment started")
        for n, decision in enumerate([None, None, "engage", "engage", "false_match"]):
            a = Alert(f"a-{n}", "north", "WL-1", "Ann", "missing person at risk", 0.3, 0.4,
                      1.0, n, (1, 2, 3, 4), now, np.full((60, 50, 3), 90, np.uint8),
                      [Evidence(n, 1.0, 0.3)])
            store.alerts.save("CR-7", a)
            if decision:
                store.alerts.record_decision(
                    Adjudication(a.alert_id, Decision(decision), "PC 1", now))
        store.alerts.record_outcome(OutcomeReport("a-3", Outcome.ARRESTED, "PC 1", now))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", child, str(tmp_path)], cwd=REPO)
    assert result.returncode == -signal.SIGKILL

    class Recorder:
        def __init__(self):
            self.restored = []

        def alert_restored(self, alert, adjudication):
            self.restored.append((alert.alert_id, adjudication and adjudication.decision))

        def __getattr__(self, name):
            return lambda *args: None

    async def restart():
        store = Store.in_dir(tmp_path)
        deployment = store.deployments.get("CR-7")
        recorder = Recorder()
        session = MonitoringSession(
            deployment,
            [],
            Watchlist(tmp_path, []),
            None,
            AsyncStore(store),
            Officer("pc1", "PC 1", Role.OPERATOR),
            recorder,
            policy=store.policy.current(),
        )
        session.open()
        await session.close()
        return session, recorder

    session, recorder = asyncio.run(restart())
    assert sorted(recorder.restored) == [("a-0", None), ("a-1", None), ("a-2", Decision.ENGAGE)]
    assert set(session.pending) == {"a-0", "a-1"} and set(session.engaged) == {"a-2"}
    assert isinstance(session.deployment, Deployment) and session.deployment.is_active
    assert session.pending["a-0"].crop_rgb.shape == (60, 50, 3)
    assert datetime.now(UTC) - session.pending["a-0"].raised_at < timedelta(minutes=5)
