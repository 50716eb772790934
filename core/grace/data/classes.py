"""Pure class-name resolution: merge spellings, apply aliases, fix the list and its order.

Without a fixed list the classes are the sorted set of names found, where spellings that differ
only in case, spaces, hyphens or underscores are one class named by its most frequent spelling
(ties: the first in sorted order). With a fixed list (``--classes``) its order is the class
order; a name maps to a class when it equals it, or equals it up to case, spaces, hyphens and
underscores; anything else is unknown. Aliases (``--alias old=new``) are applied first; ``old``
matches exactly or up to the same spelling differences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grace.errors import GraceError


def spelling_key(name: str) -> str:
    """The name with case, spaces, hyphens and underscores removed (``Rolled-in Scale`` ->
    ``rolledinscale``)."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@dataclass(frozen=True)
class ClassMap:
    """``names`` in class-id order; ``canonical[raw]`` is the class a raw spelling maps to, or
    None when it is unknown; ``renamed`` lists the raw spellings that map to a different name."""

    names: list[str]
    canonical: dict[str, str | None]
    renamed: dict[str, str] = field(default_factory=dict)

    def index(self, raw: str) -> int | None:
        c = self.canonical.get(raw)
        return None if c is None else self.names.index(c)


def parse_aliases(items: Sequence[str]) -> dict[str, str]:
    """``["old=new", ...]`` to a mapping; raise :class:`GraceError` on an item without ``=``."""
    out: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise GraceError(f"--alias {item!r}: expected OLD=NEW")
        out[old.strip()] = new.strip()
    return out


def parse_class_list(text: str | Sequence[str] | None) -> list[str] | None:
    """``"a,b,c"`` (or a list) to a list of names; None stays None."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in items if n.strip()]
    if not names:
        raise GraceError("--classes: no class names given")
    keys = [spelling_key(n) for n in names]
    dup = sorted({n for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
    if dup:
        raise GraceError(f"--classes: names given twice (up to case/spaces/-/_): {', '.join(dup)}")
    return names


def _apply_alias(raw: str, aliases: Mapping[str, str]) -> str:
    if raw in aliases:
        return aliases[raw]
    key = spelling_key(raw)
    for old, new in aliases.items():
        if spelling_key(old) == key:
            return new
    return raw


def resolve_classes(
    counts: Mapping[str, int],
    classes: Sequence[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ClassMap:
    """Map the raw names found (with their box counts) to classes; see the module rules.

    Raises :class:`GraceError` when an alias points outside a fixed class list.
    """
    aliases = dict(aliases or {})
    if classes is not None:
        classes = list(classes)
        for old, new in aliases.items():
            if new not in classes:
                raise GraceError(f"--alias {old}={new}: {new!r} is not in --classes")
    aliased = {raw: _apply_alias(raw, aliases) for raw in counts}
    canonical: dict[str, str | None] = {}
    if classes is not None:
        by_key = {spelling_key(c): c for c in classes}
        for raw, a in aliased.items():
            canonical[raw] = a if a in classes else by_key.get(spelling_key(a))
        names = classes
    else:
        totals: dict[str, dict[str, int]] = {}  # key -> spelling -> boxes
        for raw, a in aliased.items():
            if spelling_key(a):
                group = totals.setdefault(spelling_key(a), {})
                group[a] = group.get(a, 0) + counts[raw]
        best = {k: min(g, key=lambda s: (-g[s], s)) for k, g in totals.items()}
        for raw, a in aliased.items():
            canonical[raw] = best.get(spelling_key(a)) if spelling_key(a) else None
        names = sorted(best.values())
    renamed = {r: c for r, c in canonical.items() if c is not None and c != r}
    return ClassMap(list(names), canonical, renamed)


TYPO_MAX_BOXES = 5  # a class with at most this many boxes may be a typo of a commoner one


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
    adjacent characters each count 1 (``scrach`` -> ``scratch`` 1, ``scartch`` -> ``scratch``
    1)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@dataclass(frozen=True)
class SuspectClass:
    """A class that looks like a typo: ``name`` with ``boxes``; ``like`` is the commoner class
    one edit away (with ``like_boxes``), or None for a single-character name."""

    name: str
    boxes: int
    like: str | None = None
    like_boxes: int = 0

    def text(self) -> str:
        import shlex

        s = "box" if self.boxes == 1 else "boxes"
        if self.like is not None:
            alias = shlex.quote(f"{self.name}={self.like}")
            return (
                f"class {self.name!r} ({self.boxes} {s}) is one edit from {self.like!r} "
                f"({self.like_boxes} boxes): kept as its own class; --alias {alias} merges it"
            )
        alias = shlex.quote(f"{self.name}=CLASS")
        return (
            f"class {self.name!r} ({self.boxes} {s}) is a single character: kept as its own "
            f"class; --alias {alias} merges it into CLASS, --classes without it drops it"
        )


def suspect_classes(counts: Mapping[str, int]) -> list[SuspectClass]:
    """Classes (name -> boxes) that look like typos: at most :data:`TYPO_MAX_BOXES` boxes and
    either one edit (:func:`edit_distance` of the :func:`spelling_key`) from a class with more
    boxes (the one with the most is named), or a single character while a class with more boxes
    exists. Sorted by name."""
    found = []
    for name, n in sorted(counts.items()):
        if n > TYPO_MAX_BOXES:
            continue
        bigger = [(m, c) for c, m in counts.items() if m > n and c != name]
        key = spelling_key(name)
        near = [(m, c) for m, c in bigger if edit_distance(key, spelling_key(c)) <= 1]
        if near:
            m, c = min(near, key=lambda mc: (-mc[0], mc[1]))  # most boxes, then by name
            found.append(SuspectClass(name, n, c, m))
        elif len(name.strip()) == 1 and bigger:
            found.append(SuspectClass(name, n))
    return found
