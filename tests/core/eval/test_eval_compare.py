"""``grace compare`` on fabricated run directories, with Δ values worked out by hand."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grace.errors import GraceError
from grace.eval.compare import compare
from grace.eval.runs import METRIC_KEYS, load_run


def _metrics_json(run: Path, metrics, sizes, per_class, params, latency) -> None:
    (run / "val").mkdir(parents=True)
    doc = {
        "metrics": dict(zip(METRIC_KEYS, metrics, strict=True)),
        "coco": dict(zip(("AP_small", "AP_medium", "AP_large"), sizes, strict=True)),
        "per_class": {k: {"AP50-95": v, "AP50": None} for k, v in per_class.items()},
        "cost": {"parameters": params},
        "latency_ms": latency,
    }
    (run / "val" / "metrics.json").write_text(json.dumps(doc))


def _events(run: Path, lines: list[dict]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    """Paper Table 1's YOLO11s and GRACE rows as two validated runs, plus a run that only has
    its training log (events.jsonl)."""
    a, b, c = tmp_path / "yolo11s", tmp_path / "grace", tmp_path / "ds_only"
    for run, variant in ((a, "baseline"), (b, "grace"), (c, "ds")):
        _events(run, [{"type": "start", "time": 0}])
        (run / "grace.json").write_text(json.dumps({"variant": variant}))
    _metrics_json(
        a,
        (0.4266, 0.7469, 0.7072, 0.7366, 0.7216, 0.7000),
        (0.30, 0.45, 0.50),
        {"crazing": 0.20, "patches": 0.70},
        9_440_000,
        15.97,
    )
    _metrics_json(
        b,
        (0.4366, 0.7588, 0.7362, 0.7233, 0.7297, 0.7150),
        (0.35, None, 0.52),
        {"crazing": 0.252, "patches": 0.7108},
        9_560_000,
        16.93,
    )
    _events(
        c,
        [
            {"type": "start", "time": 0},
            {"type": "epoch", "time": 1, "epoch": 0, "metrics": {"precision": 0.1}},
            {
                "type": "end",
                "time": 2,
                "metrics": {"precision": 0.70, "recall": 0.60, "mAP50": 0.70, "mAP50-95": 0.40},
            },
        ],
    )
    return [a, b, c]


def _row(md: str, first_cell: str) -> list[str]:
    for line in md.splitlines():
        cells = [x.strip() for x in line.strip().strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in\n{md}")


def test_headline_table_with_deltas_by_hand(runs):
    md = compare([str(p) for p in runs])["markdown"]
    header = _row(md, "Model")
    assert header[:10] == [
        "Model",
        "mAP@0.5:0.95 (%)",
        "mAP@0.5 (%)",
        "P (%)",
        "R (%)",
        "F1 dataset (%)",
        "F1 mean over classes (%)",
        "Param (M)",
        "Latency (ms/img)",
        "Δ mAP@0.5:0.95 (pp)",
    ]
    assert _row(md, "yolo11s (baseline)") == [
        "yolo11s (baseline)",
        *"42.66 74.69 70.72 73.66 72.16 70.00 9.44 15.97".split(),
        *["ref"] * 6,
    ]
    # GRACE - YOLO11s: 43.66-42.66, 75.88-74.69, 73.62-70.72, 72.33-73.66, 72.97-72.16,
    # 71.50-70.00
    assert _row(md, "grace (grace)") == [
        "grace (grace)",
        *"43.66 75.88 73.62 72.33 72.97 71.50 9.56 16.93".split(),
        *"+1.00 +1.19 +2.90 -1.33 +0.81 +1.50".split(),
    ]
    # training log only: Ultralytics' P and R but no F1 of either reading (2PR/(P+R) of its
    # mean P and R is neither); no parameters (no weights), no latency; Ultralytics' figures
    # during training are another protocol than grace val's: no Δ
    assert _row(md, "ds_only (ds)") == [
        "ds_only (ds)",
        *"40.00 70.00 70.00 60.00 — — — —".split(),
        *["—"] * 6,
    ]


def test_size_and_per_class_tables(runs):
    md = compare([str(p) for p in runs])["markdown"]
    size = [r for r in md.splitlines() if r.startswith("| grace (grace)")][1]
    assert [x.strip() for x in size.strip("|").split("|")] == [
        "grace (grace)",
        *"35.00 — 52.00 +5.00 — +2.00".split(),
    ]
    sizes_c = [r for r in md.splitlines() if r.startswith("| ds_only (ds)")][1]
    assert sizes_c.count("—") == 6  # no size buckets from a training log
    assert _row(md, "Class") == [
        "Class",
        "yolo11s AP@0.5:0.95 (%)",
        "grace AP@0.5:0.95 (%)",
        "Δ grace (pp)",
        "ds_only AP@0.5:0.95 (%)",
        "Δ ds_only (pp)",
    ]
    assert _row(md, "crazing") == ["crazing", "20.00", "25.20", "+5.20", "—", "—"]
    assert _row(md, "patches") == ["patches", "70.00", "71.08", "+1.08", "—", "—"]
    assert "events.jsonl end" in md and "val/metrics.json" in md


def test_json_and_files_through_the_cli(runs, tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", *map(str, runs), "--json", "--out", str(out)]
    r = subprocess.run(
        [sys.executable, "-m", "grace.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    assert result["reference"] == "yolo11s"
    b = result["runs"][1]
    assert b["variant"] == "grace" and b["parameters"] == 9_560_000
    assert b["delta"]["metrics"]["mAP50-95"] == pytest.approx(1.00)
    assert b["delta"]["metrics"]["recall"] == pytest.approx(-1.33)
    assert b["delta"]["per_class"]["crazing"] == pytest.approx(5.20)
    assert b["delta"]["size"]["AP_medium"] is None
    assert result["runs"][0]["delta"] == {"metrics": {}, "size": {}, "per_class": {}}
    assert (out / "compare.md").read_text() == result["markdown"]
    rows = list(csv.DictReader(io.StringIO((out / "compare.csv").read_text())))
    assert [row["run"] for row in rows] == ["yolo11s", "grace", "ds_only"]
    assert float(rows[1]["Δ F1 dataset (pp)"]) == pytest.approx(0.81)
    assert float(rows[1]["Δ F1 mean over classes (pp)"]) == pytest.approx(1.50)
    assert float(rows[1]["AP@0.5:0.95 crazing (%)"]) == pytest.approx(25.2)
    assert rows[2]["Param (M)"] == "" and rows[2]["AP_S (%)"] == ""


def test_human_output_is_the_markdown(runs):
    r = subprocess.run(
        [sys.executable, "-m", "grace.cli", "compare", *map(str, runs[:2])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("| Model | mAP@0.5:0.95 (%) |")
    assert "| grace (grace) | 43.66 |" in r.stdout


def test_unfinished_run_uses_its_last_epoch(tmp_path):
    run = tmp_path / "running"
    _events(
        run,
        [
            {"type": "start", "time": 0},
            {"type": "epoch", "time": 1, "epoch": 3, "metrics": {"metrics/mAP50(B)": 0.25}},
        ],
    )
    s = load_run(run)
    assert s.metrics["mAP50"] == 0.25 and "epoch 3" in s.source and s.variant is None


@pytest.mark.parametrize("kind", ["missing", "empty_dir", "file"])
def test_not_a_run_directory_is_one_line(runs, tmp_path, kind):
    bad = tmp_path / "bad"
    if kind == "empty_dir":
        bad.mkdir()
    elif kind == "file":
        bad.write_text("x")
    with pytest.raises(GraceError, match="bad"):
        compare([str(runs[0]), str(bad)])
    r = subprocess.run(
        [sys.executable, "-m", "grace.cli", "compare", str(runs[0]), str(bad), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0], r.stderr


def test_corrupt_metrics_json_is_one_line(runs):
    (runs[1] / "val" / "metrics.json").write_text("{not json")
    with pytest.raises(GraceError, match="metrics.json: not readable JSON"):
        compare([str(p) for p in runs])


def _validated(run: Path, map5095: float, protocol: str | None) -> Path:
    _events(run, [{"type": "start", "time": 0}])
    _metrics_json(run, (map5095,) + (0.5,) * 5, (None,) * 3, {"a": map5095}, None, None)
    if protocol is not None:
        doc = json.loads((run / "val" / "metrics.json").read_text())
        (run / "val" / "metrics.json").write_text(json.dumps({**doc, "protocol": protocol}))
    return run


def _trained(run: Path, map5095: float) -> Path:
    _events(run, [{"type": "end", "time": 2, "metrics": {"mAP50-95": map5095}}])
    return run


def test_deltas_only_within_the_reference_protocol(tmp_path):
    old = _validated(tmp_path / "old", 0.40, None)  # grace val before "protocol": ultralytics
    ultra = _validated(tmp_path / "ultra", 0.43, "ultralytics")
    trained_a = _trained(tmp_path / "trained_a", 0.50)
    trained_b = _trained(tmp_path / "trained_b", 0.465)
    paths = [old, ultra, trained_a, trained_b]

    result = compare(paths, reference=2)  # trained_a: Ultralytics' end-of-training figures
    assert result["reference"] == "trained_a" and result["reference_index"] == 2
    protocols = [r["protocol"] for r in result["runs"]]
    assert protocols == [
        "ultralytics", "ultralytics", "ultralytics (training)", "ultralytics (training)"
    ]  # fmt: skip
    d = [r["delta"] for r in result["runs"]]
    assert d[3]["metrics"]["mAP50-95"] == pytest.approx(-3.5)  # 46.5 - 50.0
    assert d[2] == {"metrics": {}, "size": {}, "per_class": {}}
    for i in (0, 1):
        assert d[i]["metrics"] == {} and "not comparable" in d[i]["not_comparable"]
    assert "ultralytics (training)" in d[0]["not_comparable"]
    assert all(r["intervals"] is None for r in result["runs"]) and result["bootstrap"] is None
    md = result["markdown"]
    assert _row(md, "old")[-6:] == ["—"] * 6 and _row(md, "trained_a")[-6:] == ["ref"] * 6
    assert _row(md, "trained_b")[-6] == "-3.50"
    assert "- trained_a: events.jsonl end (Ultralytics) (protocol ultralytics (training))" in md
    rows = list(csv.DictReader(io.StringIO(result["csv"])))
    assert [r["protocol"] for r in rows] == protocols
    assert rows[1]["Δ mAP@0.5:0.95 (pp)"] == "" and float(rows[3]["Δ mAP@0.5:0.95 (pp)"]) == -3.5

    # against the old ultralytics row: the explicit "ultralytics" row is of the same protocol
    again = compare(paths)
    assert again["runs"][1]["delta"]["metrics"]["mAP50-95"] == pytest.approx(3.0)  # 43 - 40
    assert again["runs"][1]["delta"]["per_class"]["a"] == pytest.approx(3.0)
    assert again["runs"][3]["delta"]["metrics"] == {}
    with pytest.raises(GraceError, match="reference 4 is not one of the 4 runs"):
        compare(paths, reference=4)


def test_training_log_rows_never_make_compare_refuse(tmp_path):
    """grace val runs under different protocols are refused; rows from a training log, of
    another protocol than any grace val run, are not."""
    dep = _validated(tmp_path / "dep", 0.31, "deployed")
    ultra = _validated(tmp_path / "ultra", 0.43, "ultralytics")
    trained = _trained(tmp_path / "trained", 0.5)
    with pytest.raises(GraceError) as e:
        compare([dep, trained, ultra], reference=1)
    assert str(e.value) == (
        "runs evaluated under different grace val protocols (dep: deployed, ultra: ultralytics): "
        "their figures are not comparable; re-run grace val with one --protocol"
    )
    for ref in (0, 1):
        result = compare([dep, trained], reference=ref)
        assert [r["protocol"] for r in result["runs"]] == ["deployed", "ultralytics (training)"]
        assert "not comparable" in result["runs"][1 - ref]["delta"]["not_comparable"]
        assert result["problems"] == [
            "dep: no predictions.npz beside its metrics (re-run grace val): its Δ has no interval"
        ]


def test_runs_validated_under_different_protocols_are_refused(runs):
    """metrics.json without a protocol was written by grace val's Ultralytics validator."""
    doc = json.loads((runs[1] / "val" / "metrics.json").read_text())
    (runs[1] / "val" / "metrics.json").write_text(json.dumps({**doc, "protocol": "deployed"}))
    with pytest.raises(GraceError) as e:
        compare([str(p) for p in runs])
    assert str(e.value) == (
        "runs evaluated under different grace val protocols (yolo11s: ultralytics, grace: "
        "deployed): their figures are not comparable; re-run grace val with one --protocol"
    )
