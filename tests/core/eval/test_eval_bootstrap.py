"""The bootstrap over validation images on constructed predictions: one run's intervals
(hand-computed cases and the resampled list of images) and ``grace compare``'s paired bootstrap
(its seed aggregation: test_eval_compare_seeds.py).

Every compared run here is a ``grace val --out`` folder made by the test: ``predictions.npz``
written by ``save_records`` and a ``metrics.json`` whose figures come from ``evaluate`` on the
same records.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from _compare_runs import NAMES, _cli, _records, _val_dir, _without_high_fps

from grace.errors import GraceError
from grace.eval.bootstrap import (
    BOOTSTRAP_METRICS,
    match_run,
    percentile_interval,
    resample_weights,
    run_intervals,
    weighted_metrics,
)
from grace.eval.compare import compare
from grace.eval.metrics import evaluate
from grace.eval.records import ImageRecord

BOX = [10.0, 10.0, 50.0, 50.0]


def _two_images() -> list[ImageRecord]:
    """Image 0: one GT box found at score 0.9; image 1: one GT box, no prediction."""
    return [
        ImageRecord("found.jpg", 100, 100, [BOX], [0], [BOX], [0.9], [0]),
        ImageRecord("missed.jpg", 100, 100, [BOX], [0]),
    ]


def test_weights_by_hand():
    run = match_run(_two_images(), nc=1)
    # both once: recall 1/2 at precision 1, so the envelope is 1 at the 51 recall points
    # 0, 0.01, ..., 0.50 and 0 above: AP = 51/101 at every IoU; F1 = 2*1/(1 + 2) = 2/3
    np.testing.assert_allclose(weighted_metrics(run, [1, 1]), [51 / 101, 51 / 101, 2 / 3])
    # the found image twice: recall 1 at precision 1, AP 1; F1 = 2*2/(2 + 2) = 1
    np.testing.assert_allclose(weighted_metrics(run, [2, 0]), [1.0, 1.0, 1.0])
    # the missed image twice: ground truth but no true positive: AP 0, F1 0
    np.testing.assert_allclose(weighted_metrics(run, [0, 2]), [0.0, 0.0, 0.0])
    # a batch gives the same rows
    np.testing.assert_allclose(
        weighted_metrics(run, np.array([[1, 1], [2, 0], [0, 2]])),
        [[51 / 101, 51 / 101, 2 / 3], [1, 1, 1], [0, 0, 0]],
    )


def test_two_image_interval_spans_the_draws():
    """With two images the resamples are (2,0), (1,1), (0,2) with probability 1/4, 1/2, 1/4:
    the 2.5 % and 97.5 % percentiles of 1,000 draws are 0 and 1."""
    iv = run_intervals(_two_images(), nc=1, resamples=1000, seed=3)
    assert iv["mAP50"].value == pytest.approx(51 / 101)
    assert (iv["mAP50"].low, iv["mAP50"].high) == (0.0, 1.0)
    assert (iv["f1_dataset"].low, iv["f1_dataset"].high) == (0.0, 1.0)
    assert iv["mAP50"].resamples == 1000 and iv["mAP50"].seed == 3


def _random_records(seed: int = 1, n: int = 30, nc: int = 3) -> list[ImageRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        g = int(rng.integers(0, 4))
        xy = rng.uniform(0, 80, (g, 2))
        gt = np.hstack([xy, xy + rng.uniform(5, 30, (g, 2))])
        gc = rng.integers(0, nc, g)
        extra = int(rng.integers(0, 6))
        fxy = rng.uniform(0, 80, (extra, 2))
        boxes = np.vstack([gt + rng.normal(0, 3, gt.shape), np.hstack([fxy, fxy + 20])])
        cls = np.concatenate([np.where(rng.random(g) < 0.8, gc, rng.integers(0, nc, g)),
                              rng.integers(0, nc, extra)])  # fmt: skip
        out.append(ImageRecord(f"i{i}.jpg", 100, 100, gt, gc, boxes, rng.random(len(cls)), cls))
    return out


def test_equals_evaluate_on_the_resampled_list():
    """Each resample's figures equal grace val's metrics on the list where image i is repeated
    w_i times (distinct scores, so no tie can reorder)."""
    recs = _random_records()
    run = match_run(recs, 3)
    m = evaluate(recs, ["a", "b", "c"])
    np.testing.assert_allclose(
        weighted_metrics(run, np.ones(len(recs))), [m.map50_95, m.map50, m.f1_dataset], atol=1e-12
    )
    w = resample_weights(len(recs), 8, seed=5)
    got = weighted_metrics(run, w)
    for b in range(len(w)):
        listed = [r for r, k in zip(recs, w[b], strict=True) for _ in range(int(k))]
        mm = evaluate(listed, ["a", "b", "c"])
        np.testing.assert_allclose(got[b], [mm.map50_95, mm.map50, mm.f1_dataset], atol=1e-12)


def test_resample_weights_and_seed():
    w = resample_weights(7, 50, seed=0)
    assert w.shape == (50, 7) and (w.sum(axis=1) == 7).all()
    assert (resample_weights(7, 50, seed=0) == w).all()
    assert not (resample_weights(7, 50, seed=1) == w).all()
    recs = _random_records(n=12)
    a, b = run_intervals(recs, 3, 1000, seed=0), run_intervals(recs, 3, 1000, seed=0)
    assert a == b
    for iv in a.values():
        assert iv.low <= iv.value <= iv.high


def test_percentile_interval_ignores_nan():
    s = np.r_[np.arange(101.0), np.nan]
    assert percentile_interval(s) == pytest.approx((2.5, 97.5))
    lo, hi = percentile_interval(np.array([np.nan]))
    assert np.isnan(lo) and np.isnan(hi)


# --- grace compare: paired bootstrap and seed aggregation ----------------------------------


def _figures(run, weights) -> dict[str, float]:
    """:func:`weighted_metrics` of one resample by metric name."""
    return dict(zip(BOOTSTRAP_METRICS, weighted_metrics(run, weights), strict=True))


def test_weighted_figures_equal_evaluate_on_the_resampled_image_list():
    """A resample as weights gives exactly what evaluate gives on the drawn images, listed."""
    recs = _records(60)
    run = match_run(recs, len(NAMES))
    idx = np.random.default_rng(7).integers(0, 60, 60)
    drawn = evaluate([recs[i] for i in idx], NAMES)
    got = _figures(run, np.bincount(idx, minlength=60))
    assert got["mAP50-95"] == pytest.approx(drawn.map50_95, abs=1e-12)
    assert got["mAP50"] == pytest.approx(drawn.map50, abs=1e-12)
    assert got["f1_dataset"] == pytest.approx(drawn.f1_dataset, abs=1e-12)
    whole = evaluate(recs, NAMES)
    ones = _figures(run, np.ones(60))
    assert ones["mAP50-95"] == pytest.approx(whole.map50_95, abs=1e-12)
    assert drawn.map50_95 != pytest.approx(whole.map50_95)  # the resample is not the whole set


def test_resample_weights_draw_every_image_count_times():
    w = resample_weights(50, 1000, seed=3)
    assert w.shape == (1000, 50) and (w.sum(axis=1) == 50).all()
    assert np.array_equal(w, resample_weights(50, 1000, seed=3))
    assert not np.array_equal(w, resample_weights(50, 1000, seed=4))
    # each image is drawn with probability 1/50 per draw: on average once per resample
    assert w.mean() == pytest.approx(1.0)


def test_identical_runs_give_zero_with_interval_zero_zero(tmp_path):
    recs = _records(80)
    a, b = _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", recs)
    result = compare([a, b])
    ivs = result["runs"][1]["intervals"]
    for k in ("mAP50-95", "mAP50", "f1_dataset"):
        assert (ivs[k]["delta"], ivs[k]["low"], ivs[k]["high"]) == (0.0, 0.0, 0.0)
        assert ivs[k]["verdict"] == "not distinguishable" and ivs[k]["resamples"] == 1000
    assert result["runs"][0]["intervals"] is None
    assert "| b | +0.00 [+0.00, +0.00] not distinguishable |" in result["markdown"]
    assert result["bootstrap"]["images"] == 80 and result["bootstrap"]["seed"] == 0


def test_removing_false_positives_is_detected(tmp_path):
    recs = _records(120)
    better = _without_high_fps(recs)
    removed = sum(len(r.scores) for r in recs) - sum(len(r.scores) for r in better)
    assert removed > 100  # the shift is real
    a, b = _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", better)
    result = compare([a, b], out=tmp_path / "cmp")
    ivs = result["runs"][1]["intervals"]
    # the point Δ is the difference of evaluate's figures on all images
    want = 100 * (evaluate(better, NAMES).map50_95 - evaluate(recs, NAMES).map50_95)
    assert ivs["mAP50-95"]["delta"] == pytest.approx(want, abs=1e-9) and want > 0
    for k in ("mAP50-95", "mAP50", "f1_dataset"):
        # removing FPs that match nothing can only raise precision, on every resample
        assert 0 < ivs[k]["low"] <= ivs[k]["delta"] <= ivs[k]["high"], (k, ivs[k])
        assert ivs[k]["verdict"] == "distinguishable"
    row = next(r for r in result["markdown"].splitlines() if r.startswith("| b | +"))
    assert "not distinguishable" not in row
    rows = list(csv.DictReader(io.StringIO((tmp_path / "cmp" / "compare.csv").read_text())))
    assert rows[1]["Δ mAP@0.5:0.95 verdict"] == "distinguishable"
    assert float(rows[1]["Δ mAP@0.5:0.95 CI low (pp)"]) == pytest.approx(
        ivs["mAP50-95"]["low"], abs=1e-4
    )
    assert rows[0]["Δ mAP@0.5:0.95 verdict"] == ""  # the reference


def test_small_score_jitter_is_not_distinguishable(tmp_path):
    recs = _records(120)
    rng = np.random.default_rng(11)
    jittered = [
        ImageRecord(r.file, r.width, r.height, r.gt_boxes, r.gt_classes, r.boxes,
                    np.clip(r.scores + rng.normal(0, 0.01, len(r.scores)), 0, 1), r.classes)
        for r in recs
    ]  # fmt: skip
    result = compare([_val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", jittered)])
    for k, iv in result["runs"][1]["intervals"].items():
        assert iv["delta"] != 0.0, k  # the jitter changes the figures...
        assert iv["low"] <= 0 <= iv["high"] and iv["verdict"] == "not distinguishable", (k, iv)


def test_same_seed_gives_the_same_intervals_and_another_seed_others(tmp_path):
    recs = _records(80)
    a, b = _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", _without_high_fps(recs))
    one = compare([a, b], seed=5)["runs"][1]["intervals"]["mAP50-95"]
    assert compare([a, b], seed=5)["runs"][1]["intervals"]["mAP50-95"] == one
    other = compare([a, b], seed=6)["runs"][1]["intervals"]["mAP50-95"]
    assert other["delta"] == one["delta"] and other["low"] != one["low"]


def _refused(tmp_path, a: Path, b: Path, *words: str) -> None:
    with pytest.raises(GraceError) as e:
        compare([a, b])
    for w in words:
        assert w in str(e.value), str(e.value)
    r = _cli(str(a), str(b), "--json")
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grace: error: "), r.stderr


def test_runs_on_different_images_are_refused(tmp_path):
    recs = _records(40)
    other = _records(41)  # one image more
    _refused(tmp_path, _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", other),
             "other images", "41 vs 40", "im040.jpg")  # fmt: skip


def test_same_file_names_with_other_labels_are_refused(tmp_path):
    recs = _records(40)
    moved = [*recs[:5], ImageRecord(recs[5].file, 200, 200, recs[5].gt_boxes + 7,
                                    recs[5].gt_classes, recs[5].boxes, recs[5].scores,
                                    recs[5].classes), *recs[6:]]  # fmt: skip
    _refused(tmp_path, _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", moved),
             "different ground truth", "im005.jpg")  # fmt: skip


def test_the_same_split_from_another_folder_is_paired_by_file_name(tmp_path):
    recs = _records(40)
    elsewhere = [
        ImageRecord(r.file.replace("/data/", "/copy/"), r.width, r.height, r.gt_boxes,
                    r.gt_classes, r.boxes, r.scores, r.classes)
        for r in reversed(recs)
    ]  # fmt: skip
    result = compare([_val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", elsewhere)])
    iv = result["runs"][1]["intervals"]["mAP50-95"]
    assert (iv["delta"], iv["low"], iv["high"]) == (0.0, 0.0, 0.0)  # same images, reordered


def test_runs_under_different_protocols_are_refused(tmp_path):
    recs = _records(40)
    _refused(tmp_path, _val_dir(tmp_path / "a", recs),
             _val_dir(tmp_path / "b", recs, protocol="ultralytics"),
             "different grace val protocols", "a: deployed", "b: ultralytics")  # fmt: skip


def test_resamples_below_1000_are_refused(tmp_path):
    recs = _records(10)
    a, b = _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", recs)
    with pytest.raises(GraceError, match="--resamples 999: at least 1000"):
        compare([a, b], resamples=999)
