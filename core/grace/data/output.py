"""Writing a YOLO dataset: the output folder, images, label files, ``data.yaml``, the report."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from grace.errors import GraceError

REPORT_NAME = "import_report.json"
OURS = ("images", "labels", "data.yaml", REPORT_NAME)


@dataclass(frozen=True)
class OutputItem:
    """One image to write: its source file, split, path under ``images/<split>/`` and label
    lines (without newlines)."""

    source: Path
    split: str
    rel: str
    lines: tuple[str, ...]


def prepare_out(out: Path, src: Path) -> None:
    """Make ``out`` ready for a fresh import.

    ``out`` may be new, empty, or hold only a previous import (``images/``, ``labels/``,
    ``data.yaml``, ``import_report.json``), which is removed so no stale file survives. Anything
    else there, or ``out`` containing ``src``, is a :class:`GraceError`.
    """
    o, s = out.resolve(), src.resolve()
    if s == o or s.is_relative_to(o):
        raise GraceError(f"{out}: the output folder must not be (or contain) the source {src}")
    if out.exists():
        if not out.is_dir():
            raise GraceError(f"{out}: exists and is not a folder")
        extra = sorted(p.name for p in out.iterdir() if p.name not in OURS)
        if extra:
            raise GraceError(f"{out}: not empty ({extra[0]}); give a new or empty output folder")
        for name in ("images", "labels"):
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        for name in ("data.yaml", REPORT_NAME):
            (out / name).unlink(missing_ok=True)


def write_yolo(
    out: Path, items: Sequence[OutputItem], names: Sequence[str], splits: Sequence[str]
) -> Path:
    """Copy images to ``out/images/<split>/``, write ``out/labels/<split>/<stem>.txt`` (an empty
    file for a background image) and ``out/data.yaml`` (absolute ``path``); returns the yaml."""
    for split in splits:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    for it in items:
        image = out / "images" / it.split / it.rel
        label = (out / "labels" / it.split / it.rel).with_suffix(".txt")
        image.parent.mkdir(parents=True, exist_ok=True)
        label.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(it.source, image)
        label.write_text("".join(f"{x}\n" for x in it.lines))
    data = {"path": str(out.resolve())}
    data.update({s: f"images/{s}" for s in splits})
    data["names"] = dict(enumerate(names))
    data_yaml = out / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    return data_yaml


def write_report(out: Path, report: dict) -> Path:
    path = out / REPORT_NAME
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path
