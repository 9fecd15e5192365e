"""The console's look: a dark control-room theme by default, a light one on request.

One palette and one style sheet for the whole application, so the console, the trainer
and every dialog match. Dark because a monitoring desk is watched for hours in a dim
room; red is kept for what needs the officer (a match, an overdue incident).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QActionGroup, QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QMenu

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
THEMES = {"dark": "style-dark.qss", "light": "style.qss"}
DEFAULT_THEME = "dark"


def dark_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1b1f27",
        QPalette.ColorRole.WindowText: "#e6e9ef",
        QPalette.ColorRole.Base: "#12151b",
        QPalette.ColorRole.AlternateBase: "#1f242d",
        QPalette.ColorRole.ToolTipBase: "#2a303b",
        QPalette.ColorRole.ToolTipText: "#e6e9ef",
        QPalette.ColorRole.PlaceholderText: "#7d8696",
        QPalette.ColorRole.Text: "#e6e9ef",
        QPalette.ColorRole.Button: "#2a303b",
        QPalette.ColorRole.ButtonText: "#e6e9ef",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#2f6fde",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7fb0ff",
        QPalette.ColorRole.Mid: "#3a414e",
        QPalette.ColorRole.Dark: "#0d0f13",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    return p


def apply_theme(app: QApplication, name: str = DEFAULT_THEME) -> str:
    """Give the whole application the theme *name* (dark or light); returns the one set."""
    name = name if name in THEMES else DEFAULT_THEME
    app.setStyle("Fusion")  # the same widgets on every desktop, and palettes honoured
    app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())
    style = RESOURCES / THEMES[name]
    app.setStyleSheet(style.read_text(encoding="utf-8") if style.is_file() else "")
    icon = RESOURCES / "icons" / "app.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    app.setProperty("theme", name)
    return name


def current_theme() -> str:
    app = QApplication.instance()
    name = app.property("theme") if app is not None else None
    return name if name in THEMES else DEFAULT_THEME


def is_dark() -> bool:
    return current_theme() == "dark"


def add_theme_menu(menu: QMenu, settings: QSettings | None = None) -> QActionGroup:
    """View → Theme: Dark / Light, remembered in *settings*."""
    sub = menu.addMenu("Theme")
    group = QActionGroup(sub)
    for name in THEMES:
        action = sub.addAction(name.capitalize())
        action.setCheckable(True)
        action.setChecked(name == current_theme())
        action.setData(name)
        group.addAction(action)

    def chosen(action) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, action.data())
            if settings is not None:
                settings.setValue("theme", action.data())

    group.triggered.connect(chosen)
    return group
