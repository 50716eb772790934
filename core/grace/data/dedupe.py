"""Pure grouping of byte-identical files by content hash."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class DuplicateGroup(Generic[K]):
    """Files with the same content: the one kept and the ones dropped, in input order."""

    sha256: str
    kept: K
    dropped: tuple[K, ...]


def dedupe(
    items: Sequence[tuple[K, str]], prefer: Callable[[K], Any] | None = None
) -> tuple[list[K], list[DuplicateGroup[K]]]:
    """Keep one item per hash.

    ``items`` are ``(key, sha256)`` in their canonical order (by file name). In each group of equal
    hashes the item with the highest ``prefer`` rank (a bool or any comparable value) is kept,
    the first in order among equals (the first item without ``prefer``). Returns the kept keys in
    input order and the groups with duplicates.
    """
    by_hash: dict[str, list[K]] = {}
    for key, h in items:
        by_hash.setdefault(h, []).append(key)
    keep: set[K] = set()
    groups: list[DuplicateGroup[K]] = []
    for h, keys in by_hash.items():
        chosen = max(keys, key=prefer) if prefer else keys[0]  # max: the first of the best
        keep.add(chosen)
        if len(keys) > 1:
            groups.append(DuplicateGroup(h, chosen, tuple(k for k in keys if k != chosen)))
    return [k for k, _ in items if k in keep], groups
