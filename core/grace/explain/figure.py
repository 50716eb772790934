"""The paper's Figure 3 for any image and any set of models: ``grace cam`` end to end.

I/O lives here (reading the image with :func:`grace.images.read_image`, opening checkpoints,
writing the PNG and the raw maps); the maths is in :mod:`grace.explain.eigencam`, the drawing
in :mod:`grace.explain.render` and :func:`grace.images.draw_detections`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from grace.argcheck import check_device
from grace.errors import GraceError
from grace.explain.cam import CamMap, compute_cams, detect
from grace.explain.eigencam import global_range, normalize_global
from grace.explain.layers import inner_module
from grace.explain.options import (
    DEFAULT_COLORMAP,
    DEFAULT_CONF,
    DEFAULT_METHOD,
    DEFAULT_OPACITY,
    METHOD_LABELS,
    METHOD_NAMES,
)
from grace.explain.render import (
    COLORMAPS,
    Detections,
    colorbar,
    compose,
    overlay,
    panel_shape,
)
from grace.fileio import atomic_write_bytes, atomic_write_with
from grace.images import draw_detections, read_image

__all__ = [
    "FIGURE_SUFFIXES",
    "Comparison",
    "compare_models",
    "default_imgsz",
    "default_title",
    "load_models",
    "raw_path",
    "render_figure",
    "run_cam",
    "write_figure",
]

FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def default_title(weights: str | Path) -> str:
    """``RUN/best.pt`` for a checkpoint inside a run directory, else the file name."""
    p = Path(weights)
    if p.parent.name == "weights" and p.parent.parent.name:
        return f"{p.parent.parent.name}/{p.name}"
    return p.name


def raw_path(out: str | Path) -> Path:
    """Where ``--save-raw`` writes: ``FILE_raw.npy`` beside ``FILE.png``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_raw.npy")


def _device(device: str):
    import torch

    d = str(device or "").strip().lower()
    if not d:
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if d.isdigit():
        d = f"cuda:{d}"
    try:
        dev = torch.device(d)
    except RuntimeError:
        raise GraceError(f"--device {device}: not a device (use cpu, 0, cuda:0)") from None
    if dev.type == "cuda":
        check_device(device)  # GPU count checked in one place
    return dev


def load_models(weights: Sequence[str | Path], device: str = "") -> list:
    """Open checkpoints (GRACE, baseline or plain Ultralytics) as ``YOLO`` objects on a device.

    Each model stays in eval mode (as loaded); an unreadable file raises a one-line
    :class:`GraceError` naming it.
    """
    from grace.nn.checkpoint import load_yolo

    dev = _device(device)
    models = []
    for w in weights:
        y = load_yolo(w)
        inner_module(y).to(dev).eval()
        models.append(y)
    return models


def default_imgsz(model, fallback: int = 640) -> int:
    """The image size a checkpoint was trained at (what its ``predict`` uses by default)."""
    args = getattr(inner_module(model), "args", None) or {}
    v = args.get("imgsz") if isinstance(args, dict) else getattr(args, "imgsz", None)
    if isinstance(v, (list, tuple)) and v:
        v = max(v)
    try:
        return int(v) if v else fallback
    except (TypeError, ValueError):
        return fallback


