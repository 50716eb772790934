"""The report's pure parts on hand-made cases: the per-class table at thresholds, the choice of
the worst errors and of the CAM image, and reading thresholds.json."""

from __future__ import annotations

import json

import pytest

from grace.errors import GraceError
from grace.eval.records import ImageRecord
from grace.eval.report import cam_image, class_table, worst_false_positives, worst_misses
from grace.eval.report_sources import find_thresholds, read_thresholds

A, B, FAR = [0.0, 0.0, 40.0, 40.0], [100.0, 100.0, 150.0, 150.0], [300.0, 300.0, 340.0, 340.0]
NAMES = ["a", "b"]


def _records() -> list[ImageRecord]:
    """Class a: 2 GT (A in img0, A in img1); predictions 0.9 on A (img0), 0.6 FAR (img0),
    0.4 on A (img1). Class b: 1 GT (B in img0); predictions 0.7 FAR (img1), 0.2 on B (img0)."""
    return [
        ImageRecord("img0.jpg", 400, 400, [A, B], [0, 1], [A, FAR, B], [0.9, 0.6, 0.2], [0, 0, 1]),
        ImageRecord("img1.jpg", 400, 400, [A], [0], [A, FAR], [0.4, 0.7], [0, 1]),
    ]


def test_class_table_at_per_class_thresholds_by_hand():
    per_class = {"a": {"AP50-95": 0.5, "AP50": 0.6}, "b": {"AP50-95": 0.1, "AP50": 0.2}}
    rows = class_table(_records(), NAMES, per_class, {"a": 0.5, "b": 0.1})
    a, b, pooled = rows
    # a at 0.5: 0.9 (TP) and 0.6 (FP) pass, 0.4 does not: TP 1, FP 1, FN 1 -> P 1/2, R 1/2
    assert (a["tp"], a["fp"], a["fn"]) == (1, 1, 1)
    assert (a["precision"], a["recall"], a["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (a["AP50-95"], a["AP50"], a["threshold"], a["instances"]) == (0.5, 0.6, 0.5, 2)
    # b at 0.1: 0.7 (FP) and 0.2 (TP) pass: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/3
    assert (b["tp"], b["fp"], b["fn"]) == (1, 1, 0)
    assert (b["precision"], b["recall"], b["f1"]) == pytest.approx((0.5, 1.0, 2 / 3))
    # pooled: TP 2, FP 2, FN 1 -> P 1/2, R 2/3, F1 = 2*(1/2)(2/3)/(1/2+2/3) = 4/7
    assert (pooled["tp"], pooled["fp"], pooled["fn"], pooled["instances"]) == (2, 2, 1, 3)
    assert (pooled["precision"], pooled["recall"], pooled["f1"]) == pytest.approx(
        (0.5, 2 / 3, 4 / 7)
    )
    assert pooled["id"] is None and pooled["threshold"] is None


def test_class_table_threshold_above_every_score():
    """a at 0.95: nothing passes: P = 0 (as grace val: no credit without predictions), R 0."""
    a = class_table(_records(), NAMES, {}, {"a": 0.95, "b": 0.1})[0]
    assert (a["tp"], a["fp"], a["fn"], a["precision"], a["recall"], a["f1"]) == (0, 0, 2, 0, 0, 0)
    assert a["AP50"] is None  # not in per_class: shown as a dash, never invented


def _img(name, fps=(), misses=(), tp=0):
    return {"file": name, "tp": tp, "fn": len(misses), "false_positives": list(fps),
            "misses": list(misses), "matches": []}  # fmt: skip


def _fp(conf):
    return {"pred": 0, "class": 0, "confidence": conf, "box": A, "kind": "background"}


def _miss(box):
    return {"gt": 0, "class": 1, "box": box, "taken_by": None}


def test_worst_errors_and_cam_image():
    big, small = [0, 0, 100, 100], [0, 0, 10, 10]
    errors = {"images": [
        _img("one.jpg", fps=[_fp(0.3), _fp(0.8)], misses=[_miss(small)], tp=1),
        _img("two.jpg", fps=[_fp(0.5)], misses=[_miss(big), _miss(small)], tp=3),
        _img("three.jpg", tp=3, misses=[_miss(small)]),
        _img("four.jpg"),
    ]}  # fmt: skip
    fps = worst_false_positives(errors, k=5)
    assert [(f["image"]["file"], f["confidence"]) for f in fps] == [("one.jpg", 0.8),
                                                                    ("two.jpg", 0.5)]  # fmt: skip
    misses = worst_misses(errors, k=2)
    assert [(m["image"]["file"], m["area"]) for m in misses] == [("two.jpg", 10000.0),
                                                                 ("one.jpg", 100.0)]  # fmt: skip
    # most TPs (two, three: 3), then most GT (two: 3 + 2 = 5 > three: 3 + 1)
    assert cam_image(errors)["file"] == "two.jpg"
    assert cam_image({"images": []}) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable JSON"),
        ('{"per_class": {"a": 0.3, "zz": 0.4}}', "the model has no class 'zz'"),
        ('{"per_class": {"a": "high"}}', "'per_class' must map class names to numbers"),
        ('{"per_class": {"a": -0.1}, "conf": 0.2}', "must be a number >= 0, got -0.1"),
        ('{"per_class": {"a": 0.3}, "conf": "x"}', "'conf' must be a number, got 'x'"),
        ("[0.3, 0.4]", "expected a JSON object"),
    ],
)
def test_bad_thresholds_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "thresholds.json"
    path.write_text(content)
    with pytest.raises(GraceError) as err:
        read_thresholds(path, NAMES)
    text = str(err.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_thresholds_file_missing_class_takes_conf(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"conf": 0.25, "per_class": {"b": 0.6}}))
    th = read_thresholds(path, NAMES)
    assert th.per_class == {"a": 0.25, "b": 0.6} and th.from_global == ["a"] and th.calibrated


def test_auto_thresholds_beside_weights(tmp_path):
    weights = tmp_path / "best.pt"
    th, problems = find_thresholds(None, weights, NAMES, 0.123)
    assert th.per_class == {"a": 0.123, "b": 0.123} and not th.calibrated and problems == []
    assert "global operating point: confidence 0.123" in th.source
    beside = tmp_path / "best.thresholds.json"  # the name grace calibrate gives it
    beside.write_text('{"per_class": {"a": 0.3, "b": 0.4}}')
    th, problems = find_thresholds(None, weights, NAMES, 0.123)
    assert th.per_class == {"a": 0.3, "b": 0.4} and th.calibrated and problems == []
    # a bad file found beside the weights: one problem line, the global point used instead
    beside.write_text('{"per_class": {"c": 0.3}}')
    th, problems = find_thresholds(None, weights, NAMES, 0.123)
    assert not th.calibrated and len(problems) == 1
    assert problems[0].startswith(str(beside))
    # the same file given explicitly: the command cannot do what was asked
    with pytest.raises(GraceError):
        find_thresholds(str(beside), weights, NAMES, 0.123)
