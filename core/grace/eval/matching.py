"""Matching predictions to ground truth, the COCO way (pure numpy).

The rule (pycocotools ``COCOeval.evaluateImg``): within one image and one class, predictions
are taken in descending score order; each takes, among the ground-truth boxes of that class not
yet taken, the one with the highest IoU, provided that IoU >= t. This is done independently for
every IoU threshold t. A prediction that takes a box is a true positive at t, any other a false
positive; ground truth never taken is a miss.
"""

from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # COCO: 0.50:0.05:0.95 (the same floats as COCOeval)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b`` (xyxy, no +1 pixel convention).

    Parameters
    ----------
    a, b
        ``(N, 4)`` and ``(M, 4)`` boxes.

    Returns
    -------
    np.ndarray
        ``(N, M)`` IoU matrix; 0 where the union is empty.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_class(
    gt_boxes: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
) -> np.ndarray:
    """True-positive flags of the predictions of one class in one image.

    Parameters
    ----------
    gt_boxes
        ``(G, 4)`` ground truth of the class, xyxy.
    boxes, scores
        ``(N, 4)`` predictions of the class and their scores.
    iou_thresholds
        ``(T,)`` thresholds.

    Returns
    -------
    np.ndarray
        ``(N, T)`` bool, in the order of ``boxes``: True where the prediction matches at that IoU.
    """
    thr = np.asarray(iou_thresholds, dtype=np.float64)
    tp = np.zeros((len(boxes), len(thr)), dtype=bool)
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return tp
    iou = box_iou(boxes, gt_boxes)  # (N, G)
    taken = np.zeros((len(thr), len(gt_boxes)), dtype=bool)
    rows = np.arange(len(thr))
    for d in np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort"):
        iou_d = iou[d]
        if iou_d.max() < thr[0]:
            continue  # matches nothing at any threshold
        free = (~taken) & (iou_d[None, :] >= thr[:, None])  # (T, G)
        masked = np.where(free, iou_d[None, :], -1.0)
        g = masked.argmax(axis=1)
        hit = masked[rows, g] >= 0
        tp[d, hit] = True
        taken[rows[hit], g[hit]] = True
    return tp


def match_image(
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    iou_thresholds: np.ndarray = IOU_THRESHOLDS,
) -> np.ndarray:
    """:func:`match_class` for every class of one image.

    Returns
    -------
    np.ndarray
        ``(N, T)`` bool true-positive flags, in the order of ``boxes``.
    """
    tp = np.zeros((len(boxes), len(iou_thresholds)), dtype=bool)
    for c in np.unique(classes):
        d = np.flatnonzero(classes == c)
        g = gt_classes == c
        tp[d] = match_class(gt_boxes[g], boxes[d], scores[d], iou_thresholds)
    return tp


def greedy_assign(
    gt_boxes: np.ndarray, boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5
) -> np.ndarray:
    """The ground-truth box each prediction of one class takes at one IoU threshold, by the rule
    of :func:`match_class` (same order, same ties), as indices.

    Returns
    -------
    np.ndarray
        ``(N,)`` int, in the order of ``boxes``: the index of the GT box taken, -1 for none.
    """
    taken_by = np.full(len(boxes), -1, dtype=np.int64)
    if len(boxes) == 0 or len(gt_boxes) == 0:
        return taken_by
    iou = box_iou(boxes, gt_boxes)
    free = np.ones(len(gt_boxes), dtype=bool)
    for d in np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort"):
        masked = np.where(free & (iou[d] >= iou_threshold), iou[d], -1.0)
        g = int(masked.argmax())
        if masked[g] >= 0:
            taken_by[d], free[g] = g, False
    return taken_by
