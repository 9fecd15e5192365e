"""A console to be killed by a test: the sample deployment's window (offscreen), started,
printing its own live time and faces seen every 0.2 s until it is killed.

    python -m tests.console_child DATA_DIR
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


async def run(data_dir: Path) -> None:
    from console.config import SAMPLE_DEPLOYMENT, load_plan
    from console.domain.officers import Role
    from console.qt.app import open_console
    from console.storage import Store
    from console.vision.pool import AnalysisPool

    store = Store.in_dir(data_dir)
    if not store.officers.count():
        store.officers.add("ward", "PC 4821 Ward", Role.SUPERVISOR, "correct horse", "test")
    officer = store.officers.authenticate("ward", "correct horse")
    with AnalysisPool() as pool:
        console = await open_console(load_plan(SAMPLE_DEPLOYMENT), store, officer, pool)
        session = console.session
        await session.confirm_officers_present()
        await session.start()
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            faces = sum(f.counters.people_seen for f in session.feeds)
            print(f"live {time.monotonic() - started:.3f} faces {faces}", flush=True)


def main() -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(run(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
