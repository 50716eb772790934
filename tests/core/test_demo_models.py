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
