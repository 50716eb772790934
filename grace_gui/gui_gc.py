"""Python's cyclic garbage collector runs only in the GUI thread.

A collection runs in whichever thread allocates when a generation's threshold is crossed. When
that is a worker (the Compare table's thread reading runs and their ``args.yaml``, the training
watcher) and the garbage holds Qt objects (a closed window's widgets), their C++ destructors run
in that worker: Qt takes its connection lock, then waits for Python's lock to ask for a Python
override, while the GUI thread holds Python's lock and waits for Qt's. Both wait for ever (seen
in the Train tab tests after a Compare refresh). So automatic collection is switched off and the
GUI thread collects on a timer, the oldest generation whose count passed Python's own threshold
(pyqtgraph's ``GarbageCollector`` recipe). Reference counting frees everything else at once, as
before; only cycles wait for the timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QThread, QTimer

INTERVAL_MS = 500

_timer: QTimer | None = None


def collect_due() -> int | None:
    """Collect the oldest generation whose allocation count passed its threshold (what Python
    would have collected by itself); returns that generation, or None when none is due."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for gen in (2, 1, 0):
        if thresholds[gen] and counts[gen] > thresholds[gen]:
            gc.collect(gen)
            return gen
    return None


def collect_in_gui_thread(interval_ms: int = INTERVAL_MS) -> QTimer:
    """Switch automatic collection off and collect from a timer of the running application
    (once per process; later calls return the same timer). Call from the GUI thread."""
    global _timer
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("collect_in_gui_thread: call it from the GUI thread of an application")
    if _timer is None:
        _timer = QTimer(app)
        _timer.setObjectName("gui-gc")
        _timer.timeout.connect(collect_due)
        _timer.start(interval_ms)
        app.aboutToQuit.connect(gc.enable)
    gc.disable()
    return _timer
