"""What the application remembers between launches (QSettings), with JSON values so that lists
and numbers come back as they went in on every platform.

Keys are ``"<tab>/<what>"``: ``dataset/last_path``, ``inference/models``, ``window/geometry``.

One instance writes a settings file at a time: :func:`open_settings` takes a lock file beside it
(``<file>.owner``, a :class:`QLockFile` holding the owner's pid; not ``<file>.lock``, which
QSettings itself takes while it writes). A second instance on the same file gets read-only
settings: it reads what is there, keeps its own changes in memory for the session, and never
writes the file. A lock left by a process that no longer runs (a crash, a
kill) is stale and taken over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QLockFile, QSettings

SETTINGS_ENV = "GRACE_GUI_SETTINGS"  # an .ini path: tests and portable installs
READ_ONLY_NOTICE = "another GRACE Inspector is running: settings are read-only in this window"


def open_settings(path: str | None = None) -> Settings:
    """The user's settings, or the ini file ``path`` (or ``$GRACE_GUI_SETTINGS``), locked for
    writing by this instance when no other running instance holds them."""
    path = path or os.environ.get(SETTINGS_ENV)
    if path:
        return Settings(QSettings(path, QSettings.Format.IniFormat), lock=True)
    return Settings(QSettings("GRACE", "GRACE Inspector"), lock=True)


class Settings:
    """JSON values over a :class:`QSettings`; read-only when another instance holds the lock.

    Parameters
    ----------
    qsettings
        The store.
    lock
        Take ``<file>.owner`` before writing anything (``False``: write without a lock).
    """

    def __init__(self, qsettings: QSettings, lock: bool = False) -> None:
        self.q = qsettings
        self._lock: QLockFile | None = None
        self._memory: dict[str, Any] = {}  # a read-only instance's own changes
        self._cleared = False
        self.writable = True
        if lock:
            self._lock = _take_lock(self.lock_path)
            self.writable = self._lock is not None

    @property
    def lock_path(self) -> str:
        return self.q.fileName() + ".owner"

    def _raw(self, key: str) -> Any:
        if key in self._memory:
            return self._memory[key]
        return None if self._cleared else self.q.value(key)

    def _store(self, key: str, raw: Any) -> None:
        if self.writable:
            self.q.setValue(key, raw)
        else:
            self._memory[key] = raw

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            return json.loads(raw)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self._store(key, json.dumps(value))

    def remember(self, key: str, value: str, limit: int = 10) -> list[str]:
        """Put ``value`` first in the recent list ``key`` (no duplicates, at most ``limit``)."""
        items = [v for v in self.get(key, []) if v != value]
        items = [value, *items][:limit]
        self.set(key, items)
        return items

    def get_bytes(self, key: str) -> QByteArray | None:
        raw = self._raw(key)
        return raw if isinstance(raw, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self._store(key, value)

    def clear(self) -> None:
        """Forget everything (``grace-gui --demo``); a read-only instance forgets in memory."""
        if self.writable:
            self.q.clear()
        else:
            self._memory.clear()
            self._cleared = True

    def sync(self) -> None:
        if self.writable:
            self.q.sync()

    def close(self) -> None:
        """Write what is pending and release the lock (the window is closing); from then on
        this object writes nothing, as the next instance may own the file."""
        self.sync()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
            self.writable = False


def _take_lock(path: str) -> QLockFile | None:
    """The lock at ``path`` for this process, or ``None`` when a running process holds it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(path)
    lock.setStaleLockTime(0)  # stale only when its process is gone, however long it has run
    return lock if lock.tryLock(0) else None
