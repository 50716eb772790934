"""The problems the Dataset tab lists, and the imports it finds (Qt-free).

A dataset's problems are those of its import (``import_report.json`` beside its ``data.yaml``,
so they are there again whenever the dataset is reopened) and those ``grace data stats`` finds;
they are grouped by kind, serious kinds first, with the duplicates whose labels differ as a
group of their own at the top. An earlier import in an output folder is described so that the
user decides whether to replace it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grace.data.output import REPORT_NAME
from grace.data.problems import HANDLING, kind_order, level_of

DIFFERING = "duplicate_image:labels_differ"  # the group of duplicates whose labels differ


@dataclass(frozen=True)
class FoundProblem:
    """A problem as the tab lists it: ``origin`` is ``"import"`` (from the import report,
    ``file`` in the import's source folder ``root``) or ``"check"`` (``grace data stats``,
    ``file`` in the dataset folder ``root``)."""

    file: str
    kind: str
    detail: str
    origin: str
    root: str = ""

    @property
    def shown(self) -> str:
        """``file`` relative to ``root`` when it lies under it."""
        f = Path(self.file)
        return (
            str(f.relative_to(self.root))
            if self.root and f.is_relative_to(self.root)
            else self.file
        )


@dataclass(frozen=True)
class ProblemGroup:
    """The problems of one kind: ``title`` (``"duplicate_image: labels differ"`` for the group
    :data:`DIFFERING`), its level (:data:`grace.data.problems.LEVELS`) and handling rule."""

    key: str
    title: str
    level: str
    handling: str
    problems: tuple[FoundProblem, ...]


def group_problems(
    problems: Iterable[FoundProblem], differing: frozenset[str] = frozenset()
) -> list[ProblemGroup]:
    """``problems`` grouped by kind, most serious kind first (duplicates whose dropped copy's
    file is in ``differing`` before everything); each group keeps the problems' order."""
    groups: dict[str, list[FoundProblem]] = {}
    for p in problems:
        key = DIFFERING if p.kind == "duplicate_image" and p.file in differing else p.kind
        groups.setdefault(key, []).append(p)

    def order(key: str) -> tuple[int, int]:
        return (-1, 0) if key == DIFFERING else kind_order(key)

    out = []
    for key in sorted(groups, key=order):
        kind = "duplicate_image" if key == DIFFERING else key
        title = "duplicate_image: labels differ" if key == DIFFERING else key
        out.append(ProblemGroup(key, title, level_of(kind), HANDLING[kind], tuple(groups[key])))
    return out


@dataclass(frozen=True)
class ImportProblems:
    """What an import report beside a ``data.yaml`` says: its problems, the dropped copies whose
    labels differ from the kept one, and why it could not be read (``""``: it could)."""

    problems: tuple[FoundProblem, ...] = ()
    differing: frozenset[str] = frozenset()
    unreadable: str = ""


def _differ(dup: dict) -> bool:
    had = dup.get("dropped_xml") or dup.get("dropped_label")
    return bool(dup.get("labels_differ") or (dup.get("labels_differ") is None and had))


def read_import_problems(folder: str | Path) -> ImportProblems:
    """The problems in ``folder/import_report.json`` (none when there is no report)."""
    path = Path(folder) / REPORT_NAME
    if not path.is_file():
        return ImportProblems()
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        root = str(report.get("source", ""))
        problems = tuple(
            FoundProblem(p["file"], p["kind"], p.get("detail", ""), "import", root)
            for p in report.get("problems", [])
            if p.get("kind") in HANDLING
        )
        differing = frozenset(
            d["dropped_file"] for d in report.get("duplicates_dropped", []) if _differ(d)
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return ImportProblems(unreadable=f"{path}: cannot be read ({type(e).__name__}: {e})")
    return ImportProblems(problems, differing)


@dataclass(frozen=True)
class PreviousImport:
    """An import already in an output folder: where from, how many images, when."""

    out: Path
    source: str
    images: int
    when: datetime

    def text(self) -> str:
        src = f" of {self.source}" if self.source else ""
        when = f"{self.when:%Y-%m-%d %H:%M}"
        return f"{self.out} already holds an import{src} ({self.images} images, {when})"


def previous_import(out: str | Path) -> PreviousImport | None:
    """The import in ``out`` (it has a ``data.yaml``), or ``None``."""
    out = Path(out)
    data = out / "data.yaml"
    if not data.is_file():
        return None
    source, images = "", 0
    try:
        report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
        source, images = str(report.get("source", "")), sum(report.get("images", {}).values())
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # a data.yaml without a readable report is still an earlier dataset
    return PreviousImport(out, source, images, datetime.fromtimestamp(data.stat().st_mtime))
