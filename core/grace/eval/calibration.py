"""Per-class confidence thresholds chosen on the validation split (pure numpy; no I/O).

A detection counts at threshold t when its score >= t (as :class:`grace.infer.thresholds.
ClassThresholds` keeps it); it is a true positive when it matches a ground-truth box of its
class at IoU >= 0.5 by the COCO greedy rule (:mod:`grace.eval.matching`, as ``grace val``).
The candidate operating points of a class are its detections' own scores (keep every
detection scored at least that). The threshold written for a chosen point lies halfway between
its score and the next lower detection score (rounded to 6 decimals where that stays strictly
between them): it keeps exactly the same validation detections, but a detection at the edge
does not drop out on a rerun whose scores differ in the last bits (another batch size, another
device). The lowest point keeps its own score. Per class, for a target:

- ``f1``: the threshold maximising F1 = 2 TP / (2 TP + FP + FN) (the highest such on ties: the
  fewest detections for the same F1);
- ``recall=R``: the highest threshold with recall >= R (the fewest false positives that still
  find that share of the defects);
- ``precision=P``: the lowest threshold with precision >= P (the most defects found at that
  precision).

When no threshold reaches a recall (precision) target, the threshold of the highest recall
(precision) reachable is chosen and marked ``reached: false``. A class with no validation
instance, or whose detections never match, gets no threshold of its own (the global one
applies). The global threshold is the same rule on the counts pooled over all classes.

How much a target means depends on the instances behind it: a class with fewer than
:data:`MIN_INSTANCES` validation instances, or, for a recall or precision target v, fewer than
1 / (1 - v) (below that one instance moves the figure by more than the margin 1 - v), gets a
warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grace.errors import GraceError
from grace.infer.thresholds import class_id

MIN_INSTANCES = 20
KINDS = ("f1", "recall", "precision")


@dataclass(frozen=True)
class Target:
    """``kind`` is ``f1`` (``value`` None), ``recall`` or ``precision`` (``value`` in (0, 1])."""

    kind: str
    value: float | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}={self.value:g}"


def parse_target(text: str, what: str = "--target") -> Target:
    """``f1``, ``recall=0.95`` / ``recall:0.95`` or ``precision=0.9``; a :class:`GraceError`
    naming ``what`` otherwise."""
    raw = str(text).strip().lower()
    if raw == "f1":
        return Target("f1")
    kind, sep, value = raw.replace(":", "=").partition("=")
    if not sep or kind not in ("recall", "precision"):
        raise GraceError(
            f"{what} {text!r}: expected f1, recall=R or precision=P (e.g. recall=0.95)"
        )
    try:
        v = float(value)
    except ValueError:
        raise GraceError(f"{what} {text!r}: {value!r} is not a number") from None
    if not (0 < v <= 1):
        raise GraceError(f"{what} {text!r}: {kind} must be above 0 and at most 1")
    return Target(kind, v)


def parse_class_targets(items: Iterable[str], names: Sequence[str]) -> dict[int, Target]:
    """``["scratches=recall:0.98", "pits=f1"]`` → ``{class id: Target}``; a class is given by
    name (exact, then case-insensitive) or index; an unknown one is a :class:`GraceError`
    listing the classes."""
    out: dict[int, Target] = {}
    for item in items:
        key, sep, spec = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise GraceError(f"--class-target {item!r}: expected NAME=f1, NAME=recall:R or "
                             "NAME=precision:P")  # fmt: skip
        cid = class_id(key, names, f"--class-target {item!r}")
        out[cid] = parse_target(spec, f"--class-target {item}")
    return out


@dataclass(frozen=True)
class OperatingPoint:
    """Counts and figures at one threshold (IoU 0.5)."""

    threshold: float
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    reached: bool = True


def between(thresholds: np.ndarray, k: int) -> float:
    """The threshold for candidate ``k`` of descending ``thresholds``: halfway to the next lower
    one (rounded to 6 decimals where that stays strictly between), or its own score when it is
    the lowest."""
    hi = float(thresholds[k])
    if k + 1 >= len(thresholds):
        return hi
    lo = float(thresholds[k + 1])
    mid = (hi + lo) / 2
    r = round(mid, 6)
    return r if lo < r < hi else mid


def _point(threshold: float, tp: int, n: int, n_gt: int, reached: bool = True) -> OperatingPoint:
    p = tp / n if n else 0.0
    r = tp / n_gt if n_gt else 0.0
    f1 = 2 * tp / (n + n_gt) if n + n_gt else 0.0
    return OperatingPoint(float(threshold), int(tp), int(n - tp), int(n_gt - tp), p, r, f1,
                          reached)  # fmt: skip


def candidates(
    scores: np.ndarray, tp: np.ndarray, n_gt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores in descending order, and the TP and detections with score >= each.

    Parameters
    ----------
    scores
        ``(N,)`` detection scores.
    tp
        ``(N,)`` true-positive flags at IoU 0.5.
    n_gt
        Ground-truth instances (unused here; kept for a uniform signature).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(tp, dtype=bool).reshape(-1)
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    tpc, n = np.cumsum(t), np.arange(1, len(s) + 1)
    last = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, dtype=bool)  # end of a tie
    return s[last], tpc[last], n[last]


def operating_point(
    scores: np.ndarray, tp: np.ndarray, n_gt: int, threshold: float
) -> OperatingPoint:
    """TP, FP, FN, P, R and F1 of the detections with score >= ``threshold``."""
    keep = np.asarray(scores, dtype=np.float64).reshape(-1) >= threshold
    return _point(threshold, int(np.asarray(tp, bool).reshape(-1)[keep].sum()), int(keep.sum()),
                  n_gt)  # fmt: skip


def choose_threshold(
    scores: np.ndarray, tp: np.ndarray, n_gt: int, target: Target
) -> OperatingPoint | None:
    """The operating point for ``target`` (module rules); None when the class cannot be
    calibrated (no instance, or no detection ever matches)."""
    thr, tpc, n = candidates(scores, tp, n_gt)
    if n_gt <= 0 or len(thr) == 0 or tpc[-1] == 0:
        return None
    recall = tpc / n_gt
    precision = tpc / n
    reached = True
    if target.kind == "f1":
        k = int(np.argmax(2 * tpc / (n + n_gt)))  # first = highest threshold on ties
    elif target.kind in ("recall", "precision"):
        values = recall if target.kind == "recall" else precision
        ok = np.flatnonzero(values >= target.value)
        if len(ok):  # recall: the highest such threshold; precision: the lowest
            k = int(ok[0] if target.kind == "recall" else ok[-1])
        else:
            k, reached = int(np.argmax(values)), False
    else:
        raise ValueError(f"unknown target kind {target.kind!r}")
    return _point(between(thr, k), tpc[k], n[k], n_gt, reached)


def instances_needed(target: Target) -> float:
    """The validation instances below which a class's threshold for ``target`` gets a warning:
    :data:`MIN_INSTANCES`, and for recall or precision v also 1 / (1 - v) (infinite at 1)."""
    if target.value is None:
        return MIN_INSTANCES
    margin = 1 - target.value
    return math.inf if margin <= 0 else max(MIN_INSTANCES, math.ceil(1 / margin - 1e-9))


def few_instances_warning(name: str, n_gt: int, target: Target) -> str | None:
    """One warning line when ``n_gt`` is below :func:`instances_needed`; else None."""
    need = instances_needed(target)
    if n_gt >= need:
        return None
    why = f"at least {MIN_INSTANCES}"
    if target.value is not None:
        why += f", and 1/(1-{target.value:g}) = " + ("infinitely many" if math.isinf(need) else
                                                     f"{1 / (1 - target.value):.0f}")  # fmt: skip
    return (
        f"{name}: only {n_gt} validation instances for target {target}: its threshold means "
        f"little (rule: {why})"
    )
