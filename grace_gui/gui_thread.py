"""Running code on the GUI thread, and keeping Python's garbage collector there.

``on_gui_thread`` replaces superqt's ``ensure_main_thread``, which creates a ``QObject`` in the
calling (worker) thread for every call and moves it to the GUI thread; under load that crashed
the test suite and the training watcher (segmentation faults during garbage collection). Here
one ``QObject`` is made on the GUI thread once, and a worker only *emits* its queued signal,
which Qt allows from any thread.

``GuiGarbageCollector``: CPython collects cycles in whichever thread crosses the allocation
threshold, including worker threads, where a cycle holding Qt wrappers would be destroyed on the
wrong thread. Automatic collection is switched off and a GUI-thread timer collects instead
(pyqtgraph's and calibre's pattern).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QApplication


class _Invoker(QObject):
    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def _run(self, fn: Callable[[], Any]) -> None:
        fn()


_INVOKER: _Invoker | None = None


def install_invoker() -> None:
    """Create the invoker on the GUI thread (the application calls it at start-up)."""
    global _INVOKER
    app = QApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("install_invoker must run on the GUI thread of a QApplication")
    if _INVOKER is None:
        _INVOKER = _Invoker()


def call_on_gui_thread(fn: Callable[[], Any]) -> None:
    """Run ``fn()`` on the GUI thread: at once when called there, else queued."""
    app = QApplication.instance()
    if app is not None and QThread.currentThread() is app.thread():
        fn()
        return
    if _INVOKER is None:
        raise RuntimeError("no GUI-thread invoker: call install_invoker() at start-up")
    _INVOKER.call.emit(fn)


def on_gui_thread(fn: Callable[..., Any]) -> Callable[..., None]:
    """Decorator: every call of ``fn`` runs on the GUI thread (queued from other threads)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        call_on_gui_thread(functools.partial(fn, *args, **kwargs))

    return wrapper


class GuiGarbageCollector(QObject):
    """Automatic garbage collection off; a GUI-thread timer collects the generations whose
    thresholds were crossed (as CPython would), every ``interval_ms``."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        l0, l1, l2 = gc.get_count()
        t0, t1, t2 = self._thresholds
        if l0 > t0:
            gc.collect(2 if l2 > t2 else 1 if l1 > t1 else 0)


_COLLECTOR: GuiGarbageCollector | None = None


def start_gui_thread_services() -> None:
    """The invoker and the GUI-thread garbage collector, once per application."""
    global _COLLECTOR
    install_invoker()
    if _COLLECTOR is None:
        _COLLECTOR = GuiGarbageCollector(parent=QApplication.instance())
