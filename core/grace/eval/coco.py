"""The reference COCO tool (pycocotools ``COCOeval``, bbox) on the same records, in memory.

Its AP, AP50, AP75 and AP small/medium/large (pycocotools' closed area ranges [0, 32²],
[32², 96²], [96², ∞) in pixels of the original image) are reported beside our own figures;
the size-bucket APs come from here only.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grace.data.boxes import SIZE_BUCKETS
from grace.data.boxes import size_bucket_counts as box_size_counts
from grace.eval.records import ImageRecord


def size_bucket_counts(records: Sequence[ImageRecord]) -> dict[str, int]:
    """Ground-truth instances per COCO size bucket, by the rule of :mod:`grace.data.boxes`
    (the one ``grace data stats`` uses: a box on a boundary goes to the lower bucket).

    pycocotools' own ranges are closed intervals, so a box of exactly 32² or 96² pixels counts
    in both neighbouring buckets of its AP_S/M/L; here each box counts once.
    """
    sides = []
    for r in records:
        b = np.asarray(r.gt_boxes, dtype=float).reshape(-1, 4)
        sides += list(zip(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1], strict=True))
    return box_size_counts(sides)


def to_coco(records: Sequence[ImageRecord], names: Sequence[str]) -> tuple[dict, list[dict]]:
    """COCO-format ground truth (a dataset dict) and detections (a result list).

    Image ids are 1..N in record order; category ids are class index + 1; boxes are
    ``[x, y, w, h]`` pixels; a ground-truth ``area`` is ``w * h``.
    """
    images, annotations, detections = [], [], []
    for i, rec in enumerate(records, 1):
        images.append({"id": i, "width": int(rec.width), "height": int(rec.height)})
        for b, c in zip(rec.gt_boxes, rec.gt_classes, strict=True):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(c) + 1,
                    "bbox": [float(b[0]), float(b[1]), w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for b, s, c in zip(rec.boxes, rec.scores, rec.classes, strict=True):
            detections.append(
                {
                    "image_id": i,
                    "category_id": int(c) + 1,
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                    "score": float(s),
                }
            )
    categories = [{"id": k + 1, "name": str(n)} for k, n in enumerate(names)]
    gt = {"images": images, "annotations": annotations, "categories": categories}
    return gt, detections


@dataclass
class CocoResult:
    """COCOeval's figures (None where undefined: no ground truth in that bucket or class)."""

    tool: str
    map50_95: float | None
    map50: float | None
    map75: float | None
    ap_size: dict[str, float | None]
    ar_max_det: float | None  # average recall with max_det detections per image
    per_class: dict[str, dict[str, float | None]] = field(default_factory=dict)


def coco_evaluate(
    records: Sequence[ImageRecord], names: Sequence[str], max_det: int = 300
) -> CocoResult:
    """Run pycocotools' COCOeval (bbox) on the records.

    Parameters
    ----------
    records
        Ground truth and predictions per image.
    names
        Class names.
    max_det
        Detections kept per image and class (COCOeval ``maxDets[-1]``; the default of 100 would
        cut predictions that our figures count).

    Returns
    -------
    CocoResult
    """
    from importlib.metadata import version

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    tool = f"pycocotools {version('pycocotools')}"
    gt_dict, dets = to_coco(records, names)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        if dets:
            dt = gt.loadRes(dets)
        else:  # loadRes cannot take an empty list: an empty result set, every AP is then 0
            dt = COCO()
            dt.dataset = {**gt_dict, "annotations": []}
            dt.createIndex()
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.params.maxDets = [1, 10, int(max_det)]
        ev.evaluate()
        ev.accumulate()
    # The figures of COCOeval.summarize(), read directly: summarize() asks for maxDets=100 for
    # its first figure and gives -1 when maxDets was changed.
    precision = ev.eval["precision"]  # (T, R, K, A, M); A: all, small, medium, large
    recall = ev.eval["recall"]  # (T, K, A, M)
    t50, t75 = 0, 5

    def mean(x: np.ndarray) -> float | None:
        return float(x[x > -1].mean()) if (x > -1).any() else None

    per_class = {
        str(name): {
            "AP50-95": mean(precision[:, :, k, 0, -1]),
            "AP50": mean(precision[t50, :, k, 0, -1]),
        }
        for k, name in enumerate(names)
    }
    return CocoResult(
        tool=tool,
        map50_95=mean(precision[:, :, :, 0, -1]),
        map50=mean(precision[t50, :, :, 0, -1]),
        map75=mean(precision[t75, :, :, 0, -1]),
        ap_size={k: mean(precision[:, :, :, a, -1]) for a, k in enumerate(SIZE_BUCKETS, 1)},
        ar_max_det=mean(recall[:, :, 0, -1]),
        per_class=per_class,
    )
