"""Per-class thresholds in the CAM path: the boxes drawn and the detections a gradient CAM explains
are the ones the Inference tab's thresholds keep (global + per class, by class name)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grace.infer.thresholds import ClassThresholds, thresholds_for


def test_thresholds_by_name_for_one_model():
    names = ["crazing", "inclusion", "patches"]
    th = thresholds_for(0.3, {"patches": 0.6, "scratches": 0.9}, names)
    assert th == ClassThresholds(0.3, {2: 0.6})  # a class the model lacks is ignored
    assert thresholds_for(0.3, {"inclusion": 0.1}, {0: "crazing", 1: "inclusion"}).floor == 0.1
    assert thresholds_for(0.5, None, names) == ClassThresholds(0.5, {})


def _output() -> torch.Tensor:
    """Three far-apart boxes (xywh), two classes: (class 0, 0.9), (class 1, 0.4), (class 0, 0.3)."""
    boxes = torch.tensor([[20.0, 20, 10, 10], [100, 100, 10, 10], [200, 50, 10, 10]]).T
    scores = torch.tensor([[0.9, 0.05, 0.3], [0.02, 0.4, 0.01]])
    return torch.cat([boxes, scores]).requires_grad_(True)


@pytest.mark.parametrize(
    "conf, per_class, kept, total",
    [
        (0.25, None, 3, 0.9 + 0.4 + 0.3),
        (0.25, {1: 0.5}, 2, 0.9 + 0.3),  # class 1's own threshold drops its 0.4
        (0.5, {1: 0.35}, 2, 0.9 + 0.4),  # a lower own threshold keeps it, 0.3 falls to 0.5
        (0.95, {0: 0.2}, 2, 0.9 + 0.3),
    ],
)
def test_gradient_target_sums_the_scores_the_thresholds_keep(conf, per_class, kept, total):
    from grace.explain.methods import DetectionScoreTarget

    target = DetectionScoreTarget(conf, per_class=per_class)
    value = target(_output())
    assert target.kept == kept
    assert float(value.detach()) == pytest.approx(total, abs=1e-6)


@pytest.mark.slow
def test_detect_keeps_each_class_at_its_threshold():
    from grace.explain.cam import detect
    from grace.explain.figure import load_models
    from grace.images import read_image
    from grace_gui.demo import find_demo

    demo = find_demo()
    assert demo is not None
    (model,) = load_models([demo.models[1]], "cpu")
    names = model.model.names
    images = sorted(demo.images.glob("*.jpg"))
    checked = 0
    for path in images[:12]:
        image = read_image(path)
        low = detect(model, image, 256, 0.05)
        if len(low) < 2:
            continue
        # give the class of the best box its own threshold just above that box's score
        top = int(np.argmax(low.conf))
        c, s = int(low.cls[top]), float(low.conf[top])
        mine = detect(model, image, 256, 0.05, {names[c]: s + 1e-3})
        expected = ~((low.cls == c) & (low.conf < s + 1e-3))
        np.testing.assert_array_equal(mine.xyxy, low.xyxy[expected])
        assert len(mine) == int(expected.sum()) < len(low)
        checked += 1
    assert checked > 0, "no demo image with two detections at 0.05"
