"""Lite-FEN attaches to every YOLO11 scale with the expected channel count and parameter cost."""

from __future__ import annotations

import pytest
import torch

from grace.config import FenConfig
from grace.nn import attach_fen, build_model, count_parameters, fen_param_count, has_fen

# P3 channels of the YOLO11 head input per scale (width multiple x 256, capped by max_channels)
P3 = {"n": 64, "s": 128, "m": 256, "l": 256, "x": 384}


def lite_fen_params(c: int) -> int:
    """CA: (C*C/4 + C/4) + (C/4*C + C); SA: depthwise 3x3 (9C + C) + 1x1 C->1 (C + 1)."""
    return 2 * c * (c // 4) + c // 4 + 12 * c + 1


def test_param_formula_hand_values():
    assert lite_fen_params(64) == 2833
    assert lite_fen_params(128) == 9761
    assert lite_fen_params(256) == 35905
    assert lite_fen_params(384) == 78433
    for c in P3.values():
        assert fen_param_count(c, 4) == lite_fen_params(c)


@pytest.mark.parametrize("scale", list(P3))
def test_attach_to_every_scale(scale):
    torch.manual_seed(0)
    model = build_model(f"yolo11{scale}", nc=6, use_fen=False)
    n_base, keys_base = count_parameters(model), set(model.state_dict())
    assert not has_fen(model)
    assert attach_fen(model, FenConfig()) is model
    head = model.model[-1]
    assert has_fen(model) and head.fen.channels == head.cv2[0][0].conv.in_channels == P3[scale]
    assert count_parameters(model) - n_base == lite_fen_params(P3[scale])
    assert set(model.state_dict()) - keys_base == {
        f"model.23.fen.{k}"
        for k in ("s_hat", "ca.1.weight", "ca.1.bias", "ca.3.weight", "ca.3.bias")
        + ("sa.0.weight", "sa.0.bias", "sa.1.weight", "sa.1.bias")
    }
    if scale in ("m", "l", "x"):
        return  # larger scales: build + parameter count only (2-core CI)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model.eval()
        y, raw = model(x)
        assert y.shape == (1, 4 + 6, 8 * 8 + 4 * 4 + 2 * 2)
        assert raw["feats"][0].shape == (1, P3[scale], 8, 8)
        model.train()
        preds = model(x)
        assert preds["scores"].shape == (1, 6, 84) and preds["boxes"].shape == (1, 64, 84)


def test_build_model_with_fen_equals_attach():
    a = build_model("yolo11n", nc=6, use_fen=True)
    b = attach_fen(build_model("yolo11n", nc=6, use_fen=False))
    assert count_parameters(a) == count_parameters(b)
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }
