"""Names a quality engineer understands for the layers of a YOLO11 model (pure, no torch).

``model.16 (C3k2)`` says nothing to someone choosing what a heatmap should explain; "P3 input of
the head" does. The names follow the model's structure, not a table of indices, so that a
YOLO11 of any size (and a plain Ultralytics checkpoint) gets the right ones:

- the *pyramid level* ``Pk`` of a layer is the number of times the image has been halved when it
  reaches it (a stride-2 convolution adds one, an upsampling removes one, a concatenation keeps
  the level of its first input): P3 is 1/8 of the image (small defects), P5 1/32 (large ones);
- layers before ``n_backbone`` are the *backbone* (``backbone P5 (SPPF)``);
- the layers feeding the detection head are its inputs (``P3 input of the head``); with Lite-FEN
  the head refines its P3 input first, so the head's own default layer is ``P3 input of the head
  (after Lite-FEN)`` and the neck layer before it ``P3 neck output (before Lite-FEN)``;
- the other layers are the *neck*: ``top-down`` until its first downsampling (the path that
  brings coarse context to fine levels), ``bottom-up`` after it.

For YOLO11 (``yolo11.yaml``) this gives: 9 ``backbone P5 (SPPF)``, 10 ``backbone P5 (C2PSA)``,
13 ``neck P4 top-down (C3k2)``, 16 ``P3 input of the head``, 19 ``P4 input of the head``, 22 ``P5
input of the head``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["HEAD_P3_AFTER_FEN", "LayerInfo", "layer_levels", "layer_names"]

HEAD_P3_AFTER_FEN = "P3 input of the head (after Lite-FEN)"


@dataclass(frozen=True)
class LayerInfo:
    """What the naming needs of one layer of ``model.model``.

    Attributes
    ----------
    kind : str
        The module's class name (``"Conv"``, ``"C3k2"``, ``"Upsample"``...).
    inputs : tuple of int
        Ultralytics' ``f`` ("from") as absolute indices; ``-1`` for the image (layer 0).
    step : int
        Pyramid levels the layer adds: ``+1`` for a stride-2 convolution, ``-1`` for a 2x
        upsampling, ``0`` otherwise.
    """

    kind: str
    inputs: tuple[int, ...]
    step: int = 0


def layer_levels(layers: Sequence[LayerInfo]) -> list[int]:
    """The pyramid level of each layer's output (``3`` for P3, 1/8 of the image)."""
    levels: list[int] = []
    for i, layer in enumerate(layers):
        first = layer.inputs[0] if layer.inputs else i - 1
        base = levels[first] if 0 <= first < i else 0
        levels.append(base + int(layer.step))
    return levels


def layer_names(
    layers: Sequence[LayerInfo],
    n_backbone: int,
    head_inputs: Sequence[int],
    fen: bool = False,
) -> list[str]:
    """One name per layer of ``layers`` (the last one being the detection head).

    Parameters
    ----------
    layers : sequence of LayerInfo
        ``model.model`` in order.
    n_backbone : int
        How many layers the backbone has (``len(model.yaml["backbone"])``: 11 for YOLO11).
    head_inputs : sequence of int
        The head's inputs (its ``f``, as absolute indices), finest level first.
    fen : bool
        The head has Lite-FEN on its first (P3) input.

    Returns
    -------
    list of str
        E.g. ``"backbone P5 (SPPF)"``, ``"neck P4 top-down (C3k2)"``, ``"P3 input of the head"``;
        the last layer is ``"detection head (Detect)"``.
    """
    n = len(layers)
    levels = layer_levels(layers)
    inputs = {int(j): k for k, j in enumerate(head_inputs)}  # layer -> which head input
    neck_down = next(
        (i for i in range(n_backbone, n - 1) if layers[i].step > 0), n - 1
    )  # the first downsampling of the neck ends the top-down path
    names = []
    for i, layer in enumerate(layers):
        p = f"P{levels[i]}"
        if i == n - 1:
            names.append(f"detection head ({layer.kind})")
        elif i in inputs:
            if fen and inputs[i] == 0:
                names.append(f"{p} neck output (before Lite-FEN)")
            else:
                names.append(f"{p} input of the head")
        elif i < n_backbone:
            names.append(f"backbone {p} ({layer.kind})")
        else:
            path = "top-down" if i < neck_down else "bottom-up"
            names.append(f"neck {p} {path} ({layer.kind})")
    return names
