"""The run directory's event log: ``events.jsonl``, one JSON object per line.

This file is the one channel between a training process and everything else (GUI, terminal,
another machine). Only rank 0 writes; each line goes to the file in one append as soon as it is
written, so that a reader tailing the file sees events as they happen, and a failed write (disk
full) is cut back off: the file keeps only whole lines.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grace.errors import GraceError

EVENT_TYPES = ("start", "batch", "sampler", "epoch", "end", "error")
EVENTS_FILE = "events.jsonl"
STOP_FILE = "STOP"


def _jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars and arrays, paths and non-finite floats to JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class EventWriter:
    """Append events to ``<run_dir>/events.jsonl``.

    Parameters
    ----------
    run_dir
        The run directory (created if missing).
    enabled
        False on ranks other than 0: every call is then a no-op.
    """

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / EVENTS_FILE
        self.enabled = enabled
        self._fd: int | None = None

    def write(self, type_: str, **fields: Any) -> dict | None:
        """Write one event of ``type_`` with ``fields``; returns the event written.

        Raises :class:`GraceError` naming the file if the line cannot be written whole; the
        file is then left as it was before the call.
        """
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}; expected one of {EVENT_TYPES}")
        if not self.enabled:
            return None
        event = {"type": type_, "time": time.time(), **_jsonable(fields)}
        line = (json.dumps(event, allow_nan=False) + "\n").encode("utf-8")
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _append_whole(self._fd, line)
        except OSError as e:
            raise GraceError(f"{self.path}: could not write ({e.strerror or e})") from e
        return event

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _append_whole(fd: int, data: bytes) -> None:
    """Append ``data`` to ``fd`` (opened with O_APPEND); on failure cut off what got written."""
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        try:
            os.ftruncate(fd, size)
        except OSError:
            pass  # a reader skips a line without its newline
        raise


def read_events(run_dir: str | Path) -> list[dict]:
    """All complete events of a run directory (a partly written last line is ignored)."""
    return list(iter_events(Path(run_dir) / EVENTS_FILE))


def iter_events(path: str | Path, offset: int = 0) -> Iterator[dict]:
    """Events of an ``events.jsonl`` file from byte ``offset`` on, skipping an incomplete tail."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # the writer is mid-line; a later read picks it up
            try:
                yield json.loads(raw)
            except json.JSONDecodeError:
                continue


def request_stop(run_dir: str | Path) -> Path:
    """Ask the training process of ``run_dir`` to stop after its current batch."""
    path = Path(run_dir) / STOP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"stop requested at {time.time()}\n")
    return path


class EventTail:
    """Read the events appended to an ``events.jsonl`` since the last call.

    A reader that follows a run while it is written (the GUI, a terminal on another machine):
    each :meth:`read` returns the complete lines added since the previous one and keeps an
    incomplete last line for the next call. A file that does not exist yet reads as empty; a
    file that shrank (the run directory was reused) is read again from the start.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def read(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:
            self.offset = 0
        if size == self.offset:
            return []
        events: list[dict] = []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                self.offset += len(raw)
                try:
                    events.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue
        return events
