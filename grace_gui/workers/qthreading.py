"""Run a function off the GUI thread and hear from it through queued signals only.

After napari's ``_qt/qthreading.py`` and superqt's ``thread_worker``, reduced to what the tabs
use: a :class:`Worker` wraps ``job(worker) -> result``; the job runs in a thread pool, reports
progress with ``worker.progress.emit(value)``, checks ``worker.stop_event`` to end early, and
its result or error arrives as a signal in the thread that owns the worker (the GUI thread).

    w = Worker(lambda w: dataset_stats(path))
    w.result.connect(self.show_stats)
    w.error.connect(context.errors.report_worker_error)
    w.start(pool)
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from grace.errors import GraceError

_RUNNING: set[Worker] = set()  # keeps a started worker alive until it finishes
RELEASE_DELAY_MS = 500


def describe_error(exc: BaseException) -> str:
    """One readable line: a :class:`GraceError`'s message as is, else ``Type: message``."""
    if isinstance(exc, GraceError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Runnable(QRunnable):
    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker
        self.setAutoDelete(True)

    def run(self) -> None:
        worker, self.worker = self.worker, None
        worker._run()


class Worker(QObject):
    """A job for a thread pool; connect to its signals before :meth:`start`.

    Signals
    -------
    started()
    progress(object)
        whatever the job emits while it runs.
    result(object)
        the job's return value.
    error(str, str)
        one-line message, full traceback.
    finished()
        always last, after ``result`` or ``error``.
    """

    started = Signal()
    progress = Signal(object)
    result = Signal(object)
    error = Signal(str, str)
    finished = Signal()

    def __init__(self, job: Callable[[Worker], Any]) -> None:
        super().__init__()
        self.job = job
        self.stop_event = threading.Event()
        self.running = False

    @classmethod
    def call(cls, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        """A worker for ``fn(*args, **kwargs)`` that needs neither progress nor stop."""
        return cls(lambda _w: fn(*args, **kwargs))

    def start(self, pool: QThreadPool | None = None) -> Worker:
        self.running = True
        _RUNNING.add(self)
        self.finished.connect(self._forget)
        (pool or QThreadPool.globalInstance()).start(_Runnable(self))
        return self

    def stop(self) -> None:
        """Ask the job to end (it decides when: it checks ``stop_event``)."""
        self.stop_event.set()

    def _forget(self) -> None:
        # The last reference must go in the GUI thread, never in the pool thread that is still
        # returning from run(): drop it a moment later, from the event loop.
        self.running = False
        QTimer.singleShot(RELEASE_DELAY_MS, lambda: _RUNNING.discard(self))

    def _run(self) -> None:
        self.started.emit()
        try:
            value = self.job(self)
        except BaseException as exc:  # every failure reaches the GUI as a signal
            self.error.emit(describe_error(exc), traceback.format_exc())
        else:
            self.result.emit(value)
        finally:
            self.finished.emit()


def long_job_pool(max_threads: int = 8) -> QThreadPool:
    """A pool for jobs that run for long (inference, CAM, run watching), apart from the global
    pool so that they never wait behind each other or behind thumbnails."""
    pool = QThreadPool()
    pool.setMaxThreadCount(max_threads)
    return pool
