"""What every tab receives: settings, the notification area, the pool for long jobs, the demo and
the devices. One object instead of globals, so tests build the window with their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QThreadPool

from grace_gui.demo import Demo
from grace_gui.settings import Settings
from grace_gui.widgets.notifications import NotificationBar


@dataclass
class AppContext:
    settings: Settings
    notifications: NotificationBar
    pool: QThreadPool  # long jobs: inference, CAM, run watching, imports
    demo: Demo | None = None
    gpus: list[str] = field(default_factory=list)  # "0: NVIDIA …" per CUDA GPU
    status: Callable[[str], None] = lambda _message: None  # a transient status-bar message

    def report(self, title: str):
        """A slot for a worker's ``error(message, details)`` signal."""
        return self.notifications.reporter(title)
