"""Detection metrics from matched predictions (pure numpy; no I/O, no torch).

Definitions (paper, equations 1-5, "following the COCO protocol"):

- AP of a class at IoU t: predictions of the class over all images in descending score order,
  matched by :mod:`grace.eval.matching`; precision and recall after each prediction; the
  precision envelope (``p(r) = max precision at recall >= r``) sampled at the 101 recall points
  0, 0.01, ..., 1 (a point beyond the highest recall reached counts 0); AP = their mean. This
  is COCO's 101-point interpolation, exactly as pycocotools ``COCOeval.accumulate``.
- mAP@0.5:0.95 = mean over classes with ground truth of the mean AP over t = 0.50:0.05:0.95;
  mAP@0.5 = mean over those classes of AP at t = 0.5 (classes without ground truth are left
  out, as COCO does).
- P, R, F1 at IoU 0.5 as functions of the confidence threshold c (a prediction counts when
  score >= c), per class: P = TP / (TP + FP), with P = 0 where no prediction passes (so a
  class the model does not detect at c is not credited with precision 1, as Ultralytics
  does; this can make our mean P markedly lower than Ultralytics'), R = TP / (TP + FN),
  F1 = 2PR / (P + R) (0 where P + R = 0).
  The reported operating point is the grid confidence c* (grid 0, 0.001, ..., 1) that
  maximises the mean-over-classes F1; P and R are the means over classes at c*, and the
  reported F1 = 2PR / (P + R) of those two means (as the paper's tables: their F1 column is
  the harmonic mean of their P and R columns).
- F1 two ways, each at its own confidence: ``f1_mean_over_classes`` = the mean over classes of
  the per-class F1 at c* above; ``f1_dataset`` = the paper's equation 5 on counts pooled over
  all classes, F1 = 2 TP / (2 TP + FP + FN) with TP, FP, FN summed over every class (a
  prediction of a class without ground truth is a false positive) at the grid confidence that
  maximises it (the lowest such on ties).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grace.eval.matching import IOU_THRESHOLDS, match_image
from grace.eval.records import ImageRecord

RECALL_GRID = np.linspace(0.0, 1.0, 101)  # COCO recThrs
CONF_GRID = np.linspace(0.0, 1.0, 1001)
P_WHEN_NONE_PASS = 0.0  # precision where no prediction passes the confidence (Ultralytics: 1.0)
AP_METHOD = "COCO 101-point interpolated precision envelope, COCO greedy matching by score"


def pr_points(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> tuple[np.ndarray, ...]:
    """Precision and recall after each prediction of one class, in descending score order.

    Parameters
    ----------
    scores
        ``(N,)`` scores of the class's predictions over all images.
    tp
        ``(N, T)`` true-positive flags (one column per IoU threshold).
    n_gt
        Number of ground-truth instances of the class.

    Returns
    -------
    tuple of np.ndarray
        ``scores`` sorted descending ``(N,)``, ``tp`` in that order ``(N, T)``, ``recall``
        ``(N, T)``, ``precision`` ``(N, T)``. Ties keep their input order (stable sort), as
        pycocotools.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    tp = np.asarray(tp, dtype=bool)
    tp = (tp[:, None] if tp.ndim == 1 else tp)[order]
    tpc = np.cumsum(tp, axis=0, dtype=np.float64)
    fpc = np.cumsum(~tp, axis=0, dtype=np.float64)
    recall = tpc / max(n_gt, 1)
    precision = np.divide(tpc, tpc + fpc, out=np.zeros_like(tpc), where=(tpc + fpc) > 0)
    return np.asarray(scores, dtype=np.float64)[order], tp, recall, precision


def ap_coco101(recall: np.ndarray, precision: np.ndarray) -> tuple[float, np.ndarray]:
    """COCO 101-point interpolated average precision of one PR curve.

    Parameters
    ----------
    recall, precision
        ``(N,)`` values after each prediction in descending score order (recall non-decreasing).

    Returns
    -------
    tuple
        AP (float) and the interpolated precision at :data:`RECALL_GRID` ``(101,)``.
    """
    recall = np.asarray(recall, dtype=np.float64)
    envelope = np.maximum.accumulate(np.asarray(precision, dtype=np.float64)[::-1])[::-1]
    q = np.zeros(len(RECALL_GRID))
    idx = np.searchsorted(recall, RECALL_GRID, side="left")
    ok = idx < len(recall)
    q[ok] = envelope[idx[ok]]
    return float(q.mean()), q


