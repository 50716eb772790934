"""DSCBSM controller: weights follow the statistics and the epoch."""

from __future__ import annotations

import json
import math

import numpy as np
import torch

from grace.config import SamplerConfig
from grace.sampling.balancer import DSCBSM
from grace.sampling.weights import base_weights, dynamic_weights, final_weights, gamma

CFG = SamplerConfig()
COUNTS = [30, 25, 20]  # mild imbalance: w_dyn is not pinned to the clip bounds
IMAGES = [np.array([0, 0]), np.array([1]), np.array([2, 0]), np.array([], dtype=np.int64)]


def batch_for_class(k: int, z: float, t: float):
    logits = torch.full((1, 1, 3), -3.0)
    logits[0, 0, k] = z
    scores = torch.zeros(1, 1, 3)
    scores[0, 0, k] = t
    return logits, scores, torch.ones(1, 1, dtype=torch.bool), torch.full((1, 1), k)


def test_initial_weights_are_epoch0_with_initial_emas():
    counts = [100, 50, 10]  # strong imbalance: the clip is active
    b = DSCBSM(counts, IMAGES, CFG, "cpu")
    wb = base_weights(counts, CFG.eps)
    wd = np.clip(wb, 0.85, 1.35)  # initial EMAs give the same delta for all classes
    assert not np.allclose(wd, wb)
    wf = (1 - 0.02) * wb + 0.02 * wd  # gamma_0 = 0.6 / 30
    np.testing.assert_allclose(b.w_final, wf, rtol=1e-12)
    np.testing.assert_allclose(
        b.sampler.image_weights,
        [wf[0], wf[1], (wf[2] + wf[0]) / 2, 1.0],
        rtol=1e-12,
    )


def test_after_batch_updates_every_20_and_pushes_weights():
    b = DSCBSM(COUNTS, IMAGES, CFG, "cpu")
    b.set_epoch(29)  # gamma = 0.6
    before = b.sampler.image_weights
    # class 2 is hard (low confidence, large gradient), class 0 easy
    b.stats.observe(*batch_for_class(2, -1.0, 1.0))
    b.stats.observe(*batch_for_class(0, 3.0, 1.0))
    b.stats.observe(*batch_for_class(1, 0.0, 1.0))
    flags = [b.after_batch() for _ in range(20)]
    assert flags == [False] * 19 + [True]
    s = 1 / (1 + math.exp(1.0))  # sigmoid(-1)
    s0 = 1 / (1 + math.exp(-3.0))
    np.testing.assert_allclose(b.stats.g_ema, [1 - s0, 0.5, 1 - s], rtol=1e-6)
    np.testing.assert_allclose(b.stats.c_ema, [s0, 0.5, s], rtol=1e-6)
    wd = dynamic_weights(b.w_base, b.stats.g_ema, b.stats.c_ema, CFG)
    np.testing.assert_allclose(b.w_dyn, wd)
    np.testing.assert_allclose(b.w_final, final_weights(b.w_base, wd, 0.6))
    after = b.sampler.image_weights
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after[1], b.w_final[1])


def test_set_epoch_changes_gamma_and_sampler_epoch():
    b = DSCBSM(COUNTS, IMAGES, CFG, "cpu")
    b.set_epoch(14)
    assert b.gamma == gamma(14, CFG) == 0.3
    assert b.sampler.epoch == 14
    np.testing.assert_allclose(b.w_final, final_weights(b.w_base, b.w_dyn, 0.3))


def test_snapshot_is_json_and_state_roundtrip():
    b = DSCBSM(COUNTS, IMAGES, CFG, "cpu", seed=7)
    b.set_epoch(3)
    b.stats.observe(*batch_for_class(1, 0.3, 0.9))
    for _ in range(20):
        b.after_batch()
    snap = json.loads(json.dumps(b.snapshot()))
    assert set(snap) == {"w_base", "w_dyn", "w_final", "g_ema", "c_ema", "gamma", "epoch"}
    assert snap["epoch"] == 3 and len(snap["w_final"]) == 3

    state = json.loads(json.dumps(b.state_dict()))
    fresh = DSCBSM(COUNTS, IMAGES, CFG, "cpu", seed=7)
    fresh.load_state_dict(state)
    assert fresh.snapshot() == b.snapshot()
    np.testing.assert_array_equal(fresh.sampler.image_weights, b.sampler.image_weights)
    assert list(fresh.sampler) == list(b.sampler)  # same seed, epoch and pass: same stream
