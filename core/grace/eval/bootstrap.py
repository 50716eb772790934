"""Bootstrap over validation images (pure numpy; no I/O): one run's 95 % intervals
(``grace report``) and the paired Δ between runs (``grace compare``).

A resample draws ``I`` images with replacement from the ``I`` validation images; image ``i``
then counts ``w_i`` times (its draw count). A run's predictions are matched once
(:func:`grace.eval.matching.match_image`, as ``grace val`` does) and every metric is recomputed
from counts weighted by ``w`` (the matching is never repeated):

- AP of a class at each IoU threshold: the class's predictions in descending score order (the
  order of :func:`grace.eval.metrics.pr_points`), cumulative TP and TP + FP weighted by the draw
  count of each prediction's image, then :func:`grace.eval.metrics.ap_coco101`. This equals
  :func:`grace.eval.metrics.evaluate` on the resampled list of images (an image drawn k times
  listed k times): the k copies of a prediction are adjacent in score order (up to exact score
  ties across images), and the points inside such a block never change the envelope at a recall
  point, so only the block's last point is needed. Predictions after a class's last true
  positive (at any IoU) never reach the envelope at a recall point and are left out.
- mAP@0.5:0.95 and mAP@0.5: means over the classes with ground truth in the resample.
- F1 dataset: the paper's equation 5 on TP, FP, FN pooled over classes at IoU 0.5, at the
  confidence of :data:`grace.eval.metrics.CONF_GRID` that maximises it.

Resamples come from ``numpy.random.default_rng(seed)``: the same seed gives the same interval.
With every ``w_i = 1`` the figures are those of ``grace val``. An interval is the percentile
interval (2.5 %, 97.5 %) of the resampled values (:func:`percentile_interval`):

- one run (:func:`run_intervals`): of the resampled metric;
- a Δ between runs (:func:`paired_deltas`, :func:`delta_intervals`): every run is resampled with
  the same image indices (paired), so the Δ distribution is that of the difference on the same
  images; a Δ whose interval contains 0 is "not distinguishable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grace.eval.matching import IOU_THRESHOLDS, match_image
from grace.eval.metrics import CONF_GRID, ap_coco101
from grace.eval.records import ImageRecord

BOOTSTRAP_METRICS = ("mAP50-95", "mAP50", "f1_dataset")
NOT_DISTINGUISHABLE = "not distinguishable"
DISTINGUISHABLE = "distinguishable"
CONFIDENCE_LEVEL = 0.95
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


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
        The run's images (for a paired comparison, in the order shared with the other runs).
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
        # after the last true positive (at any IoU) recall stops and precision only falls: those
        # points never reach the precision envelope at a recall point, so AP does not need them
        hits = np.flatnonzero(tp.any(axis=1))
        end = int(hits[-1]) + 1 if len(hits) else 0
        images.append(image[:end])
        flags.append(tp[:end])
    return MatchedRun(n, gt, images, flags, pred_hist, tp_hist)


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
        ``(B, 3)`` (or ``(3,)``) fractions, columns in :data:`BOOTSTRAP_METRICS` order; mAP is
        NaN in a resample where no class has ground truth.

    Notes
    -----
    AP is computed one resample at a time through :func:`grace.eval.metrics.ap_coco101`: with
    the thousands of predictions per class of a ``grace val`` at confidence 0.001, that is
    faster than one array over all resamples (which reads every prediction's recall against
    the 101 recall points instead of the 101 points against the recalls), with the same bits.
    """
    w = np.asarray(weights, dtype=np.float64)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    n_gt = w @ run.gt_per_image  # (B, C)
    maps = np.full((len(w), 2), np.nan)  # NaN where no class has ground truth
    for b, wb in enumerate(w):
        ap50_95, ap50 = [], []
        for c, (image, tp) in enumerate(zip(run.image, run.tp, strict=True)):
            if n_gt[b, c] <= 0:
                continue
            if len(image) == 0:  # ground truth but no true positive at any IoU
                ap50_95.append(0.0)
                ap50.append(0.0)
                continue
            wp = wb[image]
            tpc = np.cumsum(wp[:, None] * tp, axis=0)
            denom = np.cumsum(wp)[:, None]  # TP + FP
            recall = tpc / n_gt[b, c]
            precision = np.divide(tpc, denom, out=np.zeros_like(tpc), where=denom > 0)
            aps = [ap_coco101(recall[:, t], precision[:, t])[0] for t in range(tp.shape[1])]
            ap50_95.append(float(np.mean(aps)))
            ap50.append(aps[0])
        if ap50_95:
            maps[b] = float(np.mean(ap50_95)), float(np.mean(ap50))
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


def metric_samples(run: MatchedRun, weights: np.ndarray) -> np.ndarray:
    """``(B, M)``: each metric of :data:`BOOTSTRAP_METRICS` of ``run`` on each resample (row of
    ``weights``)."""
    return np.atleast_2d(weighted_metrics(run, np.atleast_2d(weights)))


