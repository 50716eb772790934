"""The demo models shipped in resources/ load, carry NEU-DET's classes, and match their metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "resources" / "models"
NEU_CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]


@pytest.mark.parametrize("variant", ["baseline", "grace"])
def test_demo_model_loads_with_neu_det_classes(variant):
    from grace.nn import has_fen
    from grace.nn.checkpoint import load_yolo

    model = load_yolo(MODELS / f"neu-det_yolo11n_{variant}.pt")
    assert list(model.names.values()) == NEU_CLASSES
    assert has_fen(model.model) == (variant == "grace")
    metrics = json.loads((MODELS / f"neu-det_yolo11n_{variant}.metrics.json").read_text())
    assert set(metrics["per_class"]) == set(NEU_CLASSES)
    assert 0 < metrics["metrics"]["mAP50-95"] < metrics["metrics"]["mAP50"] < 1


@pytest.mark.parametrize("variant", ["baseline", "grace"])
def test_demo_metrics_are_labelled_with_their_protocol_and_match_the_readme(variant):
    readme = (MODELS / "README.md").read_text()
    for suffix, protocol, shape in (("", "deployed", [256, 256]),
                                    ("-ultralytics", "ultralytics", [288, 288])):  # fmt: skip
        m = json.loads((MODELS / f"neu-det_yolo11n_{variant}.metrics{suffix}.json").read_text())
        assert m["protocol"] == protocol
        assert m["input_shapes"] == [{"shape": shape, "images": 360}]
        fig = m["metrics"]
        row = (f"| {protocol} ({shape[0]}×{shape[1]}) | `neu-det_yolo11n_{variant}.pt` | "
               f"{100 * fig['mAP50-95']:.2f} % | {100 * fig['mAP50']:.2f} % |")  # fmt: skip
        assert row in readme
    run = MODELS.parent / "demo" / "runs" / variant / "val" / "metrics.json"
    assert json.loads(run.read_text())["protocol"] == "deployed"
