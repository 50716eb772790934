"""CAM maths, pure numpy: the sign convention of a principal-component map, and the one global
min-max normalisation that makes several models' maps comparable (paper, Figure 3).

The maps themselves come from pytorch-grad-cam (:mod:`grace.explain.methods`). Its Eigen-CAM
(Muhammad & Yeasin, 2020) is ``get_2d_projection``: activations ``A`` ``(C, H, W)`` with NaNs set
to 0, ``X = A.reshape(C, H*W).T`` centred per channel, ``X = U S V^T`` by ``np.linalg.svd``, the
map ``X @ V[0]`` reshaped to ``(H, W)``; ``BaseCAM`` then applies ``max(map, 0)``.

Two deliberate differences from the library's output, both kept from GRACE's own earlier
implementation so that the maps did not change when the library took over:

* **Sign** (:func:`orient`). The sign of a singular vector is arbitrary: LAPACK may return
  ``-V[0]``, and then pytorch-grad-cam's ReLU keeps the *inverted* half of the map. Measured
  with grad-cam 1.5.5 on the two demo models and the 12 demo validation images: 12 of the 24
  projections ``get_2d_projection`` returns are anti-correlated with the mean activation. Here
  the signed projection is flipped, when needed, so that it correlates non-negatively with the
  mean over channels of the matrix that was projected, *before* the ReLU: "high" means "where
  the layer is strongly active".
* **Normalisation** (:func:`normalize_global`). pytorch-grad-cam min-max scales every map on its
  own (``scale_cam_image``); the paper normalises "uniformly", so one minimum and one maximum
  over all the maps shown. Because the normalisation is affine and bilinear resizing is linear
  (and convex), it does not matter whether maps are resized before or after it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["global_range", "normalize_global", "orient"]


def orient(projection: np.ndarray, projected: np.ndarray) -> np.ndarray:
    """The sign convention of a principal-component map.

    Parameters
    ----------
    projection : numpy.ndarray, shape (H, W)
        The signed projection of the centred ``(H*W, C)`` matrix on a principal axis, before any
        ReLU.
    projected : numpy.ndarray, shape (C, H, W)
        What was projected (the activations for Eigen-CAM, gradients x activations for
        Eigen-Grad-CAM); NaNs count as 0, as in pytorch-grad-cam.

    Returns
    -------
    numpy.ndarray, shape (H, W)
        ``projection`` or ``-projection``, whichever has a non-negative covariance with
        ``projected.mean(axis=0)`` (the mean over channels at each position).
    """
    p = np.asarray(projection, np.float64)
    a = np.nan_to_num(np.asarray(projected, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    mean_map = a.mean(axis=0)
    cov = float(np.sum((p - p.mean()) * (mean_map - mean_map.mean())))
    return -projection if cov < 0 else projection


def global_range(maps: Sequence[np.ndarray]) -> tuple[float, float]:
    """One minimum and one maximum over every value of every map.

    Parameters
    ----------
    maps : sequence of numpy.ndarray
        Raw heatmaps (any shapes).

    Returns
    -------
    (float, float)
        ``(min, max)`` over all finite values.
    """
    if len(maps) == 0:
        raise ValueError("no maps to normalise")
    vals = [np.asarray(m, np.float64) for m in maps]
    lo = min(float(np.nanmin(v)) for v in vals)
    hi = max(float(np.nanmax(v)) for v in vals)
    return lo, hi


def normalize_global(
    maps: Sequence[np.ndarray], vmin: float | None = None, vmax: float | None = None
) -> list[np.ndarray]:
    """Scale all maps with one affine map so that the global minimum is 0 and the maximum 1.

    The same raw value therefore becomes the same normalised value (and, through
    :func:`grace.explain.render.overlay`, the same colour) in every panel.

    Parameters
    ----------
    maps : sequence of numpy.ndarray
        Raw heatmaps, e.g. one per model.
    vmin, vmax : float, optional
        The range to map onto ``[0, 1]``; :func:`global_range` of ``maps`` if omitted (pass a
        fixed range to keep colours stable across images). Values outside are clipped.

    Returns
    -------
    list of numpy.ndarray (float32)
        The normalised maps, in order. If ``vmax <= vmin`` (all maps constant) every value is 0.
    """
    lo, hi = global_range(maps)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    span = hi - lo
    out = []
    for m in maps:
        m = np.asarray(m, np.float64)
        if span <= 0:
            out.append(np.zeros(m.shape, np.float32))
        else:
            out.append(np.clip((m - lo) / span, 0.0, 1.0).astype(np.float32))
    return out
