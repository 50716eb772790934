"""The Eigen-CAM session's job, free of Qt: what to compute (:class:`CamRequest`), the job that
loads checkpoints (cached by path and modification time) and computes the maps (by the CAM method
chosen, Eigen-CAM by default) and the detections at the Inference tab's thresholds through the
engine (:func:`run_job`), and what comes back (:class:`CamResult`).

The figure is the one ``grace cam`` writes (:func:`grace.explain.figure.run_cam`): input image,
one overlay per checkpoint, one global normalisation, a colour bar labelled with the raw range.
Torch and Ultralytics are imported on first use only (in the worker).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grace.errors import GraceError
from grace.explain.options import DEFAULT_CONF, DEFAULT_METHOD, METHOD_LABELS

__all__ = [
    "MAX_CHECKPOINTS",
    "CamRequest",
    "CamResult",
    "ModelCache",
    "Stopped",
    "cam_checkpoint",
    "checkpoint_labels",
    "range_text",
    "refusal",
    "run_job",
    "same_file",
]

#: Side-by-side panels of one comparison (the issue: "up to four checkpoints").
MAX_CHECKPOINTS = 4


class Stopped(Exception):
    """Nobody wants this result any more (the session is shutting down)."""


def same_file(a: str, b: str) -> bool:
    """``a`` and ``b`` name one file (a relative path, a symbolic link and the real path do)."""
    return os.path.realpath(a) == os.path.realpath(b)


def cam_checkpoint(path: str) -> tuple[str, str]:
    """The PyTorch checkpoint Eigen-CAM reads for ``path`` and ``""``, or ``""`` and why there is
    none (one line).

    A ``.pt`` (or any file the engine does not know as a model: its loading says what is wrong)
    is itself; a model package folder that holds its checkpoint is its ``model.pt``. An exported
    model (an OpenVINO folder or one of its files, an ``.onnx``) has no layers to read, nor has a
    package without a ``.pt``: refused with :data:`grace.deploy.runtime.NEEDS_PT`. A zipped
    package is refused too (its ``.pt`` would be read from a temporary folder that is gone at the
    next start): it says to unzip it and choose its ``model.pt``.
    """
    from grace.deploy.runtime import NEEDS_PT, model_kind, resolve_model

    kind = model_kind(path)
    if kind in ("openvino", "onnx"):
        return "", f"{path}: an exported {kind} model; Eigen-CAM {NEEDS_PT} it was exported from"
    if kind != "package":
        return str(path), ""
    if Path(path).is_file():
        return "", (f"{path}: a zipped model package; Eigen-CAM {NEEDS_PT}: unzip it and choose "
                    "its model.pt")  # fmt: skip
    try:
        ref = resolve_model(path, prefer="pt")  # checks the package's files against package.json
    except GraceError as e:
        return "", str(e).splitlines()[0]
    if ref.kind != "pt":
        return "", (f"{path}: a model package without its model.pt; Eigen-CAM {NEEDS_PT} it was "
                    "built from")  # fmt: skip
    return str(ref.weights), ""


def refusal(selected: Sequence[str], path: str, limit: int = MAX_CHECKPOINTS) -> str:
    """Why ``path`` cannot join the checkpoints ``selected`` (``""`` when it can)."""
    if not Path(path).is_file():
        return f"{path}: file not found"
    if any(same_file(path, p) for p in selected):
        return f"{path}: already in the comparison"
    if len(selected) >= limit:
        return f"At most {limit} checkpoints: remove one before adding {path}"
    return ""


def _title(path: str) -> str:
    """``RUN/best.pt`` inside a run directory, else the file name (``grace cam``'s titles)."""
    p = Path(path)
    if p.parent.name == "weights" and p.parent.parent.name:
        return f"{p.parent.parent.name}/{p.name}"
    return p.name


def checkpoint_labels(paths: Sequence[str]) -> list[str]:
    """One label per checkpoint that tells them apart: ``RUN/best.pt`` (the run's name), and
    where two would read the same, the folder too (``RUN/best.pt — /runs/a/RUN/weights``)."""
    titles = [_title(p) for p in paths]
    return [
        f"{t} — {Path(p).parent}" if titles.count(t) > 1 else t
        for p, t in zip(paths, titles, strict=True)
    ]


@dataclass(frozen=True)
class CamRequest:
    """One comparison: an image (a file, or an array with its name), checkpoints, a layer, a CAM
    method (:data:`grace.explain.options.METHOD_NAMES`) and the detection thresholds (a global
    one and own ones by class name)."""

    weights: tuple[str, ...]
    image_path: str | None = None
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    image_name: str = ""
    layer: int | None = None
    device: str = "cpu"
    conf: float = DEFAULT_CONF
    class_conf: Mapping[str, float] = field(default_factory=dict)
    method: str = DEFAULT_METHOD

    @property
    def name(self) -> str:
        return Path(self.image_path).name if self.image_path else self.image_name or "frame"


@dataclass
class CamResult:
    """What one job computed; the session draws it at any size, opacity and colormap."""

    request: CamRequest
    image: np.ndarray  # BGR uint8, the input
    weights: list[str]  # the checkpoints that loaded, in panel order
    titles: list[str]
    cams: list  # grace.explain.cam.CamMap, one per checkpoint
    detections: list  # grace.explain.render.Detections, one per checkpoint
    value_range: tuple[float, float]  # the one global raw (min, max) over all maps
    maps01: list[np.ndarray]  # the maps normalised with value_range
    imgsz: int
    layers: list[tuple[int, str]]  # what can be chosen: (index, "backbone P5 (SPPF)")
    layer_names: list[str]  # the layer explained in each model, in words
    default_layer: str  # what the default layer is called for these models
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


def _read(request: CamRequest) -> np.ndarray:
    from grace.images import read_image

    if request.image is not None:
        image = np.ascontiguousarray(request.image)
        return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    if request.image_path:
        return read_image(request.image_path)  # GraceError "<path>: <reason>"
    raise GraceError("no image chosen")


def run_job(request: CamRequest, cache: ModelCache, stop: threading.Event | None = None):
    """Load (or reuse) the checkpoints, compute their CAMs and detections on the image.

    Mirrors :func:`grace.explain.figure.run_cam`'s steps (read, load, default imgsz, CAMs,
    detections, one global range) through the engine's functions. A checkpoint that does not
    load is left out and reported in ``failed``; if none loads, the first reason is raised.

    Raises
    ------
    GraceError
        One line naming the file: an unreadable image, or no checkpoint that loads.
    Stopped
        ``stop`` was set (the session is shutting down).
    """
    from grace.explain import figure
    from grace.explain.layer_names import HEAD_P3_AFTER_FEN
    from grace.explain.layers import layer_choices, target_name

    t0 = time.perf_counter()
    image = _read(request)
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
        class_conf=request.class_conf,
    )
    names = [target_name(m, request.layer) for m in models]
    choices = [layer_choices(m) for m in models]
    n = min(len(c) for c in choices)
    fen = HEAD_P3_AFTER_FEN in [target_name(m) for m in models]
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
        layers=choices[0][:n],
        layer_names=names,
        default_layer=HEAD_P3_AFTER_FEN if fen else "P3 input of the head",
        failed=failed,
        seconds=time.perf_counter() - t0,
    )


