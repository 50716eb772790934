"""Global plus per-class confidence thresholds (pure; no model, no I/O).

The paper proposes calibrating the decision threshold per defect class at deployment;
Ultralytics has a single ``conf``. The model runs at the lowest of all thresholds and each
detection is then kept when its confidence reaches the threshold of its class. Because NMS is
per class and greedy in descending score, the boxes kept for a class are the same as if the
model had run at that class's threshold (up to the ``max_det`` cap).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from grace.errors import GraceError


@dataclass(frozen=True)
class ClassThresholds:
    """``conf`` for every class, overridden per class id by ``per_class``.

    A per-class value above 1 removes that class entirely.
    """

    conf: float = 0.25
    per_class: Mapping[int, float] = field(default_factory=dict)

    @property
    def floor(self) -> float:
        """The threshold the model must run at so that no class loses candidates."""
        return min([self.conf, *self.per_class.values()])

    def keep(self, scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Boolean mask of the detections whose score reaches their class's threshold."""
        scores = np.asarray(scores, dtype=float).reshape(-1)
        classes = np.asarray(classes).reshape(-1).astype(np.int64)
        limit = np.full(scores.shape, self.conf, dtype=float)
        for c, t in self.per_class.items():
            limit[classes == c] = t
        return scores >= limit

    def describe(self, names: Sequence[str]) -> dict[str, float]:
        """Per-class overrides by class name (for summaries)."""
        return {_name(names, c): float(t) for c, t in sorted(self.per_class.items())}


def _name(names: Sequence[str], c: int) -> str:
    return str(names[c]) if 0 <= c < len(names) else str(c)


def _check_value(value: float, what: str) -> float:
    if not np.isfinite(value) or value < 0:
        raise GraceError(f"{what}: a confidence threshold must be a number >= 0, got {value}")
    return float(value)


def class_id(key: str, names: Sequence[str], what: str) -> int:
    """The index of class ``key`` among ``names``: by name (exact, then case-insensitive) or by
    index; an unknown class is a :class:`GraceError` starting with ``what`` and listing the
    model's classes.

    >>> class_id("Pits", ["crack", "pits"], "--class-conf 'Pits=0.3'")
    1
    """
    if key in names:
        return list(names).index(key)
    lower = {str(n).lower(): i for i, n in enumerate(names)}
    if key.lower() in lower:
        return lower[key.lower()]
    if key.isdigit() and int(key) < len(names):
        return int(key)
    listed = ", ".join(str(n) for n in names)
    raise GraceError(f"{what}: the model has no class {key!r} ({listed})")


def parse_class_conf(items: Iterable[str], names: Sequence[str]) -> dict[int, float]:
    """``["scratches=0.4", "2=0.6"]`` → ``{class_id: threshold}`` against the model's classes
    (an item may also hold several, comma-separated: ``"scratches=0.4,pits=0.3"``).

    A class is given by name (exact, then case-insensitive) or by its index. An unknown class is
    a :class:`GraceError` listing the model's classes.
    """
    out: dict[int, float] = {}
    flat = [part for item in items for part in str(item).split(",") if part.strip()]
    for item in flat:
        key, sep, raw = item.rpartition("=")
        key = key.strip()
        if not sep or not key:
            raise GraceError(f"--class-conf {item!r}: expected NAME=VALUE, e.g. scratches=0.4")
        try:
            value = float(raw)
        except ValueError:
            raise GraceError(f"--class-conf {item!r}: {raw!r} is not a number") from None
        cid = class_id(key, names, f"--class-conf {item!r}")
        out[cid] = _check_value(value, f"--class-conf {item}")
    return out


def make_thresholds(
    conf: float, class_conf: Iterable[str] | Mapping[str, float] | None, names: Sequence[str]
) -> ClassThresholds:
    """Validated :class:`ClassThresholds` from a global value and ``NAME=VALUE`` overrides (or a
    ``{name: value}`` mapping, as the GUI holds them)."""
    conf = _check_value(float(conf), "--conf")
    if isinstance(class_conf, Mapping):
        class_conf = [f"{k}={v}" for k, v in class_conf.items()]
    return ClassThresholds(conf, parse_class_conf(class_conf or [], names))


def thresholds_for(
    conf: float, by_name: Mapping[str, float] | None, names: Sequence[str] | Mapping[int, str]
) -> ClassThresholds:
    """:class:`ClassThresholds` of one model from a global value and ``{class name: value}``.

    For a view that holds thresholds by name (the GUI's Inference tab) and applies them to
    models whose classes may differ: a name the model lacks is ignored; a class the mapping
    lacks follows ``conf``.
    """
    if isinstance(names, Mapping):
        names = [str(names[k]) for k in sorted(names)]
    index = {str(n): i for i, n in enumerate(names)}
    per_class = {index[k]: float(v) for k, v in (by_name or {}).items() if k in index}
    return ClassThresholds(float(conf), per_class)
