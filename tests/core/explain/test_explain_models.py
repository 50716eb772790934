"""Target layers, the hooked forward, eval mode and the letterbox (untrained YOLO11n models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grace.errors import GraceError
from grace.explain.cam import compute_cams, detect, letterbox
from grace.explain.layers import capture_output, resolve_layer
from grace.nn import LiteFEN


def _all_eval(net) -> bool:
    return not any(m.training for m in net.modules())


def test_default_layer_baseline_is_the_p3_input_of_the_head(baseline_model):
    head = baseline_model.model[-1]
    t = resolve_layer(baseline_model)
    assert t.module is baseline_model.model[head.f[0]]
    assert t.index == head.f[0] == 16  # YOLO11: P3 comes out of layer 16
    assert "P3" in t.description


def test_default_layer_grace_is_after_lite_fen(grace_model):
    head = grace_model.model[-1]
    t = resolve_layer(grace_model)
    assert isinstance(t.module, LiteFEN) and t.module is head.fen
    assert t.index == len(grace_model.model) - 1 and "Lite-FEN" in t.description
    # --layer N: the output of model.model[N], the same index for every model
    assert resolve_layer(grace_model, 16).module is grace_model.model[16]
    assert resolve_layer(grace_model, -2).module is grace_model.model[-2]
    with pytest.raises(GraceError, match="out of range"):
        resolve_layer(grace_model, 99)


def test_grace_cam_is_taken_after_lite_fen(grace_model, test_image):
    """With s_hat = 0 Lite-FEN is the identity, so its output equals layer 16's; not otherwise."""
    fen = grace_model.model[-1].fen
    s0 = float(fen.s_hat)
    try:
        fen.set_strength(0.0)
        default0, p3 = compute_cams(test_image, [grace_model, grace_model], imgsz=96)
        fen.set_strength(5.0)
        (default5,) = compute_cams(test_image, [grace_model], imgsz=96)
    finally:
        fen.set_strength(s0)
    np.testing.assert_allclose(default0.raw, p3.raw, rtol=1e-5, atol=1e-7)
    (p3_layer,) = compute_cams(test_image, [grace_model], layer=16, imgsz=96)
    np.testing.assert_allclose(p3_layer.raw, p3.raw, rtol=1e-5, atol=1e-7)
    assert not np.allclose(default5.raw, p3.raw, rtol=1e-3, atol=1e-6)


def test_compute_cams_shapes_timings_and_eval_mode(baseline_model, grace_model, test_image):
    models = [baseline_model, grace_model]
    cams = compute_cams(test_image, models, imgsz=96)
    assert len(cams) == 2
    for c in cams:
        assert c.raw.shape == test_image.shape[:2] and c.raw.dtype == np.float32
        assert c.raw.min() >= 0 and c.raw.max() > 0
        assert isinstance(c.time_ms, float)  # reported; its value is the benchmark's business
        # 72x100 letterboxed at 96 -> 96x96 (69x96 image + padding), P3 at stride 8
        assert c.feature_shape == (64, 12, 12)
    assert all(_all_eval(m) for m in models)
    # no hook is left behind
    assert all(not m._forward_hooks for net in models for m in net.modules())


def test_a_model_in_training_mode_is_put_in_eval_never_the_reverse(grace_model, test_image):
    calls = []
    orig = torch.nn.Module.train

    def spy(self, mode=True):
        calls.append(bool(mode))
        return orig(self, mode)

    for already_eval in (True, False):
        if not already_eval:
            grace_model.train()
        calls.clear()
        torch.nn.Module.train = spy
        try:
            compute_cams(test_image, [grace_model], imgsz=64)
        finally:
            torch.nn.Module.train = orig
        assert True not in calls and _all_eval(grace_model)
        assert (calls == []) == already_eval  # a model already in eval is left alone


def test_hook_output_must_be_a_feature_map(baseline_model, test_image):
    with pytest.raises(GraceError, match="not a feature map"):
        compute_cams(test_image, [baseline_model], layer=-1, imgsz=64)  # the Detect head
    assert all(not m._forward_hooks for m in baseline_model.modules())


def test_capture_matches_a_manual_forward(baseline_model, test_image):
    padded, _ = letterbox(test_image, 64)
    x = torch.from_numpy(padded[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    with capture_output(baseline_model.model[16]) as outs, torch.inference_mode():
        baseline_model(x)
    assert len(outs) == 1 and outs[0].shape[1:] == (64, 8, 8)
    (cam,) = compute_cams(test_image, [baseline_model], imgsz=64)
    assert cam.feature_shape == tuple(outs[0].shape[1:])


@pytest.mark.parametrize("shape", [(72, 100), (200, 200), (31, 250), (480, 640)])
def test_letterbox_matches_ultralytics(shape):
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (*shape, 3), dtype=np.uint8)
    ours, (top, left, nh, nw) = letterbox(img, 256, 32)
    ref = LetterBox(256, auto=True, stride=32)(image=img)
    np.testing.assert_array_equal(ours, ref)
    assert ours.shape[0] % 32 == 0 and ours.shape[1] % 32 == 0
    assert (ours[top : top + nh, left : left + nw] != 114).any()
    assert (ours[:top] == 114).all() and (ours[top + nh :] == 114).all()


def test_plain_ultralytics_checkpoint_never_trains(plain_ckpt, test_image, monkeypatch):
    from grace.explain.figure import default_imgsz, load_models

    (yolo,) = load_models([plain_ckpt], "cpu")

    def no_training(*a, **k):
        raise AssertionError("the YOLO training path was called")

    monkeypatch.setattr(yolo, "train", no_training)
    assert default_imgsz(yolo) == 64
    (c,) = compute_cams(test_image, [yolo], imgsz=64)
    assert c.layer.startswith("model.16") and c.raw.shape == test_image.shape[:2]
    dets = detect(yolo, test_image, imgsz=64, conf=0.25)
    assert dets.xyxy.shape == (len(dets), 4) and dets.names == {0: "a", 1: "b", 2: "c"}
    assert _all_eval(yolo.model)
    with pytest.raises(TypeError):
        detect(yolo.model, test_image)
