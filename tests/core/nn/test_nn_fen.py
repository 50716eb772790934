"""Lite-FEN math, its buffer, FenDetect and attach/set helpers."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from ultralytics.nn.modules.head import Detect

from grace.config import FenConfig
from grace.nn import (
    FEN_YAML_KEY,
    FenDetect,
    LiteFEN,
    attach_fen,
    build_model,
    fen_strength,
    has_fen,
    set_fen_strength,
)


@pytest.fixture(scope="module")
def baseline():
    """A yolo11n whose BatchNorm statistics come from one batch, so eval features are O(1).

    (A freshly initialised model has running_var = 1 everywhere and its deep features shrink to
    ~1e-5 in eval mode, which would hide any effect of Lite-FEN.)
    """
    torch.manual_seed(0)
    m = build_model("yolo11n", nc=3, use_fen=False)
    bns = [b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    for b in bns:
        b.momentum = 1.0
    with torch.no_grad():
        m.train()(torch.randn(4, 3, 64, 64))
    for b in bns:
        b.momentum = 0.03
    return m.eval()


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0, 0.05),  # 0.2 * 1/30 = 0.00667 -> clipped up to s_min
        (5, 0.05),  # 0.2 * 6/30 = 0.04 -> clipped up to s_min
        (7, 0.2 * 8 / 30),  # 0.0533, inside the bounds
        (29, 0.20),  # 0.2 * 30/30
        (30, 0.20),  # ramp saturated
        (200, 0.20),
    ],
)
def test_fen_strength_paper_schedule(epoch, expected):
    assert fen_strength(epoch, FenConfig()) == pytest.approx(expected, abs=1e-12)


def test_fen_strength_clips_to_s_max_and_rejects_negative_epoch():
    cfg = FenConfig(s_base=0.5, s_min=0.05, s_max=0.30, e_ramp=10)
    assert fen_strength(4, cfg) == pytest.approx(0.25)  # 0.5 * 5/10
    assert fen_strength(9, cfg) == pytest.approx(0.30)  # 0.5 -> clipped down
    with pytest.raises(ValueError):
        fen_strength(-1, cfg)


def _by_hand(fen: LiteFEN, x: torch.Tensor, s: float) -> torch.Tensor:
    c = x.shape[1]
    ca1, ca2 = fen.ca[1], fen.ca[3]
    dw, pw = fen.sa[0], fen.sa[1]
    gap = x.mean(dim=(2, 3), keepdim=True)
    ca = torch.sigmoid(F.conv2d(F.silu(F.conv2d(gap, ca1.weight, ca1.bias)), ca2.weight, ca2.bias))
    sa = torch.sigmoid(
        F.conv2d(F.conv2d(x, dw.weight, dw.bias, padding=1, groups=c), pw.weight, pw.bias)
    )
    assert ca.shape == (x.shape[0], c, 1, 1) and sa.shape == (x.shape[0], 1, *x.shape[2:])
    att = 0.5 * ca + 0.5 * sa
    return x + s * (x * att)


def test_litefen_matches_hand_computation():
    torch.manual_seed(1)
    fen = LiteFEN(32, reduction=4, strength=0.23)
    for p in fen.parameters():  # make every weight and bias matter
        p.data.normal_(0, 0.5)
    x = torch.randn(2, 32, 9, 7)
    y = fen(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, _by_hand(fen, x, 0.23), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(y, x)
    # shapes of the paper's layers: C -> C/4 -> C, depthwise 3x3, C -> 1
    assert fen.ca[1].weight.shape == (8, 32, 1, 1) and fen.ca[3].weight.shape == (32, 8, 1, 1)
    assert fen.sa[0].weight.shape == (32, 1, 3, 3) and fen.sa[0].groups == 32
    assert fen.sa[1].weight.shape == (1, 32, 1, 1)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in fen.modules())


def test_litefen_zero_strength_is_identity_and_attention_is_bounded():
    torch.manual_seed(2)
    fen = LiteFEN(16)
    x = torch.randn(1, 16, 8, 8)
    fen.set_strength(0.0)
    torch.testing.assert_close(fen(x), x, rtol=0, atol=0)
    att = fen.attention(x)
    assert (
        att.shape == x.shape
        and float(att.detach().min()) >= 0.0
        and float(att.detach().max()) <= 1.0
    )


def test_s_hat_is_a_persistent_non_learnable_buffer():
    fen = LiteFEN(16, strength=0.1)
    assert "s_hat" in fen.state_dict()
    assert "s_hat" not in dict(fen.named_parameters())
    assert not fen.s_hat.requires_grad
    fen.set_strength(0.17)
    assert float(fen.state_dict()["s_hat"]) == pytest.approx(0.17)
    other = LiteFEN(16, strength=0.05)
    other.load_state_dict(fen.state_dict())
    assert float(other.s_hat) == pytest.approx(0.17)
    # gradients flow into the attention branches, never into s_hat
    x = torch.randn(1, 16, 4, 4, requires_grad=True)
    fen(x).sum().backward()
    assert fen.sa[1].weight.grad is not None and fen.ca[1].weight.grad is not None
    assert fen.s_hat.grad is None
    with pytest.raises(ValueError):
        fen.set_strength(float("nan"))


def test_attach_keeps_keys_and_zero_strength_reproduces_baseline(baseline):
    x = torch.randn(1, 3, 64, 64)
    grace = attach_fen(copy.deepcopy(baseline), FenConfig())
    head = grace.model[-1]
    assert type(head) is FenDetect and isinstance(head, Detect)
    assert head.fen.channels == head.cv2[0][0].conv.in_channels == 64
    assert float(head.fen.s_hat) == pytest.approx(0.05)
    base_keys, new_keys = set(baseline.state_dict()), set(grace.state_dict())
    assert base_keys <= new_keys
    assert all(k.startswith("model.23.fen.") for k in new_keys - base_keys)
    assert has_fen(grace) and not has_fen(baseline)
    assert grace.yaml[FEN_YAML_KEY] == {"reduction": 4, "channels": 64}
    assert FEN_YAML_KEY not in baseline.yaml

    with torch.no_grad():
        y0 = baseline(x)[0]
        set_fen_strength(grace, 0.0)
        torch.testing.assert_close(grace(x)[0], y0, rtol=0, atol=0)
        set_fen_strength(grace, 0.3)
        assert not torch.allclose(grace(x)[0], y0)


def test_fendetect_forward_equals_detect_on_enhanced_p3(baseline):
    grace = attach_fen(copy.deepcopy(baseline))
    set_fen_strength(grace, 0.25)
    fhead, dhead = grace.model[-1], copy.deepcopy(baseline.model[-1])
    feats = [torch.randn(2, c, s, s) for c, s in ((64, 8), (128, 4), (256, 2))]
    orig = [f.clone() for f in feats]
    with torch.no_grad():
        y_f, raw_f = fhead(feats)
        y_d, raw_d = dhead([fhead.fen(feats[0]), *feats[1:]])
    torch.testing.assert_close(y_f, y_d)
    torch.testing.assert_close(raw_f["feats"][0], raw_d["feats"][0])
    assert all(torch.equal(a, b) for a, b in zip(feats, orig, strict=False))  # input list untouched
    fhead.train()
    out = fhead(feats)
    assert set(out) == {"boxes", "scores", "feats"}
    fhead.eval()


def test_train_mode_forward_backward_reaches_fen(baseline):
    grace = attach_fen(copy.deepcopy(baseline)).train()
    preds = grace(torch.randn(2, 3, 64, 64))
    assert set(preds) == {"boxes", "scores", "feats"}
    (preds["scores"].sum() + preds["boxes"].sum()).backward()
    fen = grace.model[-1].fen
    assert fen.ca[1].weight.grad is not None and fen.sa[0].weight.grad.abs().sum() > 0


def test_end2end_head_with_fen():
    torch.manual_seed(3)
    head = Detect(nc=3, end2end=True, ch=(16, 32, 64))
    head.stride = torch.tensor([8.0, 16.0, 32.0])
    head.__class__ = FenDetect
    head.fen = LiteFEN(16, strength=0.2)
    feats = [torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4), torch.randn(1, 64, 2, 2)]
    head.train()
    out = head(feats)
    assert set(out) == {"one2many", "one2one"}
    head.eval()
    head.end2end = True
    y, _ = head(feats)
    assert y.shape == (1, 8 * 8 + 4 * 4 + 2 * 2, 6)


def test_fused_model_matches_unfused(baseline):
    grace = attach_fen(copy.deepcopy(baseline)).eval()
    set_fen_strength(grace, 0.2)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        y = grace(x)[0]
        grace.fuse(verbose=False)
        yf = grace(x)[0]
    assert grace.is_fused() and has_fen(grace)
    torch.testing.assert_close(yf, y, rtol=1e-3, atol=1e-3)


def test_attach_is_idempotent_and_rejects_other_heads(baseline):
    grace = attach_fen(copy.deepcopy(baseline))
    fen = grace.model[-1].fen
    n = sum(p.numel() for p in grace.parameters())
    assert attach_fen(grace) is grace
    assert grace.model[-1].fen is fen and sum(p.numel() for p in grace.parameters()) == n
    assert sum(isinstance(m, LiteFEN) for m in grace.modules()) == 1
    with pytest.raises(TypeError):
        attach_fen(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)))


def test_set_fen_strength_through_wrappers(baseline):
    from ultralytics.utils.torch_utils import ModelEMA

    grace = attach_fen(copy.deepcopy(baseline))
    assert set_fen_strength(baseline, 0.2) == 0
    assert set_fen_strength(torch.nn.DataParallel(grace), 0.11) == 1  # DDP-style `.module`
    assert float(grace.model[-1].fen.s_hat) == pytest.approx(0.11)
    ema = ModelEMA(grace)
    assert set_fen_strength(ema, 0.2) == 1 and set_fen_strength(grace, 0.2) == 1
    assert float(ema.ema.model[-1].fen.s_hat) == pytest.approx(0.2)
    ema.update(grace)  # the EMA blends float buffers too: equal values stay put
    assert float(ema.ema.model[-1].fen.s_hat) == pytest.approx(0.2)
    assert has_fen(ema) and has_fen(torch.nn.DataParallel(grace))
