"""The bootstrap over validation images on constructed predictions: one run's intervals
(hand-computed cases and the resampled list of images) and ``grace compare``'s paired bootstrap
and seed aggregation.

Every compared run here is a ``grace val --out`` folder made by the test: ``predictions.npz``
written by ``save_records`` and a ``metrics.json`` whose figures come from ``evaluate`` on the
same records.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grace.errors import GraceError
from grace.eval.bootstrap import (
    BOOTSTRAP_METRICS,
    delta_intervals,
    match_run,
    metric_samples,
    paired_deltas,
    percentile_interval,
    point_metrics,
    resample_weights,
    run_intervals,
    weighted_metrics,
)
from grace.eval.compare import compare
from grace.eval.metrics import evaluate
from grace.eval.records import ImageRecord, save_records

NAMES = ["crazing", "pits", "scratches"]
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


def _records(n: int, seed: int = 1, fp_per_image: int = 6) -> list[ImageRecord]:
    """``n`` 200x200 images, 1-3 GT boxes each; predictions: each GT jittered (a likely TP)
    plus ``fp_per_image`` random boxes, scores overlapping, all distinct."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        g = int(rng.integers(1, 4))
        xy = rng.uniform(0, 140, (g, 2))
        gt = np.c_[xy, xy + rng.uniform(15, 55, (g, 2))]
        gtc = rng.integers(0, len(NAMES), g)
        fxy = rng.uniform(0, 140, (fp_per_image, 2))
        boxes = np.r_[gt + rng.normal(0, 3, gt.shape), np.c_[fxy, fxy + 20]]
        classes = np.r_[gtc, rng.integers(0, len(NAMES), fp_per_image)]
        scores = np.r_[rng.uniform(0.3, 1.0, g), rng.uniform(0.01, 0.7, fp_per_image)]
        recs.append(ImageRecord(f"/data/val/images/im{i:03d}.jpg", 200, 200, gt, gtc, boxes,
                                scores, classes))  # fmt: skip
    return recs


def _val_dir(path: Path, records, protocol: str = "deployed", names=NAMES) -> Path:
    """A ``grace val --out`` folder: predictions.npz and metrics.json (our evaluate's figures)."""
    path.mkdir(parents=True)
    m = evaluate(records, names)
    doc = {
        "protocol": protocol,
        "metrics": {"mAP50-95": m.map50_95, "mAP50": m.map50, "precision": m.precision,
                    "recall": m.recall, "f1_dataset": m.f1_dataset,
                    "f1_mean_over_classes": m.f1_mean_over_classes},
    }  # fmt: skip
    (path / "metrics.json").write_text(json.dumps(doc))
    save_records(path / "predictions.npz", records, names, {"protocol": protocol})
    return path


def _without_high_fps(records, above: float = 0.45) -> list[ImageRecord]:
    """The same images with every false positive scored above ``above`` removed (the random
    boxes are the predictions after the GT-jittered ones)."""
    out = []
    for r in records:
        g = len(r.gt_classes)
        keep = np.r_[np.ones(g, bool), r.scores[g:] <= above]
        out.append(ImageRecord(r.file, r.width, r.height, r.gt_boxes, r.gt_classes,
                               r.boxes[keep], r.scores[keep], r.classes[keep]))  # fmt: skip
    return out


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


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", "compare", *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


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


def _fake_metrics(path: Path, map50_95: float, protocol: str = "deployed") -> Path:
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(
        json.dumps({"protocol": protocol, "metrics": {"mAP50-95": map50_95, "mAP50": 0.7}})
    )
    return path


def test_seeds_aggregated_by_name_mean_sd_n_by_hand(tmp_path):
    runs = [_fake_metrics(tmp_path / f"baseline-seed{s}", v) for s, v in ((0, 0.40), (1, 0.42))]
    runs += [_fake_metrics(tmp_path / f"grace-seed{s}", v)
             for s, v in ((0, 0.40), (1, 0.42), (2, 0.47))]  # fmt: skip
    result = compare(runs)
    base, grace = result["aggregates"]
    assert base["label"] == "baseline" and base["reference"] and base["seeds"] == [0, 1]
    m = grace["metrics"]["mAP50-95"]
    # mean (0.40 + 0.42 + 0.47) / 3 = 0.43; sd sqrt((0.03² + 0.01² + 0.04²) / 2) = sqrt(0.0013)
    assert m["n"] == 3 and m["mean"] == pytest.approx(0.43)
    assert m["sd"] == pytest.approx(math.sqrt(0.0013))
    assert grace["metrics"]["mAP50"]["sd"] == pytest.approx(0.0)
    assert grace["metrics"]["recall"] == {"mean": None, "sd": None, "n": 0, "values": []}
    # Δ of the means: 0.43 - 0.41 = 2 pp; no predictions.npz: no interval
    assert grace["delta"]["mAP50-95"] == pytest.approx(2.0) and grace["intervals"] is None
    row = next(r for r in result["markdown"].splitlines() if r.startswith("| grace (seeds"))
    assert "| grace (seeds 0, 1, 2) | 43.00 ± 3.61 (n=3) | 70.00 ± 0.00 (n=3) |" in row
    assert row.rstrip(" |").endswith("+2.00 | +0.00 | —")
    assert any("no predictions.npz" in p for p in result["problems"])


