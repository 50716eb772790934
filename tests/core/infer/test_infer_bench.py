"""The folder-throughput figure of ``grace bench``: ours against plain Ultralytics, one run."""

from __future__ import annotations

import pytest

from grace.infer.bench import paired_ratio, predict_throughput_ratio

pytestmark = pytest.mark.slow


def test_paired_ratio_alternates_abba_and_takes_the_median():
    calls, times = [], iter([1.0, 2.0, 4.0, 2.0, 1.0, 3.0])  # ours, theirs per round (ABBA)
    clock = {"t": 0.0}

    def fake(name):
        def f():
            calls.append(name)
            clock["t"] += next(times) if len(calls) > 2 else 0.0

        return f

    ratio, t_ours, t_theirs = paired_ratio(
        fake("ours"), fake("theirs"), rounds=3, clock=lambda: clock["t"]
    )
    assert calls == ["ours", "theirs"] + ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    # rounds: ours 1 / theirs 2; theirs 4 then ours 2; ours 1 / theirs 3 -> ratios 2, 2, 3
    assert (ratio, t_ours, t_theirs) == (2.0, 1.0, 3.0)


def test_predict_throughput_ratio_runs_both_sides():
    r = predict_throughput_ratio("n", nc=3, imgsz=64, device="cpu", batch=4, n_images=8, rounds=1)
    assert r["predict_images"] == 8 and r["predict_batch"] == 4 and r["predict_imgsz"] == 64
    assert r["predict_ips"] > 0 and r["predict_ultralytics_ips"] > 0
    # one round: the paired ratio is exactly ours over theirs
    assert r["predict_throughput_ratio"] == pytest.approx(
        r["predict_ips"] / r["predict_ultralytics_ips"]
    )
