"""Explanations: CAM heatmaps of one or several models, side by side (paper, Figure 3).

The maps come from pytorch-grad-cam (Eigen-CAM by default; Eigen-Grad-CAM, LayerCAM and
Grad-CAM++ on the detections' class scores). Small, Qt-free pieces the CLI (``grace cam``) and
the GUI share:

- :func:`raw_cam`: one library method on one model, the raw map at feature resolution;
- :func:`orient` (pure): the sign convention of a principal-component map;
- :func:`resolve_layer`: the target layer (default: P3 input of the head, after Lite-FEN);
- :func:`compute_cams`: one CAM per model, raw maps at image size plus timings;
- :func:`normalize_global` (pure): one min-max over all maps;
- :func:`overlay`, :func:`compose`, :func:`draw_detections`, :func:`colorbar` (pure drawing);
- :func:`render_figure`, :func:`run_cam`: the whole figure.

Importing this package does not import torch or Ultralytics; the names are loaded on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "orient": "grace.explain.eigencam",
    "raw_cam": "grace.explain.methods",
    "global_range": "grace.explain.eigencam",
    "normalize_global": "grace.explain.eigencam",
    "TargetLayer": "grace.explain.layers",
    "resolve_layer": "grace.explain.layers",
    "CamMap": "grace.explain.cam",
    "compute_cams": "grace.explain.cam",
    "detect": "grace.explain.cam",
    "letterbox": "grace.explain.cam",
    "Detections": "grace.explain.render",
    "colorbar": "grace.explain.render",
    "colorize": "grace.explain.render",
    "compose": "grace.explain.render",
    "draw_detections": "grace.images",
    "overlay": "grace.explain.render",
    "load_models": "grace.explain.figure",
    "render_figure": "grace.explain.figure",
    "run_cam": "grace.explain.figure",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
