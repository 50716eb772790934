"""How long the GUI thread stays blocked: a timer that should fire every few milliseconds, and
the longest gap between its firings beyond that interval."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer


class StallMeter(QObject):
    """``start()``, let the application work, ``stop()`` → the longest stall in milliseconds.

    A stall is how much later than scheduled the event loop got to the timer: work on the GUI
    thread (decoding, painting, a synchronous call) shows up here directly.
    """

    def __init__(self, interval_ms: int = 5, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.longest_ms = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.longest_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest_ms = max(self.longest_ms, (now - self._last) * 1000 - self.interval_ms)
        self._last = now
        self.ticks += 1

    def stop(self) -> float:
        self._timer.stop()
        self._tick()
        return self.longest_ms
