"""CAM through pytorch-grad-cam: Eigen-CAM equal to GRACE's own earlier maths on the demo models,
the detection target, the gradient methods, and the OpenCV dependency."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from grace.errors import GraceError
from grace.explain.cam import compute_cams, detect
from grace.explain.methods import DetectionScoreTarget, raw_class
from grace.explain.options import GRADIENT_METHODS, METHOD_NAMES

ROOT = Path(__file__).resolve().parents[3]
DEMO_MODELS = sorted((ROOT / "resources" / "models").glob("*.pt"))
DEMO_IMAGE = sorted((ROOT / "resources" / "demo" / "neu-det" / "images" / "val").glob("*.jpg"))[0]


def test_exactly_one_opencv_distribution_and_cv2_imports():
    """grad-cam >= 1.5.6 would add opencv-python-headless beside Ultralytics' opencv-python."""
    names = sorted(
        {
            (d.metadata["Name"] or "").lower()
            for d in importlib.metadata.distributions()
            if (d.metadata["Name"] or "").lower().startswith("opencv")
        }
    )
    assert names == ["opencv-python"]
    import cv2 as cv

    assert cv.imdecode(cv.imencode(".png", np.zeros((2, 2), np.uint8))[1], 0).shape == (2, 2)
    assert importlib.metadata.version("grad-cam") == "1.5.5"


def _reference_eigencam(acts: np.ndarray) -> np.ndarray:
    """GRACE's Eigen-CAM before the library took over, written out again: the first principal
    component of the centred (positions, channels) matrix in float64, oriented to correlate
    non-negatively with the mean activation, ReLU."""
    a = np.nan_to_num(np.asarray(acts, np.float64))
    c, h, w = a.shape
    x = a.reshape(c, h * w).T
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    p = x @ vt[0]
    m = a.mean(axis=0).ravel()
    if p @ (m - m.mean()) < 0:
        p = -p
    return np.maximum(p, 0).reshape(h, w)


@pytest.fixture(scope="module")
def demo_models():
    from grace.explain.figure import load_models

    if len(DEMO_MODELS) != 2:
        pytest.skip("the demo checkpoints are not in resources/models")
    return load_models(DEMO_MODELS, "cpu")


def _hand_input(image: np.ndarray, size: int) -> torch.Tensor:
    """A square image letterboxed to a square size is a plain resize (no padding)."""
    assert image.shape[0] == image.shape[1]
    x = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
    return torch.from_numpy(x.copy()).permute(2, 0, 1)[None].float() / 255.0


def _layer_output(net, layer, x) -> np.ndarray:
    """``layer``'s output for one input, by a plain forward hook."""
    seen = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    try:
        with torch.no_grad():
            net(x)
    finally:
        handle.remove()
    return seen[0][0].numpy()


def test_library_eigencam_equals_the_earlier_maps_on_the_demo_models(demo_models):
    from pytorch_grad_cam import EigenCAM

    from grace.explain.figure import compare_models

    assert issubclass(raw_class("eigencam"), EigenCAM)
    image = cv2.imread(str(DEMO_IMAGE))
    assert image.shape == (200, 200, 3)
    comp = compare_models(image, demo_models, imgsz=256)
    assert comp.method == "eigencam" and comp.imgsz == 256

    refs = []
    for yolo, cam in zip(demo_models, comp.cams, strict=True):
        net = yolo.model
        head = net.model[-1]
        layer = head.fen if hasattr(head, "fen") else net.model[head.f[0]]
        feat = _layer_output(net, layer, _hand_input(image, 256))
        assert feat.shape == (64, 32, 32) == cam.feature_shape
        ref = _reference_eigencam(feat)
        up = cv2.resize(ref.astype(np.float32), (256, 256), interpolation=cv2.INTER_LINEAR)
        refs.append(cv2.resize(up, (200, 200), interpolation=cv2.INTER_LINEAR).astype(np.float64))
    lo = min(r.min() for r in refs)
    hi = max(r.max() for r in refs)
    assert comp.value_range[0] == pytest.approx(lo, abs=1e-5 * hi)
    assert comp.value_range[1] == pytest.approx(hi, rel=1e-5)
    for got, ref in zip(comp.maps01, refs, strict=True):
        np.testing.assert_allclose(got, (ref - lo) / (hi - lo), rtol=0, atol=1e-5)


@pytest.mark.parametrize("svd_sign", [1.0, -1.0])
def test_the_sign_rule_is_applied_to_the_library_projection(
    svd_sign, baseline_model, test_image, monkeypatch
):
    """Whichever sign the library's SVD hands back, the map is the reference's (oriented, then
    ReLU): forced here by negating ``get_2d_projection``'s result."""
    import pytorch_grad_cam.eigen_cam as library

    from grace.explain.methods import raw_cam

    original = library.get_2d_projection
    monkeypatch.setattr(library, "get_2d_projection", lambda a: svd_sign * original(a))
    layer = baseline_model.model[16]
    x = torch.from_numpy(cv2.resize(test_image, (64, 64))[:, :, ::-1].copy())
    x = x.permute(2, 0, 1)[None].float() / 255.0
    r = raw_cam("eigencam", baseline_model, layer, x, 0.25)
    ref = _reference_eigencam(_layer_output(baseline_model, layer, x))
    assert ref.max() > 0 and (ref == 0).any()  # a sign error would show
    np.testing.assert_allclose(r.cam, ref, rtol=0, atol=1e-5 * ref.max())


