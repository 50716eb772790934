"""DS-CBSM++ class and image weights: the pure math of equations 6-10 (numpy only).

Every function here is a pure function of its arguments; the constants come from
:class:`grace.config.SamplerConfig`. Notation follows the paper:

* eq. 6  ``w_base = Normalize(1 / sqrt(f_c + eps))``
* eq. 7  ``delta_c = alpha * log(1 + g_ema_c) + beta * (1 - c_ema_c)``
* eq. 8  ``w_dyn = clip(Normalize(w_base * exp(delta_c)), w_min, w_max)``
* eq. 9  ``gamma_e = gamma_max * min(1, (e + 1) / e_ramp)``
* eq. 10 ``w_final = (1 - gamma_e) * w_base + gamma_e * w_dyn``

where ``Normalize`` divides by the mean over classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grace.config import SamplerConfig

IMAGE_RULES = ("mean", "max")


def normalize(v: np.ndarray) -> np.ndarray:
    """Divide a per-class vector by its mean over classes (the paper's ``Normalize``).

    Parameters
    ----------
    v : array_like, shape (C,)
        Non-negative per-class values with a positive mean.

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``v / mean(v)`` in float64, so that the result has mean 1.
    """
    v = np.asarray(v, dtype=np.float64)
    m = v.mean()
    if not np.isfinite(m) or m <= 0:
        raise ValueError(f"normalize needs a positive finite mean, got {m}")
    return v / m


def base_weights(class_counts: Sequence[float] | np.ndarray, eps: float) -> np.ndarray:
    """Base class weights of equation 6.

    Parameters
    ----------
    class_counts : array_like, shape (C,)
        Number of training instances (boxes) of each class.
    eps : float
        Numerical-stability term (``SamplerConfig.eps``).

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``Normalize(1 / sqrt(f_c + eps))`` with ``f_c = counts / counts.sum()`` the relative
        frequency. If every count is zero, ``f_c = 0`` for all classes and the weights are all 1.
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("class_counts must be a non-empty 1-D array")
    if np.any(counts < 0):
        raise ValueError("class_counts must be non-negative")
    total = counts.sum()
    f = counts / total if total > 0 else np.zeros_like(counts)
    return normalize(1.0 / np.sqrt(f + eps))


def delta(g_ema: np.ndarray, c_ema: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Dynamic adjustment term of equation 7.

    Parameters
    ----------
    g_ema, c_ema : array_like, shape (C,)
        EMAs of the gradient magnitude and of the confidence per class.
    alpha, beta : float
        Coefficients of ``log(1 + g)`` and ``(1 - c)``.

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``alpha * log(1 + g_ema) + beta * (1 - c_ema)``.
    """
    g = np.asarray(g_ema, dtype=np.float64)
    c = np.asarray(c_ema, dtype=np.float64)
    return alpha * np.log1p(g) + beta * (1.0 - c)


def dynamic_weights(
    w_base: np.ndarray, g_ema: np.ndarray, c_ema: np.ndarray, cfg: SamplerConfig
) -> np.ndarray:
    """Dynamic class weights of equation 8.

    Parameters
    ----------
    w_base : array_like, shape (C,)
        Base weights from :func:`base_weights`.
    g_ema, c_ema : array_like, shape (C,)
        Per-class EMAs of gradient magnitude and confidence.
    cfg : SamplerConfig
        Supplies ``alpha``, ``beta``, ``w_min`` and ``w_max``.

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``clip(Normalize(w_base * exp(delta)), w_min, w_max)``.
    """
    w = np.asarray(w_base, dtype=np.float64) * np.exp(delta(g_ema, c_ema, cfg.alpha, cfg.beta))
    return np.clip(normalize(w), cfg.w_min, cfg.w_max)


def gamma(epoch: int, cfg: SamplerConfig) -> float:
    """Mixing coefficient of equation 9 (``epoch`` counts from 0).

    Parameters
    ----------
    epoch : int
        Zero-based epoch index.
    cfg : SamplerConfig
        Supplies ``gamma_max`` and ``e_ramp``.

    Returns
    -------
    float
        ``gamma_max * min(1, (epoch + 1) / e_ramp)``.
    """
    if epoch < 0:
        raise ValueError("epoch counts from 0")
    return float(cfg.gamma_max * min(1.0, (epoch + 1) / cfg.e_ramp))


def final_weights(w_base: np.ndarray, w_dyn: np.ndarray, gamma: float) -> np.ndarray:
    """Final class sampling weights of equation 10.

    Parameters
    ----------
    w_base, w_dyn : array_like, shape (C,)
        Base and dynamic class weights.
    gamma : float
        Mixing coefficient from :func:`gamma`.

    Returns
    -------
    numpy.ndarray, shape (C,)
        ``(1 - gamma) * w_base + gamma * w_dyn``.
    """
    wb = np.asarray(w_base, dtype=np.float64)
    wd = np.asarray(w_dyn, dtype=np.float64)
    return (1.0 - gamma) * wb + gamma * wd


def image_weights(
    class_weights: np.ndarray,
    image_classes: Sequence[np.ndarray],
    rule: str = "mean",
) -> np.ndarray:
    """Map class weights to per-image sampling weights.

    Parameters
    ----------
    class_weights : array_like, shape (C,)
        Weight of each class (typically ``w_final``).
    image_classes : sequence of int arrays
        For each image, the class id of each of its instances (repeats allowed: an image with
        three scratches and one patch is ``[s, s, s, p]``).
    rule : {"mean", "max"}
        ``"mean"``: the mean class weight over the image's instances (so instances, not
        distinct classes, count); ``"max"``: the largest class weight among them.

    Returns
    -------
    numpy.ndarray, shape (N,)
        One weight per image, float64. An image without instances gets 1.0 (the mean class
        weight, as every class weight vector here is mean-normalised or close to it).
    """
    labels, lengths = flatten_image_classes(image_classes)
    return image_weights_flat(class_weights, labels, lengths, rule)


def flatten_image_classes(image_classes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-image class-id arrays into one flat array plus per-image lengths.

    Parameters
    ----------
    image_classes : sequence of int arrays
        For each image, the class id of each of its instances.

    Returns
    -------
    labels : numpy.ndarray, shape (M,), int64
        All instances' class ids, image after image.
    lengths : numpy.ndarray, shape (N,), int64
        Number of instances of each image.
    """
    n = len(image_classes)
    arrays = [np.asarray(c, dtype=np.int64).reshape(-1) for c in image_classes]
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=n)
    labels = np.concatenate(arrays) if n and lengths.sum() else np.zeros(0, dtype=np.int64)
    return labels, lengths


