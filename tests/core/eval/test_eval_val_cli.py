"""``grace val --json`` and ``grace compare`` end to end on a real 1-epoch tiny run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grace.eval.compare import compare

pytestmark = pytest.mark.slow

TOP_KEYS = {
    "protocol",
    "input_shapes",
    "f1_dataset",
    "errors",
    "confusion_matrix",
    "problems",
    "weights",
    "data",
    "images",
    "instances",
    "metrics",
    "f1_confidence",
    "f1_mean_over_classes",
    "mAP75",
    "method",
    "coco",
    "size",
    "ultralytics",
    "per_class",
    "cost",
    "speed_ms",
    "latency_ms",
    "settings",
    "out_dir",
    "files",
}


def _grace(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grace.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def grace_run(tiny_run, tmp_path_factory) -> Path:
    """A copy of the shared GRACE run: `grace val` writes into the run it validates."""
    return Path(shutil.copytree(tiny_run("grace"), tmp_path_factory.mktemp("eval") / "grace"))


@pytest.fixture(scope="module")
def validated(grace_run, tiny_data, tmp_path_factory) -> tuple[Path, dict, Path]:
    """The events-only state is kept in a copy first, then ``grace val`` runs on the run."""
    before = tmp_path_factory.mktemp("before") / "tiny_before_val"
    shutil.copytree(grace_run, before)
    r = _grace(
        "val",
        "--weights",
        str(grace_run / "weights" / "best.pt"),
        "--data",
        str(tiny_data),
        "--imgsz",
        "64",
        "--batch",
        "4",
        "--device",
        "cpu",
        "--json",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return grace_run, json.loads(r.stdout), before  # stdout is exactly one JSON object


def test_val_json_has_every_figure(validated):
    run, result, _ = validated
    assert TOP_KEYS <= set(result)
    assert set(result["metrics"]) == {
        "mAP50-95", "mAP50", "precision", "recall", "f1_dataset", "f1_mean_over_classes"
    }  # fmt: skip
    assert all(0.0 <= v <= 1.0 for v in result["metrics"].values())
    assert result["images"] == 4 and result["instances"] > 0
    # the default protocol feeds the 64x64 images at --imgsz 64 as they are: no padding
    assert result["protocol"] == "deployed" and result["problems"] == []
    assert result["input_shapes"] == [{"shape": [64, 64], "images": 4}]
    assert set(result["per_class"]) == {"scratch", "patch", "pit"}
    class_keys = {"instances", "AP50-95", "AP50", "precision", "recall", "f1", "coco_AP50-95"}
    for c in result["per_class"].values():
        assert class_keys <= set(c)
    assert {"tool", "mAP50-95", "mAP50", "AP_small", "AP_medium", "AP_large"} <= set(result["coco"])
    assert result["coco"]["tool"].startswith("pycocotools")
    assert sum(b["instances"] for b in result["size"].values()) == result["instances"]
    assert 0.0 <= result["f1_confidence"] <= 1.0
    cost = result["cost"]
    assert cost["parameters"] > 2_000_000 and cost["parameters_fused"] <= cost["parameters"]
    assert cost["gflops"] > 0 and cost["gflops_imgsz"] == 64
    assert set(result["speed_ms"]) == {"predict"}
    assert result["latency_ms"] == pytest.approx(sum(result["speed_ms"].values()), abs=1e-3)
    # same predictions, same definition: our mAP and the COCO tool's agree (see the cross-check)
    assert result["metrics"]["mAP50-95"] == pytest.approx(result["coco"]["mAP50-95"], abs=1e-6)


def test_val_writes_metrics_and_pr_curves_into_the_run(validated, tiny_data):
    run, result, _ = validated
    assert Path(result["out_dir"]) == run / "val"
    assert json.loads((run / "val" / "metrics.json").read_text()) == result
    errors = json.loads((run / "val" / "errors.json").read_text())
    assert errors["confidence"] == result["f1_dataset"]["confidence"]
    assert {k: errors["totals"][k] for k in ("tp", "fp", "fn")} == {
        k: result["f1_dataset"][k] for k in ("tp", "fp", "fn")
    }
    assert [Path(e["file"]).name for e in errors["images"]] == sorted(
        p.name for p in (tiny_data.parent / "images" / "val").iterdir()
    )
    from grace.eval.records import load_records

    records, names, info = load_records(run / "val" / "predictions.npz")
    assert names == ["scratch", "patch", "pit"] and info["protocol"] == "deployed"
    assert sum(len(r.gt_classes) for r in records) == result["instances"]
    assert min(float(r.scores.min()) for r in records if len(r.scores)) >= 0.001
    pr = json.loads((run / "val" / "pr_curves.json").read_text())
    assert pr["iou"] == 0.5 and len(pr["recall_grid"]) == 101 and len(pr["confidence_grid"]) == 1001
    assert set(pr["classes"]) == {"scratch", "patch", "pit"}
    for c in pr["classes"].values():
        assert len(c["precision_at_recall"]) == 101
        assert len(c["precision"]) == len(c["recall"]) == len(c["f1"]) == 1001
        assert all(0.0 <= v <= 1.0 for v in c["precision_at_recall"] + c["f1"])


def test_val_out_option_and_bad_weights(grace_run, tiny_data, tmp_path):
    out = tmp_path / "elsewhere"
    r = _grace(
        "val",
        "--weights",
        str(grace_run / "weights" / "last.pt"),
        "--data",
        str(tiny_data),
        "--imgsz",
        "64",
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "metrics.json").is_file() and (out / "pr_curves.json").is_file()
    assert "mAP@0.5:0.95" in r.stdout  # the human summary
    bad = tmp_path / "nope.pt"
    r = _grace("val", "--weights", str(bad), "--data", str(tiny_data), "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [f"grace: error: {bad}: weights file not found"]


def test_compare_real_run_before_and_after_val(validated, tmp_path):
    run, result, before = validated
    # before `grace val`: figures from the training log; parameters from weights/best.pt
    old = compare([str(before)])["runs"][0]
    assert old["source"].startswith("events.jsonl end")
    assert old["variant"] == "grace" and old["parameters"] == result["cost"]["parameters"]
    assert old["latency_ms"] is None and old["per_class"] == {}
    # after: figures from val/metrics.json; the first run's are Ultralytics' during training,
    # another protocol than grace val's: shown side by side, not refused, but no Δ between them
    r = _grace("compare", str(before), str(run), "--json", "--out", str(tmp_path / "cmp"))
    assert r.returncode == 0, r.stderr[-2000:]
    cmp = json.loads(r.stdout)
    new = cmp["runs"][1]
    assert new["source"] == "val/metrics.json" and new["latency_ms"] == result["latency_ms"]
    assert new["metrics"] == result["metrics"]
    assert (cmp["runs"][0]["protocol"], new["protocol"]) == ("ultralytics (training)", "deployed")
    assert new["delta"]["metrics"] == {} and "not comparable" in new["delta"]["not_comparable"]
    assert all((tmp_path / "cmp" / f).is_file() for f in ("compare.md", "compare.csv"))


def test_val_refuses_a_model_whose_classes_differ_from_the_data(grace_run, tiny_data, tmp_path):
    """The tiny run's classes are scratch, patch, pit; scoring them under other names would
    be silently wrong."""
    other = tmp_path / "other"
    shutil.copytree(tiny_data.parent, other)
    data = other / "data.yaml"
    data.write_text(
        f"path: {other}\ntrain: images/train\nval: images/val\nnames: [pit, patch, scratch]\n"
    )
    r = _grace("val", "--weights", str(grace_run / "weights" / "best.pt"), "--data", str(data),
               "--imgsz", "64", "--device", "cpu", "--out", str(tmp_path / "val"))  # fmt: skip
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "the model's classes [scratch, patch, pit] differ from" in lines[0]
    assert "[pit, patch, scratch]" in lines[0]
    assert not (tmp_path / "val").exists()


def test_val_of_the_demo_through_a_relative_data_yaml_without_path(tmp_path):
    """The bundled demo's data.yaml has no ``path:``; given relative to the repository root it
    used to resolve to resources/demo/neu-det/resources/demo/neu-det/images/..."""
    repo = Path(__file__).resolve().parents[3]
    out = tmp_path / "val"
    r = _grace("val", "--weights", "resources/models/neu-det_yolo11n_grace.pt",
               "--data", "resources/demo/neu-det/data.yaml", "--imgsz", "256", "--batch", "4",
               "--device", "cpu", "--out", str(out), "--json", cwd=repo)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    val_images = list((repo / "resources/demo/neu-det/images/val").glob("*.jpg"))
    assert result["images"] == result["images_in_split"] == len(val_images) == 12
    labels = repo / "resources/demo/neu-det/labels/val"
    boxes = sum(len(p.read_text().split("\n")) - 1 for p in labels.glob("*.txt"))
    assert result["instances"] == boxes
