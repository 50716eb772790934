"""CAM maths: the sign convention and the global normalisation (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from grace.explain.eigencam import global_range, normalize_global, orient


def _corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _rank1(channel_vector, rng, h=12, w=10):
    """activations = outer(channel vector, spatial pattern) + a per-channel offset."""
    yy, xx = np.mgrid[0:h, 0:w]
    pattern = np.exp(-((yy - 4.0) ** 2 + (xx - 6.0) ** 2) / 6.0) + 0.3 * np.sin(xx / 2.0)
    offset = rng.normal(0, 3, channel_vector.shape)
    acts = channel_vector[:, None, None] * pattern[None] + offset[:, None, None]
    return acts, pattern


@pytest.mark.parametrize("weights_sign", [1.0, -1.0])
@pytest.mark.parametrize("given_sign", [1.0, -1.0])
def test_orient_follows_the_mean_activation(weights_sign, given_sign):
    """Whatever sign the SVD returned, the map is high where the mean activation is high."""
    rng = np.random.default_rng(0)
    acts, pattern = _rank1(weights_sign * (np.abs(rng.normal(1, 0.5, 16)) + 0.1), rng)
    centred = pattern - pattern.mean()  # the projection of a rank-1 map, up to scale and sign
    out = orient(given_sign * centred, acts)
    np.testing.assert_array_equal(out, weights_sign * centred)  # exactly one of the two signs
    assert _corr(out, acts.mean(axis=0)) > 0.9999


def test_orient_treats_nan_as_zero_and_keeps_a_zero_map():
    acts = np.zeros((3, 2, 2))
    acts[:, 0, 0] = [1.0, 2.0, np.nan]  # mean over channels: 1.0 at (0, 0), 0 elsewhere
    p = np.array([[-3.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(orient(p, acts), -p)
    z = np.zeros((2, 2))
    np.testing.assert_array_equal(orient(z, acts), z)


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