def render_figure(
    image: np.ndarray,
    maps01: Sequence[np.ndarray],
    titles: Sequence[str],
    input_title: str = "input",
    detections: Sequence[Detections | None] | None = None,
    colormap: str = DEFAULT_COLORMAP,
    opacity: float = DEFAULT_OPACITY,
    panel_height: int | None = None,
    value_range: tuple[float, float] | None = None,
    method: str = DEFAULT_METHOD,
) -> np.ndarray:
    """Input image, then one overlay per model, side by side; optionally a colour bar.

    Parameters
    ----------
    image : numpy.ndarray
        BGR ``uint8`` input.
    maps01 : sequence of numpy.ndarray
        Globally normalised heatmaps (:func:`~grace.explain.eigencam.normalize_global`), each of
        the image's height and width.
    titles : sequence of str
        One per map.
    input_title : str
        Title of the first panel.
    detections : sequence of Detections or None, optional
        One per map (``None`` entries draw nothing).
    colormap, opacity : str, float
        The same for every panel.
    panel_height : int, optional
        See :func:`~grace.explain.render.panel_shape`.
    value_range : (float, float), optional
        The global raw ``(min, max)``; when given, a colour bar labelled with it and with the
        method's name (e.g. ``Eigen-CAM``) is appended.
    method : str
        The CAM method the maps come from (its label names the colour bar's values).

    Returns
    -------
    numpy.ndarray
        BGR ``uint8``; width ``(1 + len(maps01)) * panel_w + len(maps01) * GAP`` (plus
        ``GAP + colour bar width`` with ``value_range``).
    """
    if len(maps01) != len(titles):
        raise ValueError(f"{len(maps01)} maps but {len(titles)} titles")
    ph, pw = panel_shape(image.shape[:2], panel_height)
    interp = cv2.INTER_AREA if ph < image.shape[0] else cv2.INTER_LINEAR
    base = cv2.resize(image, (pw, ph), interpolation=interp)
    scale = pw / image.shape[1]
    panels, names = [base], [input_title]
    for i, (m, t) in enumerate(zip(maps01, titles, strict=True)):
        heat = cv2.resize(np.asarray(m, np.float32), (pw, ph), interpolation=cv2.INTER_LINEAR)
        panel = overlay(base, heat, colormap, opacity)
        d = detections[i] if detections is not None else None
        if d is not None and len(d):
            panel = draw_detections(panel, d.xyxy, d.cls, d.conf, d.names, scale=scale)
        panels.append(panel)
        names.append(t)
    if value_range is not None:
        label = METHOD_LABELS.get(method, method)
        panels.append(colorbar(ph, value_range[0], value_range[1], colormap, label=label))
        names.append("")
    return compose(panels, names)


@dataclass
class Comparison:
    """Several models' CAMs of one image on one scale: what a figure is drawn from."""

    cams: list[CamMap]
    detections: list[Detections] | None  # each model's boxes, when asked for
    value_range: tuple[float, float]  # the global raw range every panel shares
    maps01: list[np.ndarray]  # the raw maps scaled by that one range
    imgsz: int
    method: str = DEFAULT_METHOD


def compare_models(
    image: np.ndarray,
    models: Sequence,
    layer: int | None = None,
    imgsz: int | None = None,
    detections: bool = False,
    conf: float = DEFAULT_CONF,
    method: str = DEFAULT_METHOD,
) -> Comparison:
    """CAMs of ``models`` on ``image`` (BGR) by one method at one input size (default: the first
    model's training size), optionally their detections, normalised with one global range.

    ``conf`` is both the confidence of the detections drawn and, for the gradient methods, that of
    the detections whose class scores are the target: the boxes shown are the ones explained."""
    if method not in METHOD_NAMES:
        raise GraceError(f"--method {method}: use one of {', '.join(METHOD_NAMES)}")
    size = int(imgsz) if imgsz else default_imgsz(models[0])
    if size < 32:
        raise GraceError(f"--imgsz {size}: must be at least 32")
    cams = compute_cams(image, models, layer=layer, imgsz=size, method=method, conf=conf)
    dets = [detect(m, image, size, conf) for m in models] if detections else None
    raws = [c.raw for c in cams]
    lo, hi = global_range(raws)
    return Comparison(cams, dets, (lo, hi), normalize_global(raws, lo, hi), size, method)


