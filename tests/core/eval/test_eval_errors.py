"""Per-image errors, the confusion matrix and the two F1 readings, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from grace.eval.errors import confusion_matrix, errors_report, image_errors
from grace.eval.matching import IOU_THRESHOLDS, greedy_assign, match_class
from grace.eval.metrics import evaluate
from grace.eval.records import ImageRecord

FAR = [500.0, 500.0, 520.0, 520.0]
A, B, C = [0.0, 0.0, 40.0, 40.0], [100.0, 100.0, 150.0, 150.0], [0.0, 100.0, 30.0, 130.0]


def _dirty_image() -> ImageRecord:
    """GT: 0 class 0 at A, 1 class 1 at B, 2 class 0 at C. Predictions (index: class, score):
    0: 0, .9 exact A (TP); 1: 0, .8 A shifted by 4 px (IoU 36*40/(44*40)=0.818 with A: a
    duplicate); 2: 1, .7 exact C (a class confusion on missed GT 2); 3: 1, .6 far (background);
    4: 1, .1 exact B (below the operating confidence 0.5: not counted, so GT 1 is missed);
    5: 1, .55 exact A (a class confusion on GT 0, already found)."""
    shifted = [4.0, 0.0, 44.0, 40.0]
    return ImageRecord(
        "dirty.jpg", 200, 200, [A, B, C], [0, 1, 0],
        [A, shifted, C, FAR, B, A], [0.9, 0.8, 0.7, 0.6, 0.1, 0.55], [0, 0, 1, 1, 1, 1],
    )  # fmt: skip


def test_image_errors_by_hand():
    e = image_errors(_dirty_image(), conf=0.5)
    assert (e["tp"], e["fp"], e["fn"]) == (1, 4, 2)
    assert [(m["gt"], m["pred"], m["iou"], m["confidence"]) for m in e["matches"]] == [
        (0, 0, 1.0, 0.9)
    ]
    assert e["matches"][0]["gt_box"] == A and e["matches"][0]["pred_box"] == A
    kinds = {f["pred"]: f["kind"] for f in e["false_positives"]}
    assert kinds == {1: "duplicate", 2: "class_confusion", 3: "background", 5: "class_confusion"}
    dup = e["duplicates"][0]
    assert (dup["pred"], dup["gt"]) == (1, 0) and dup["iou"] == pytest.approx(36 / 44, abs=1e-6)
    conf = {f["pred"]: f for f in e["class_confusions"]}
    assert (conf[2]["gt"], conf[2]["gt_class"], conf[2]["takes_missed_gt"]) == (2, 0, True)
    assert (conf[5]["gt"], conf[5]["takes_missed_gt"]) == (0, False)
    assert {m["gt"]: m["taken_by"] for m in e["misses"]} == {1: None, 2: 2}


def test_confusion_matrix_by_hand():
    # rows GT (class 0, class 1, background), columns predicted (class 0, class 1, background)
    m = confusion_matrix([image_errors(_dirty_image(), conf=0.5)], nc=2)
    assert m.tolist() == [
        [1, 1, 0],  # GT 0 found; GT 2 (class 0) taken by the class-1 prediction 2
        [0, 0, 1],  # GT 1 (class 1) missed: its only prediction is below 0.5
        [1, 2, 0],  # the duplicate (class 0); the background FP and the confusion on found GT 0
    ]
    # below every score the class-1 prediction at B finds GT 1
    m = confusion_matrix([image_errors(_dirty_image(), conf=0.0)], nc=2)
    assert m[1].tolist() == [0, 1, 0]


def test_greedy_assign_agrees_with_match_class():
    rng = np.random.default_rng(3)
    for _ in range(50):
        gt = rng.uniform(0, 80, (6, 2))
        gt = np.concatenate([gt, gt + rng.uniform(5, 40, (6, 2))], axis=1)
        boxes = gt[rng.integers(0, 6, 9)] + rng.normal(0, 6, (9, 4))
        scores = rng.uniform(0, 1, 9)
        for t, thr in enumerate(IOU_THRESHOLDS):
            flags = match_class(gt, boxes, scores, IOU_THRESHOLDS)[:, t]
            assert ((greedy_assign(gt, boxes, scores, thr) >= 0) == flags).all()


def _two_f1_case() -> list[ImageRecord]:
    """Class a: 1 GT, a TP at .9005 and a far FP at .2005. Class b: 4 GT, TPs at .8005 and
    .1005, two never found."""
    gt_b = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70]]
    a = ImageRecord("a", 100, 100, [[0, 0, 50, 50]], [0], [[0, 0, 50, 50], FAR],
                    [0.9005, 0.2005], [0, 0])  # fmt: skip
    b = ImageRecord("b", 100, 100, gt_b, [1] * 4, gt_b[:2], [0.8005, 0.1005], [1, 1])
    return [a, b]


def test_the_two_f1_readings_by_hand():
    # Per class F1 against the confidence c:
    #   (0.2005, 0.8005]: a 1, b P 1 R 1/4 -> 2/5; mean 0.7.  Pooled: TP 2, FP 0, FN 3 -> 4/7.
    #   (0.1005, 0.2005]: a 2/3, b 2/5; mean 8/15.            Pooled: TP 2, FP 1, FN 3 -> 1/2.
    #   c <= 0.1005:      a 2/3, b P 1 R 1/2 -> 2/3; mean 2/3. Pooled: TP 3, FP 1, FN 2 -> 2/3.
    m = evaluate(_two_f1_case(), ["a", "b"])
    assert m.f1_mean_over_classes == pytest.approx(0.7)
    assert m.f1_confidence == pytest.approx(0.201)  # the lowest grid point of its interval
    assert m.f1_dataset == pytest.approx(2 / 3)
    assert m.f1_dataset_confidence == 0.0
    assert m.dataset_counts(m.dataset_best_index) == (3, 1, 2)
    assert m.dataset_counts(m.best_index) == (2, 0, 3)


def test_errors_report_totals_are_the_pooled_counts():
    from test_eval_coco_crosscheck import constructed_records

    records = constructed_records(seed=1, n_images=40)
    names = ["crazing", "inclusion", "patches", "scratches"]
    m = evaluate(records, names)
    for index in (m.dataset_best_index, m.best_index, 300, 700):
        conf = float(m.conf_grid[index])
        rep = errors_report(records, names, conf)
        t = rep["totals"]
        assert (t["tp"], t["fp"], t["fn"]) == m.dataset_counts(index)
        cm = np.array(rep["confusion_matrix"]["counts"])
        assert cm[:-1].sum(axis=1).tolist() == m.instances.tolist()
        kept = np.concatenate([r.classes[r.scores >= conf] for r in records])
        assert cm[:, :-1].sum(axis=0).tolist() == np.bincount(kept, minlength=4).tolist()
        assert cm[-1, -1] == 0
        assert t["tp"] > 0 and t["fp"] > t["class_confusions"] > 0 and t["duplicates"] > 0