def test_detection_score_target_sums_the_scores_nms_keeps():
    # 2 classes, 4 anchors (xywh, then the two class scores):
    #   a0: box at (20, 20), class 1 at 0.9   -> kept
    #   a1: the same box, class 1 at 0.8      -> suppressed by a0 (IoU 1, same class)
    #   a2: box at (80, 80), class 0 at 0.5   -> kept
    #   a3: box at (50, 80), 0.2 and 0.1      -> under conf 0.25
    out = torch.tensor(
        [
            [20.0, 20.0, 80.0, 50.0],
            [20.0, 20.0, 80.0, 80.0],
            [10.0, 10.0, 10.0, 10.0],
            [10.0, 10.0, 10.0, 10.0],
            [0.0, 0.1, 0.5, 0.2],
            [0.9, 0.8, 0.0, 0.1],
        ],
        requires_grad=True,
    )
    target = DetectionScoreTarget(conf=0.25)
    assert target.kept is None
    value = target(out)
    assert target.kept == 2
    assert value.item() == pytest.approx(0.9 + 0.5)
    value.backward()
    expected = torch.zeros_like(out)
    expected[5, 0] = expected[4, 2] = 1.0
    torch.testing.assert_close(out.grad, expected)

    none = DetectionScoreTarget(conf=0.95)
    assert none(out).item() == 0.0 and none.kept == 0


def test_layercam_equals_a_hand_computation_and_targets_match_predict(demo_models):
    """LayerCAM = sum_c relu(dS/dA_c) * A_c, S = summed class scores of predict's boxes."""
    from ultralytics.utils.nms import non_max_suppression

    image = cv2.imread(str(DEMO_IMAGE))
    yolo = demo_models[0]
    net = yolo.model
    layer = net.model[net.model[-1].f[0]]
    conf = 0.05
    dets = detect(yolo, image, 256, conf)
    (cam,) = compute_cams(image, [yolo], imgsz=256, method="layercam", conf=conf)
    assert cam.method == "layercam" and cam.targets == len(dets) > 0

    head = net.model[-1]
    head.shape = None  # anchors cached by predict are inference tensors
    seen = []

    def keep(_m, _i, out) -> None:
        out.retain_grad()
        seen.append(out)

    handle = layer.register_forward_hook(keep)
    try:
        x = _hand_input(image, 256).requires_grad_(True)
        preds = net(x)[0][0]
        with torch.no_grad():
            kept, idx = non_max_suppression(preds.detach()[None], conf, 0.7, return_idxs=True)
        cls = kept[0][:, 5].long()
        preds[4 + cls, idx[0].view(-1).long()].sum().backward()
    finally:
        handle.remove()
        net.zero_grad(set_to_none=True)
    a, g = seen[0].detach()[0].numpy(), seen[0].grad[0].numpy()
    ref = (np.maximum(g, 0) * a).sum(axis=0)
    ref = np.maximum(ref, 0).astype(np.float32)
    up = cv2.resize(cv2.resize(ref, (256, 256)), (200, 200)).astype(np.float64)
    np.testing.assert_allclose(cam.raw, up, rtol=1e-4, atol=1e-5 * up.max())


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_gradient_methods_without_detections_give_zero_maps_and_say_so(
    method, grace_model, test_image
):
    (cam,) = compute_cams(test_image, [grace_model], imgsz=64, method=method, conf=1.0)
    assert cam.targets == 0 and not cam.raw.any()
    assert cam.raw.shape == test_image.shape[:2]


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_leaves_the_model_in_eval_unhooked_and_without_grads(
    method, grace_model, test_image
):
    (cam,) = compute_cams(test_image, [grace_model], imgsz=64, method=method, conf=0.0)
    assert cam.method == method and cam.raw.min() >= 0
    assert (cam.targets is None) == (method == "eigencam")
    assert cam.feature_shape == (64, 8, 8)
    assert not any(m.training for m in grace_model.modules())
    assert all(not m._forward_hooks for m in grace_model.modules())
    assert all(p.grad is None for p in grace_model.parameters())


def test_unknown_method_is_one_line(grace_model, test_image):
    with pytest.raises(GraceError, match="--method gradcam: use one of eigencam, "):
        compute_cams(test_image, [grace_model], imgsz=64, method="gradcam")


def test_cli_records_the_method(demo_models, tmp_path, capfd):
    from grace.cli import main
    from grace.explain.render import GAP, colorbar, panel_shape, title_height

    out = tmp_path / "g.png"
    args = ["cam", str(DEMO_IMAGE), "--weights", *map(str, DEMO_MODELS), "--out", str(out)]
    assert (
        main([*args, "--method", "gradcam++", "--conf", "0.05", "--device", "cpu", "--json"]) == 0
    )
    res = json.loads(capfd.readouterr().out.strip().splitlines()[-1])
    assert res["method"] == "gradcam++"
    assert [m["targets"] for m in res["models"]] == [
        len(detect(m, cv2.imread(str(DEMO_IMAGE)), 256, 0.05)) for m in demo_models
    ]
    ph, pw = panel_shape((200, 200))
    bar = colorbar(ph, res["global_min"], res["global_max"], label="Grad-CAM++")
    assert cv2.imread(str(out)).shape == (title_height(ph) + ph, 3 * pw + 3 * GAP + bar.shape[1], 3)

    assert main([*args, "--method", "layercam", "--conf", "1.0", "--device", "cpu"]) == 0
    text = capfd.readouterr().out
    assert text.count("none at this --conf: nothing to explain, the map is 0") == 2

    with pytest.raises(SystemExit) as e:
        main([*args, "--method", "gradcam"])
    assert e.value.code == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--method" in err[0] and "gradcam" in err[0]
