"""Which module's output Eigen-CAM looks at, and capturing it with a forward hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

from grace.errors import GraceError
from grace.explain.layer_names import HEAD_P3_AFTER_FEN, LayerInfo, layer_names

__all__ = [
    "TargetLayer",
    "capture_output",
    "inner_module",
    "layer_choices",
    "resolve_layer",
    "target_name",
]


@dataclass
class TargetLayer:
    """The module whose output is explained.

    Attributes
    ----------
    module : nn.Module
        The hooked module (its forward output must be a 4-D feature map).
    index : int
        Index in ``model.model`` (for the Lite-FEN default: the Detect head's index).
    description : str
        Human-readable, e.g. ``"model.23.fen (P3 after Lite-FEN)"``.
    """

    module: nn.Module
    index: int
    description: str


def inner_module(model) -> nn.Module:
    """The ``nn.Module`` to run: ``YOLO(...).model`` for an Ultralytics ``YOLO``/``Model``.

    Never returns (or calls) the ``YOLO`` wrapper itself (it is an ``nn.Module`` too): calling
    it runs its predictor, and its ``train`` starts a training run (pytorch-grad-cam issue 507).
    """
    m = model
    for _ in range(3):  # YOLO -> DetectionModel (the one holding the layer list)
        if isinstance(m, nn.Module) and isinstance(getattr(m, "model", None), nn.Sequential):
            return m
        inner = getattr(m, "model", None)
        if not isinstance(inner, nn.Module):
            break
        m = inner
    if isinstance(m, nn.Module):
        return m
    raise TypeError(f"expected a torch model or an Ultralytics YOLO, got {type(model).__name__}")


def _layers(net: nn.Module) -> nn.Sequential:
    seq = getattr(net, "model", None)
    if not isinstance(seq, nn.Sequential) or len(seq) == 0:
        raise GraceError(
            f"{type(net).__name__}: not an Ultralytics model (no layer list `model.model`)"
        )
    return seq


def resolve_layer(model, layer: int | None = None) -> TargetLayer:
    """Find the target layer of a YOLO model.

    Parameters
    ----------
    model : DetectionModel or YOLO
        A baseline, GRACE (Lite-FEN) or plain Ultralytics detection model.
    layer : int, optional
        Index ``N`` into ``model.model`` (negative counts from the end): the output of layer
        ``N``. Default: the P3 input of the detection head, i.e. the output of layer
        ``head.f[0]``, or, when the head has Lite-FEN, the output of ``head.fen`` (after
        Lite-FEN).

    Returns
    -------
    TargetLayer

    Raises
    ------
    GraceError
        ``layer`` out of range, or no default because the last layer is not a detection head.
    """
    net = inner_module(model)
    seq = _layers(net)
    n = len(seq)
    if layer is not None:
        i = int(layer)
        if not -n <= i < n:
            raise GraceError(f"--layer {layer}: out of range, the model has layers 0..{n - 1}")
        i %= n
        return TargetLayer(seq[i], i, f"model.{i} ({type(seq[i]).__name__})")
    head = seq[-1]
    f = getattr(head, "f", None)
    if not isinstance(f, (list, tuple)) or len(f) < 1 or not hasattr(head, "stride"):
        raise GraceError(
            f"{type(head).__name__}: the last layer is not a detection head; pick --layer N"
        )
    hi = n - 1
    fen = getattr(head, "fen", None)
    if isinstance(fen, nn.Module):
        return TargetLayer(fen, hi, f"model.{hi}.fen (P3 after Lite-FEN)")
    p3 = int(f[0])
    if p3 < 0:  # Ultralytics "from" indices may be relative: -1 is the layer before the head
        p3 += hi
    return TargetLayer(seq[p3], p3, f"model.{p3} (P3 input of {type(head).__name__})")


def _step(module: nn.Module) -> int:
    """+1 for a stride-2 convolution, -1 for a 2x upsampling, else 0 (see :class:`LayerInfo`)."""
    conv = getattr(module, "conv", None)
    stride = getattr(conv, "stride", None) if isinstance(conv, nn.Module) else None
    if isinstance(stride, (tuple, list)) and stride and int(stride[0]) > 1:
        return max(1, int(stride[0]).bit_length() - 1)
    scale = getattr(module, "scale_factor", None)
    if isinstance(module, nn.Upsample) and scale:
        return -max(1, int(float(scale)).bit_length() - 1)
    return 0


def _names(net: nn.Module) -> list[str]:
    seq = _layers(net)
    infos = []
    for i, m in enumerate(seq):
        f = getattr(m, "f", -1)
        f = [f] if isinstance(f, int) else list(f)
        infos.append(
            LayerInfo(type(m).__name__, tuple(j + i if j < 0 else j for j in f), _step(m))
        )
    yaml = getattr(net, "yaml", None)
    n_backbone = len(yaml.get("backbone", [])) if isinstance(yaml, dict) else 0
    head = seq[-1]
    f = getattr(head, "f", None)
    inputs = [j + len(seq) - 1 if j < 0 else j for j in f] if isinstance(f, (list, tuple)) else []
    fen = isinstance(getattr(head, "fen", None), nn.Module)
    return layer_names(infos, n_backbone, inputs, fen)


def layer_choices(model) -> list[tuple[int, str]]:
    """The layers a CAM can explain (every layer but the head), as ``(index, name)`` with the
    names of :func:`grace.explain.layer_names.layer_names` (``"backbone P5 (SPPF)"``)."""
    names = _names(inner_module(model))
    return list(enumerate(names[:-1]))


def target_name(model, layer: int | None = None) -> str:
    """The name of the layer :func:`resolve_layer` picks: ``"P3 input of the head (after
    Lite-FEN)"`` for GRACE's default, ``"P3 input of the head"`` for a plain model's."""
    target = resolve_layer(model, layer)
    net = inner_module(model)
    if target.module is getattr(_layers(net)[-1], "fen", None):
        return HEAD_P3_AFTER_FEN
    return _names(net)[target.index]


@contextmanager
def capture_output(module: nn.Module) -> Iterator[list]:
    """Collect ``module``'s forward outputs in a list while the context is open.

    The forward hook is removed on exit, even after an error, so a model is never left hooked.
    """
    outputs: list = []
    handle = module.register_forward_hook(lambda _m, _i, out: outputs.append(out))
    try:
        yield outputs
    finally:
        handle.remove()
