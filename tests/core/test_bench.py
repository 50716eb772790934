"""``grace bench``: one JSON object with parameters and the speed ratios (each with its quartiles
and n), and the DS-CBSM++ training step it times is the one the trainer runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from grace.bench import train_steps
from grace.config import SamplerConfig
from grace.sampling.weights import dynamic_weights, final_weights, gamma
from grace.train.loss import StatsDetectionLoss

pytestmark = pytest.mark.slow

RATIOS = ("fen_latency_ratio", "ds_train_step_ratio", "predict_throughput_ratio",
          "openvino_throughput_ratio", "openvino_f32_throughput_ratio")  # fmt: skip


def lite_fen_params(c: int, r: int = 4) -> int:
    """Counted by hand from equations 11-14: CA = two 1x1 convs with bias, SA = depthwise 3x3
    with bias + 1x1 conv C->1 with bias."""
    ca = (c * (c // r) + c // r) + ((c // r) * c + c)
    sa = (c * 9 + c) + (c + 1)
    return ca + sa


def test_bench_json_reports_parameters_and_ratios():
    r = subprocess.run(
        [sys.executable, "-m", "grace.cli", "bench", "--scale", "n", "--imgsz", "64",
         "--repeats", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)
    # yolo11n's P3 input of the head has 64 channels
    assert result["params_grace"] - result["params_baseline"] == lite_fen_params(64) == 2833
    assert result["params_grace_fused"] - result["params_baseline_fused"] == 2833  # no BN to fuse
    assert result["params_baseline_fused"] < result["params_baseline"]
    # timings are the benchmark's business, not the test's: only check each ratio comes with
    # its spread and its number of pairs
    for name in RATIOS:
        assert 0 < result[f"{name}_q1"] <= result[name] <= result[f"{name}_q3"], name
    assert result["fen_latency_ratio_n"] == result["ds_train_step_ratio_n"] == 3  # --repeats
    assert result["predict_throughput_ratio_n"] == 3  # rounds: repeats // 3, at least 3
    assert {"baseline_latency_ms", "grace_latency_ms", "train_step_ms"} <= set(result)
    # OpenVINO FP32 against PyTorch: the same random yolo11n exported at --imgsz, --repeats pairs
    assert result["openvino_throughput_ratio_n"] == 3 and result["openvino_imgsz"] == 64
    import openvino as ov

    hint = str(ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")).lower()
    default = "bf16" if "bf" in hint else "f16" if "16" in hint else "f32"
    assert result["openvino_precision"] == default  # OpenVINO's own for this CPU
    assert result["openvino_f32_throughput_ratio_n"] == 3  # and the export pinned to FP32
    assert "openvino_int8_throughput_ratio" not in result


class Recorder:
    def observe(self, pred_logits, target_scores, fg_mask, target_labels):
        self.fg_mask, self.target_labels = fg_mask.clone(), target_labels.clone()


def test_the_ds_step_trains_through_the_trainers_tap_and_balancer():
    # an update every 2 batches; a fresh detector's gradients are ~1e-4, so a large alpha and a
    # wide clip make them move the weights visibly
    cfg = SamplerConfig(update_every=2, alpha=1000.0, w_min=0.01, w_max=100.0)
    steps = train_steps("n", nc=3, imgsz=64, device=torch.device("cpu"), batch=2, sampler=cfg)
    stats, balancer = steps.balancer.stats, steps.balancer
    w_dyn_before = balancer.w_dyn.copy()
    steps.plain()
    assert stats.batches == 0 and not stats.pending_sums().any()  # the baseline feeds nothing
    steps.ds()
    assert stats.batches == 1  # balancer.after_batch counted the batch
    # the positives of the batch, found again by a separate tap on the same forward (no
    # optimiser step ran, so the weights are those the step used)
    rec = Recorder()
    with torch.no_grad():
        StatsDetectionLoss(steps.model, rec)(steps.model(steps.batch["img"]), steps.batch)
    positives = rec.target_labels[rec.fg_mask].numpy()
    assert positives.size > 0
    assert stats.pending_sums()[:, 1].tolist() == np.bincount(positives, minlength=3).tolist()
    # at the update, after_batch (not only the statistics) renews the weights the sampler draws
    steps.ds()
    assert stats.num_updates == 1 and stats.g_ema.any()
    w_dyn = dynamic_weights(balancer.w_base, stats.g_ema, stats.c_ema, cfg)
    assert np.abs(w_dyn - w_dyn_before).max() > 0.01  # the statistics moved the weights ...
    assert balancer.w_dyn.tolist() == pytest.approx(w_dyn.tolist())  # ... and after_batch saw it
    expected = final_weights(balancer.w_base, w_dyn, gamma(0, cfg))
    assert balancer.w_final.tolist() == pytest.approx(expected.tolist())
