"""``grace calibrate`` on the bundled demo model and demo split, and the thresholds file used by
``grace predict --thresholds auto`` and ``grace val --thresholds``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
DEMO_DATA = REPO / "resources" / "demo" / "neu-det" / "data.yaml"
DEMO_MODEL = REPO / "resources" / "models" / "neu-det_yolo11n_grace.pt"
COMMON = ["--imgsz", "256", "--device", "cpu"]


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO)  # fmt: skip


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, dict]:
    """A copy of the demo model (the file is written beside it) calibrated on the demo split."""
    weights = tmp_path_factory.mktemp("cal") / "model.pt"
    shutil.copyfile(DEMO_MODEL, weights)
    r = _grace("calibrate", "--weights", str(weights), "--data", str(DEMO_DATA), *COMMON,
               "--batch", "4", "--class-target", "scratches=recall:0.9", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    return weights, json.loads(r.stdout)


def test_calibrate_writes_the_file_beside_the_weights(calibrated):
    weights, result = calibrated
    path = weights.with_name("model.thresholds.json")
    assert result["file"] == str(path)
    doc = json.loads(path.read_text())
    assert doc["per_class"] == result["per_class"] and doc["conf"] == result["conf"]
    assert doc["protocol"] == "deployed" and doc["imgsz"] == 256 and doc["images"] == 12
    assert doc["target"] == {"default": "f1", "per_class": {"scratches": "recall=0.9"}}
    labels = REPO / "resources/demo/neu-det/labels/val"
    boxes = sum(len(p.read_text().splitlines()) for p in labels.glob("*.txt"))
    assert sum(m["instances"] for m in doc["per_class_metrics"].values()) == boxes
    # 12 val images: every class is under 20 instances, each says so
    assert len([w for w in doc["warnings"] if "validation instances" in w]) == 6


def test_predict_auto_keeps_what_the_calibration_counted(calibrated, tmp_path):
    weights, cal = calibrated
    out = tmp_path / "pred"
    r = _grace("predict", str(REPO / "resources/demo/neu-det/images/val"), "--weights",
               str(weights), "--thresholds", "auto", *COMMON, "--save-json", "--out", str(out),
               "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["settings"]["class_conf"] == cal["per_class"]
    assert summary["settings"]["conf"] == cal["conf"]
    detections = json.loads((out / "predictions.json").read_text())
    for d in detections:
        assert d["confidence"] >= cal["per_class"].get(d["class"], cal["conf"]), d
    # the deployed evaluation is what predict outputs: the same detections pass per class
    counted = {k: m["tp"] + m["fp"] for k, m in cal["per_class_metrics"].items()}
    got = {k: sum(d["class"] == k for d in detections) for k in counted}
    assert got == counted


def test_val_with_thresholds_reports_at_them(calibrated, tmp_path):
    weights, cal = calibrated
    r = _grace("val", "--weights", str(weights), "--data", str(DEMO_DATA), *COMMON, "--batch",
               "4", "--thresholds", "auto", "--out", str(tmp_path / "val"), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    v = json.loads(r.stdout)
    at = v["at_thresholds"]
    assert at["thresholds"] == {**{k: cal["conf"] for k in at["thresholds"]}, **cal["per_class"]}
    pooled = cal["calibrated_metrics"]
    assert (at["pooled"]["tp"], at["pooled"]["fp"], at["pooled"]["fn"]) == (
        pooled["tp"], pooled["fp"], pooled["fn"]
    )  # fmt: skip
    errors = json.loads((tmp_path / "val" / "errors.json").read_text())
    assert errors["confidence"] == at["thresholds"]
    # errors.json counts each image's matches on its own (greedy assignment): the same totals
    assert (errors["totals"]["tp"], errors["totals"]["fp"], errors["totals"]["fn"]) == (
        pooled["tp"], pooled["fp"], pooled["fn"]
    )  # fmt: skip


def test_bad_thresholds_files_are_one_line(calibrated, tmp_path):
    weights, _ = calibrated
    src = str(REPO / "resources/demo/neu-det/images/val")
    bad = tmp_path / "bad.json"
    bad.write_text('{"conf": 0.2, "per_class": {"rust": 0.3}}')
    lonely = tmp_path / "lonely.pt"
    shutil.copyfile(weights, lonely)
    cases = [
        (bad, "bad.json: ", "no class 'rust'"),
        (tmp_path / "missing.json", "missing.json: thresholds file not found", ""),
    ]
    for path, first, second in cases:
        r = _grace("predict", src, "--weights", str(weights), "--thresholds", str(path), *COMMON)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert first in lines[0] and second in lines[0], lines[0]
    r = _grace("predict", src, "--weights", str(lonely), "--thresholds", "auto", *COMMON)
    assert r.returncode == 2 and "no lonely.thresholds.json beside" in r.stderr, r.stderr