def test_seeds_aggregated_with_paired_interval_of_the_means(tmp_path):
    """Seeds that are copies of one run: the Δ of the means and its interval are exactly those
    of the one pair (the mean over identical seeds is that run)."""
    recs = _records(80)
    better = _without_high_fps(recs)
    runs = [_val_dir(tmp_path / f"baseline-seed{s}", recs) for s in (0, 1)]
    runs += [_val_dir(tmp_path / f"grace-seed{s}", better) for s in (0, 1, 2)]
    result = compare(runs)
    pair = paired_deltas([match_run(recs, 3)], [match_run(better, 3)],
                         resample_weights(80, 1000, 0))  # fmt: skip
    grace = result["aggregates"][1]
    for k, iv in pair.items():
        got = grace["intervals"][k]
        assert (got["delta"], got["low"], got["high"]) == pytest.approx(
            (iv.delta, iv.low, iv.high), abs=1e-9
        )
        assert got["verdict"] == "distinguishable"
    r = _cli(*map(str, runs), "--out", str(tmp_path / "cmp"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "cmp" / "compare.csv").read_text())))
    agg = [row for row in rows if row["source"] == "seeds"]
    assert [(row["run"], row["n seeds"], row["seeds"]) for row in agg] == [
        ("baseline", "2", "0 1"),
        ("grace", "3", "0 1 2"),
    ]
    assert agg[1]["Δ mAP@0.5:0.95 verdict"] == "distinguishable"
    assert float(agg[1]["mAP@0.5:0.95 sd (pp)"]) == 0.0


def test_a_gain_carried_by_one_seed_of_three_is_not_distinguishable(tmp_path):
    """The interval of a mean over seeds counts the run-to-run spread: three grace seeds of
    which one is better and two equal the baseline's run. Over the images alone (every seed
    held fixed) the Δ of the means is clear of 0; with the seeds drawn in each resample, 1 in
    27 draws takes only the two unchanged seeds (Δ exactly 0 on that resample), more than the
    2.5 % below the interval, so it reaches 0."""
    recs = _records(80)
    better = _without_high_fps(recs)
    runs = [_val_dir(tmp_path / f"baseline-seed{s}", recs) for s in (0, 1, 2)]
    runs += [_val_dir(tmp_path / "grace-seed0", better)]
    runs += [_val_dir(tmp_path / f"grace-seed{s}", recs) for s in (1, 2)]
    grace = compare(runs)["aggregates"][1]
    w = resample_weights(80, 1000, 0)
    base = [match_run(recs, 3)] * 3
    seeds = [match_run(better, 3), match_run(recs, 3), match_run(recs, 3)]
    images_only = delta_intervals(
        np.mean([point_metrics(r) for r in base], axis=0),
        np.mean([point_metrics(r) for r in seeds], axis=0),
        np.mean([metric_samples(r, w) for r in base], axis=0),
        np.mean([metric_samples(r, w) for r in seeds], axis=0),
    )["mAP50-95"]
    got = grace["intervals"]["mAP50-95"]
    assert got["delta"] == pytest.approx(images_only.delta, abs=1e-9) and got["delta"] > 0
    assert images_only.low > 0  # the images alone would call it a gain
    assert got["low"] <= 0 < got["high"] and got["verdict"] == "not distinguishable"
    assert paired_deltas(base, seeds, w)["mAP50-95"].low == pytest.approx(got["low"], abs=1e-9)


def _trained_like(path: Path, variant: str, seed: int, epochs: int, value: float) -> Path:
    _fake_metrics(path / "val", value)
    (path / "grace.json").write_text(json.dumps({"variant": variant}))
    (path / "args.yaml").write_text(f"model: yolo11n.yaml\nepochs: {epochs}\nseed: {seed}\n"
                                    f"name: {path.name}\n")  # fmt: skip
    return path


