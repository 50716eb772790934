"""The folder-throughput figure of ``grace bench``: ours against plain Ultralytics, one run."""

from __future__ import annotations

import pytest

from grace.infer.bench import predict_throughput_ratio

pytestmark = pytest.mark.slow


def test_predict_throughput_ratio_runs_both_sides():
    r = predict_throughput_ratio("n", nc=3, imgsz=64, device="cpu", batch=4, n_images=8, rounds=1)
    assert r["predict_images"] == 8 and r["predict_batch"] == 4 and r["predict_imgsz"] == 64
    assert r["predict_ips"] > 0 and r["predict_ultralytics_ips"] > 0
    # one round: the paired ratio is exactly ours over theirs, and is its own spread
    ratio = r["predict_throughput_ratio"]
    assert ratio == pytest.approx(r["predict_ips"] / r["predict_ultralytics_ips"])
    assert (r["predict_throughput_ratio_q1"], r["predict_throughput_ratio_q3"]) == (ratio, ratio)
    assert r["predict_throughput_ratio_n"] == 1
