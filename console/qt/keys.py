"""Keyboard shortcuts: the console is keyboard first."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


def install_shortcuts(window: QWidget, bindings: dict[str, Callable[[], object]]) -> list:
    """One window-wide shortcut per key; keep the returned list alive with the window."""
    shortcuts = []
    for key, action in bindings.items():
        shortcut = QShortcut(QKeySequence(key), window)
        shortcut.activated.connect(action)
        shortcuts.append(shortcut)
    return shortcuts
