"""Equations 6-10 and the image rule, against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grace.config import SamplerConfig
from grace.sampling.weights import (
    base_weights,
    delta,
    dynamic_weights,
    final_weights,
    flatten_image_classes,
    gamma,
    image_weights,
    image_weights_flat,
    normalize,
)

CFG = SamplerConfig()


def test_config_constants_are_the_papers():
    assert (CFG.alpha, CFG.beta) == (0.22, 0.14)
    assert (CFG.w_min, CFG.w_max) == (0.85, 1.35)
    assert (CFG.gamma_max, CFG.e_ramp, CFG.update_every, CFG.conf_min) == (0.60, 30, 20, 0.01)


def test_normalize_divides_by_mean():
    out = normalize(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, [0.5, 1.0, 1.5])
    with pytest.raises(ValueError):
        normalize(np.zeros(3))


def test_three_class_example_by_hand_with_active_clip():
    counts = [100, 50, 10]
    g = [0.2, 0.5, 0.9]
    c = [0.8, 0.5, 0.3]
    epoch = 4
    eps = 1e-6

    # eq. 6: relative frequencies 100/160, 50/160, 10/160
    f0, f1, f2 = 0.625, 0.3125, 0.0625
    r0 = 1 / math.sqrt(f0 + eps)  # ~1.264910
    r1 = 1 / math.sqrt(f1 + eps)  # ~1.788851
    r2 = 1 / math.sqrt(f2 + eps)  # ~3.999968
    m = (r0 + r1 + r2) / 3
    wb = [r0 / m, r1 / m, r2 / m]
    np.testing.assert_allclose(wb, [0.537975, 0.760811, 1.701214], atol=1e-6)  # literal check
    np.testing.assert_allclose(base_weights(counts, eps), wb, rtol=1e-12)

    # eq. 7
    d0 = 0.22 * math.log(1.2) + 0.14 * (1 - 0.8)  # 0.0401107 + 0.028
    d1 = 0.22 * math.log(1.5) + 0.14 * (1 - 0.5)  # 0.0892023 + 0.07
    d2 = 0.22 * math.log(1.9) + 0.14 * (1 - 0.3)  # 0.1412079 + 0.098
    np.testing.assert_allclose([d0, d1, d2], [0.0681107, 0.1592023, 0.2392079], atol=1e-6)
    np.testing.assert_allclose(delta(g, c, 0.22, 0.14), [d0, d1, d2], rtol=1e-12)

    # eq. 8: normalise w_base * exp(delta), then clip to [0.85, 1.35]
    u0, u1, u2 = wb[0] * math.exp(d0), wb[1] * math.exp(d1), wb[2] * math.exp(d2)
    mu = (u0 + u1 + u2) / 3
    n0, n1, n2 = u0 / mu, u1 / mu, u2 / mu  # ~0.476, ~0.737, ~1.786: all three get clipped
    assert n0 < 0.85 and n1 < 0.85 and n2 > 1.35
    wd = [0.85, 0.85, 1.35]
    np.testing.assert_allclose(dynamic_weights(wb, g, c, CFG), wd, rtol=1e-12)

    # eq. 9-10 at epoch 4: gamma = 0.6 * 5 / 30 = 0.1
    gam = 0.6 * min(1, (4 + 1) / 30)
    assert gamma(epoch, CFG) == pytest.approx(0.1, abs=1e-15)
    wf = [0.9 * wb[0] + 0.1 * 0.85, 0.9 * wb[1] + 0.1 * 0.85, 0.9 * wb[2] + 0.1 * 1.35]
    np.testing.assert_allclose(wf, [0.569177, 0.769730, 1.666093], atol=1e-6)
    np.testing.assert_allclose(final_weights(wb, wd, gam), wf, rtol=1e-12)


def test_dynamic_weights_without_clip_by_hand():
    # equal counts: w_base = [1, 1, 1]
    wb = base_weights([10, 10, 10], CFG.eps)
    np.testing.assert_allclose(wb, [1.0, 1.0, 1.0], rtol=1e-12)
    g = [0.1, 0.2, 0.3]
    c = [0.6, 0.5, 0.4]
    e0 = math.exp(0.22 * math.log(1.1) + 0.14 * 0.4)
    e1 = math.exp(0.22 * math.log(1.2) + 0.14 * 0.5)
    e2 = math.exp(0.22 * math.log(1.3) + 0.14 * 0.6)
    m = (e0 + e1 + e2) / 3
    expected = [e0 / m, e1 / m, e2 / m]
    assert all(0.85 < x < 1.35 for x in expected)  # clip inactive
    np.testing.assert_allclose(dynamic_weights(wb, g, c, CFG), expected, rtol=1e-12)
    np.testing.assert_allclose(np.mean(expected), 1.0)


def test_initial_emas_leave_w_dyn_equal_to_clipped_base():
    # with the initial EMAs (g=0, c=0.5) delta is the same for every class and cancels
    wb = base_weights([100, 50, 10], CFG.eps)
    wd = dynamic_weights(wb, np.zeros(3), np.full(3, 0.5), CFG)
    np.testing.assert_allclose(wd, np.clip(wb, 0.85, 1.35), rtol=1e-12)


def test_base_weights_edge_cases():
    np.testing.assert_allclose(base_weights([0, 0, 0], CFG.eps), [1.0, 1.0, 1.0])
    w = base_weights([10, 0], 1e-6)  # absent class: large but finite
    r0, r1 = 1 / math.sqrt(1.0 + 1e-6), 1 / math.sqrt(1e-6)
    np.testing.assert_allclose(w, [2 * r0 / (r0 + r1), 2 * r1 / (r0 + r1)], rtol=1e-12)
    with pytest.raises(ValueError):
        base_weights([-1, 2], 1e-6)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [(0, 0.6 / 30), (14, 0.6 * 15 / 30), (29, 0.6), (30, 0.6), (100, 0.6)],
)
def test_gamma_ramp(epoch, expected):
    assert gamma(epoch, CFG) == pytest.approx(expected, rel=1e-12)


def test_gamma_rejects_negative_epoch():
    with pytest.raises(ValueError):
        gamma(-1, CFG)


def test_image_weights_mean_max_and_empty():
    cw = np.array([0.9, 1.2, 1.3])
    imgs = [
        np.array([0, 0, 1]),  # mean (0.9 + 0.9 + 1.2) / 3 = 1.0, max 1.2
        np.array([], dtype=np.int64),  # no instances -> 1.0
        np.array([2]),  # 1.3 / 1.3
        np.array([1, 2, 0, 2]),  # mean (1.2 + 1.3 + 0.9 + 1.3) / 4 = 1.175, max 1.3
    ]
    np.testing.assert_allclose(image_weights(cw, imgs), [1.0, 1.0, 1.3, 1.175], rtol=1e-12)
    np.testing.assert_allclose(image_weights(cw, imgs, "max"), [1.2, 1.0, 1.3, 1.3], rtol=1e-12)
    assert image_weights(cw, []).shape == (0,)
    np.testing.assert_allclose(image_weights(cw, [np.array([], dtype=int)] * 3), [1, 1, 1])
    with pytest.raises(ValueError):
        image_weights(cw, imgs, "median")
    with pytest.raises(ValueError):
        image_weights(cw, [np.array([3])])


def test_image_weights_vectorised_matches_loop_on_large_input():
    rng = np.random.default_rng(0)
    cw = rng.uniform(0.5, 2.0, size=6)
    imgs = [rng.integers(0, 6, size=rng.integers(0, 5)) for _ in range(100_000)]
    labels, lengths = flatten_image_classes(imgs)
    for rule, red in (("mean", np.mean), ("max", np.max)):
        got = image_weights_flat(cw, labels, lengths, rule)
        sub = range(0, 100_000, 997)
        ref = [red(cw[imgs[i]]) if len(imgs[i]) else 1.0 for i in sub]
        np.testing.assert_allclose(got[list(sub)], ref, rtol=1e-12)
