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
    """The officer's Documents folder: save dialogs open there, never in the code checkout
    or the data folder. A home without one gets one (as the desktop's own set-up would
    make it), rather than exports landing loose in the home folder; if it cannot be made,
    the home folder."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    home = Path.home()
    folder = Path(found) if found else home / "Documents"
    if folder.is_dir():
        return folder
    try:
        if folder.parent.is_dir():
            folder.mkdir(mode=0o700)
            return folder
    except OSError:
        pass
    return home


_last_export: Path | None = None


def export_folder() -> Path:
    """Where an export dialog opens: the folder of the officer's last export this session
    (a USB stick, a case folder), else Documents."""
    if _last_export is not None and _last_export.is_dir():
        return _last_export
    return documents_folder()


def remember_export_folder(folder: Path) -> None:
    global _last_export
    _last_export = Path(folder)