def test_seeds_aggregated_by_variant_and_args_seed_when_settings_agree(tmp_path):
    runs = [
        _trained_like(tmp_path / "run1", "grace", 0, 12, 0.40),
        _trained_like(tmp_path / "run2", "grace", 1, 12, 0.44),
        _trained_like(tmp_path / "run3", "grace", 2, 40, 0.50),  # other epochs: not a seed
        _trained_like(tmp_path / "run4", "grace", 0, 40, 0.52),  # a second experiment
    ]
    aggs = compare(runs)["aggregates"]
    assert [(a["label"], a["runs"], a["seeds"]) for a in aggs] == [
        ("grace", ["run1", "run2"], [0, 1]),
        ("grace", ["run3", "run4"], [2, 0]),
    ]
    assert aggs[0]["metrics"]["mAP50-95"]["mean"] == pytest.approx(0.42)
    assert aggs[1]["delta"]["mAP50-95"] == pytest.approx(100 * (0.51 - 0.42))


def test_repeated_seed_is_reported_not_aggregated(tmp_path):
    runs = [_trained_like(tmp_path / f"r{i}", "grace", 0, 12, 0.4) for i in range(2)]
    result = compare(runs)
    assert result["aggregates"] == []
    assert any("same seed" in p for p in result["problems"])


def _training_log(path: Path, map50_95: float) -> Path:
    """A run with only Ultralytics' end-of-training figures (events.jsonl, no grace val)."""
    path.mkdir(parents=True)
    end = {"type": "end", "time": 1, "metrics": {"mAP50-95": map50_95, "mAP50": 0.7}}
    (path / "events.jsonl").write_text(json.dumps(end) + "\n")
    return path


def test_a_training_log_row_is_shown_without_interval_or_delta_and_never_refused(tmp_path):
    recs = _records(80)
    a, b = _val_dir(tmp_path / "a", recs), _val_dir(tmp_path / "b", _without_high_fps(recs))
    t = _training_log(tmp_path / "t", 0.5)
    other = _val_dir(tmp_path / "other", _records(81))  # one image more than a and b
    result = compare([a, t, b])
    _, trained, second = result["runs"]
    assert second["intervals"]["mAP50-95"]["verdict"] == "distinguishable"
    assert trained["protocol"] == "ultralytics (training)" and trained["intervals"] is None
    assert trained["delta"]["metrics"] == {}
    assert "not comparable" in trained["delta"]["not_comparable"]
    assert "| t | — | — | — |" in result["markdown"]
    assert not any(p.startswith("t:") for p in result["problems"])  # nothing to re-run

    # the second validated run as reference: the intervals are taken against it
    against_b = compare([a, t, b], reference=2)
    iv, back = second["intervals"]["mAP50-95"], against_b["runs"][0]["intervals"]["mAP50-95"]
    assert back["delta"] == pytest.approx(-iv["delta"], abs=1e-9)
    assert (back["low"], back["high"]) == pytest.approx((-iv["high"], -iv["low"]), abs=1e-9)
    assert against_b["runs"][2]["intervals"] is None and against_b["bootstrap"]["images"] == 80

    # the training row as reference: no Δ for the validated runs, so no interval at all
    against_t = compare([a, t, b], reference=1)
    assert against_t["bootstrap"] is None
    assert all(r["intervals"] is None for r in against_t["runs"])
    assert "not comparable" in against_t["runs"][0]["delta"]["not_comparable"]
    # ...but validated runs on other images are refused whichever run is the reference
    for ref in (0, 1):
        with pytest.raises(GraceError, match="other images"):
            compare([a, t, other], reference=ref)


def test_seeds_are_aggregated_within_one_protocol(tmp_path):
    runs = [_training_log(tmp_path / f"baseline-seed{s}", v) for s, v in ((0, 0.40), (1, 0.42))]
    runs += [_fake_metrics(tmp_path / f"grace-seed{s}", v) for s, v in ((0, 0.40), (1, 0.44))]
    runs.append(_training_log(tmp_path / "grace-seed2", 0.47))  # not averaged with grace val's
    result = compare(runs)
    base, grace = result["aggregates"]
    assert (base["protocol"], base["runs"], base["reference"]) == (
        "ultralytics (training)", ["baseline-seed0", "baseline-seed1"], True
    )  # fmt: skip
    assert (grace["protocol"], grace["seeds"]) == ("deployed", [0, 1])
    assert grace["metrics"]["mAP50-95"]["mean"] == pytest.approx(0.42)
    assert grace["delta"] == {} and grace["intervals"] is None
    assert "deployed" in grace["not_comparable"]
    row = next(r for r in result["markdown"].splitlines() if r.startswith("| grace (seeds"))
    assert row.startswith("| grace (seeds 0, 1; protocol deployed) | 42.00 ± 2.83 (n=2) |")
    assert row.rstrip(" |").endswith("— | — | —")
    # the grace seeds as reference: the Δ is within deployed, the baseline seeds get none
    base, grace = compare(runs, reference=2)["aggregates"]
    assert grace["reference"] and base["delta"] == {} and base["not_comparable"]
