"""Bootstrap over validation images: one run's 95 % intervals (pure numpy; no I/O).

A resample draws ``I`` images with replacement from the ``I`` validation images; image ``i``
then counts ``w_i`` times (its draw count). The predictions are matched once
(:func:`grace.eval.matching.match_image`, as ``grace val`` does) and every metric is recomputed
from counts weighted by ``w``, for many resamples at once (arrays over resamples):

- AP of a class at each IoU threshold: the class's predictions in descending score order (the
  order of :func:`grace.eval.metrics.pr_points`), cumulative TP and TP + FP weighted by the draw
  count of each prediction's image, the precision envelope read at the 101 COCO recall points
  (:func:`grace.eval.metrics.ap_coco101`'s rule). This equals
  :func:`grace.eval.metrics.evaluate` on the resampled list of images (an image drawn k times
  listed k times): the k copies of a prediction are adjacent in score order (up to exact score
  ties across images), and the points inside such a block never change the envelope at a recall
  point, so only the block's last point is needed. Predictions after a class's last true
  positive (at any IoU) never reach the envelope at a recall point and are left out.
- mAP@0.5:0.95 and mAP@0.5: means over the classes with ground truth in the resample.
- F1 dataset: the paper's equation 5 on TP, FP, FN pooled over classes at IoU 0.5, at the
  confidence of :data:`grace.eval.metrics.CONF_GRID` that maximises it.

The interval is the percentile interval (2.5 %, 97.5 %) of the resampled values, from
``numpy.random.default_rng(seed)``: the same seed gives the same interval. With every ``w_i = 1``
the figures are those of ``grace val``.

(``grace compare``'s paired bootstrap of a Δ between runs is being written in parallel; this
module covers one run, with the same resampling rule, so that the two can share it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grace.eval.matching import IOU_THRESHOLDS, match_image
from grace.eval.metrics import CONF_GRID, RECALL_GRID
from grace.eval.records import ImageRecord

BOOTSTRAP_METRICS = ("mAP50-95", "mAP50", "f1_dataset")
CONFIDENCE_LEVEL = 0.95
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
_CHUNK_ELEMENTS = 4_000_000  # resamples x predictions x IoU thresholds per step (memory bound)


@dataclass
class MatchedRun:
    """One run's predictions matched once, ready for weighted recomputation.

    Attributes
    ----------
    n_images
        Number of images ``I``.
    gt_per_image
        ``(I, C)`` ground-truth boxes per image and class.
    image, tp
        Per class ``c``: ``image[c]`` ``(N_c,)`` the image index of each prediction and
        ``tp[c]`` ``(N_c, T)`` its true-positive flags, in descending score order, up to the
        class's last true positive at any IoU threshold.
    pred_hist, tp_hist
        ``(I, G + 1)``: per image, how many predictions (true positives at IoU 0.5) pass
        exactly ``k`` confidences of the grid, for ``k = 0..G``.
    """

    n_images: int
    gt_per_image: np.ndarray
    image: list[np.ndarray]
    tp: list[np.ndarray]
    pred_hist: np.ndarray
    tp_hist: np.ndarray


def match_run(
    records: Sequence[ImageRecord],
    nc: int,
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
    conf_grid: np.ndarray = CONF_GRID,
) -> MatchedRun:
    """Match every image once (the expensive part; resampling is then arithmetic).

    Parameters
    ----------
    records
        The run's images.
    nc
        Number of classes.
    iou_thresholds, conf_grid
        As :func:`grace.eval.metrics.evaluate`.
    """
    n, grid = len(records), np.asarray(conf_grid, dtype=np.float64)
    thr = np.asarray(iou_thresholds, dtype=np.float64)
    gt = np.zeros((n, nc))
    pred_hist, tp_hist = np.zeros((n, len(grid) + 1)), np.zeros((n, len(grid) + 1))
    img: list[list[np.ndarray]] = [[] for _ in range(nc)]
    scores: list[list[np.ndarray]] = [[] for _ in range(nc)]
    tps: list[list[np.ndarray]] = [[] for _ in range(nc)]
    for i, rec in enumerate(records):
        gt[i] = np.bincount(rec.gt_classes, minlength=nc)[:nc]
        tp = match_image(rec.gt_boxes, rec.gt_classes, rec.boxes, rec.scores, rec.classes, thr)
        passes = np.searchsorted(grid, rec.scores, side="right")  # grid points c <= score
        pred_hist[i] = np.bincount(passes, minlength=len(grid) + 1)
        tp_hist[i] = np.bincount(passes, weights=tp[:, 0].astype(float), minlength=len(grid) + 1)
        for c in np.unique(rec.classes):
            sel = rec.classes == c
            img[c].append(np.full(int(sel.sum()), i))
            scores[c].append(rec.scores[sel])
            tps[c].append(tp[sel])
    images, flags = [], []
    for c in range(nc):
        s = np.concatenate(scores[c]) if scores[c] else np.zeros(0)
        order = np.argsort(-s, kind="mergesort")  # as pr_points: ties keep image order
        image = np.concatenate(img[c])[order] if img[c] else np.zeros(0, dtype=np.int64)
        tp = np.concatenate(tps[c])[order] if tps[c] else np.zeros((0, len(thr)), dtype=bool)
        hits = np.flatnonzero(tp.any(axis=1))
        end = int(hits[-1]) + 1 if len(hits) else 0
        images.append(image[:end])
        flags.append(tp[:end])
    return MatchedRun(n, gt, images, flags, pred_hist, tp_hist)


def ap_batch(wp: np.ndarray, tp: np.ndarray, n_gt: np.ndarray) -> np.ndarray:
    """COCO 101-point AP of one class for a batch of resamples.

    Parameters
    ----------
    wp
        ``(B, N)`` weight of each prediction (its image's draw count) in each resample.
    tp
        ``(N, T)`` true-positive flags, in descending score order.
    n_gt
        ``(B,)`` ground-truth instances of the class in each resample (> 0).

    Returns
    -------
    np.ndarray
        ``(B, T)`` AP per resample and IoU threshold.
    """
    b, n = wp.shape
    t = tp.shape[1]
    tpc = np.cumsum(wp[:, :, None] * tp[None], axis=1)  # (B, N, T)
    den = np.cumsum(wp, axis=1)[:, :, None]
    precision = np.divide(tpc, den, out=np.zeros_like(tpc), where=den > 0)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    recall = tpc / n_gt[:, None, None]
    # k = number of recall points <= recall; point n lies below recall point j iff k <= j, so the
    # first point reaching recall point j is at index #{n : k_n <= j} (recall never decreases)
    k = np.searchsorted(RECALL_GRID, recall.transpose(0, 2, 1).reshape(-1), side="right")
    rows = np.repeat(np.arange(b * t), n)
    hist = np.bincount(rows * (len(RECALL_GRID) + 1) + k, minlength=b * t * (len(RECALL_GRID) + 1))
    first = np.cumsum(hist.reshape(b * t, -1), axis=1)[:, : len(RECALL_GRID)]  # (B*T, 101)
    env = envelope.transpose(0, 2, 1).reshape(b * t, n)
    q = np.take_along_axis(env, np.minimum(first, n - 1), axis=1) * (first < n)
    return q.mean(axis=1).reshape(b, t)


def weighted_metrics(run: MatchedRun, weights: np.ndarray) -> np.ndarray:
    """Each metric of :data:`BOOTSTRAP_METRICS` with image ``i`` counted ``weights[b, i]``
    times, for every row ``b`` (all ones: the figures of ``grace val``).

    Parameters
    ----------
    run
        :func:`match_run`'s result.
    weights
        ``(B, I)`` draw counts (or ``(I,)`` for one resample).

    Returns
    -------
    np.ndarray
        ``(B, 3)`` (or ``(3,)``) fractions; mAP is NaN in a resample where no class has ground
        truth.
    """
    w = np.asarray(weights, dtype=np.float64)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    n_gt = w @ run.gt_per_image  # (B, C)
    ap_sum = np.zeros((len(w), 2))
    n_classes = (n_gt > 0).sum(axis=1)
    for c, (image, tp) in enumerate(zip(run.image, run.tp, strict=True)):
        has = n_gt[:, c] > 0
        if len(image) == 0 or not has.any():
            continue  # AP 0 where the class has ground truth but no true positive
        step = max(1, _CHUNK_ELEMENTS // max(1, len(image) * tp.shape[1]))
        for s in range(0, len(w), step):
            sl = slice(s, s + step)
            ok = has[sl]
            ap = np.zeros((len(ok), tp.shape[1]))
            ap[ok] = ap_batch(w[sl][ok][:, image], tp, n_gt[sl, c][ok])
            ap_sum[sl, 0] += ap.mean(axis=1)
            ap_sum[sl, 1] += ap[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = ap_sum / n_classes[:, None]  # NaN where no class has ground truth
    # predictions (TP) passing grid point g: those passing more than g grid points
    preds = np.cumsum((w @ run.pred_hist)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    tps = np.cumsum((w @ run.tp_hist)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    den = preds + n_gt.sum(axis=1, keepdims=True)
    f1 = np.divide(2 * tps, den, out=np.zeros_like(tps), where=den > 0).max(axis=1)
    out = np.column_stack([maps, f1])
    return out[0] if single else out


def resample_weights(n_images: int, resamples: int, seed: int) -> np.ndarray:
    """``(B, I)`` draw counts of each image in ``resamples`` bootstrap resamples (``I`` draws
    with replacement each) from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(resamples, n_images))
    counts = np.zeros((resamples, n_images))
    np.add.at(counts, (np.repeat(np.arange(resamples), n_images), idx.ravel()), 1.0)
    return counts


