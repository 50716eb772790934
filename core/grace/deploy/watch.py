"""A poll-based folder watcher (stdlib only): which image files of a folder are fully written.

The rules, in the order they apply to each entry of the folder (not its subfolders):

- a temporary name is never taken: hidden files (``.name``) and names ending in ``.tmp``,
  ``.part``, ``.partial``, ``.crdownload``, ``.download`` or ``~`` (a camera or a copy tool
  writing ``a.jpg.part`` and renaming it to ``a.jpg`` at the end is the safe way to drop files);
- a file whose suffix is not an image's is reported once (:attr:`Poll.others`) and left alone;
- an image is *ready* once its size and modification time are the same in two consecutive polls
  (a file still growing changes one of them);
- a JPEG that starts with its start marker but does not end with its end marker (``FFD9``,
  trailing zero padding allowed), or a PNG without its ``IEND`` chunk, is a file still being
  written by a writer that paused: it is held until it has been stable for ``settle`` seconds,
  then handed over flagged ``truncated`` (the inspection records it as corrupt);
- a ready file is handed over once per state ``(size, mtime)``: the same file is not handed
  again, a file re-written with new content is;
- a file seen but gone before it was handed over is reported in :attr:`Poll.gone`.

What was already inspected before a restart is the caller's knowledge (the results store); this
module only watches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from grace.infer.frames import IMAGE_SUFFIXES

TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", "~")
JPEG_SOI, JPEG_EOI = b"\xff\xd8", b"\xff\xd9"
PNG_SIGNATURE, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


@dataclass(frozen=True)
class FileState:
    """What is compared between polls: size in bytes and modification time in nanoseconds."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Ready:
    """A file handed over: its path, its state when found stable, and whether it looked cut
    short (held for ``settle`` seconds without its end marker)."""

    path: Path
    state: FileState
    truncated: bool = False


@dataclass
class Poll:
    """What one poll found."""

    ready: list[Ready] = field(default_factory=list)
    gone: list[Path] = field(default_factory=list)  # seen, gone before they were handed over
    others: list[Path] = field(default_factory=list)  # not images (reported once each)
    pending: int = 0  # images seen, not yet ready (still written or held)


def is_temporary(name: str) -> bool:
    """A name a writer uses while the file is incomplete (module rules)."""
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def ends_complete(head: bytes, tail: bytes) -> bool:
    """Whether a file starting with ``head`` and ending with ``tail`` is a whole JPEG or PNG
    (``True`` for other formats, which carry no end marker worth checking)."""
    if head.startswith(JPEG_SOI):
        return tail.rstrip(b"\x00").endswith(JPEG_EOI)
    if head.startswith(PNG_SIGNATURE):
        return tail.endswith(PNG_END)
    return True


def _complete(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64))
            tail = f.read()
    except OSError:
        return True  # the caller's read finds out what is wrong with it
    return ends_complete(head, tail)


class FolderWatcher:
    """Poll ``folder`` for image files that are fully written (module rules).

    Parameters
    ----------
    folder
        The watched folder (not recursive).
    ignore
        Paths never reported (the results store and its journal when kept in the folder).
    settle
        Seconds a stable JPEG/PNG without its end marker is held before it is handed over.
    clock
        Monotonic seconds (a test may pass its own).
    """

    def __init__(self, folder: str | Path, ignore: set[Path] | None = None,
                 settle: float = 5.0, clock=time.monotonic) -> None:  # fmt: skip
        self.folder = Path(folder)
        self.ignore = {Path(p).resolve() for p in (ignore or set())}
        self.settle = settle
        self.clock = clock
        self._seen: dict[Path, FileState] = {}  # last state seen, not handed over
        self._stable_since: dict[Path, float] = {}
        self._handed: dict[Path, FileState] = {}
        self._others: set[Path] = set()

    def _listing(self) -> dict[Path, FileState]:
        found: dict[Path, FileState] = {}
        with os.scandir(self.folder) as it:
            for e in it:
                if is_temporary(e.name):
                    continue
                try:
                    if not e.is_file():
                        continue
                    st = e.stat()
                except OSError:  # gone between the listing and the stat
                    continue
                found[Path(e.path)] = FileState(st.st_size, st.st_mtime_ns)
        return found

    def poll(self) -> Poll:
        """One look at the folder: the files ready since the last poll, in order of
        modification time then name."""
        out = Poll()
        now = self.clock()
        listing = self._listing()
        for path, state in listing.items():
            if path.resolve() in self.ignore or self._handed.get(path) == state:
                continue
            if not is_image(path.name):
                if path not in self._others:
                    self._others.add(path)
                    out.others.append(path)
                continue
            prev = self._seen.get(path)
            self._seen[path] = state
            if prev != state:
                self._stable_since.pop(path, None)
                out.pending += 1
                continue
            since = self._stable_since.setdefault(path, now)
            truncated = not _complete(path)
            if truncated and now - since < self.settle:
                out.pending += 1
                continue
            out.ready.append(Ready(path, state, truncated))
        for path in [p for p in self._seen if p not in listing]:
            out.gone.append(path)
            self._seen.pop(path)
            self._stable_since.pop(path, None)
        for path in [p for p in self._handed if p not in listing]:
            self._handed.pop(path)  # deleted after inspection: nothing to say
        out.ready.sort(key=lambda r: (r.state.mtime_ns, r.path.name))
        return out

    def handed(self, ready: Ready) -> None:
        """Mark ``ready`` as taken (inspected or recorded): not handed again in this state."""
        self._seen.pop(ready.path, None)
        self._stable_since.pop(ready.path, None)
        self._handed[ready.path] = ready.state

    def retry(self, ready: Ready) -> None:
        """Give ``ready`` back: it changed while it was read; it is watched again."""
        self._seen.pop(ready.path, None)
        self._stable_since.pop(ready.path, None)
