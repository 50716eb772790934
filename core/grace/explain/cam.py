"""Running models for CAM: one pytorch-grad-cam pass per model in eval mode (a forward for
Eigen-CAM, under ``torch.inference_mode``; forward and backward for the gradient methods), the
map brought back to the image's pixels.

Nothing here ever puts a model into training mode, and the Ultralytics ``YOLO`` wrapper is never
called for the CAM (only its inner ``nn.Module``, see :mod:`grace.explain.methods`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from grace.explain.layers import inner_module, resolve_layer
from grace.explain.methods import raw_cam
from grace.explain.options import DEFAULT_CONF, DEFAULT_METHOD, GRADIENT_METHODS
from grace.explain.render import Detections
from grace.infer.thresholds import thresholds_for

__all__ = ["CamMap", "compute_cams", "detect", "letterbox", "model_stride"]


@dataclass
class CamMap:
    """One model's CAM on one image.

    Attributes
    ----------
    raw : numpy.ndarray, (H, W) float32
        The un-normalised, non-negative map resized to the image's pixels.
    layer : str
        Which layer, e.g. ``"model.16 (P3 input of Detect)"``.
    layer_index : int
        Its index in ``model.model``.
    feature_shape : tuple of int
        ``(C, h, w)`` of the captured feature map.
    time_ms : float
        Wall time of the CAM (forward, backward for gradient methods, maths) and the resizing,
        in milliseconds.
    method : str
        The method (:data:`grace.explain.options.METHOD_NAMES`).
    targets : int or None
        Gradient methods: how many detections (at the confidence asked for) the target summed
        the class scores of; 0 means nothing to explain, and the map is 0. ``None`` for
        Eigen-CAM, which has no target.
    """

    raw: np.ndarray
    layer: str
    layer_index: int
    feature_shape: tuple[int, int, int]
    time_ms: float
    method: str = DEFAULT_METHOD
    targets: int | None = None


def model_stride(model) -> int:
    """The largest stride of a YOLO model (32 for YOLO11); 32 if it does not say."""
    s = getattr(inner_module(model), "stride", None)
    try:
        return max(32, int(max(s.tolist() if hasattr(s, "tolist") else s)))
    except (TypeError, ValueError):
        return 32


def letterbox(image: np.ndarray, imgsz: int, stride: int = 32):
    """Resize (aspect kept) and pad to a multiple of ``stride``, as Ultralytics' predictor does.

    Mirrors ``LetterBox(imgsz, auto=True, stride=stride)`` (the minimum rectangle used by
    ``predict`` for a single image), padding with grey 114 and centring the image; ``imgsz`` is
    first rounded up to a multiple of ``stride`` (Ultralytics' ``check_imgsz``).

    Returns
    -------
    padded : numpy.ndarray
        The network input, BGR uint8.
    box : tuple of int
        ``(top, left, height, width)`` of the image inside ``padded``.
    """
    h, w = image.shape[:2]
    imgsz = -(-int(imgsz) // stride) * stride  # a multiple of the stride, as check_imgsz does
    r = min(imgsz / h, imgsz / w)
    nw, nh = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (imgsz - nw) % stride / 2, (imgsz - nh) % stride / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    img = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), cv2.INTER_LINEAR)
    padded = cv2.copyMakeBorder(
        img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114)
    )
    return padded, (top, left, nh, nw)


def _to_tensor(padded: np.ndarray, ref: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1)))  # RGB CHW
    return x.unsqueeze(0).to(device=ref.device, dtype=ref.dtype).div_(255.0)


def _to_image(cam: np.ndarray, in_hw, box, out_hw) -> np.ndarray:
    """Feature-map CAM -> network input size -> crop the padding -> original image size."""
    top, left, nh, nw = box
    up = cv2.resize(cam, (in_hw[1], in_hw[0]), interpolation=cv2.INTER_LINEAR)
    up = up[top : top + nh, left : left + nw]
    if up.shape != tuple(out_hw):
        up = cv2.resize(up, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)
    return up.astype(np.float32)


def _check_eval(net: nn.Module, when: str) -> None:
    if net.training or any(m.training for m in net.modules()):
        raise RuntimeError(f"model is in training mode {when} the CAM forward")


def _fresh_anchors(net: nn.Module) -> None:
    """Make the head recompute its anchor cache: ``predict`` (or an Eigen-CAM pass) fills it under
    ``torch.inference_mode``, and inference tensors cannot take part in a backward pass."""
    head = net.model[-1] if isinstance(getattr(net, "model", None), nn.Sequential) else None
    anchors = getattr(head, "anchors", None)
    if isinstance(anchors, torch.Tensor) and anchors.is_inference():
        head.shape = None


def compute_cams(
    image: np.ndarray,
    models: Sequence,
    layer: int | None = None,
    imgsz: int = 640,
    method: str = DEFAULT_METHOD,
    conf: float = DEFAULT_CONF,
    class_conf: Mapping[str, float] | None = None,
) -> list[CamMap]:
    """CAM of each model at the same layer, on the same image, by one pytorch-grad-cam method.

    Parameters
    ----------
    image : numpy.ndarray
        BGR ``uint8`` image (as ``cv2.imread`` gives).
    models : sequence
        ``DetectionModel`` modules or Ultralytics ``YOLO`` objects (their ``.model`` is run, on
        the device and in the dtype of its parameters). A model in training mode is switched to
        eval mode (and left there); none is ever switched to training mode.
    layer : int, optional
        ``--layer N``: the output of ``model.model[N]``; default: the detection head's P3 input
        (after Lite-FEN where present), see :func:`grace.explain.layers.resolve_layer`.
    imgsz : int
        Network input size, letterboxed as Ultralytics' predictor does.
    method : str
        ``eigencam`` (default, no gradient), ``eigengradcam``, ``layercam`` or ``gradcam++``
        (:mod:`grace.explain.methods`).
    conf : float
        Gradient methods: the target is the sum of the class scores of the detections kept at
        this confidence (Ultralytics' NMS, as ``predict``).
    class_conf : mapping of str to float, optional
        Gradient methods: own thresholds by class name (names a model lacks are ignored),
        ``conf`` for the other classes; see :func:`grace.infer.thresholds.thresholds_for`.

    Returns
    -------
    list of CamMap
        One per model, in order; ``raw`` has the image's height and width.

    Raises
    ------
    GraceError
        Bad ``layer`` or ``method``, or a layer whose output is not a 4-D feature map.

    Notes
    -----
    The map is computed over the whole feature map of the letterboxed input (grey padding
    included); it is then resized to the network input, the padding is cropped away and the
    rest resized to the image. ``time_ms`` is the single-shot wall time of one model (forward,
    CAM, resizing), first-call overheads included; use ``grace bench`` to compare latencies.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    results = []
    for model in models:
        net = inner_module(model)
        if net.training:
            net.eval()
        _check_eval(net, "before")
        target = resolve_layer(net, layer)
        ref = next(net.parameters())
        padded, box = letterbox(image, imgsz, model_stride(net))
        if method in GRADIENT_METHODS:
            _fresh_anchors(net)
        t0 = time.perf_counter()
        th = thresholds_for(conf, class_conf, getattr(net, "names", None) or {})
        x = _to_tensor(padded, ref)
        r = raw_cam(method, net, target.module, x, th.conf, target.description, th.per_class)
        raw = _to_image(r.cam, padded.shape[:2], box, image.shape[:2])
        if ref.device.type == "cuda":
            torch.cuda.synchronize(ref.device)
        ms = (time.perf_counter() - t0) * 1000.0
        _check_eval(net, "after")
        results.append(
            CamMap(
                raw,
                target.description,
                target.index,
                tuple(r.feature_shape),
                round(ms, 2),
                method,
                r.targets,
            )
        )
    return results


def detect(
    model,
    image: np.ndarray,
    imgsz: int = 640,
    conf: float = 0.25,
    class_conf: Mapping[str, float] | None = None,
) -> Detections:
    """Detections of an Ultralytics ``YOLO`` on one image through its own ``predict``.

    Parameters
    ----------
    model : ultralytics.YOLO
        The wrapper (``predict`` needs it; it runs in eval mode and may fuse Conv+BN in place,
        which leaves the CAM layers and their outputs unchanged up to rounding).
    image : numpy.ndarray
        BGR ``uint8``.
    imgsz, conf : int, float
        Passed to ``predict`` (the same letterbox as :func:`compute_cams`).
    class_conf : mapping of str to float, optional
        Own thresholds by class name (names the model lacks are ignored): ``predict`` runs at
        the lowest threshold and each detection is kept at its class's
        (:class:`grace.infer.thresholds.ClassThresholds`).

    Returns
    -------
    Detections
        In the image's pixel coordinates.
    """
    from ultralytics.engine.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"detect() needs an Ultralytics YOLO object, got {type(model).__name__}")
    ref = next(inner_module(model).parameters())
    device = "cpu" if ref.device.type == "cpu" else str(ref.device)
    th = thresholds_for(conf, class_conf, getattr(inner_module(model), "names", None) or {})
    r = model.predict(image, imgsz=imgsz, conf=th.floor, device=device, verbose=False)[0]
    names = {int(k): str(v) for k, v in dict(getattr(r, "names", {}) or {}).items()}
    b = r.boxes
    if b is None or len(b) == 0:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, int), np.zeros(0), names)
    xyxy = b.xyxy.cpu().numpy().astype(np.float32)
    cls = b.cls.cpu().numpy().astype(int)
    scores = b.conf.cpu().numpy().astype(np.float32)
    keep = th.keep(scores, cls)
    return Detections(xyxy[keep], cls[keep], scores[keep], names)
