"""Per-image errors at one operating point and the confusion matrix (pure numpy; no I/O).

At IoU threshold ``iou`` and confidence ``conf`` (a prediction counts when its score >= conf):

- true positives: each class's predictions take ground truth of their own class by the COCO
  greedy rule of :func:`grace.eval.matching.greedy_assign` (the matches the AP and F1 figures
  count, so the per-image totals add up to the pooled TP, FP, FN of those figures);
- every other prediction is a false positive of one kind: ``duplicate`` when it overlaps, at
  IoU >= ``iou``, a GT box of its own class already taken by a higher-scored prediction;
  otherwise ``class_confusion`` when it overlaps a GT box of another class at IoU >= ``iou``;
  otherwise ``background``;
- every GT box not taken is a false negative (a miss).

Confusion matrix (rows: GT class, then ``background``; columns: predicted class, then
``background``): a TP counts at ``[c, c]``; a missed GT box of class ``g`` counts at
``[g, p]`` when a class-confusion prediction of class ``p`` took it (class confusions take the
missed GT boxes they overlap greedily by score, the highest IoU first), else at
``[g, background]``; every other false positive counts at ``[background, p]``. So row ``g``
sums to the GT boxes of class ``g``, and column ``p`` to the predictions of class ``p``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grace.eval.matching import box_iou, greedy_assign
from grace.eval.records import ImageRecord

BACKGROUND = "background"


def _box(b: np.ndarray) -> list[float]:
    return [round(float(v), 2) for v in b]


def _r(x: float) -> float:
    return round(float(x), 6)


def image_errors(
    rec: ImageRecord, conf: float | Sequence[float], iou: float = 0.5
) -> dict[str, Any]:
    """TP, FP and FN of one image at confidence ``conf`` and IoU ``iou`` (module rules).

    Parameters
    ----------
    rec
        Ground truth and predictions of the image (all confidences).
    conf
        Operating confidence: predictions with score >= ``conf`` count; a sequence gives one
        per class (``conf[c]`` for the predictions of class ``c``: calibrated thresholds).
    iou
        IoU threshold of a match.

    Returns
    -------
    dict
        JSON-ready: ``file``, ``tp``, ``fp``, ``fn`` (counts), ``matches`` (gt and pred index,
        class, IoU, confidence, both boxes), ``false_positives`` (pred index, class, confidence,
        box, ``kind``, and for duplicates and confusions the GT box overlapped, its class and
        the IoU), ``misses`` (gt index, class, box, ``taken_by`` the confusing prediction or
        None), and ``class_confusions`` / ``duplicates`` (the false positives of those kinds).
        Prediction indices are positions in ``rec.boxes``; GT indices in ``rec.gt_boxes``.
    """
    limit = np.asarray(conf, dtype=np.float64)
    keep = np.flatnonzero(rec.scores >= (limit[rec.classes] if limit.ndim else limit))
    taken_by = np.full(len(rec.boxes), -1, dtype=np.int64)
    for c in np.unique(rec.classes[keep]):
        d = keep[rec.classes[keep] == c]
        g = np.flatnonzero(rec.gt_classes == c)
        a = greedy_assign(rec.gt_boxes[g], rec.boxes[d], rec.scores[d], iou)
        taken_by[d[a >= 0]] = g[a[a >= 0]]
    ious = box_iou(rec.boxes, rec.gt_boxes)
    matched_gt = np.zeros(len(rec.gt_boxes), dtype=bool)
    matched_gt[taken_by[taken_by >= 0]] = True
    matches = [
        {"gt": int(taken_by[j]), "pred": int(j), "class": int(rec.classes[j]),
         "iou": _r(ious[j, taken_by[j]]), "confidence": _r(rec.scores[j]),
         "gt_box": _box(rec.gt_boxes[taken_by[j]]), "pred_box": _box(rec.boxes[j])}
        for j in keep if taken_by[j] >= 0
    ]  # fmt: skip
    confused_gt = np.full(len(rec.gt_boxes), -1, dtype=np.int64)  # missed GT -> prediction
    fps: list[dict[str, Any]] = []
    order = keep[np.argsort(-rec.scores[keep], kind="mergesort")]
    for j in order:
        if taken_by[j] >= 0:
            continue
        entry: dict[str, Any] = {
            "pred": int(j),
            "class": int(rec.classes[j]),
            "confidence": _r(rec.scores[j]),
            "box": _box(rec.boxes[j]),
        }
        over = ious[j] >= iou
        same = over & (rec.gt_classes == rec.classes[j])
        other = over & (rec.gt_classes != rec.classes[j])
        if same.any():
            g = int(np.flatnonzero(same)[np.argmax(ious[j, same])])
            entry.update(kind="duplicate", gt=g, gt_class=int(rec.gt_classes[g]))
        elif other.any():
            free = other & ~matched_gt & (confused_gt < 0)
            pool = free if free.any() else other
            g = int(np.flatnonzero(pool)[np.argmax(ious[j, pool])])
            if free.any():
                confused_gt[g] = j
            entry.update(kind="class_confusion", gt=g, gt_class=int(rec.gt_classes[g]),
                         takes_missed_gt=bool(free.any()))  # fmt: skip
        else:
            entry["kind"] = "background"
        if "gt" in entry:
            entry["iou"] = _r(ious[j, entry["gt"]])
        fps.append(entry)
    fps.sort(key=lambda e: e["pred"])
    misses = [
        {"gt": int(g), "class": int(rec.gt_classes[g]), "box": _box(rec.gt_boxes[g]),
         "taken_by": int(confused_gt[g]) if confused_gt[g] >= 0 else None}
        for g in np.flatnonzero(~matched_gt)
    ]  # fmt: skip
    return {
        "file": rec.file,
        "tp": len(matches),
        "fp": len(fps),
        "fn": len(misses),
        "matches": matches,
        "false_positives": fps,
        "misses": misses,
        "class_confusions": [e for e in fps if e["kind"] == "class_confusion"],
        "duplicates": [e for e in fps if e["kind"] == "duplicate"],
    }


def confusion_matrix(errors: Sequence[dict[str, Any]], nc: int) -> np.ndarray:
    """``(nc + 1, nc + 1)`` counts from :func:`image_errors` results (module rules; the last row
    and column are background).

    Parameters
    ----------
    errors
        :func:`image_errors` of every image.
    nc
        Number of classes.
    """
    m = np.zeros((nc + 1, nc + 1), dtype=np.int64)
    for e in errors:
        for t in e["matches"]:
            m[t["class"], t["class"]] += 1
        for fp in e["false_positives"]:
            if not fp.get("takes_missed_gt"):
                m[nc, fp["class"]] += 1
        for miss in e["misses"]:
            if miss["taken_by"] is None:
                m[miss["class"], nc] += 1
            else:
                taker = next(f for f in e["false_positives"] if f["pred"] == miss["taken_by"])
                m[miss["class"], taker["class"]] += 1
    return m


def errors_report(
    records: Sequence[ImageRecord],
    names: Sequence[str],
    conf: float | Sequence[float],
    iou: float = 0.5,
) -> dict[str, Any]:
    """``val/errors.json``: the operating point, the rules, totals, the confusion matrix and one
    :func:`image_errors` entry per image (in record order)."""
    images = [image_errors(r, conf, iou) for r in records]
    for rec, e in zip(records, images, strict=True):
        e["width"], e["height"] = int(rec.width), int(rec.height)
    cm = confusion_matrix(images, len(names))
    totals = {k: int(sum(e[k] for e in images)) for k in ("tp", "fp", "fn")}
    totals["class_confusions"] = int(sum(len(e["class_confusions"]) for e in images))
    totals["duplicates"] = int(sum(len(e["duplicates"]) for e in images))
    per_class = np.ndim(conf) > 0
    return {
        "iou": iou,
        "confidence": dict(zip(names, map(float, conf), strict=True)) if per_class else conf,
        "rules": __doc__.split("\n\n", 1)[1].strip(),
        "classes": list(names),
        "totals": totals,
        "confusion_matrix": {
            "rows": "ground truth",
            "columns": "predicted",
            "labels": [*names, BACKGROUND],
            "counts": cm.tolist(),
        },
        "images": images,
    }