def write_figure(figure: np.ndarray, out: str | Path) -> Path:
    """Write ``figure`` (BGR) as ``out`` (its suffix picks the format; non-ASCII paths too)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(out.suffix.lower(), figure)
    if not ok:
        raise GraceError(f"{out}: could not encode the figure")
    atomic_write_bytes(out, buf.tobytes())
    return out


def run_cam(
    image: str | Path,
    weights: Sequence[str | Path],
    out: str | Path,
    layer: int | None = None,
    imgsz: int | None = None,
    device: str = "",
    detections: bool = False,
    conf: float = DEFAULT_CONF,
    colormap: str = DEFAULT_COLORMAP,
    opacity: float = DEFAULT_OPACITY,
    titles: Sequence[str] | None = None,
    save_raw: bool = False,
    show_colorbar: bool = True,
    method: str = DEFAULT_METHOD,
) -> dict:
    """CAM figure of several models on one image (the paper's Figure 3), written to ``out``.

    Parameters
    ----------
    image : path
        The input image.
    weights : sequence of paths
        Checkpoints, in panel order.
    out : path
        The figure (``.png``; ``.jpg`` also accepted). Parent folders are created.
    layer : int, optional
        ``model.model[layer]`` for every model; default the P3 input of the head (after Lite-FEN).
    imgsz : int, optional
        Network input size for every model; default: the first checkpoint's training size.
    device : str
        ``cpu``, ``0``, ``cuda:0``; default CUDA when available.
    detections : bool
        Draw each model's ``predict`` boxes (at ``conf``) on its panel.
    colormap, opacity : str, float
        Applied identically to every panel.
    titles : sequence of str, optional
        Panel titles, one per checkpoint (default :func:`default_title`).
    save_raw : bool
        Also write the raw maps to :func:`raw_path` as one float32 array ``(M, H, W)``: model
        ``i`` (in ``weights`` order) at index ``i``, at the image's height and width.
    show_colorbar : bool
        Append a colour bar labelled with the global raw range and the method.
    method : str
        ``eigencam`` (default, the paper's Figure 3), ``eigengradcam``, ``layercam`` or
        ``gradcam++``: pytorch-grad-cam's methods; the gradient ones explain the summed class
        scores of each model's detections at ``conf``.

    Returns
    -------
    dict
        ``image``, ``out``, ``raw`` (path or None), ``size`` ([width, height] of the figure),
        ``method``, ``imgsz``, ``device``, ``colormap``, ``opacity``, ``global_min``,
        ``global_max`` and ``models``: per checkpoint ``weights``, ``title``, ``layer``,
        ``layer_index``, ``feature_shape``, ``time_ms``, ``raw_min``, ``raw_max``,
        ``detections`` (count or None), ``targets`` (gradient methods: how many detections the
        target summed, 0 meaning an all-zero map; None for Eigen-CAM).
    """
    out = Path(out)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise GraceError(f"{out}: the figure must be a .png file (or .jpg)")
    if colormap not in COLORMAPS:
        raise GraceError(f"--colormap {colormap}: use one of {', '.join(COLORMAPS)}")
    if not 0.0 <= float(opacity) <= 1.0:
        raise GraceError(f"--opacity {opacity}: must be between 0 and 1")
    if not 0.0 <= float(conf) <= 1.0:
        raise GraceError(f"--conf {conf}: must be between 0 and 1")
    if method not in METHOD_NAMES:
        raise GraceError(f"--method {method}: use one of {', '.join(METHOD_NAMES)}")
    if not weights:
        raise GraceError("--weights: give at least one checkpoint")
    if titles is not None and len(titles) != len(weights):
        raise GraceError(f"--titles: {len(titles)} titles for {len(weights)} checkpoints")
    img = read_image(image)
    models = load_models(weights, device)
    comparison = compare_models(img, models, layer, imgsz, detections, conf, method)
    cams, dets, (lo, hi) = comparison.cams, comparison.detections, comparison.value_range
    raws = [c.raw for c in cams]
    names = list(titles) if titles is not None else [default_title(w) for w in weights]
    fig = render_figure(
        img,
        comparison.maps01,
        names,
        input_title=Path(image).name,
        detections=dets,
        colormap=colormap,
        opacity=opacity,
        value_range=(lo, hi) if show_colorbar else None,
        method=method,
    )
    write_figure(fig, out)
    rpath = None
    if save_raw:
        rpath = raw_path(out)
        atomic_write_with(rpath, lambda f: np.save(f, np.stack(raws).astype(np.float32)))
    dev = next(inner_module(models[0]).parameters()).device
    return {
        "image": str(image),
        "out": str(out),
        "raw": str(rpath) if rpath else None,
        "size": [int(fig.shape[1]), int(fig.shape[0])],
        "method": method,
        "imgsz": comparison.imgsz,
        "device": str(dev),
        "colormap": colormap,
        "opacity": float(opacity),
        "global_min": lo,
        "global_max": hi,
        "models": [
            {
                "weights": str(w),
                "title": t,
                "layer": c.layer,
                "layer_index": c.layer_index,
                "feature_shape": list(c.feature_shape),
                "time_ms": c.time_ms,
                "raw_min": float(c.raw.min()),
                "raw_max": float(c.raw.max()),
                "detections": len(dets[i]) if dets is not None else None,
                "targets": c.targets,
            }
            for i, (w, t, c) in enumerate(zip(weights, names, cams, strict=True))
        ],
    }
