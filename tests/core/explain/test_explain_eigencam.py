"""Eigen-CAM maths and the global normalisation (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from grace.explain.eigencam import eigen_cam, global_range, normalize_global


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _rank1(channel_vector, rng, h=12, w=10):
    """activations = outer(channel vector, spatial pattern) + a per-channel offset."""
    yy, xx = np.mgrid[0:h, 0:w]
    pattern = np.exp(-((yy - 4.0) ** 2 + (xx - 6.0) ** 2) / 6.0) + 0.3 * np.sin(xx / 2.0)
    offset = rng.normal(0, 3, channel_vector.shape)
    acts = channel_vector[:, None, None] * pattern[None] + offset[:, None, None]
    return acts, pattern


def _reference_projection(activations):
    """pytorch-grad-cam's ``get_2d_projection`` for one image (its code, full matrices)."""
    a = np.array(activations, dtype=np.float64)
    a[np.isnan(a)] = 0
    x = a.reshape(a.shape[0], -1).transpose()
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=True)
    return (x @ vt[0, :]).reshape(a.shape[1:])


def test_rank1_recovers_the_spatial_pattern():
    rng = np.random.default_rng(0)
    acts, pattern = _rank1(np.abs(rng.normal(1, 0.5, 16)) + 0.1, rng)
    p = eigen_cam(acts, relu=False)
    assert p.shape == pattern.shape and p.dtype == np.float32
    assert _corr(p, pattern) > 0.9999  # up to scale, and with the positive sign
    relu = eigen_cam(acts)  # pytorch-grad-cam's ReLU keeps the above-average part
    assert relu.min() == 0.0
    assert _corr(relu, np.maximum(pattern - pattern.mean(), 0)) > 0.9999


def test_sign_follows_the_mean_activation():
    """Negative channel weights: the layer is *less* active where the pattern is high."""
    rng = np.random.default_rng(1)
    acts, pattern = _rank1(-(np.abs(rng.normal(1, 0.5, 16)) + 0.1), rng)
    p = eigen_cam(acts, relu=False)
    assert _corr(p, acts.mean(axis=0)) > 0.9999
    assert _corr(p, pattern) < -0.9999


@pytest.mark.parametrize("seed", range(8))
def test_matches_pytorch_grad_cam_up_to_the_sign_convention(seed):
    rng = np.random.default_rng(seed)
    acts = rng.gamma(2.0, 1.0, (24, 9, 11)) * rng.random((1, 9, 11))
    ours = eigen_cam(acts, relu=False)
    ref = _reference_projection(acts)
    sign = np.sign(np.sum(ours * ref))
    np.testing.assert_allclose(ours, sign * ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert _corr(ours, acts.mean(axis=0)) >= 0  # our convention, whatever LAPACK returned
    np.testing.assert_array_equal(eigen_cam(acts), np.maximum(ours, 0))


def test_inputs_torch_batched_nan_and_constant():
    import torch

    rng = np.random.default_rng(2)
    acts = rng.random((8, 5, 6)).astype(np.float32)
    base = eigen_cam(acts)
    np.testing.assert_allclose(eigen_cam(torch.from_numpy(acts)[None]), base, atol=1e-6)
    with_nan = acts.copy()
    with_nan[0, 0, 0] = np.nan
    assert np.isfinite(eigen_cam(with_nan)).all()
    assert not eigen_cam(np.ones((4, 3, 3))).any()  # no variation: an all-zero map
    with pytest.raises(ValueError):
        eigen_cam(np.zeros((3, 4)))


def test_normalize_global_is_one_affine_map_for_all():
    a = np.array([[0.0, 0.5], [1.5, 2.0]])  # range [0, 2]
    b = np.array([[1.0, 1.5], [3.0, 5.0]])  # range [1, 5]
    assert global_range([a, b]) == (0.0, 5.0)
    na, nb = normalize_global([a, b])
    assert na.dtype == np.float32 and na.shape == a.shape
    assert na.min() == 0.0 and nb.max() == 1.0  # overall min -> 0, max -> 1
    assert na[1, 0] == nb[0, 1]  # raw 1.5 in both panels: the same normalised value
    np.testing.assert_allclose(nb, b / 5.0, rtol=1e-6)
    np.testing.assert_allclose(na, a / 5.0, rtol=1e-6)
    assert nb.min() > 0.0 and na.max() < 1.0  # not a per-map min-max
    # a fixed range (e.g. kept across images) clips outside values
    fa, fb = normalize_global([a, b], vmin=1.0, vmax=3.0)
    assert fa[0, 0] == 0.0 and fb[1, 1] == 1.0 and fb[0, 1] == pytest.approx(0.25)
    # all maps constant: zeros, not NaN
    z = normalize_global([np.full((2, 2), 3.0), np.full((2, 2), 3.0)])
    assert all(not m.any() for m in z)
    with pytest.raises(ValueError):
        normalize_global([])
