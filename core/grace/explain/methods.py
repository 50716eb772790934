"""CAM methods of pytorch-grad-cam on an Ultralytics detection model, raw (un-scaled) maps.

pytorch-grad-cam's CAM objects take a model whose forward returns one tensor and call
``model.eval()`` on it; the Ultralytics ``YOLO`` wrapper must never be given (its ``train`` starts
a training run, pytorch-grad-cam issue 507). :class:`DetectorOutput` wraps the inner
``DetectionModel``: forward returns the decoded predictions ``(B, 4 + nc, anchors)`` (boxes, then
sigmoid class scores) and it refuses to be put into training mode.

The library's own ``__call__`` min-max scales each map to ``[0, 1]`` and resizes it to the input;
GRACE needs the raw values (one global normalisation over several models, the paper's Figure 3),
and the maps at feature resolution (they are cropped to the letterbox, then resized to the image).
:func:`raw_class` therefore derives from the library's class and replaces only its two scaling
steps (``compute_cam_per_layer`` and ``aggregate_multi_layers``): the forward, the hooks, the
backward pass and the method's ``get_cam_image`` are the library's. Principal-component maps get
the sign convention of :func:`grace.explain.eigencam.orient` before the library's ReLU.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from torch import nn

from grace.errors import GraceError
from grace.explain.eigencam import orient
from grace.explain.options import GRADIENT_METHODS, METHOD_NAMES

__all__ = ["DetectionScoreTarget", "DetectorOutput", "RawCam", "raw_cam", "raw_class"]

#: Ultralytics' predict IoU default: the target keeps the boxes ``predict`` would draw.
PREDICT_IOU = 0.7


class DetectorOutput(nn.Module):
    """A detection model whose forward returns one tensor, and that never trains.

    Parameters
    ----------
    net : nn.Module
        The inner ``DetectionModel`` (in eval mode its forward returns ``(predictions, raw)``).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.training = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[0] if isinstance(out, (tuple, list)) else out

    def train(self, mode: bool = True) -> DetectorOutput:
        """``eval()`` (the library calls it) leaves an eval-mode model untouched; training never."""
        if mode:
            raise RuntimeError("a model explained by CAM is never put into training mode")
        if self.net.training:
            self.net.eval()
        return self


class DetectionScoreTarget:
    """pytorch-grad-cam target: the summed class scores of the detections NMS keeps.

    Called with one image's predictions ``(4 + nc, anchors)``, it runs Ultralytics' NMS (at
    ``conf`` and :data:`PREDICT_IOU`, as ``predict`` does; with ``per_class`` thresholds at the
    lowest of them, then each detection kept at its class's threshold, as
    :class:`grace.infer.thresholds.ClassThresholds` does) on a detached copy, then returns the sum
    over the kept detections of their class score, a differentiable scalar. With no detection the
    sum is 0 and every gradient map is 0 (``kept`` says so).

    Attributes
    ----------
    kept : int or None
        How many detections the last call summed (``None`` before any call).
    """

    def __init__(
        self,
        conf: float,
        iou: float = PREDICT_IOU,
        max_det: int = 300,
        per_class: Mapping[int, float] | None = None,
    ) -> None:
        self.conf, self.iou, self.max_det = float(conf), float(iou), int(max_det)
        self.per_class = {int(c): float(t) for c, t in (per_class or {}).items()}
        self.kept: int | None = None

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        from ultralytics.utils.nms import non_max_suppression

        with torch.no_grad():
            dets, keep = non_max_suppression(
                output.detach()[None].float(),
                min([self.conf, *self.per_class.values()]),
                self.iou,
                max_det=self.max_det,
                return_idxs=True,
            )
        anchors = keep[0].view(-1).long()
        classes = dets[0][:, 5].long()
        if self.per_class:
            limit = torch.full_like(dets[0][:, 4], self.conf)
            for c, t in self.per_class.items():
                limit[classes == c] = t
            mine = dets[0][:, 4] >= limit
            anchors, classes = anchors[mine], classes[mine]
        self.kept = int(anchors.numel())
        return output[4 + classes, anchors].sum()


def _projected_activations(acts: np.ndarray, grads: np.ndarray | None) -> np.ndarray:
    return acts


def _projected_grad_activations(acts: np.ndarray, grads: np.ndarray | None) -> np.ndarray:
    return grads * acts


