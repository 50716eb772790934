"""Background calls whose outcome is handed over when the owner polls (no Qt).

The Inference session's runner: its outcomes are handed over by :meth:`PolledJobs.poll` on the
owner's timer (the GUI thread at 25 Hz), so a long run streams results without queued Qt
signals. :mod:`grace_gui.sessions.jobs` is the pool-and-deliver runner of the other sessions.

A session submits a function; it runs in a Python thread; :meth:`Jobs.poll`, called from the
thread that owns the session (the GUI thread, on a timer), runs the ``done`` or ``failed``
callbacks there. So psygnal signals a session emits from those callbacks reach widgets on the GUI
thread, and a test drives the same session with :meth:`Jobs.wait` and no event loop.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from grace_gui.sessions.jobs import describe_error

Done = Callable[[Any], None]
Failed = Callable[[str, str], None]  # one-line message, traceback


class PolledJobs:
    """Functions running in threads, their outcomes delivered by :meth:`poll`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: list[tuple[Callable, tuple]] = []
        self._running = 0
        # called (in the job's thread) when an outcome waits: the owner may poll at once
        # instead of at its next timer tick (the GUI queues a poll on its thread)
        self.wake: Callable[[], None] | None = None

    @property
    def busy(self) -> bool:
        """A job runs, or an outcome waits for :meth:`poll`."""
        with self._lock:
            return bool(self._running or self._outcomes)

    def submit(self, fn: Callable[[], Any], done: Done, failed: Failed) -> threading.Thread:
        """Run ``fn()`` in a new thread; ``done(value)`` or ``failed(message, details)`` follow
        at the next :meth:`poll`."""

        def run() -> None:
            try:
                outcome = (done, (fn(),))
            except BaseException as exc:  # every failure reaches the session as one line
                outcome = (failed, (describe_error(exc), traceback.format_exc()))
            with self._lock:
                self._outcomes.append(outcome)
                self._running -= 1
            wake = self.wake
            if wake is not None:
                wake()

        with self._lock:
            self._running += 1
        thread = threading.Thread(target=run, name="grace-session-job", daemon=True)
        thread.start()
        return thread

    def poll(self) -> int:
        """Deliver the outcomes of the jobs that ended (in the caller's thread); their count."""
        with self._lock:
            outcomes, self._outcomes = self._outcomes, []
        for callback, args in outcomes:
            callback(*args)
        return len(outcomes)

    def wait(self, poll: Callable[[], Any], until: Callable[[], bool], timeout: float) -> bool:
        """Call ``poll`` until ``until()`` (for scripts and tests without an event loop)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            poll()
            if until():
                return True
            time.sleep(0.01)
        poll()
        return until()
