"""What the Review tab shows, computed from the engine's items (pure; Qt-free): the counter and
the per-class tallies, the item under review with its image, and where a new store goes.

An item is *reviewed* when it is no longer open: decided (``done``, which an ``ok`` on its
image also gives) or skipped. Tallies count each item once, by what stands on it now: its last
standing action (``accept``, ``reject``, a correction: ``class``, ``box`` or ``add``, ``ok``,
``skip``), or ``ok`` when it is done because its image was marked OK through another item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grace.review.store import Item

CORRECTIONS = ("class", "box", "add")
TALLY_COLUMNS = ("accept", "reject", "fix", "ok", "skip")


def outcome(item: Item) -> str:
    """``open``, or what stands on a reviewed item: one of :data:`TALLY_COLUMNS`."""
    if item.status == "open":
        return "open"
    if item.status == "skipped":
        return "skip"
    action = item.last_action
    if action in CORRECTIONS:
        return "fix"
    if action in ("accept", "reject", "ok"):
        return action
    return "ok"  # done through an ``ok`` on another item of its image


@dataclass(frozen=True)
class Tally:
    """One class's items: how many, how many reviewed, and the outcomes."""

    cls: str
    total: int = 0
    reviewed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Counts:
    """The counter and the per-class tallies of a store (or of a filter)."""

    total: int
    reviewed: int
    skipped: int
    by_class: tuple[Tally, ...]

    def line(self) -> str:
        """``"312 / 1,204 reviewed"`` (with the skipped ones when there are any)."""
        text = f"{self.reviewed:,} / {self.total:,} reviewed"
        return text + (f" ({self.skipped:,} skipped)" if self.skipped else "")


def count(items: Iterable[Item], names: Iterable[str] = ()) -> Counts:
    """The counts of ``items``; every class of ``names`` gets a tally (zero when it has no
    item), then any other class met, in order of appearance."""
    tallies: dict[str, dict[str, Any]] = {n: {"total": 0, "reviewed": 0, "o": {}} for n in names}
    total = reviewed = skipped = 0
    for it in items:
        t = tallies.setdefault(it.cls, {"total": 0, "reviewed": 0, "o": {}})
        t["total"] += 1
        total += 1
        o = outcome(it)
        if o != "open":
            t["reviewed"] += 1
            t["o"][o] = t["o"].get(o, 0) + 1
            reviewed += 1
            skipped += o == "skip"
    by_class = tuple(Tally(c, t["total"], t["reviewed"], dict(t["o"])) for c, t in tallies.items())
    return Counts(total, reviewed, skipped, by_class)


@dataclass(frozen=True)
class ShownItem:
    """The item under review and what to draw: its image (BGR; ``None`` while it is decoded,
    ``loading``, or when it cannot be read, ``reason``), the image's starting labels (ground
    truth when ``labels_source`` is ``"ground_truth"``), the model's detections, the labels
    that stand now, and the item's place in the filter."""

    item: Item
    row: int
    rows: int
    image: np.ndarray | None
    labels: tuple[dict, ...]
    labels_source: str
    detections: tuple[dict, ...]
    labels_now: tuple[dict, ...]
    loading: bool = False
    reason: str = ""

    @property
    def ground_truth(self) -> tuple[dict, ...]:
        return self.labels if self.labels_source == "ground_truth" else ()

    def target(self) -> dict | None:
        """The box under review: the item's object as it stands (``None`` once rejected away),
        else its proposal."""
        it = self.item
        if it.current is not None:
            return it.current
        if it.last_action is not None:
            return None
        return {"class": it.cls, "box": list(it.box)}

    def caption(self) -> str:
        it = self.item
        conf = f" {it.confidence:.2f}" if it.confidence is not None else ""
        state = it.status if it.last_action is None else f"{it.status}: {it.last_action}"
        name = Path(it.image).name
        head = f"{self.row + 1:,} / {self.rows:,} · item {it.id} · {it.kind.replace('_', ' ')}"
        where = f"{head} · {it.cls}{conf} · {state} · {name}"
        if self.image is None and not self.loading:
            where += f" · cannot be shown: {self.reason}"
        return where


def free_path(folder: str | Path, stem: str, suffix: str = ".db") -> Path:
    """``folder/stem.db``, or ``stem-2.db``, ``stem-3.db``… the first that does not exist (a
    store is made once, never over another)."""
    folder = Path(folder)
    path, n = folder / f"{stem}{suffix}", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    return path


def store_beside_folder(images: str | Path) -> Path:
    """Where a store made from the images in ``images`` goes: beside that folder."""
    images = Path(images).absolute()
    return free_path(images.parent, f"{images.name}-review")


def store_in_val_dir(val_dir: str | Path) -> Path:
    """Where a store made from a ``grace val`` output goes: in that folder."""
    return free_path(val_dir, "review")
