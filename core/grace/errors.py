"""The engine's user-facing error: one line that names the file and the problem."""

from __future__ import annotations


class GraceError(Exception):
    """Bad input a user can fix; its message is printed as one line, with no traceback."""


class Interrupted(Exception):
    """Ctrl-C after a command had produced part of its result (outputs written so far are kept):
    the CLI prints ``result`` as it would a finished one and exits 130."""

    def __init__(self, result: dict) -> None:
        super().__init__("interrupted")
        self.result = result


def cause_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line`` of what really went wrong in another library's exception (its
    ``__cause__`` where it wraps one), cut to ``limit`` characters: the part after the file
    name in a :class:`GraceError` line.

    >>> cause_line(ValueError("bad shape\\nat layer 3"))
    'ValueError: bad shape'
    """
    cause = exc.__cause__ or exc
    text = str(cause).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0][:limit] if text else ''}"
