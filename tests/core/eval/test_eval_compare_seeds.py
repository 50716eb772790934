"""``grace compare``'s aggregation of the seeds of one variant: mean ± sd (n) by hand, the
two-level bootstrap of the mean over seeds, identification by name or by variant and settings,
within one protocol, and training logs shown without an interval."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from _compare_runs import _cli, _records, _val_dir, _without_high_fps

from grace.errors import GraceError
from grace.eval.bootstrap import (
    delta_intervals,
    match_run,
    metric_samples,
    paired_deltas,
    point_metrics,
    resample_weights,
)
from grace.eval.compare import compare


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
