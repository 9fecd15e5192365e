"""Import watchlist…: enrol a folder into the planned deployment from the window, with
progress; a refusal lists every rejected row, and a supervisor may override the under-18
rule for the rows it refused (audited)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from console.domain.officers import Permission, PermissionDenied
from console.domain.watchlist import WatchlistError
from console.live.setup import import_watchlist
from console.qt.incident_card import plural
from console.storage import StorageError

if TYPE_CHECKING:
    from console.qt.main_window import MainWindow


class WatchlistImport:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.rejections: WatchlistError | None = None
        self.rejections_box: QMessageBox | None = None

    def choose(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Watchlist folder", str(w.plan.watchlist))
        if folder:
            w.spawn(self.run(Path(folder)))

    async def run(self, folder: Path, minors_allowed: dict[str, str] | None = None) -> None:
        w = self.window
        if w.session is None:
            return
        session = w.session
        store = session.store.store
        plan = replace(w.plan, watchlist=folder)
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(w.show_progress, "Enrolling watchlist", done, total)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="import") as waiter:
                deployment = await loop.run_in_executor(
                    waiter,
                    lambda: import_watchlist(
                        store,
                        plan,
                        session.deployment,
                        w.officer,
                        session.pool,
                        progress,
                        minors_allowed,
                    ),
                )
        except WatchlistError as exc:
            w.bar.show_refusal(f"Watchlist refused: {plural(len(exc.rejections), 'row')} rejected")
            self.rejections = exc
            minors = [r for r in exc.rejections if "under 18" in r.reason]
            if minors and len(minors) == len(exc.rejections) and w.officer.may(
                Permission.OVERRIDE
            ):
                if self._confirm_minors(minors):
                    allowed = {r.subject_id: str(w.officer) for r in minors}
                    await self.run(folder, allowed)
                return
            self._show_rejections(exc)
            return
        except (StorageError, PermissionDenied) as exc:
            w.bar.show_refusal(f"Refused: {exc}")
            return
        session.use_watchlist(deployment, store.deployments.load_watchlist(deployment.reference))
        w.bar.show_note(f"Watchlist imported: {plural(len(session.watchlist), 'subject')}.")
        w.show_watchlist_photos()  # issue 24: where a second photo would help

    def _show_rejections(self, exc: WatchlistError) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Watchlist refused",
            str(exc).splitlines()[0],
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setDetailedText("\n".join(str(r) for r in exc.rejections))
        box.setInformativeText("Nothing was imported. Fix the rows listed, then import again.")
        box.open()  # not exec(): the event loop (and the feeds) keep running
        self.rejections_box = box

    def _confirm_minors(self, minors: list) -> bool:
        names = ", ".join(r.subject_id for r in minors)
        answer = QMessageBox.question(
            self.window,
            "Under-18 subjects",
            f"{len(minors)} subject{'s are' if len(minors) != 1 else ' is'} under 18 "
            f"({names}). As supervisor, override the rule for them? The override is "
            "recorded in the audit trail.",
        )
        return answer == QMessageBox.StandardButton.Yes
