"""The one A/B timing harness of every benchmark (``grace bench``, :mod:`grace.infer.bench`,
``python -m grace_gui.bench``).

Method: A and B run alternately in one process, in ABBA order (pair 0: A then B, pair 1: B then
A, ...), so that a drifting machine load or clock favours neither. Each pair gives one ratio
``t_B / t_A``; the figure is the median of those ratios, reported with its spread (the first and
third quartiles of the pair ratios) and ``n``, the number of pairs. Warm-up pairs run first and
are not timed. Each callable must finish its own work before returning (e.g. synchronise the
GPU), since only the wall time around the call is measured.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from grace.errors import GraceError

__all__ = ["PairedRatio", "paired_ratio", "quartiles"]


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """First and third quartiles, linearly interpolated between the sorted values.

    The value at fraction ``q`` is taken at position ``q * (n - 1)`` of the sorted values
    (``numpy.percentile``'s default, ``statistics.quantiles(method="inclusive")``); one value is
    its own quartiles.

    Parameters
    ----------
    values : sequence of float
        At least one value.

    Returns
    -------
    tuple of float
        ``(q1, q3)``.
    """
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("quartiles of no values")

    def at(q: float) -> float:
        pos = q * (len(xs) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])

    return at(0.25), at(0.75)


@dataclass(frozen=True)
class PairedRatio:
    """What :func:`paired_ratio` measured.

    Attributes
    ----------
    ratio : float
        Median over the pairs of ``t_B / t_A``.
    q1, q3 : float
        First and third quartiles of the pair ratios (see :func:`quartiles`): the spread.
    median_a, median_b : float
        Median time of one call of A and of B, in the clock's unit (seconds by default).
    n : int
        Number of timed pairs.
    ratios : tuple of float
        The pair ratios, in the order run.
    """

    ratio: float
    q1: float
    q3: float
    median_a: float
    median_b: float
    n: int
    ratios: tuple[float, ...]

    def figures(self, name: str, digits: int | None = None) -> dict:
        """``{name: ratio, name_q1: q1, name_q3: q3, name_n: n}`` for a JSON report,
        rounded to ``digits`` decimals when given."""
        r = (lambda x: x) if digits is None else (lambda x: round(x, digits))
        return {
            name: r(self.ratio),
            f"{name}_q1": r(self.q1),
            f"{name}_q3": r(self.q3),
            f"{name}_n": self.n,
        }


def paired_ratio(
    run_a: Callable[[], object],
    run_b: Callable[[], object],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> PairedRatio:
    """Time ``run_a`` against ``run_b`` by the method of this module.

    Parameters
    ----------
    run_a, run_b : callable
        The two contestants, called without arguments (their results are ignored).
    repeats : int
        Timed pairs (>= 1).
    warmup : int
        Untimed pairs run first (>= 0), A then B.
    clock : callable
        Monotonic clock read before and after each timed call.

    Returns
    -------
    PairedRatio

    Raises
    ------
    GraceError
        ``repeats < 1`` or ``warmup < 0``, or a call of A took no measurable time (no ratio).
    """
    if repeats < 1:
        raise GraceError(f"repeats {repeats}: must be at least 1")
    if warmup < 0:
        raise GraceError(f"warmup {warmup}: must be at least 0")
    for _ in range(warmup):
        run_a()
        run_b()
    t_a: list[float] = []
    t_b: list[float] = []
    for i in range(repeats):
        order = ((run_a, t_a), (run_b, t_b))
        for fn, acc in order if i % 2 == 0 else order[::-1]:
            t0 = clock()
            fn()
            acc.append(clock() - t0)
    if min(t_a) <= 0:
        raise GraceError("benchmark: a call of A took no measurable time; no ratio can be formed")
    ratios = tuple(b / a for a, b in zip(t_a, t_b, strict=True))
    q1, q3 = quartiles(ratios)
    return PairedRatio(
        ratio=statistics.median(ratios),
        q1=q1,
        q3=q3,
        median_a=statistics.median(t_a),
        median_b=statistics.median(t_b),
        n=repeats,
        ratios=ratios,
    )
