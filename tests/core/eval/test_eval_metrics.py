"""Hand-checkable cases of our metric math (pure numpy, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from grace.eval.coco import coco_evaluate, size_bucket_counts
from grace.eval.matching import IOU_THRESHOLDS, box_iou, match_class
from grace.eval.metrics import CONF_GRID, ap_coco101, evaluate
from grace.eval.records import ImageRecord, xywhn_to_xyxy

FAR = [500.0, 500.0, 520.0, 520.0]  # a box that overlaps nothing below


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    # overlap 5x10 = 50, union 100 + 100 - 50 = 150
    assert box_iou(a, b) == pytest.approx(np.array([[50 / 150, 1.0, 0.0]]))


def test_yolo_labels_to_pixels():
    xyxy = xywhn_to_xyxy([[0.5, 0.25, 0.2, 0.1]], width=200, height=100)
    assert xyxy == pytest.approx(np.array([[80.0, 20.0, 120.0, 30.0]]))


def test_matching_goes_by_score_then_highest_iou():
    gt = np.array([[0, 0, 100, 100], [0, 0, 100, 60]], float)
    # the higher-scored prediction overlaps GT 0 exactly and GT 1 at IoU 0.6: it takes GT 0;
    # the second (IoU 0.6 with GT 0, 1.0 with GT 1) takes GT 1; the third has nothing left
    boxes = np.array([[0, 0, 100, 100], [0, 0, 100, 60], [0, 0, 100, 99]], float)
    tp = match_class(gt, boxes, np.array([0.9, 0.8, 0.7]), IOU_THRESHOLDS)
    assert tp[0].all() and tp[1].all() and not tp[2].any()
    # score order decides, not IoU: the weaker-overlapping but higher-scored box takes the GT
    tp = match_class(gt[:1], np.array([[0, 0, 100, 80], [0, 0, 100, 100]], float), [0.9, 0.5])
    assert tp[0, 0] and not tp[1, 0]  # at IoU 0.5: the 0.9 box (IoU 0.8) wins, the exact one is FP
    assert tp[1, -1] and not tp[0, -1]  # at IoU 0.95 the 0.8 box fails and the exact one matches


def test_perfect_predictions_give_ap_one():
    rng = np.random.default_rng(0)
    records = []
    for i in range(5):
        gt = np.array([[10, 10, 40, 50], [60, 5, 170, 110], [5, 120, 20, 130]], float) + i
        cls = np.array([0, 1, 2])
        records.append(ImageRecord(f"{i}", 200, 200, gt, cls, gt, rng.uniform(0.3, 1, 3), cls))
    m = evaluate(records, ["a", "b", "c"])
    assert m.ap == pytest.approx(np.ones((3, 10)))
    assert m.map50_95 == pytest.approx(1.0) and m.map50 == pytest.approx(1.0)
    assert (m.precision, m.recall, m.f1) == pytest.approx((1.0, 1.0, 1.0))
    coco = coco_evaluate(records, ["a", "b", "c"])
    assert coco.map50_95 == pytest.approx(1.0)
    assert coco.ap_size == pytest.approx({"small": 1.0, "medium": 1.0, "large": 1.0})


def _one_class_case() -> list[ImageRecord]:
    """Class 0: 3 GT; predictions by score TP, FP, TP, FP (the third GT is missed).
    Class 1: 2 GT; predictions TP (0.9505), FP (0.6505). Scores sit off the confidence grid."""
    gt0 = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float)
    gt1 = np.array([[100, 0, 150, 40], [100, 60, 150, 90]], float)
    img_a = ImageRecord(
        "a",
        200,
        200,
        gt0,
        [0, 0, 0],
        [gt0[0], FAR, gt0[1], FAR],
        [0.9005, 0.8005, 0.7005, 0.6005],
        [0, 0, 0, 0],
    )
    img_b = ImageRecord("b", 200, 200, gt1, [1, 1], [gt1[0], FAR], [0.9505, 0.6505], [1, 1])
    return [img_a, img_b]


def test_ap_from_known_pr_points_by_hand():
    # recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2 -> envelope 1, 2/3, 2/3, 1/2.
    # On the 101 recall points: r <= 1/3 (34 points) -> 1; 1/3 < r <= 2/3 (33 points) -> 2/3;
    # r > 2/3 (34 points) -> 0.  AP = (34 + 33 * 2/3) / 101 = 56/101.
    ap, q = ap_coco101(np.array([1, 1, 2, 2]) / 3, np.array([1, 1 / 2, 2 / 3, 1 / 2]))
    assert ap == pytest.approx(56 / 101)
    assert q[33] == 1.0 and q[34] == pytest.approx(2 / 3) and q[67] == 0.0

    m = evaluate(_one_class_case(), ["a", "b"])
    assert m.ap[0] == pytest.approx(np.full(10, 56 / 101))  # exact boxes: same at every IoU
    # class 1: recall 1/2, 1/2; precision 1, 1/2 -> 1 on r <= 0.5 (51 points), then 0
    assert m.ap[1] == pytest.approx(np.full(10, 51 / 101))
    assert m.map50_95 == pytest.approx((56 / 101 + 51 / 101) / 2)
    coco = coco_evaluate(_one_class_case(), ["a", "b"])
    assert coco.per_class["a"]["AP50-95"] == pytest.approx(56 / 101)
    assert coco.map50_95 == pytest.approx(m.map50_95)


def test_ap_across_iou_thresholds_by_hand():
    # one GT, one prediction at IoU 0.72: a hit at 0.50..0.70 (5 thresholds), a miss above
    rec = ImageRecord("x", 100, 100, [[0, 0, 100, 100]], [0], [[0, 0, 100, 72]], [0.9], [0])
    m = evaluate([rec], ["only"])
    assert m.ap[0] == pytest.approx([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert m.map50_95 == pytest.approx(0.5) and m.map50 == pytest.approx(1.0)


def test_f1_at_best_confidence_by_hand():
    # Per-class F1 against the confidence c (a prediction counts when score >= c):
    #   class a (3 GT): (0.8005, 0.9005]: P 1, R 1/3, F1 1/2; (0.7005, 0.8005]: 1/2, 1/3, 2/5;
    #     (0.6005, 0.7005]: 2/3, 2/3, 2/3; <= 0.6005: 1/2, 2/3, 4/7.
    #   class b (2 GT): (0.6505, 0.9505]: P 1, R 1/2, F1 2/3; <= 0.6505: 1/2, 1/2, 1/2.
    # Mean F1 peaks at (0.6505, 0.7005] with (2/3 + 2/3)/2; the lowest grid point there: 0.651.
    m = evaluate(_one_class_case(), ["a", "b"])
    assert m.f1_confidence == pytest.approx(0.651)
    assert m.mean_f1_curve[m.best_index] == pytest.approx(2 / 3)
    p, r = (2 / 3 + 1) / 2, (2 / 3 + 1 / 2) / 2  # 5/6 and 7/12
    assert m.precision == pytest.approx(p) and m.recall == pytest.approx(r)
    assert m.f1 == pytest.approx(2 * p * r / (p + r))  # 35/51
    assert m.f1 == pytest.approx(35 / 51)
    # the curves themselves, at a few confidences
    at = {c: int(np.argmin(np.abs(CONF_GRID - c))) for c in (0.85, 0.75, 0.5, 0.95)}
    assert m.f1_curve[0, at[0.85]] == pytest.approx(1 / 2)
    assert m.f1_curve[0, at[0.75]] == pytest.approx(2 / 5)
    assert m.f1_curve[0, at[0.5]] == pytest.approx(4 / 7)
    assert m.p_curve[0, at[0.95]] == 0.0 and m.r_curve[0, at[0.95]] == 0.0  # nothing passes


def test_class_without_ground_truth_is_left_out_of_means():
    rec = ImageRecord(
        "x", 100, 100, [[0, 0, 50, 50]], [0], [[0, 0, 50, 50], FAR], [0.9, 0.8], [0, 1]
    )
    m = evaluate([rec], ["has_gt", "no_gt"])
    assert np.isnan(m.ap[1]).all() and m.detections[1] == 1
    assert m.map50_95 == pytest.approx(1.0)  # only class 0 counts, as in COCO
    assert coco_evaluate([rec], ["has_gt", "no_gt"]).per_class["no_gt"]["AP50-95"] is None


def test_no_predictions_at_all():
    rec = ImageRecord("x", 100, 100, [[0, 0, 50, 50]], [0])
    m = evaluate([rec], ["a"])
    assert m.map50_95 == 0.0 and m.precision == 0.0 and m.recall == 0.0 and m.f1 == 0.0
    coco = coco_evaluate([rec], ["a"])
    assert coco.map50_95 == 0.0 and coco.ap_size["large"] is None


def test_size_buckets_follow_the_coco_area_rule():
    # areas 961, 1024 = 32² (small: a boundary box goes to the lower bucket, as in grace data
    # stats), 9025, 9216 = 96² (medium), 22500 (large); grace val counted 32² and 96² one
    # bucket up before the two rules became one
    sides = [31, 32, 95, 96, 150]
    gt = [[200 * i, 0, 200 * i + s, s] for i, s in enumerate(sides)]  # side by side, apart
    rec = ImageRecord("x", 1000, 200, gt, [0] * 5)
    assert size_bucket_counts([rec]) == {"small": 2, "medium": 2, "large": 1}
    # pycocotools' ranges are closed ([0, 32²], [32², 96²], [96², inf]): a box of exactly 32²
    # counts in both small and medium there, so the AP check keeps off the boundaries
    sides = [31, 33, 95, 97, 150]
    gt = [[200 * i, 0, 200 * i + s, s] for i, s in enumerate(sides)]
    rec = ImageRecord("x", 1000, 200, gt, [0] * 5)
    # found only the small one: AP_S = 1, AP_M = AP_L = 0
    rec.boxes, rec.scores, rec.classes = np.array([gt[0]], float), np.array([0.9]), np.array([0])
    coco = coco_evaluate([rec], ["a"])
    assert coco.ap_size == pytest.approx({"small": 1.0, "medium": 0.0, "large": 0.0})


def test_bad_classes_are_refused():
    rec = ImageRecord("x", 100, 100, [[0, 0, 5, 5]], [3])
    with pytest.raises(ValueError, match="outside"):
        evaluate([rec], ["a", "b"])