def thresholds_text(conf: float, class_conf: Mapping[str, float]) -> str:
    """``0.25`` or ``0.25; patches 0.40, scratches 0.10`` (the global, then own ones)."""
    own = ", ".join(f"{k} {v:.2f}" for k, v in sorted(class_conf.items()))
    return f"{conf:.2f}" + (f"; {own}" if own else "")


def range_text(result: CamResult) -> str:
    """The scale every panel shares, the layer explained, the input size and the thresholds, one
    item a line; for the gradient methods, what each map explains (and which maps are empty
    because nothing was detected)."""
    lo, hi = result.value_range
    r = result.request
    label = METHOD_LABELS.get(r.method, r.method)
    names = list(dict.fromkeys(result.layer_names))
    layers = names[0] if len(names) == 1 else "; ".join(
        f"{t}: {n}" for t, n in zip(result.titles, result.layer_names, strict=True)
    )
    th = thresholds_text(r.conf, r.class_conf)
    counts = ", ".join(f"{t} {len(d)}" for t, d in zip(result.titles, result.detections,
                                                        strict=True))  # fmt: skip
    text = (
        f"One scale for all {len(result.cams)} panels: raw {label} [{lo:.4g}, {hi:.4g}]\n"
        f"Layer: {layers}\nNetwork input: {result.imgsz} px\n"
        f"Detections at the Inference tab's thresholds ({th}): {counts}"
    )
    targets = [(t, c.targets) for t, c in zip(result.titles, result.cams, strict=True)]
    if any(n is not None for _, n in targets):
        text += "\nExplained: the class scores of these detections"
        empty = [t for t, n in targets if n == 0]
        if empty:
            text += f"\nNo detection, nothing to explain (empty map): {', '.join(empty)}"
    return text
