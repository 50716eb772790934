"""Paired bootstrap over validation images for the Δ between runs (pure numpy; no I/O).

A run's predictions are matched once (:func:`grace.eval.matching.match_image`, as ``grace val``
does); a bootstrap resample of the images is then only a weight per image (how many times it
was drawn), and each metric is recomputed from weighted counts:

- AP of a class: its predictions in descending score order (the order of
  :func:`grace.eval.metrics.pr_points`), cumulative TP and FP counts weighted by the draw count
  of each prediction's image, then :func:`grace.eval.metrics.ap_coco101`. This equals
  :func:`grace.eval.metrics.evaluate` on the resampled list of images (an image drawn k times
  listed k times): the k copies of a prediction are adjacent in score order (up to exact score
  ties across images), and the points inside such a block never change the precision envelope
  at any recall, so only the block's last point is needed.
- mAP@0.5:0.95 and mAP@0.5: means over the classes with ground truth in the resample.
- F1 dataset: the paper's equation 5 on TP, FP, FN pooled over classes at IoU 0.5, at the
  confidence of :data:`grace.eval.metrics.CONF_GRID` that maximises it.

Every run is resampled with the same image indices (paired), so the Δ distribution is that of
the difference on the same images. The interval is the percentile interval (2.5 %, 97.5 %) of
the resampled Δ; a Δ whose interval contains 0 is "not distinguishable".
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


@dataclass
class MatchedRun:
    """One run's predictions matched once, ready for weighted recomputation.

    Attributes
    ----------
    n_images
        Number of images.
    gt_per_image
        ``(I, C)`` ground-truth boxes per image and class.
    classes
        Per class ``c``: ``image[c]`` ``(N_c,)`` image index of each prediction and ``tp[c]``
        ``(N_c, T)`` true-positive flags, both in descending score order, up to the last
        prediction that is a true positive at some IoU threshold.
    pred_hist, tp_hist
        ``(I, G + 1)``: per image, predictions (true positives at IoU 0.5) by the number of
        grid confidences they pass.
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
    """Match every image of a run once (the expensive part; resampling is then arithmetic).

    Parameters
    ----------
    records
        The run's images, in the order shared with the other runs.
    nc
        Number of classes.
    iou_thresholds, conf_grid
        As :func:`grace.eval.metrics.evaluate`.
    """
    n = len(records)
    grid = np.asarray(conf_grid, dtype=np.float64)
    gt = np.zeros((n, nc), dtype=np.float64)
    pred_hist = np.zeros((n, len(grid) + 1))
    tp_hist = np.zeros((n, len(grid) + 1))
    img: list[list[np.ndarray]] = [[] for _ in range(nc)]
    scores: list[list[np.ndarray]] = [[] for _ in range(nc)]
    tps: list[list[np.ndarray]] = [[] for _ in range(nc)]
    for i, rec in enumerate(records):
        gt[i] = np.bincount(rec.gt_classes, minlength=nc)[:nc]
        tp = match_image(rec.gt_boxes, rec.gt_classes, rec.boxes, rec.scores, rec.classes,
                         iou_thresholds)  # fmt: skip
        passes = np.searchsorted(grid, rec.scores, side="right")  # grid points with c <= score
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
        tp = np.concatenate(tps[c])[order] if tps[c] else np.zeros((0, len(iou_thresholds)), bool)
        # after the last true positive (at any IoU) recall stops and precision only falls: those
        # points never reach the precision envelope at a recall point, so AP does not need them
        hits = np.flatnonzero(tp.any(axis=1))
        end = int(hits[-1]) + 1 if len(hits) else 0
        images.append(image[:end])
        flags.append(tp[:end])
    return MatchedRun(n, gt, images, flags, pred_hist, tp_hist)


