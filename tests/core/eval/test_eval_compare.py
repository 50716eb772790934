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
        (0.4266, 0.7469, 0.7072, 0.7366, 0.7216),
        (0.30, 0.45, 0.50),
        {"crazing": 0.20, "patches": 0.70},
        9_440_000,
        15.97,
    )
    _metrics_json(
        b,
        (0.4366, 0.7588, 0.7362, 0.7233, 0.7297),
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
    assert header[:9] == [
        "Model",
        "mAP@0.5:0.95 (%)",
        "mAP@0.5 (%)",
        "P (%)",
        "R (%)",
        "F1 (%)",
        "Param (M)",
        "Latency (ms/img)",
        "Δ mAP@0.5:0.95 (pp)",
    ]
    assert _row(md, "yolo11s (baseline)") == [
        "yolo11s (baseline)",
        *"42.66 74.69 70.72 73.66 72.16 9.44 15.97".split(),
        *["ref"] * 5,
    ]
    # GRACE - YOLO11s: 43.66-42.66, 75.88-74.69, 73.62-70.72, 72.33-73.66, 72.97-72.16
    assert _row(md, "grace (grace)") == [
        "grace (grace)",
        *"43.66 75.88 73.62 72.33 72.97 9.56 16.93".split(),
        *"+1.00 +1.19 +2.90 -1.33 +0.81".split(),
    ]
    # training log only: F1 = 2 * 0.7 * 0.6 / 1.3 = 64.615..%; no parameters (no weights), no
    # latency; Ultralytics' figures during training are another protocol than grace val's: no Δ
    assert _row(md, "ds_only (ds)") == [
        "ds_only (ds)",
        *"40.00 70.00 70.00 60.00 64.62 — —".split(),
        *["—"] * 5,
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
    assert float(rows[1]["Δ F1 (pp)"]) == pytest.approx(0.81)
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
    _metrics_json(run, (map5095, 0.5, 0.5, 0.5, 0.5), (None,) * 3, {"a": map5095}, None, None)
    if protocol is not None:
        doc = json.loads((run / "val" / "metrics.json").read_text())
        (run / "val" / "metrics.json").write_text(json.dumps({**doc, "protocol": protocol}))
    return run


def test_deltas_only_within_the_reference_protocol(tmp_path):
    old = _validated(tmp_path / "old", 0.40, None)  # grace val before "protocol": ultralytics
    ultra = _validated(tmp_path / "ultra", 0.43, "ultralytics")
    dep_a = _validated(tmp_path / "dep_a", 0.31, "deployed")
    dep_b = _validated(tmp_path / "dep_b", 0.345, "deployed")
    trained = tmp_path / "trained"
    _events(trained, [{"type": "end", "time": 2, "metrics": {"mAP50-95": 0.5}}])
    paths = [old, ultra, dep_a, dep_b, trained]

    result = compare(paths, reference=2)  # dep_a
    assert result["reference"] == "dep_a" and result["reference_index"] == 2
    protocols = [r["protocol"] for r in result["runs"]]
    assert protocols == [
        "ultralytics", "ultralytics", "deployed", "deployed", "ultralytics (training)"
    ]  # fmt: skip
    d = [r["delta"] for r in result["runs"]]
    assert d[3]["metrics"]["mAP50-95"] == pytest.approx(3.5)  # 34.5 - 31.0
    assert d[3]["per_class"]["a"] == pytest.approx(3.5)
    assert d[2] == {"metrics": {}, "size": {}, "per_class": {}}
    for i in (0, 1, 4):
        assert d[i]["metrics"] == {} and "not comparable" in d[i]["not_comparable"]
    assert "deployed" in d[4]["not_comparable"] and "ultralytics (training)" in d[4][
        "not_comparable"
    ]
    md = result["markdown"]
    assert _row(md, "old")[-5:] == ["—"] * 5 and _row(md, "dep_a")[-5:] == ["ref"] * 5
    assert _row(md, "dep_b")[-5] == "+3.50"
    assert "- trained: events.jsonl end (Ultralytics) (protocol ultralytics (training))" in md
    rows = list(csv.DictReader(io.StringIO(result["csv"])))
    assert [r["protocol"] for r in rows] == protocols
    assert rows[1]["Δ mAP@0.5:0.95 (pp)"] == "" and float(rows[3]["Δ mAP@0.5:0.95 (pp)"]) == 3.5

    # against the old ultralytics row: the explicit "ultralytics" row is of the same protocol
    again = compare(paths)
    assert again["runs"][1]["delta"]["metrics"]["mAP50-95"] == pytest.approx(3.0)  # 43 - 40
    assert again["runs"][3]["delta"]["metrics"] == {}
    with pytest.raises(GraceError, match="reference 5 is not one of the 5 runs"):
        compare(paths, reference=5)