def confidence_counts(
    scores_desc: np.ndarray, tp_desc: np.ndarray, grid: np.ndarray = CONF_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """True positives and predictions of one class that pass each confidence of ``grid`` (a
    prediction counts at c when its score >= c).

    Parameters
    ----------
    scores_desc
        ``(N,)`` scores sorted descending.
    tp_desc
        ``(N,)`` true-positive flags in the same order (at one IoU threshold).
    grid
        Confidence thresholds.

    Returns
    -------
    tuple of np.ndarray
        ``TP`` and ``N`` (predictions passing) on ``grid``, as floats.
    """
    grid = np.asarray(grid, dtype=np.float64)
    n = np.searchsorted(-np.asarray(scores_desc, dtype=np.float64), -grid, side="right")
    tpc = np.concatenate([[0.0], np.cumsum(np.asarray(tp_desc, dtype=np.float64))])[n]
    return tpc, n.astype(np.float64)


def confidence_curves(
    scores_desc: np.ndarray, tp_desc: np.ndarray, n_gt: int, grid: np.ndarray = CONF_GRID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P, R and F1 of one class against the confidence threshold (a prediction counts at c when
    its score >= c).

    Parameters
    ----------
    scores_desc
        ``(N,)`` scores sorted descending.
    tp_desc
        ``(N,)`` true-positive flags in the same order (at one IoU threshold).
    n_gt
        Ground-truth instances of the class.
    grid
        Confidence thresholds.

    Returns
    -------
    tuple of np.ndarray
        ``P``, ``R``, ``F1`` on ``grid``. P = :data:`P_WHEN_NONE_PASS` where no prediction
        passes; R = 0 when n_gt = 0.
    """
    tpc, n = confidence_counts(scores_desc, tp_desc, grid)
    p = np.divide(tpc, n, out=np.full_like(tpc, P_WHEN_NONE_PASS), where=n > 0)
    r = tpc / n_gt if n_gt > 0 else np.zeros_like(tpc)
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(tpc), where=(p + r) > 0)
    return p, r, f1


def harmonic(p: float, r: float) -> float:
    """F1 = 2PR / (P + R); 0 when both are 0."""
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass
class DetectionMetrics:
    """Everything :func:`evaluate` computes; class axes follow ``names``.

    ``ap[c, t]`` is NaN for a class without ground truth (left out of every mean).
    """

    names: list[str]
    iou_thresholds: np.ndarray  # (T,)
    instances: np.ndarray  # (C,) ground-truth boxes per class
    detections: np.ndarray  # (C,) predictions per class
    ap: np.ndarray  # (C, T)
    recall_grid: np.ndarray  # (101,)
    precision_at_50: np.ndarray  # (C, 101) interpolated precision at IoU 0.5
    conf_grid: np.ndarray  # (G,)
    p_curve: np.ndarray  # (C, G) at IoU 0.5
    r_curve: np.ndarray
    f1_curve: np.ndarray
    tp_count: np.ndarray  # (C, G) true positives at IoU 0.5 passing each confidence
    pred_count: np.ndarray  # (C, G) predictions passing each confidence

    @property
    def evaluated(self) -> np.ndarray:
        """Mask of the classes that have ground truth."""
        return self.instances > 0

    def _mean(self, values: np.ndarray) -> float:
        return float(np.mean(values[self.evaluated])) if self.evaluated.any() else float("nan")

    @property
    def ap50_95(self) -> np.ndarray:
        """``(C,)`` AP averaged over the IoU thresholds."""
        return self.ap.mean(axis=1)

    @property
    def map50_95(self) -> float:
        return self._mean(self.ap50_95)

    @property
    def map50(self) -> float:
        return self._mean(self.ap[:, 0])

    @property
    def map75(self) -> float:
        return self._mean(self.ap[:, 5])

    @property
    def mean_f1_curve(self) -> np.ndarray:
        """``(G,)`` mean over evaluated classes of the per-class F1 curve."""
        if not self.evaluated.any():
            return np.zeros(len(self.conf_grid))
        return self.f1_curve[self.evaluated].mean(axis=0)

    @property
    def best_index(self) -> int:
        """Grid index of the confidence maximising the mean F1 (the lowest such on ties)."""
        return int(np.argmax(self.mean_f1_curve))

    @property
    def f1_confidence(self) -> float:
        return float(self.conf_grid[self.best_index])

    @property
    def precision(self) -> float:
        return self._mean(self.p_curve[:, self.best_index])

    @property
    def recall(self) -> float:
        return self._mean(self.r_curve[:, self.best_index])

    @property
    def f1(self) -> float:
        """2PR/(P+R) of the mean P and mean R at :attr:`f1_confidence`."""
        p, r = self.precision, self.recall
        return float("nan") if np.isnan(p) else harmonic(p, r)

    @property
    def f1_mean_over_classes(self) -> float:
        """Mean over evaluated classes of the per-class F1 at :attr:`f1_confidence`."""
        return float(self.mean_f1_curve[self.best_index])

    def dataset_counts(self, index: int) -> tuple[int, int, int]:
        """``(TP, FP, FN)`` at IoU 0.5 pooled over all classes at grid index ``index``."""
        tp = int(round(self.tp_count[:, index].sum()))
        n = int(round(self.pred_count[:, index].sum()))
        return tp, n - tp, int(self.instances.sum()) - tp

    @property
    def f1_dataset_curve(self) -> np.ndarray:
        """``(G,)`` the paper's equation 5 on pooled counts: 2 TP / (2 TP + FP + FN)
        = 2 TP / (predictions + ground truth); 0 where both are 0."""
        tp = self.tp_count.sum(axis=0)
        denom = self.pred_count.sum(axis=0) + float(self.instances.sum())
        return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)

    @property
    def dataset_best_index(self) -> int:
        """Grid index of the confidence maximising :attr:`f1_dataset_curve` (lowest on ties)."""
        return int(np.argmax(self.f1_dataset_curve))

    @property
    def f1_dataset_confidence(self) -> float:
        return float(self.conf_grid[self.dataset_best_index])

    @property
    def f1_dataset(self) -> float:
        return float(self.f1_dataset_curve[self.dataset_best_index])


def evaluate(
    records: Sequence[ImageRecord],
    names: Sequence[str],
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
    conf_grid: np.ndarray = CONF_GRID,
) -> DetectionMetrics:
    """Per-class AP over IoU thresholds, the PR curve at IoU 0.5 and P/R/F1 against confidence.

    Parameters
    ----------
    records
        Ground truth and predictions per image.
    names
        Class names; class ``c`` of the records is ``names[c]``.
    iou_thresholds
        ``(T,)`` IoU thresholds; the first must be 0.5 for the IoU-0.5 figures.
    conf_grid
        Confidence thresholds for the P/R/F1 curves.

    Returns
    -------
    DetectionMetrics
    """
    nc, thr = len(names), np.asarray(iou_thresholds, dtype=np.float64)
    scores: list[list[np.ndarray]] = [[] for _ in range(nc)]
    tps: list[list[np.ndarray]] = [[] for _ in range(nc)]
    instances = np.zeros(nc, dtype=np.int64)
    for rec in records:
        if len(rec.gt_classes) and (rec.gt_classes.min() < 0 or rec.gt_classes.max() >= nc):
            raise ValueError(f"{rec.file}: ground-truth class outside 0..{nc - 1}")
        if len(rec.classes) and (rec.classes.min() < 0 or rec.classes.max() >= nc):
            raise ValueError(f"{rec.file}: predicted class outside 0..{nc - 1}")
        instances += np.bincount(rec.gt_classes, minlength=nc)
        tp = match_image(rec.gt_boxes, rec.gt_classes, rec.boxes, rec.scores, rec.classes, thr)
        for c in np.unique(rec.classes):
            sel = rec.classes == c
            scores[c].append(rec.scores[sel])
            tps[c].append(tp[sel])

    ap = np.full((nc, len(thr)), np.nan)
    precision_at_50 = np.zeros((nc, len(RECALL_GRID)))
    curves = np.zeros((3, nc, len(conf_grid)))
    counts = np.zeros((2, nc, len(conf_grid)))
    detections = np.zeros(nc, dtype=np.int64)
    for c in range(nc):
        s = np.concatenate(scores[c]) if scores[c] else np.zeros(0)
        tp = np.concatenate(tps[c]) if tps[c] else np.zeros((0, len(thr)), dtype=bool)
        detections[c] = len(s)
        s_desc, tp_desc, recall, precision = pr_points(s, tp, int(instances[c]))
        if instances[c] > 0:
            for t in range(len(thr)):
                ap[c, t], q = ap_coco101(recall[:, t], precision[:, t])
                if t == 0:
                    precision_at_50[c] = q
        curves[:, c] = confidence_curves(s_desc, tp_desc[:, 0], int(instances[c]), conf_grid)
        counts[:, c] = confidence_counts(s_desc, tp_desc[:, 0], conf_grid)
    return DetectionMetrics(
        names=list(names),
        iou_thresholds=thr,
        instances=instances,
        detections=detections,
        ap=ap,
        recall_grid=RECALL_GRID.copy(),
        precision_at_50=precision_at_50,
        conf_grid=np.asarray(conf_grid, dtype=np.float64),
        p_curve=curves[0],
        r_curve=curves[1],
        f1_curve=curves[2],
        tp_count=counts[0],
        pred_count=counts[1],
    )
