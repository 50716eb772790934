"""``grace cam``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse
import sys

from grace.explain.options import (
    COLORMAP_NAMES,
    DEFAULT_COLORMAP,
    DEFAULT_CONF,
    DEFAULT_METHOD,
    DEFAULT_OPACITY,
    METHOD_LABELS,
    METHOD_NAMES,
)


def cam_summary(r: dict) -> str:
    """A short human-readable account of a ``grace cam`` result."""
    label = METHOD_LABELS.get(r["method"], r["method"])
    lines = [
        f"{r['out']}: {label}, {r['size'][0]}x{r['size'][1]} px, imgsz {r['imgsz']} on "
        f"{r['device']}, global raw range [{r['global_min']:.4g}, {r['global_max']:.4g}]"
    ]
    for m in r["models"]:
        det = "" if m["detections"] is None else f"  {m['detections']} detections"
        tgt = ""
        if m["targets"] is not None:
            tgt = f"  target: the class scores of {m['targets']} detection(s)"
            if m["targets"] == 0:
                tgt += " (none at this --conf: nothing to explain, the map is 0)"
        lines.append(
            f"  {m['weights']}: {m['layer']} {tuple(m['feature_shape'])}  {m['time_ms']:.1f} ms"
            f"  raw [{m['raw_min']:.4g}, {m['raw_max']:.4g}]{det}{tgt}"
        )
    if r["raw"]:
        lines.append(f"raw maps: {r['raw']}")
    return "\n".join(lines)


def _cmd_cam(a: argparse.Namespace) -> dict:
    from grace.explain.figure import run_cam

    result = run_cam(
        a.image,
        a.weights,
        a.out,
        layer=a.layer,
        imgsz=a.imgsz,
        device=a.device,
        detections=a.detections,
        conf=a.conf,
        colormap=a.colormap,
        opacity=a.opacity,
        titles=a.titles,
        save_raw=a.save_raw,
        show_colorbar=not a.no_colorbar,
        method=a.method,
    )
    if a.json:
        return result
    print(cam_summary(result), file=sys.stdout)
    return {"written": [p for p in (result["out"], result["raw"]) if p]}


def add_explain_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``grace cam``."""

    c = sub.add_parser(
        "cam",
        help="Eigen-CAM of several models side by side (one global normalisation)",
        description="CAM heatmaps (pytorch-grad-cam; Eigen-CAM by default) of each model at the "
        "same layer, normalised with one global min-max over all models, with the same colormap "
        "and opacity, side by side with the input image (the paper's Figure 3).",
    )
    c.add_argument("image", help="the input image")
    c.add_argument(
        "--weights", nargs="+", required=True, metavar="W.pt", help="checkpoints, in panel order"
    )
    c.add_argument("--out", required=True, metavar="FILE.png", help="the figure to write")
    c.add_argument(
        "--layer",
        type=int,
        metavar="N",
        help="explain the output of model.model[N] (default: the P3 input of the detection "
        "head, after Lite-FEN where present)",
    )
    c.add_argument(
        "--method",
        default=DEFAULT_METHOD,
        choices=METHOD_NAMES,
        help="eigencam (default: no gradient, the paper's Figure 3); eigengradcam, layercam, "
        "gradcam++: gradients of the summed class scores of each model's detections at --conf",
    )
    c.add_argument("--imgsz", type=int, help="network input size (default: the first checkpoint's)")
    c.add_argument("--device", default="", help="cpu, 0, cuda:0 (default: CUDA if available)")
    c.add_argument(
        "--detections", action="store_true", help="draw each model's detections on its panel"
    )
    c.add_argument(
        "--conf",
        type=float,
        default=DEFAULT_CONF,
        help="confidence of the detections drawn and, for the gradient methods, explained "
        "(%(default)s)",
    )
    c.add_argument("--colormap", default=DEFAULT_COLORMAP, choices=COLORMAP_NAMES)
    c.add_argument(
        "--opacity", type=float, default=DEFAULT_OPACITY, help="heatmap opacity, 0..1 (%(default)s)"
    )
    c.add_argument("--titles", nargs="+", help="panel titles, one per checkpoint")
    c.add_argument(
        "--save-raw",
        action="store_true",
        help="also write the raw maps as FILE_raw.npy, float32 (models, height, width)",
    )
    c.add_argument("--no-colorbar", action="store_true", help="leave out the colour bar")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_cam)
