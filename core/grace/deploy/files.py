"""Folder outputs (an OpenVINO model, a package) put in place whole: built in a temporary folder
beside the target, then renamed over it, so a failed export or package never destroys the
previous good one and a reader never sees half of one (:mod:`grace.fileio` does the same for
single files)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grace.errors import GraceError


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraceError(f"{folder}: could not create the folder ({e.strerror or e})") from None


@contextmanager
def staging_dir(parent: str | Path, name: str) -> Iterator[Path]:
    """A temporary folder in ``parent`` (same file system as the target), removed afterwards
    whatever happens."""
    parent = Path(parent)
    _mkdir(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_path(new: Path, target: Path) -> Path:
    """Move ``new`` (a file or folder) to ``target``, replacing what is there: an existing
    ``target`` is renamed aside first and removed only once ``new`` is in place (put back if the
    move fails). Both must be on one file system."""
    new, target = Path(new), Path(target)
    if target.exists() and target.is_dir() != new.is_dir():
        kind = "a folder" if target.is_dir() else "a file"
        raise GraceError(f"{target}: exists and is {kind}; choose another --out")
    aside = None
    try:
        if target.is_dir():
            aside = target.with_name(f".{target.name}.old-{os.getpid()}")
            shutil.rmtree(aside, ignore_errors=True)
            os.replace(target, aside)
        os.replace(new, target)  # a file replaces a file atomically
    except OSError as e:
        if aside is not None and aside.exists() and not target.exists():
            os.replace(aside, target)
        raise GraceError(f"{target}: could not write ({e.strerror or e})") from None
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return target