def image_weights_flat(
    class_weights: np.ndarray, labels: np.ndarray, lengths: np.ndarray, rule: str = "mean"
) -> np.ndarray:
    """:func:`image_weights` on the flat form from :func:`flatten_image_classes`.

    Parameters
    ----------
    class_weights : array_like, shape (C,)
        Weight of each class.
    labels : numpy.ndarray, shape (M,)
        Class id of every instance, image after image.
    lengths : numpy.ndarray, shape (N,)
        Number of instances of each image (``lengths.sum() == M``).
    rule : {"mean", "max"}
        Reduction over an image's instances.

    Returns
    -------
    numpy.ndarray, shape (N,)
        One weight per image; 1.0 for images without instances.
    """
    if rule not in IMAGE_RULES:
        raise ValueError(f"rule must be one of {IMAGE_RULES}, got {rule!r}")
    cw = np.asarray(class_weights, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n = lengths.size
    out = np.ones(n, dtype=np.float64)
    if labels.size != lengths.sum():
        raise ValueError("labels.size must equal lengths.sum()")
    if labels.size == 0:
        return out
    if labels.min() < 0 or labels.max() >= cw.size:
        raise ValueError(f"class ids must lie in [0, {cw.size - 1}]")
    values = cw[labels]
    nonempty = lengths > 0
    if rule == "mean":
        owner = np.repeat(np.arange(n), lengths)
        sums = np.bincount(owner, weights=values, minlength=n)
        out[nonempty] = sums[nonempty] / lengths[nonempty]
    else:
        starts = (np.cumsum(lengths) - lengths)[nonempty]
        out[nonempty] = np.maximum.reduceat(values, starts)
    return out
