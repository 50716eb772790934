"""Atomic writes: every checkpoint, state file, report and export goes through here.

A write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
the target: a reader sees the old file or the new one, never half of one, and a failed write
(disk full, killed process) leaves the previous good file intact. A failure is a
:class:`~grace.errors.GraceError` that names the file.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grace.errors import GraceError


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` keeps (when it exists) or a new file gets (0666 less the
    umask), so an atomic write is as readable as a plain ``open(path, "w")`` would make it."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    """The process's umask, read once (Linux: from /proc, without changing it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a library that writes the file itself
    (``torch.save``, ``np.save``, ``cv2.imwrite``); on success it is fsynced and renamed to
    ``path``, on any error it is removed and the previous ``path`` is left as it was.

    ``suffix`` (default: ``path``'s own) lets libraries that pick a format by extension work.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=(path.suffix if suffix is None else suffix) + ".tmp",
        dir=path.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp made it 0600; keep what a plain write gives
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise GraceError(f"{path}: could not write ({e.strerror or e})") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_with(path: str | Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(f)`` on an open temporary file, then move it over ``path`` atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraceError(f"{path.parent}: could not create the folder ({e.strerror or e})") from e
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding) as f:
            write(f)
            f.flush()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write_with(path, lambda f: f.write(data), "wb")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_with(path, lambda f: f.write(text), "w")


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON (strict: NaN is refused) to ``path`` atomically."""
    text = json.dumps(obj, indent=indent, allow_nan=False) + "\n"
    atomic_write_text(path, text)
