"""Our mAP against pycocotools' COCOeval on the same constructed predictions.

Tolerance: 1e-6 absolute. Our AP is defined exactly as COCOeval's (same IoU thresholds
``np.linspace(0.5, 0.95, 10)``, same 101 recall points, greedy matching in descending score
order to the unmatched GT with the highest IoU >= t, precision envelope sampled with
``searchsorted(..., side="left")``, classes without GT left out). What can still differ is
floating-point rounding (COCOeval adds ``np.spacing(1)`` to precision denominators, computes IoU
in C) -- about 1e-15 -- and the order of exactly tied scores, which the continuous random scores
here exclude; ``maxDets`` is raised to 300 so that it never cuts. A real difference in the
definitions moves at least one sampled recall point of one class at one IoU threshold, i.e.
mAP@0.5:0.95 by >= 1/(101 * 10 * C) * (a precision step) -- orders of magnitude above 1e-6, as
the Ultralytics interpolation (continuous envelope, trapezoid) shows at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

from grace.eval.coco import coco_evaluate, size_bucket_counts
from grace.eval.matching import match_image
from grace.eval.metrics import evaluate, pr_points
from grace.eval.records import ImageRecord

NAMES = ["crazing", "inclusion", "patches", "scratches"]
TOL = 1e-6


def constructed_records(seed: int = 0, n_images: int = 80) -> list[ImageRecord]:
    """Perturbed copies of GT boxes with random scores, duplicates, wrong classes, false
    positives and misses; small, medium and large boxes; images of two sizes."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n_images):
        w, h = (200, 200) if i % 2 else (320, 240)
        n = int(rng.integers(0, 6))
        side = rng.choice([14.0, 24.0, 50.0, 80.0, 130.0], n) * rng.uniform(0.8, 1.25, n)
        bw, bh = np.minimum(side * rng.uniform(0.6, 1.4, n), w - 1), np.minimum(side, h - 1)
        x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        gt = np.stack([x1, y1, x1 + bw, y1 + bh], axis=1) if n else np.zeros((0, 4))
        cls = rng.integers(0, len(NAMES), n)
        boxes, scores, classes = [], [], []
        for b, c in zip(gt, cls, strict=True):
            if rng.random() < 0.15:
                continue  # missed
            for _ in range(1 + int(rng.random() < 0.3)):  # sometimes a duplicate
                jitter = rng.normal(0, 0.07, 4) * np.array([b[2] - b[0], b[3] - b[1]] * 2)
                boxes.append(b + jitter)
                scores.append(rng.uniform(0.05, 1.0))
                classes.append(c if rng.random() < 0.9 else (c + 1) % len(NAMES))
        for _ in range(int(rng.integers(0, 5))):  # background false positives
            s = rng.uniform(8, 90)
            x, y = rng.uniform(0, w - s), rng.uniform(0, h - s)
            boxes.append([x, y, x + s, y + s])
            scores.append(rng.uniform(0.001, 0.7))
            classes.append(rng.integers(0, len(NAMES)))
        records.append(
            ImageRecord(
                f"img_{i:03d}.jpg", w, h, gt, cls, np.reshape(boxes, (-1, 4)), scores, classes
            )
        )
    return records


@pytest.fixture(scope="module")
def both():
    records = constructed_records()
    return records, evaluate(records, NAMES), coco_evaluate(records, NAMES, max_det=300)


def test_the_constructed_set_is_not_trivial(both):
    records, ours, _ = both
    assert all(n > 10 for n in size_bucket_counts(records).values())
    assert (ours.instances > 20).all()
    assert 0.2 < ours.map50_95 < ours.map50 < 0.95
    scores = np.concatenate([r.scores for r in records])
    assert len(np.unique(scores)) == len(scores)  # no ties


def test_map_agrees_with_cocoeval(both):
    _, ours, coco = both
    assert abs(ours.map50_95 - coco.map50_95) <= TOL
    assert abs(ours.map50 - coco.map50) <= TOL
    assert abs(ours.map75 - coco.map75) <= TOL


def test_per_class_ap_agrees_with_cocoeval(both):
    _, ours, coco = both
    for c, name in enumerate(NAMES):
        assert abs(ours.ap50_95[c] - coco.per_class[name]["AP50-95"]) <= TOL, name
        assert abs(ours.ap[c, 0] - coco.per_class[name]["AP50"]) <= TOL, name


def test_size_buckets_are_defined(both):
    _, _, coco = both
    for k in ("small", "medium", "large"):
        assert 0.0 < coco.ap_size[k] < 1.0


def test_ultralytics_interpolation_differs_by_more_than_the_tolerance(both):
    """The same PR points through Ultralytics' ``compute_ap`` (continuous envelope with the
    sentinels (0, 1) and (1, 0), trapezoid on 101 points): a number more than 100 times the
    tolerance away (here about 5e-4), so the 1e-6 agreement above checks the definition."""
    from ultralytics.utils.metrics import compute_ap

    records, ours, _ = both
    c = 0
    scores = np.concatenate([r.scores[r.classes == c] for r in records])
    tp = np.concatenate(
        [
            match_image(r.gt_boxes, r.gt_classes, r.boxes, r.scores, r.classes)[r.classes == c]
            for r in records
        ]
    )
    _, _, recall, precision = pr_points(scores, tp, int(ours.instances[c]))
    theirs = np.mean([compute_ap(recall[:, t], precision[:, t])[0] for t in range(10)])
    assert abs(theirs - ours.ap50_95[c]) > 100 * TOL
