"""The one A/B harness (:mod:`grace.benchmark`), driven by fake callables on a fake clock so that
every ratio, quartile and median is computed by hand; nothing here measures real time."""

from __future__ import annotations

import statistics

import pytest

from grace.benchmark import PairedRatio, paired_ratio, quartiles
from grace.errors import GraceError


class FakeClock:
    """A clock that only moves when a fake contestant "runs" for a set duration."""

    def __init__(self) -> None:
        self.t = 0.0
        self.calls: list[str] = []

    def __call__(self) -> float:
        return self.t

    def contestant(self, name: str, durations: list[float]):
        it = iter(durations)

        def run() -> None:
            self.calls.append(name)
            self.t += next(it)

        return run


def test_pairs_alternate_abba_and_give_the_median_ratio_with_quartiles():
    clock = FakeClock()
    # first entry of each: the warm-up pair (so long it would dominate every figure if timed)
    a = clock.contestant("A", [100.0, 2.0, 4.0, 1.0, 2.0])
    b = clock.contestant("B", [100.0, 3.0, 8.0, 1.0, 5.0])
    r = paired_ratio(a, b, repeats=4, warmup=1, clock=clock)
    assert clock.calls == ["A", "B", "A", "B", "B", "A", "A", "B", "B", "A"]
    # pair ratios B/A: 3/2, 8/4, 1/1, 5/2 -> sorted 1.0, 1.5, 2.0, 2.5
    assert r.ratios == (1.5, 2.0, 1.0, 2.5)
    assert r.ratio == 1.75  # (1.5 + 2.0) / 2
    assert r.q1 == pytest.approx(1.375)  # position 0.75: 1.0 + 0.75 * 0.5
    assert r.q3 == pytest.approx(2.125)  # position 2.25: 2.0 + 0.25 * 0.5
    assert (r.median_a, r.median_b, r.n) == (2.0, 4.0, 4)  # A: 1,2,2,4; B: 1,3,5,8


def test_the_median_of_ratios_is_not_the_ratio_of_medians():
    """A slow moment that hits both of one pair cancels out of that pair's ratio."""
    clock = FakeClock()
    a = clock.contestant("A", [1.0, 10.0, 1.0])
    b = clock.contestant("B", [2.0, 20.0, 2.0])
    r = paired_ratio(a, b, repeats=3, warmup=0, clock=clock)
    assert r.ratios == (2.0, 2.0, 2.0)
    assert (r.ratio, r.q1, r.q3) == (2.0, 2.0, 2.0)
    clock = FakeClock()
    a = clock.contestant("A", [1.0, 1.0, 3.0])
    b = clock.contestant("B", [4.0, 1.0, 3.0])
    r = paired_ratio(a, b, repeats=3, warmup=0, clock=clock)
    # ratios 4, 1, 1 -> median 1; the medians of the times (1 and 3) would say 3
    assert (r.ratio, r.median_a, r.median_b) == (1.0, 1.0, 3.0)


def test_one_pair_is_its_own_spread():
    clock = FakeClock()
    r = paired_ratio(clock.contestant("A", [4.0]), clock.contestant("B", [3.0]), 1, 0, clock)
    assert (r.ratio, r.q1, r.q3, r.n) == (0.75, 0.75, 0.75, 1)


@pytest.mark.parametrize(
    "values, expected",
    [([5.0], (5.0, 5.0)), ([2.0, 1.0], (1.25, 1.75)), ([100.0, 1.0, 3.0, 2.0, 4.0], (2.0, 4.0))],
)
def test_quartiles_by_hand_and_as_the_standard_library(values, expected):
    assert quartiles(values) == pytest.approx(expected)
    if len(values) > 1:
        q = statistics.quantiles(values, n=4, method="inclusive")
        assert quartiles(values) == pytest.approx((q[0], q[2]))


def test_figures_name_the_ratio_its_quartiles_and_n():
    r = PairedRatio(1.23456, 1.1, 1.4, 0.5, 0.6, 7, ())
    assert r.figures("x_ratio", digits=3) == {
        "x_ratio": 1.235,
        "x_ratio_q1": 1.1,
        "x_ratio_q3": 1.4,
        "x_ratio_n": 7,
    }


def test_bad_counts_and_an_unmeasurable_a_are_one_line_errors():
    clock = FakeClock()
    with pytest.raises(GraceError, match=r"^repeats 0: must be at least 1$"):
        paired_ratio(clock.contestant("A", []), clock.contestant("B", []), 0, clock=clock)
    with pytest.raises(GraceError, match=r"^warmup -1: must be at least 0$"):
        paired_ratio(clock.contestant("A", []), clock.contestant("B", []), 1, -1, clock)
    a, b = clock.contestant("A", [1.0, 0.0]), clock.contestant("B", [1.0, 1.0])
    with pytest.raises(GraceError, match="a call of A took no measurable time"):
        paired_ratio(a, b, repeats=2, warmup=0, clock=clock)
