"""The engine's user-facing error: one line that names the file and the problem."""

from __future__ import annotations


class GraceError(Exception):
    """Bad input a user can fix; its message is printed as one line, with no traceback."""