def weighted_metrics(run: MatchedRun, weights: np.ndarray) -> dict[str, float]:
    """mAP@0.5:0.95, mAP@0.5 and F1 dataset of ``run`` with image ``i`` counted ``weights[i]``
    times (all ones: the figures of ``grace val``).

    Returns
    -------
    dict
        ``{"mAP50-95", "mAP50", "f1_dataset"}`` as fractions; NaN mAP when no class has ground
        truth in the resample.
    """
    w = np.asarray(weights, dtype=np.float64)
    n_gt = w @ run.gt_per_image  # (C,)
    ap50_95, ap50 = [], []
    for c, (image, tp) in enumerate(zip(run.image, run.tp, strict=True)):
        if n_gt[c] <= 0:
            continue
        if len(image) == 0:  # no true positive at any IoU
            ap50_95.append(0.0)
            ap50.append(0.0)
            continue
        wp = w[image]
        tpc = np.cumsum(wp[:, None] * tp, axis=0)
        denom = np.cumsum(wp)[:, None]  # TP + FP
        recall = tpc / n_gt[c]
        precision = np.divide(tpc, denom, out=np.zeros_like(tpc), where=denom > 0)
        aps = [ap_coco101(recall[:, t], precision[:, t])[0] for t in range(tp.shape[1])]
        ap50_95.append(float(np.mean(aps)))
        ap50.append(aps[0])
    # predictions (TP) passing grid point g: those passing more than g points
    preds = np.cumsum((w @ run.pred_hist)[::-1])[::-1][1:]
    tps = np.cumsum((w @ run.tp_hist)[::-1])[::-1][1:]
    denom = preds + n_gt.sum()
    f1 = np.divide(2 * tps, denom, out=np.zeros_like(tps), where=denom > 0)
    return {
        "mAP50-95": float(np.mean(ap50_95)) if ap50_95 else float("nan"),
        "mAP50": float(np.mean(ap50)) if ap50 else float("nan"),
        "f1_dataset": float(f1.max()) if len(f1) else 0.0,
    }


def resample_weights(n_images: int, resamples: int, seed: int) -> np.ndarray:
    """``(B, I)`` draw counts of each image in ``resamples`` bootstrap resamples (with
    replacement, ``I`` draws each) from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(resamples, n_images))
    rows = np.repeat(np.arange(resamples), n_images)
    counts = np.zeros((resamples, n_images))
    np.add.at(counts, (rows, idx.ravel()), 1.0)
    return counts


def metric_samples(run: MatchedRun, weights: np.ndarray) -> np.ndarray:
    """``(B, M)``: each metric of :data:`BOOTSTRAP_METRICS` of ``run`` on each resample (row of
    ``weights``)."""
    out = np.zeros((len(weights), len(BOOTSTRAP_METRICS)))
    for b, w in enumerate(weights):
        m = weighted_metrics(run, w)
        out[b] = [m[k] for k in BOOTSTRAP_METRICS]
    return out


def point_metrics(run: MatchedRun) -> np.ndarray:
    """``(M,)``: the metrics of :data:`BOOTSTRAP_METRICS` on all images once each."""
    return metric_samples(run, np.ones((1, run.n_images)))[0]


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
    s = s[np.isfinite(s)]
    alpha = (1 - CONFIDENCE_LEVEL) / 2
    low, high = (float(v) for v in np.quantile(s, [alpha, 1 - alpha])) if len(s) else (np.nan,) * 2
    verdict = DISTINGUISHABLE if (low > 0 or high < 0) else NOT_DISTINGUISHABLE
    return DeltaInterval(metric, float(delta), low, high, len(s), verdict)


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


def paired_deltas(
    reference: Sequence[MatchedRun], other: Sequence[MatchedRun], weights: np.ndarray
) -> dict[str, DeltaInterval]:
    """Δ = mean over ``other`` − mean over ``reference`` of each metric (pp), with the interval
    from the resamples in ``weights`` (the same rows for both sides: paired).

    Parameters
    ----------
    reference, other
        Runs (one, or the seeds of one variant) evaluated on the same images in the same order.
    weights
        ``(B, I)`` from :func:`resample_weights`.
    """

    def mean(runs: Sequence[MatchedRun], fn) -> np.ndarray:
        return np.mean([fn(r) for r in runs], axis=0)

    return delta_intervals(
        mean(reference, point_metrics),
        mean(other, point_metrics),
        mean(reference, lambda r: metric_samples(r, weights)),
        mean(other, lambda r: metric_samples(r, weights)),
    )
