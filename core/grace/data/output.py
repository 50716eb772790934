"""Writing a YOLO dataset: the output folder, images, label files, ``data.yaml``, the report.

The whole dataset is built in a hidden sibling folder (``.OUT.importing-XXXX``) and swapped in
place of ``OUT`` at the end, so ``OUT`` always holds either the previous import or the new one,
never a half-written one (images and labels without ``data.yaml``). An import that fails writes
only its report: ``OUT/import_report.json``, or ``OUT/import_failed.json`` when ``OUT`` holds a
previous import, which is kept as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from grace.errors import GraceError
from grace.fileio import atomic_write_json, atomic_write_text

REPORT_NAME = "import_report.json"
FAILED_REPORT_NAME = "import_failed.json"
OURS = ("images", "labels", "data.yaml", REPORT_NAME, FAILED_REPORT_NAME)


@dataclass(frozen=True)
class OutputItem:
    """One image to write: its source file, split, path under ``images/<split>/`` and label
    lines (without newlines); ``upright``: write its pixels rotated as its EXIF orientation
    shows them, with no tag (see :mod:`grace.data.orientation`), instead of copying the file."""

    source: Path
    split: str
    rel: str
    lines: tuple[str, ...]
    upright: bool = False


def check_out(out: Path, src: Path) -> None:
    """Raise :class:`GraceError` unless ``out`` may receive an import of ``src``: new, empty,
    or holding only a previous import (``images/``, ``labels/``, ``data.yaml``, reports), and
    not ``src`` or a folder containing it. Nothing is changed."""
    o, s = out.resolve(), src.resolve()
    if s == o or s.is_relative_to(o):
        raise GraceError(f"{out}: the output folder must not be (or contain) the source {src}")
    if out.exists():
        if not out.is_dir():
            raise GraceError(f"{out}: exists and is not a folder")
        extra = sorted(p.name for p in out.iterdir() if p.name not in OURS)
        if extra:
            raise GraceError(f"{out}: not empty ({extra[0]}); give a new or empty output folder")


def _write_tree(
    stage: Path, final: Path, items: Sequence[OutputItem], names: Sequence[str],
    splits: Sequence[str], report: dict,
) -> None:  # fmt: skip
    from grace.data.orientation import write_upright

    for split in splits:
        (stage / "images" / split).mkdir(parents=True, exist_ok=True)
        (stage / "labels" / split).mkdir(parents=True, exist_ok=True)
    for it in items:
        image = stage / "images" / it.split / it.rel
        label = (stage / "labels" / it.split / it.rel).with_suffix(".txt")
        image.parent.mkdir(parents=True, exist_ok=True)
        if it.upright:
            write_upright(it.source, image)
        else:
            shutil.copy2(it.source, image)
        atomic_write_text(label, "".join(f"{x}\n" for x in it.lines))
    data = {"path": str(final.resolve())}
    data.update({s: f"images/{s}" for s in splits})
    data["names"] = dict(enumerate(names))
    atomic_write_text(stage / "data.yaml", yaml.safe_dump(data, sort_keys=False))
    atomic_write_json(stage / REPORT_NAME, report)


def write_yolo(
    out: Path, src: Path, items: Sequence[OutputItem], names: Sequence[str],
    splits: Sequence[str], report: dict,
) -> None:  # fmt: skip
    """Write the dataset: images to ``out/images/<split>/`` (copied, or rotated upright),
    ``out/labels/<split>/<stem>.txt`` (an empty file for a background image), ``out/data.yaml``
    (absolute ``path``) and ``out/import_report.json`` (``report``), all at once (see the module
    docstring). A failure leaves ``out`` as it was and raises :class:`GraceError`."""
    check_out(out, src)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    except OSError as e:
        raise GraceError(f"{out.parent}: could not create a folder ({e.strerror or e})") from e
    old = None
    try:
        _write_tree(stage, out, items, names, splits, report)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(stage, out)
    except OSError as e:
        if old is not None and not out.exists():
            os.replace(old / out.name, out)  # put the previous import back
        raise GraceError(f"{out}: could not write the dataset ({e.strerror or e})") from e
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_failure_report(out: Path, src: Path, report: dict) -> Path | None:
    """Write the report of an import that failed (see the module docstring) and return its path;
    None when ``out`` may not receive it (a foreign folder) or the write failed."""
    try:
        check_out(out, src)
        path = out / (FAILED_REPORT_NAME if (out / "data.yaml").exists() else REPORT_NAME)
        atomic_write_json(path, report)
    except GraceError:
        return None
    return path


def fail_import(out: Path, src: Path, report: dict, message: str) -> GraceError:
    """The :class:`GraceError` to raise for an import that cannot produce a usable dataset,
    after writing its report; the one-line message names the report file."""
    report = {**report, "ok": False, "error": message, "data_yaml": ""}
    path = write_failure_report(out, src, report)
    return GraceError(message + (f"; report: {path}" if path else ""))
