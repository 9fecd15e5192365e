"""Corrections from the window: a supervisor's from the history, and an officer's own
outcome just keyed (Ctrl+Z within the undo window opens its correction; an outcome is
never taken back, officers on the ground acted on it). The rules and the record are in
``console.live.corrections``; here the dialog, and the desk kept in step afterwards (a
decision corrected to Engage awaits its outcome at the desk, one corrected away from
Engage no longer does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.domain.alerts import Outcome
from console.domain.deployments import SafeguardError
from console.domain.incidents import RecentOutcome
from console.domain.officers import PermissionDenied
from console.live.corrections import correct_decision, correct_outcome
from console.qt.correction_dialog import CorrectionDialog
from console.qt.incident_card import plural
from console.storage import StorageError

if TYPE_CHECKING:
    from console.qt.main_window import MainWindow


class DeskCorrections:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.dialog: CorrectionDialog | None = None

    def correct_outcome_now(self, recent: RecentOutcome) -> CorrectionDialog:
        """Ctrl+Z just after an outcome: its officer corrects it, with a reason."""
        w = self.window
        asked = w.session.now() if w.session else datetime.now(UTC)
        dialog = CorrectionDialog(
            "outcome",
            recent.incident.subject_name,
            recent.outcome,
            recent.officer,
            list(Outcome),
            len(recent.incident.alerts),
            w,
            reason="keyed by mistake",
        )
        dialog.whole.setChecked(True)
        dialog.whole.setEnabled(False)  # the engagement's outcome was recorded whole

        def accepted() -> None:
            w.spawn(
                self._correct(
                    "outcome", recent.incident.alert_ids, dialog.value, dialog.reason.text(),
                    recent.outcome, recent, asked,
                )
            )

        dialog.accepted.connect(accepted)
        dialog.finished.connect(lambda _: w.focus_queue())
        self.dialog = dialog
        dialog.open()
        return dialog

    async def correct(self, what: str, alert_ids: list[str], value, reason: str, was) -> None:
        """From the history: a supervisor's correction (raises what refused it)."""
        await self._correct(what, alert_ids, value, reason, was, raise_errors=True)

    async def _correct(self, what, alert_ids, value, reason, was, own=None, asked=None,
                       raise_errors: bool = False) -> None:
        w = self.window
        assert w.session is not None
        try:
            if what == "decision":
                done = await correct_decision(w.session, alert_ids, value, reason)
            else:
                done = await correct_outcome(
                    w.session, alert_ids, value, reason, was, own, asked
                )
        except (StorageError, PermissionDenied, SafeguardError) as exc:
            if raise_errors:
                raise
            w.alerts.show_error(f"{what.capitalize()} NOT corrected: {exc}")
            return
        w.recent_outcome = None
        self._keep_desk_in_step(done.alert_ids)
        w.history_changed()
        w.show_message(
            f"{what.capitalize()} corrected to {done.to} for "
            f"{plural(len(done.alert_ids), 'alert')} by {w.officer}, with a reason"
        )

    def _keep_desk_in_step(self, alert_ids: list[str]) -> None:
        w = self.window
        if w.session is None:
            return
        records = {
            r.alert.alert_id: r
            for r in w.session.store.store.alerts.history(w.deployment.reference)
            if r.alert.alert_id in alert_ids
        }
        for alert_id, record in records.items():
            on_desk = w.alerts.queue.of_alert(alert_id)
            if record.awaiting_outcome and on_desk is None:
                at = record.correction.corrected_at if record.correction else None
                w.alerts.show_alert(record.alert, w.photo(record.alert.subject_id), at)
            elif not record.awaiting_outcome and on_desk is not None and on_desk.engaged:
                w.alerts.remove_alerts(on_desk.incident_id, [alert_id])