#: method -> (pytorch-grad-cam class name, what its SVD projects, or None without an SVD)
_METHODS: dict[str, tuple[str, Callable | None]] = {
    "eigencam": ("EigenCAM", _projected_activations),
    "eigengradcam": ("EigenGradCAM", _projected_grad_activations),
    "layercam": ("LayerCAM", None),
    "gradcam++": ("GradCAMPlusPlus", None),
}


class _RawMaps:
    """Mixin over a pytorch-grad-cam ``BaseCAM`` subclass: each layer's map un-scaled, at the
    feature map's resolution, oriented (principal-component methods) before the ReLU."""

    _projected: Callable | None = None
    feature_shape: tuple[int, ...] = ()

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):
        acts = [a.float().numpy() for a in self.activations_and_grads.activations]
        grads = [g.float().numpy() for g in self.activations_and_grads.gradients]
        per_layer = []
        for i, layer in enumerate(self.target_layers):
            a = acts[i] if i < len(acts) else None
            g = grads[i] if i < len(grads) else None
            if a is None or (self.uses_gradients and g is None):
                raise RuntimeError("the target layer was not reached by the forward/backward pass")
            self.feature_shape = tuple(a.shape[1:])
            projected = self._projected(a, g) if self._projected is not None else None
            cams = self.get_cam_image(input_tensor, layer, targets, a.copy(), g, eigen_smooth)
            if projected is not None:
                cams = np.stack([orient(c, p) for c, p in zip(cams, projected, strict=True)])
            per_layer.append(np.maximum(cams, 0)[:, None])
        return per_layer

    def aggregate_multi_layers(self, cam_per_target_layer):
        return np.maximum(np.concatenate(cam_per_target_layer, axis=1), 0).mean(axis=1)


@cache
def raw_class(method: str) -> type:
    """The pytorch-grad-cam class of ``method`` with :class:`_RawMaps` in front of it."""
    import pytorch_grad_cam

    name, projected = _METHODS[method]
    base = getattr(pytorch_grad_cam, name)
    return type(f"Raw{name}", (_RawMaps, base), {"_projected": staticmethod(projected)})


@dataclass
class RawCam:
    """One map of one image by one method.

    Attributes
    ----------
    cam : numpy.ndarray, (h, w) float32
        Un-normalised, non-negative, at the feature map's resolution.
    feature_shape : tuple of int
        ``(C, h, w)`` of the target layer's output.
    targets : int or None
        Gradient methods: how many detections the target summed; ``None`` for Eigen-CAM.
    """

    cam: np.ndarray
    feature_shape: tuple[int, ...]
    targets: int | None


def _feature_map_only(description: str) -> Callable:
    def check(output):
        if not (isinstance(output, torch.Tensor) and output.ndim == 4):
            raise GraceError(
                f"{description}: its output is {type(output).__name__}, not a feature map; "
                "pick an earlier --layer"
            )
        return output

    return check


def raw_cam(
    method: str,
    net: nn.Module,
    layer: nn.Module,
    x: torch.Tensor,
    conf: float,
    description: str = "the target layer",
    per_class: Mapping[int, float] | None = None,
) -> RawCam:
    """Run one pytorch-grad-cam method on one letterboxed input.

    Parameters
    ----------
    method : str
        One of :data:`grace.explain.options.METHOD_NAMES`.
    net : nn.Module
        The inner detection model, in eval mode (it stays so).
    layer : nn.Module
        The module whose output is explained (a 4-D feature map).
    x : torch.Tensor, (1, 3, H, W)
        The network input, on the model's device and in its dtype.
    conf : float
        Gradient methods: the confidence of the detections whose class scores are the target.
    description : str
        The layer in words, for the error raised when its output is not a feature map.
    per_class : mapping of int to float, optional
        Gradient methods: own thresholds of some classes (by class index), ``conf`` for the rest.

    Returns
    -------
    RawCam
    """
    if method not in METHOD_NAMES:
        raise GraceError(f"--method {method}: use one of {', '.join(METHOD_NAMES)}")
    cam = raw_class(method)(
        DetectorOutput(net), [layer], reshape_transform=_feature_map_only(description)
    )
    try:
        if method in GRADIENT_METHODS:
            target = DetectionScoreTarget(conf, per_class=per_class)
            with torch.enable_grad():
                maps = cam(x.detach().clone().requires_grad_(True), [target])
            net.zero_grad(set_to_none=True)
            kept = target.kept
        else:
            with torch.inference_mode():
                maps = cam(x, [])
            kept = None
    finally:
        cam.activations_and_grads.release()
    return RawCam(np.asarray(maps[0], np.float32), cam.feature_shape, kept)
