"""What the application remembers between launches (QSettings), with JSON values so that lists
and numbers come back as they went in on every platform.

Keys are ``"<tab>/<what>"``: ``dataset/last_path``, ``inference/models``, ``window/geometry``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_ENV = "GRACE_GUI_SETTINGS"  # an .ini path: tests and portable installs


def open_settings(path: str | None = None) -> Settings:
    """The user's settings, or the ini file ``path`` (or ``$GRACE_GUI_SETTINGS``)."""
    path = path or os.environ.get(SETTINGS_ENV)
    if path:
        return Settings(QSettings(path, QSettings.Format.IniFormat))
    return Settings(QSettings("GRACE", "GRACE Inspector"))


class Settings:
    def __init__(self, qsettings: QSettings) -> None:
        self.q = qsettings

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.q.value(key)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, json.dumps(value))

    def remember(self, key: str, value: str, limit: int = 10) -> list[str]:
        """Put ``value`` first in the recent list ``key`` (no duplicates, at most ``limit``)."""
        items = [v for v in self.get(key, []) if v != value]
        items = [value, *items][:limit]
        self.set(key, items)
        return items

    def get_bytes(self, key: str) -> QByteArray | None:
        raw = self.q.value(key)
        return raw if isinstance(raw, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