@dataclass
class MetricInterval:
    """One metric of one run with its bootstrap percentile interval (fractions)."""

    metric: str
    value: float
    low: float
    high: float
    resamples: int
    seed: int
    level: float = CONFIDENCE_LEVEL


def percentile_interval(samples: np.ndarray, level: float = CONFIDENCE_LEVEL) -> tuple:
    """``(low, high)`` percentiles ``(1 - level) / 2`` and ``(1 + level) / 2`` of the finite
    samples (NaN, NaN when there is none)."""
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not len(s):
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(s, [alpha, 1 - alpha])
    return float(lo), float(hi)


def run_intervals(
    records: Sequence[ImageRecord],
    nc: int,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, MetricInterval]:
    """mAP@0.5:0.95, mAP@0.5 and F1 dataset of one run with 95 % bootstrap intervals over its
    images (module rules).

    Parameters
    ----------
    records
        The run's images (``predictions.npz`` of ``grace val``).
    nc
        Number of classes.
    resamples
        Bootstrap resamples (at least 1).
    seed
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    dict
        Metric name -> :class:`MetricInterval`; ``value`` is the figure on all images.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    run = match_run(records, nc)
    point = weighted_metrics(run, np.ones(run.n_images))
    samples = (
        weighted_metrics(run, resample_weights(run.n_images, resamples, seed))
        if run.n_images
        else np.full((resamples, len(BOOTSTRAP_METRICS)), np.nan)
    )
    out = {}
    for j, name in enumerate(BOOTSTRAP_METRICS):
        lo, hi = percentile_interval(samples[:, j])
        out[name] = MetricInterval(name, float(point[j]), lo, hi, resamples, seed)
    return out
