"""``grace bench --json``: one JSON object with parameters and the two speed ratios."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def lite_fen_params(c: int, r: int = 4) -> int:
    """Counted by hand from equations 11-14: CA = two 1x1 convs with bias, SA = depthwise 3x3
    with bias + 1x1 conv C->1 with bias."""
    ca = (c * (c // r) + c // r) + ((c // r) * c + c)
    sa = (c * 9 + c) + (c + 1)
    return ca + sa


def test_bench_json_reports_parameters_and_ratios():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "grace.cli",
            "bench",
            "--scale",
            "n",
            "--imgsz",
            "64",
            "--repeats",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)
    # yolo11n's P3 input of the head has 64 channels
    assert result["params_grace"] - result["params_baseline"] == lite_fen_params(64) == 2833
    assert result["params_grace_fused"] - result["params_baseline_fused"] == 2833  # no BN to fuse
    assert result["params_baseline_fused"] < result["params_baseline"]
    # timings are the benchmark's business, not the test's: only check they are consistent
    assert result["fen_latency_ratio"] == pytest.approx(
        result["grace_latency_ms"] / result["baseline_latency_ms"]
    )
    assert result["ds_train_step_ratio"] == pytest.approx(
        result["train_step_ds_ms"] / result["train_step_ms"]
    )
    assert result["baseline_latency_ms"] > 0 and result["train_step_ms"] > 0
