"""Per-class threshold choice on constructed scores, with the optimal thresholds worked out by
hand, and the thresholds file written from a constructed ``grace val`` folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grace.errors import GraceError
from grace.eval.calibrate import calibrate, calibrate_records
from grace.eval.calibration import (
    Target,
    between,
    choose_threshold,
    few_instances_warning,
    instances_needed,
    parse_class_targets,
    parse_target,
)
from grace.eval.records import ImageRecord, save_records
from grace.infer.threshold_file import default_path, read_thresholds

# one class: 7 detections (score, true positive?) and 5 ground-truth boxes
SCORES = np.array([0.5, 0.9, 0.3, 0.7, 0.6, 0.8, 0.4])
TP = np.array([False, True, False, True, True, False, True])
N_GT = 5
# by hand, thresholds in descending order: TP, detections, P, R, F1 = 2TP / (detections + 5)
#   0.9: 1 1  1.000 0.2 2/6  = 0.333
#   0.8: 1 2  0.500 0.2 2/7  = 0.286
#   0.7: 2 3  0.667 0.4 4/8  = 0.500
#   0.6: 3 4  0.750 0.6 6/9  = 0.667
#   0.5: 3 5  0.600 0.6 6/10 = 0.600
#   0.4: 4 6  0.667 0.8 8/11 = 0.727
#   0.3: 4 7  0.571 0.8 8/12 = 0.667


# the threshold written is halfway down to the next lower score: 0.4 -> 0.35, 0.6 -> 0.55
@pytest.mark.parametrize(
    ("target", "threshold", "tp", "fp", "reached"),
    [
        ("f1", 0.35, 4, 2, True),  # F1 8/11 at 0.4 is the highest
        ("recall=0.6", 0.55, 3, 1, True),  # highest threshold with R >= 0.6: 0.6
        ("recall=0.8", 0.35, 4, 2, True),
        ("recall=0.9", 0.35, 4, 2, False),  # never reached: the highest threshold of R = 0.8
        ("precision=0.7", 0.55, 3, 1, True),  # lowest threshold with P >= 0.7 (0.9 and 0.6)
        ("precision=0.65", 0.35, 4, 2, True),  # 0.667 at 0.4 is the lowest reaching it
        ("precision=1", 0.85, 1, 0, True),
    ],
)
def test_thresholds_by_hand(target, threshold, tp, fp, reached):
    p = choose_threshold(SCORES, TP, N_GT, parse_target(target))
    assert (p.threshold, p.tp, p.fp, p.fn, p.reached) == (threshold, tp, fp, N_GT - tp, reached)
    assert p.precision == pytest.approx(tp / (tp + fp))
    assert p.recall == pytest.approx(tp / N_GT)
    assert p.f1 == pytest.approx(2 * tp / (tp + fp + N_GT))


def test_f1_ties_take_the_highest_threshold_and_score_ties_count_together():
    # 0.9: 2*1/(1+2) = 0.667; 0.6: 2*2/(4+2) = 0.667 -> the higher, 0.9
    p = choose_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 0, 1], bool), 2,
                         Target("f1"))  # fmt: skip
    assert p.threshold == 0.85 and p.tp == 1 and p.fp == 0
    # two detections share 0.5: a threshold of 0.5 keeps both (one TP, one FP); the lowest
    # point keeps its own score
    q = choose_threshold(np.array([0.5, 0.5]), np.array([True, False]), 1, Target("recall", 1.0))
    assert (q.threshold, q.tp, q.fp) == (0.5, 1, 1)


def test_threshold_between_scores_keeps_the_same_detections():
    thr = np.array([0.9, 0.40000001, 0.4])
    assert between(thr, 0) == 0.650000  # (0.9 + 0.40000001) / 2 rounded
    t = between(thr, 1)  # rounding to 6 decimals would leave the interval: the exact midpoint
    assert 0.4 < t < 0.40000001 and t == (0.40000001 + 0.4) / 2
    assert between(thr, 2) == 0.4


def test_a_class_without_instances_or_matches_is_not_calibrated():
    assert choose_threshold(SCORES, TP, 0, Target("f1")) is None
    assert choose_threshold(SCORES, np.zeros(7, bool), 3, Target("f1")) is None
    assert choose_threshold(np.zeros(0), np.zeros(0, bool), 3, Target("f1")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recall", "expected f1, recall=R or precision=P"),
        ("accuracy=0.9", "expected f1"),
        ("recall=high", "'high' is not a number"),
        ("recall=0", "must be above 0 and at most 1"),
        ("precision=1.5", "must be above 0 and at most 1"),
    ],
)
def test_bad_targets_are_one_line(text, message):
    with pytest.raises(GraceError, match=message):
        parse_target(text)


def test_class_targets_by_name_and_unknown_class():
    names = ["crazing", "scratches"]
    got = parse_class_targets(["Scratches=recall:0.98", "0=f1"], names)
    assert got == {1: Target("recall", 0.98), 0: Target("f1")}
    with pytest.raises(GraceError, match=r"no class 'pits' \(crazing, scratches\)"):
        parse_class_targets(["pits=recall:0.9"], names)


def test_too_few_instances_rule():
    # at least 20; for recall/precision v also 1 / (1 - v): 0.95 -> 20, 0.98 -> 50, 0.9 -> 20
    assert instances_needed(Target("f1")) == 20
    assert instances_needed(Target("recall", 0.95)) == 20
    assert instances_needed(Target("recall", 0.98)) == 50
    assert instances_needed(Target("precision", 1.0)) == float("inf")
    assert few_instances_warning("pits", 20, Target("f1")) is None
    assert "only 19 validation instances" in few_instances_warning("pits", 19, Target("f1"))
    w = few_instances_warning("scratches", 49, Target("recall", 0.98))
    assert w.startswith("scratches: only 49") and "1/(1-0.98) = 50" in w
    assert few_instances_warning("scratches", 50, Target("recall", 0.98)) is None


def _box(x: float) -> list[float]:
    return [x, 10.0, x + 20.0, 30.0]


def _records() -> list[ImageRecord]:
    """Class 0 carries the hand-worked detections above (a TP sits exactly on its GT box, an FP
    far from every box), one per image, plus the one GT box never found (5 GT, 4 found); class
    1 has 2 GT boxes and detections 0.95 (TP), 0.2 (FP), 0.15 (TP); class 2 has no GT and one
    detection at 0.99 (a false positive wherever the threshold allows it)."""
    recs = []
    for i, (s, t) in enumerate(zip(SCORES, TP, strict=True)):
        gt = [_box(0)] if t else []
        recs.append(ImageRecord(f"a{i}.jpg", 200, 200, gt, [0] * len(gt),
                                [_box(0) if t else _box(150)], [s], [0]))  # fmt: skip
    recs.append(ImageRecord("miss.jpg", 200, 200, [_box(0)], [0]))
    recs.append(
        ImageRecord(
            "b.jpg",
            200,
            200,
            [_box(0), _box(60)],
            [1, 1],
            [_box(0), _box(150), _box(60)],
            [0.95, 0.2, 0.15],
            [1, 1, 1],
        )
    )
    recs.append(ImageRecord("c.jpg", 200, 200, [], [], [_box(100)], [0.99], [2]))
    return recs  # fmt: skip


NAMES = ["crazing", "scratches", "pits"]


def test_calibrate_records_per_class_and_global_by_hand():
    doc = calibrate_records(_records(), NAMES, Target("f1"),
                            {1: Target("recall", 1.0)})  # fmt: skip
    # class 0 as above; class 1 recall 1 -> lowest score 0.15 (TP 2, FP 1); class 2: no GT
    assert doc["per_class"] == {"crazing": 0.35, "scratches": 0.15}
    # pooled over classes (7 GT), thresholds descending -> TP, detections, F1 = 2TP/(N + 7):
    # 0.99:0,1 .95:1,2 (2/9) .9:2,3 (4/10) .8:2,4 .7:3,5 (6/12) .6:4,6 (8/13=.615) .5:4,7
    # .4:5,8 (10/15=.667) .3:5,9 (10/16) .2:5,10 .15:6,11 (12/18=.667) -> tie, the higher: 0.4
    assert doc["conf"] == 0.35  # written halfway down to the next score, 0.3
    assert doc["global_metrics"] == {
        "threshold": 0.35,
        "tp": 5,
        "fp": 3,
        "fn": 2,
        "precision": 5 / 8,
        "recall": 5 / 7,
        "f1": 10 / 15,
    }
    m = doc["per_class_metrics"]
    assert m["scratches"]["threshold"] == 0.15 and m["scratches"]["tp"] == 2
    assert m["scratches"]["at_global"]["tp"] == 1 and m["scratches"]["at_global"]["fp"] == 0
    assert m["pits"]["calibrated"] is False and m["pits"]["fp"] == 1  # at the global 0.4
    # calibrated, pooled (TP FP FN): crazing 4 2 1, scratches 2 1 0, pits 0 1 0
    assert (doc["calibrated_metrics"]["tp"], doc["calibrated_metrics"]["fp"],
            doc["calibrated_metrics"]["fn"]) == (6, 4, 1)  # fmt: skip
    w = doc["warnings"]
    assert any(x.startswith("pits: no validation instance") for x in w)
    assert any(x.startswith("crazing: only 5 validation instances") for x in w)
    assert doc["target"] == {"default": "f1", "per_class": {"scratches": "recall=1"}}


def _val_dir(path: Path, weights: Path, protocol: str = "deployed") -> Path:
    path.mkdir(parents=True)
    save_records(path / "predictions.npz", _records(), NAMES,
                 {"protocol": protocol, "weights": str(weights), "imgsz": 256})  # fmt: skip
    return path


def test_calibrate_from_a_val_dir_writes_the_file_beside_the_weights(tmp_path):
    weights = tmp_path / "models" / "m.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"not really a model")
    val = _val_dir(tmp_path / "val", weights)
    result = calibrate(str(weights), None, target="f1", class_targets=["scratches=recall:1"],
                       val_dir=val)  # fmt: skip
    path = tmp_path / "models" / "m.thresholds.json"
    assert result["file"] == str(path) == str(default_path(weights))
    doc = json.loads(path.read_text())
    # predictions.npz keeps scores as float32 (as the model outputs them): halfway between
    # float32 0.4 and 0.3 rounds to 0.35; the lowest point keeps its float32 score 0.15
    t35, t15 = 0.35, float(np.float32(0.15))
    assert doc["conf"] == t35 and doc["per_class"] == {"crazing": t35, "scratches": t15}
    assert doc["protocol"] == "deployed" and doc["imgsz"] == 256 and doc["images"] == 10
    import hashlib

    assert doc["model_sha256"] == hashlib.sha256(b"not really a model").hexdigest()
    th = read_thresholds(path, NAMES)
    assert th.conf == t35 and dict(th.per_class) == {0: t35, 1: t15}
    # a float32 detection above its class threshold (or at the lowest score kept) passes
    scores = np.array([0.3501, 0.3499, 0.15, 0.1499, 0.4], dtype=np.float32)
    assert th.keep(scores, [0, 0, 1, 1, 2]).tolist() == [True, False, True, False, True]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", *args], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def _one_line_error(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grace: error: "), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_cli_refusals_are_one_line_and_write_nothing(tmp_path):
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"x")
    other = tmp_path / "other.pt"
    other.write_bytes(b"y")
    ultra = _val_dir(tmp_path / "ultra", weights, protocol="ultralytics")
    good = _val_dir(tmp_path / "good", weights)
    base = ["calibrate", "--weights", str(weights), "--val-dir"]
    _one_line_error(_cli(*base, str(ultra)), "protocol ultralytics", "--protocol deployed")
    _one_line_error(_cli(*base, str(good), "--target", "recall=2"), "--target 'recall=2'")
    _one_line_error(_cli(*base, str(good), "--class-target", "rust=f1"), "no class 'rust'")
    _one_line_error(_cli(*base, str(tmp_path)), "no predictions.npz")
    _one_line_error(_cli(*base, str(good), "--imgsz", "640"), "--imgsz 256, not 640")
    _one_line_error(
        _cli("calibrate", "--weights", str(other), "--val-dir", str(good)),
        "holds the detections of",
    )
    assert not list(tmp_path.glob("*.thresholds.json"))


def test_cli_prints_per_class_next_to_global_and_warns(tmp_path):
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"x")
    out = tmp_path / "th.json"
    r = _cli("calibrate", "--weights", str(weights), "--val-dir", str(_val_dir(tmp_path / "v",
             weights)), "--target", "recall=0.8", "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    # recall 0.8: crazing -> 0.4 (R 4/5); scratches -> 0.15 (R 2/2 at 0.15, 1/2 above)
    assert json.loads(out.read_text())["per_class"] == {
        "crazing": 0.35,
        "scratches": float(np.float32(0.15)),
    }
    row = next(x for x in r.stdout.splitlines() if x.strip().startswith("crazing"))
    assert row.split()[:7] == ["crazing", "5", "recall=0.8", "0.3500", "66.67", "80.00", "72.73"]
    assert "pits: no validation instance" in r.stderr
    assert "grace: warning: crazing: only 5 validation instances" in r.stderr
