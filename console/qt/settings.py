"""Where the console remembers its windows (geometry, splitters, theme), and where files go.

Window settings live beside the record in the data folder, not in the officer's home:
each deployment desk (and each test) keeps its own, and nothing of the console is left
in a home folder that several officers may share.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from console.storage.database import private_file

SETTINGS_FILE = "window-settings.ini"


def window_settings(record_path: str | Path) -> QSettings:
    """The settings file for the record at *record_path* (the record's file, or its folder)."""
    path = Path(record_path)
    folder = path if path.is_dir() or not path.suffix else path.parent
    file = folder / SETTINGS_FILE
    if folder.is_dir():
        # 0600 like every file of the data folder; QSettings rewrites it through a saved
        # file that keeps the existing file's permissions.
        private_file(file)
    return QSettings(str(file), QSettings.Format.IniFormat)


def documents_folder() -> Path:
    """The officer's Documents folder (home if there is none): save dialogs open there,
    never in the code checkout or the data folder."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(found) if found else Path.home()
    return folder if folder.is_dir() else Path.home()
