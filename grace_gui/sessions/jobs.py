"""Where a session's jobs run and where their outcome comes back (Qt-free).

A session hands ``fn`` to :meth:`Jobs.run`; ``start`` runs it off the caller's thread and
``deliver`` brings its result (or its error) back to the thread that owns the session. The GUI
passes a ``QThreadPool``'s ``start`` and superqt's ``ensure_main_thread``; Qt-free tests pass
:meth:`Jobs.inline` (everything at once, in order) or lists they run by hand (any order).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grace.errors import GraceError

Call = Callable[[Callable[[], None]], None]


def describe_error(exc: BaseException) -> str:
    """One readable line: a :class:`GraceError`'s message as is, else ``Type: message``."""
    if isinstance(exc, GraceError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _now(fn: Callable[[], None]) -> None:
    fn()


@dataclass
class Jobs:
    """``start(job)`` runs ``job()`` in a background thread; ``deliver(fn)`` runs ``fn()`` on
    the session's thread."""

    start: Call = _now
    deliver: Call = _now

    @classmethod
    def inline(cls) -> Jobs:
        """Run every job at once on the calling thread (tests, scripts)."""
        return cls(_now, _now)

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        on_error: Callable[[str, str], None],
    ) -> None:
        """Run ``fn(*args)``; then ``on_result(value)`` or ``on_error(line, traceback)`` is
        delivered, never both."""

        def job() -> None:
            try:
                value = fn(*args)
            except BaseException as exc:  # every failure reaches the session as a message
                line, details = describe_error(exc), traceback.format_exc()
                self.deliver(lambda: on_error(line, details))
            else:
                self.deliver(lambda: on_result(value))

        self.start(job)
