"""Equality monitoring at the desk: after an engagement's outcome, the officer may record
the engaged person's perceived ethnicity code, sex and age band (#27).

Asked only when the site policy's ``equality_monitoring`` is on. Every field starts at
"Not recorded" and the dialog never blocks: **Record** keeps what was chosen (all "not
recorded" is a valid answer), **Skip** or Escape records nothing. Presents and forwards
only: the codes are the domain's (``console.domain.equality``), the write and its audit
entry the record's (``console.storage.equality``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from console.domain.equality import ATTRIBUTES, NOT_RECORDED, EqualityFields

if TYPE_CHECKING:
    from console.live.session import MonitoringSession


class EqualityDialog(QDialog):
    def __init__(self, subject_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Equality monitoring")
        self.setObjectName("equalityDialog")
        intro = QLabel(
            f"Outcome recorded for the engagement on <b>{_plain(subject_name)}</b>.<br>"
            "How did the person engaged appear to you? Optional: leave any field "
            "<i>Not recorded</i>."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        self.fields: dict[str, QComboBox] = {}
        for attribute in ATTRIBUTES:
            box = QComboBox()
            box.setObjectName(f"equality-{attribute.key}")
            box.addItem("Not recorded", NOT_RECORDED)
            for code, label in attribute.choices.items():
                text = f"{code}: {label}" if attribute.key == "ethnicity_code" else label
                box.addItem(text, code)
            form.addRow(attribute.label, box)
            self.fields[attribute.key] = box
        buttons = QDialogButtonBox()
        self.record_button = buttons.addButton("Record", QDialogButtonBox.ButtonRole.AcceptRole)
        self.skip_button = buttons.addButton("Skip", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def answers(self) -> EqualityFields:
        return EqualityFields(**{k: box.currentData() for k, box in self.fields.items()})


def _plain(text: str) -> str:
    from html import escape

    return escape(text)


async def ask_and_record(parent: QWidget, session: MonitoringSession, alert_ids: list[str],
                         subject_name: str) -> EqualityFields | None:
    """Ask (when the site policy says so) and record the answers for each alert of the
    engagement; None when not asked or skipped. A failed write raises StorageError."""
    if not session.policy.equality_monitoring or not alert_ids:
        return None
    dialog = EqualityDialog(subject_name, parent)
    answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    dialog.finished.connect(lambda result: answered.done() or answered.set_result(result))
    dialog.open()
    result = await answered
    if result != QDialog.DialogCode.Accepted:
        return None
    fields = dialog.answers()
    records = session.store.store.equality
    for alert_id in alert_ids:
        await session.store.call(records.record, alert_id, fields, str(session.officer),
                                 session.now())
    return fields
