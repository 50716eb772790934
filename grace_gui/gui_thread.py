"""Running code on the GUI thread, and keeping Python's garbage collector there.

``on_gui_thread`` replaces superqt's ``ensure_main_thread``, which creates a ``QObject`` in the
calling (worker) thread for every call and moves it to the GUI thread; under load that crashed
the test suite and the training watcher (segmentation faults during garbage collection). Here
one ``QObject`` is made on the GUI thread once, and a worker only *emits* its queued signal,
which Qt allows from any thread.

:func:`start_gui_thread_services` also pins garbage collection to the GUI thread
(:mod:`grace_gui.gui_gc`): a worker thread must never run a Qt destructor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal
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


def start_gui_thread_services() -> None:
    """The invoker and the GUI-thread garbage collector (:mod:`grace_gui.gui_gc`), once per
    application; call on the GUI thread."""
    from grace_gui.gui_gc import collect_in_gui_thread

    install_invoker()
    collect_in_gui_thread()
