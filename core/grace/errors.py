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
