"""The Eigen-CAM tab's work, free of Qt: what to compute (:class:`CamRequest`), the job that
loads checkpoints (cached by path) and computes the maps (by the CAM method chosen, Eigen-CAM by
default) and detections through the engine
(:func:`run_job`), what comes back (:class:`CamResult`) and the cheap re-render of the composite
from the cached maps (:func:`render_composite`).

The figure is the one ``grace cam`` writes (:func:`grace.explain.figure.run_cam`): input image,
one overlay per checkpoint, one global normalisation, a colour bar labelled with the raw range.
Torch and Ultralytics are imported on first use only (in the worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grace.errors import GraceError
from grace.explain.options import DEFAULT_METHOD, METHOD_LABELS

__all__ = [
    "MAX_CHECKPOINTS",
    "CamRequest",
    "CamResult",
    "ModelCache",
    "refusal",
    "render_composite",
    "run_job",
    "write_png",
]

#: Side-by-side panels of one comparison (the issue: "up to four checkpoints").
MAX_CHECKPOINTS = 4


class Stopped(Exception):
    """The tab no longer wants this result (it is closing)."""


def refusal(selected: Sequence[str], path: str, limit: int = MAX_CHECKPOINTS) -> str:
    """Why ``path`` cannot join the checkpoints ``selected`` (``""`` when it can)."""
    if not Path(path).is_file():
        return f"{path}: file not found"
    if path in selected:
        return f"{Path(path).name} is already in the comparison"
    if len(selected) >= limit:
        return f"At most {limit} checkpoints: remove one before adding {Path(path).name}"
    return ""


@dataclass(frozen=True)
class CamRequest:
    """One comparison: an image (a file, or an array with its name), checkpoints, a layer and a
    CAM method (:data:`grace.explain.options.METHOD_NAMES`)."""

    weights: tuple[str, ...]
    image_path: str | None = None
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    image_name: str = ""
    layer: int | None = None
    device: str = "cpu"
    conf: float = 0.25
    method: str = DEFAULT_METHOD

    @property
    def name(self) -> str:
        return Path(self.image_path).name if self.image_path else self.image_name or "frame"


@dataclass
class CamResult:
    """What one job computed; :func:`render_composite` draws it at any opacity."""

    request: CamRequest
    image: np.ndarray  # BGR uint8, the input
    weights: list[str]  # the checkpoints that loaded, in panel order
    titles: list[str]
    cams: list  # grace.explain.cam.CamMap, one per checkpoint
    detections: list  # grace.explain.render.Detections, one per checkpoint
    value_range: tuple[float, float]  # the one global raw (min, max) over all maps
    maps01: list[np.ndarray]  # the maps normalised with value_range
    imgsz: int
    layers: list[tuple[int, str]]  # what can be chosen: (index, "model.N (Type)")
    failed: list[tuple[str, str]] = field(default_factory=list)  # (checkpoint, one-line reason)
    seconds: float = 0.0


class ModelCache:
    """Loaded checkpoints by (path, modification time, device): a new image, a new layer or an
    opacity change never reloads; a checkpoint rewritten on disk (a new best.pt) does."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, float, str], object] = {}
        self._lock = threading.Lock()
        self.loads = 0

    @staticmethod
    def _key(path: str, device: str) -> tuple[str, float, str]:
        p = Path(path)
        return str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0, device

    def get(self, path: str, device: str):
        from grace.explain.figure import load_models

        key = self._key(path, device)
        with self._lock:
            if key not in self._models:
                self._models = {k: v for k, v in self._models.items() if k[0] != key[0]}
                self._models[key] = load_models([path], device)[0]
                self.loads += 1
            return self._models[key]

    def __len__(self) -> int:
        return len(self._models)


def layer_choices(models: Sequence) -> list[tuple[int, str]]:
    """The layers every model has, as ``(index, description)`` in :func:`resolve_layer`'s
    words for the first model (``"model.16 (C3k2)"``)."""
    from grace.explain.layers import inner_module, resolve_layer

    n = min(len(inner_module(m).model) for m in models)
    return [(i, resolve_layer(models[0], i).description) for i in range(n)]


def run_job(request: CamRequest, cache: ModelCache, stop: threading.Event | None = None):
    """Load (or reuse) the checkpoints, compute their Eigen-CAMs and detections on the image.

    Mirrors :func:`grace.explain.figure.run_cam`'s steps (read, load, default imgsz, CAMs,
    detections, one global range) through the engine's functions. A checkpoint that does not
    load is left out and reported in ``failed``; if none loads, the first reason is raised.
    """
    from grace.explain import figure
    from grace.images import read_image

    t0 = time.perf_counter()
    if request.image is not None:
        image = np.ascontiguousarray(request.image)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
    elif request.image_path:
        image = read_image(request.image_path)
    else:
        raise GraceError("no image chosen")
    models, weights, failed = [], [], []
    for w in request.weights:
        if stop is not None and stop.is_set():
            raise Stopped()
        try:
            models.append(cache.get(w, request.device))
            weights.append(w)
        except Exception as e:  # a bad file must not cost the other panels
            msg = str(e) if isinstance(e, GraceError) else f"{w}: {type(e).__name__}: {e}"
            failed.append((w, msg.splitlines()[0] if msg else w))
    if not models:
        raise GraceError(failed[0][1] if failed else "no checkpoint chosen")
    comparison = figure.compare_models(
        image,
        models,
        layer=request.layer,
        detections=True,
        conf=request.conf,
        method=request.method,
    )
    return CamResult(
        request=request,
        image=image,
        weights=weights,
        titles=[figure.default_title(w) for w in weights],
        cams=comparison.cams,
        detections=comparison.detections,
        value_range=comparison.value_range,
        maps01=comparison.maps01,
        imgsz=comparison.imgsz,
        layers=layer_choices(models),
        failed=failed,
        seconds=time.perf_counter() - t0,
    )


def render_composite(
    result: CamResult, opacity: float, detections: bool, colormap: str = "inferno"
) -> np.ndarray:
    """The figure ``grace cam`` writes, from the cached maps (no model is run)."""
    from grace.explain.figure import render_figure

    return render_figure(
        result.image,
        result.maps01,
        result.titles,
        input_title=result.request.name,
        detections=result.detections if detections else None,
        colormap=colormap,
        opacity=opacity,
        value_range=result.value_range,
        method=result.request.method,
    )


def range_text(result: CamResult) -> str:
    """The scale every panel shares, the layers and the input size, one item a line; for the
    gradient methods, what each map explains (and which maps are empty because nothing was
    detected)."""
    lo, hi = result.value_range
    label = METHOD_LABELS.get(result.request.method, result.request.method)
    layers = list(dict.fromkeys(c.layer for c in result.cams))
    text = (
        f"One scale for all {len(result.cams)} panels: raw {label} [{lo:.4g}, {hi:.4g}]\n"
        f"Layer: {'; '.join(layers)}\nNetwork input: {result.imgsz} px"
    )
    targets = [(t, c.targets) for t, c in zip(result.titles, result.cams, strict=True)]
    if any(n is not None for _, n in targets):
        text += f"\nExplained: the class scores of the detections at conf {result.request.conf}"
        empty = [t for t, n in targets if n == 0]
        if empty:
            text += f"\nNo detection, nothing to explain (empty map): {', '.join(empty)}"
    return text


def write_png(figure: np.ndarray, path: str) -> str:
    """Write the composite as PNG (non-ASCII paths too); returns the path."""
    from grace.explain.figure import write_figure

    return str(write_figure(figure, path))