def point_metrics(run: MatchedRun) -> np.ndarray:
    """``(M,)``: the metrics of :data:`BOOTSTRAP_METRICS` on all images once each."""
    return weighted_metrics(run, np.ones(run.n_images))


def percentile_interval(samples: np.ndarray, level: float = CONFIDENCE_LEVEL) -> tuple:
    """``(low, high)`` percentiles ``(1 - level) / 2`` and ``(1 + level) / 2`` of the finite
    samples (NaN, NaN when there is none; NaN resamples are those where no class had ground
    truth)."""
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not len(s):
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(s, [alpha, 1 - alpha])
    return float(lo), float(hi)


# --- one run ---------------------------------------------------------------------------------


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
    point = point_metrics(run)
    samples = (
        metric_samples(run, resample_weights(run.n_images, resamples, seed))
        if run.n_images
        else np.full((resamples, len(BOOTSTRAP_METRICS)), np.nan)
    )
    out = {}
    for j, name in enumerate(BOOTSTRAP_METRICS):
        lo, hi = percentile_interval(samples[:, j])
        out[name] = MetricInterval(name, float(point[j]), lo, hi, resamples, seed)
    return out


# --- paired Δ between runs -------------------------------------------------------------------


@dataclass
class DeltaInterval:
    """A Δ (in percentage points) with its paired-bootstrap percentile interval."""

    metric: str
    delta: float
    low: float
    high: float
    resamples: int
    verdict: str

    @property
    def distinguishable(self) -> bool:
        return self.verdict == DISTINGUISHABLE


def interval(metric: str, delta: float, samples: np.ndarray) -> DeltaInterval:
    """:class:`DeltaInterval` from the point Δ and the resampled Δs (both in pp; NaN resamples,
    where no class had ground truth, are left out)."""
    s = np.asarray(samples, dtype=np.float64)
    low, high = percentile_interval(s)
    verdict = DISTINGUISHABLE if (low > 0 or high < 0) else NOT_DISTINGUISHABLE
    return DeltaInterval(metric, float(delta), low, high, int(np.isfinite(s).sum()), verdict)


def delta_intervals(
    reference_point: np.ndarray,
    other_point: np.ndarray,
    reference_samples: np.ndarray,
    other_samples: np.ndarray,
) -> dict[str, DeltaInterval]:
    """Δ = other − reference of each metric (pp) with its interval, from the figures on all
    images (``(M,)``) and on the same resamples (``(B, M)``, paired row by row). For seeds of
    one variant, pass the mean over its runs of each (the bootstrap of the mean over seeds)."""
    point = 100 * (np.asarray(other_point) - np.asarray(reference_point))
    samples = 100 * (np.asarray(other_samples) - np.asarray(reference_samples))
    return {k: interval(k, point[j], samples[:, j]) for j, k in enumerate(BOOTSTRAP_METRICS)}


def drawn_seed_mean(samples: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The mean over the seeds of one variant, resample by resample, with the seeds themselves
    drawn with replacement in each resample (a two-level bootstrap: the images, and the training
    runs), so that an interval of a mean over seeds counts the run-to-run spread too, not only
    the images. ``samples``: one ``(B, M)`` array per seed; returns ``(B, M)``. One seed: that
    seed's samples.

    >>> a, b = np.zeros((4, 1)), np.ones((4, 1))
    >>> drawn_seed_mean([a, b], np.random.default_rng(0)).ravel().tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    stack = np.stack([np.asarray(x, dtype=np.float64) for x in samples])  # (n, B, M)
    n, rows = stack.shape[:2]
    if n == 1:
        return stack[0]
    draw = rng.integers(0, n, size=(rows, n))
    return stack[draw, np.arange(rows)[:, None]].mean(axis=1)


def seed_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The generators that draw the reference's seeds and the other variant's (fixed by
    ``seed``, independent of the images' draw)."""
    return np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])


def paired_deltas(
    reference: Sequence[MatchedRun],
    other: Sequence[MatchedRun],
    weights: np.ndarray,
    seed: int = DEFAULT_SEED,
) -> dict[str, DeltaInterval]:
    """Δ = mean over ``other`` − mean over ``reference`` of each metric (pp), with the interval
    from the resamples in ``weights`` (the same rows for both sides: paired), the seeds of each
    side drawn with replacement in each resample (:func:`drawn_seed_mean`).

    Parameters
    ----------
    reference, other
        Runs (one, or the seeds of one variant) evaluated on the same images in the same order.
    weights
        ``(B, I)`` from :func:`resample_weights`.
    seed
        Fixes the draws of the seeds (:func:`seed_rngs`).
    """

    def mean(runs: Sequence[MatchedRun], fn) -> np.ndarray:
        return np.mean([fn(r) for r in runs], axis=0)

    rng_ref, rng_other = seed_rngs(seed)
    return delta_intervals(
        mean(reference, point_metrics),
        mean(other, point_metrics),
        drawn_seed_mean([metric_samples(r, weights) for r in reference], rng_ref),
        drawn_seed_mean([metric_samples(r, weights) for r in other], rng_other),
    )
