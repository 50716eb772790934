"""``grace val``: metrics of a checkpoint on a dataset, written beside the run.

One pass of the model over the val split, under one protocol: ``deployed`` (the default:
``grace predict``'s own pre-processing, inference and NMS, :mod:`grace.eval.deployed`) or
``ultralytics`` (Ultralytics' validator with its rectangular batches, :mod:`grace.eval.collect`;
at imgsz 256 it feeds 200x200 images as 288x288). Then our figures (:mod:`grace.eval.metrics`)
and the COCO tool's (:mod:`grace.eval.coco`) from the same predictions, per-image errors
(:mod:`grace.eval.errors`), the model's cost (:mod:`grace.eval.cost`) and the timings of that
pass. Writes ``predictions.npz`` (every image's ground truth and raw detections,
:func:`grace.eval.records.load_records`), ``errors.json``, ``pr_curves.json`` and last
``metrics.json`` (the returned dict) to the output directory, each atomically.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from grace.errors import GraceError
from grace.eval.coco import CocoResult, size_bucket_counts
from grace.eval.cost import ModelCost
from grace.eval.metrics import AP_METHOD, DetectionMetrics
from grace.fileio import atomic_write_json

METRICS_FILE = "metrics.json"
PR_CURVES_FILE = "pr_curves.json"
ERRORS_FILE = "errors.json"
PREDICTIONS_FILE = "predictions.npz"
PROTOCOLS = ("deployed", "ultralytics")
PROTOCOL_RULES = {
    "deployed": "grace predict's own pre-processing (Ultralytics' predictor letterbox at "
    "--imgsz: scale up or down, centred, minimum rectangle of the stride when a batch's images "
    "share one shape), inference and NMS, on the val images decoded as grace predict decodes them",
    "ultralytics": "Ultralytics' DetectionValidator: long side resized to --imgsz, rectangular "
    "batches padded to a multiple of the stride plus half a stride (200x200 at 256 -> 288x288)",
}
F1_RULE = {
    "f1_mean_over_classes": "mean over classes (with ground truth) of the per-class F1 at IoU "
    "0.5 at the confidence f1_confidence that maximises it (grid 0:0.001:1); precision and recall "
    "in 'metrics' are the means over classes at that confidence",
    "f1_dataset": "the paper's equation 5 on counts pooled over all classes: 2TP/(2TP+FP+FN) at "
    "IoU 0.5 at the confidence f1_dataset.confidence that maximises it (grid 0:0.001:1); "
    "errors.json is at this operating point",
}


def _num(x: Any, digits: int | None = None) -> float | None:
    """A JSON number: None for NaN/inf/None, optionally rounded."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, digits) if digits is not None else x


def _curve(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in a]


def default_out_dir(weights: str | Path) -> Path:
    """``<run>/val`` for a checkpoint at ``<run>/weights/*.pt`` of a run directory, else
    ``runs/val/<stem>`` (relative to the current directory). An exported model (an OpenVINO
    folder, an ``.onnx``, a package) gets a folder of its own, named by its full name
    (``<run>/val_best_openvino_model``, ``runs/val/best.onnx``), so that its evaluation never
    replaces the checkpoint's, which the report and the Evaluate tab reuse.

    >>> default_out_dir("nowhere/best.pt").as_posix()
    'runs/val/best'
    >>> default_out_dir("nowhere/best.onnx").as_posix()
    'runs/val/best.onnx'
    """
    w = Path(weights).resolve()
    exported = w.suffix.lower() != ".pt"
    run = w.parent.parent
    if w.parent.name == "weights" and any(
        (run / f).exists() for f in ("events.jsonl", "args.yaml", "grace.json")
    ):
        return run / (f"val_{w.name}" if exported else "val")
    return Path("runs") / "val" / (Path(weights).name if exported else Path(weights).stem)


def build_result(
    m: DetectionMetrics,
    coco: CocoResult,
    sizes: dict[str, int],
    cost: ModelCost | None,
    speed_ms: dict[str, float],
    ultralytics: dict[str, float],
) -> dict[str, Any]:
    """The JSON-ready metrics of ``grace val`` (without file and settings fields)."""
    per_class = {}
    best = m.best_index
    for c, name in enumerate(m.names):
        has_gt = bool(m.instances[c] > 0)
        per_class[name] = {
            "instances": int(m.instances[c]),
            "detections": int(m.detections[c]),
            "AP50-95": _num(m.ap50_95[c]) if has_gt else None,
            "AP50": _num(m.ap[c, 0]) if has_gt else None,
            "AP75": _num(m.ap[c, 5]) if has_gt else None,
            "precision": _num(m.p_curve[c, best]) if has_gt else None,
            "recall": _num(m.r_curve[c, best]) if has_gt else None,
            "f1": _num(m.f1_curve[c, best]) if has_gt else None,
            "coco_AP50-95": coco.per_class.get(name, {}).get("AP50-95"),
            "coco_AP50": coco.per_class.get(name, {}).get("AP50"),
        }
    latency = sum(float(v) for v in speed_ms.values())
    d = m.dataset_best_index
    tp, fp, fn = m.dataset_counts(d)
    return {
        "instances": int(m.instances.sum()),
        "metrics": {
            "mAP50-95": _num(m.map50_95),
            "mAP50": _num(m.map50),
            "precision": _num(m.precision),
            "recall": _num(m.recall),
            "f1_dataset": _num(m.f1_dataset),
            "f1_mean_over_classes": _num(m.f1_mean_over_classes),
        },
        "f1_confidence": _num(m.f1_confidence, 6),
        "f1_mean_over_classes": _num(m.f1_mean_over_classes),
        "f1_dataset": {
            "f1": _num(m.f1_dataset),
            "confidence": _num(m.f1_dataset_confidence, 6),
            "precision": _num(tp / (tp + fp)) if tp + fp else 0.0,
            "recall": _num(tp / (tp + fn)) if tp + fn else 0.0,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        },
        "mAP75": _num(m.map75),
        "method": {
            "ap": AP_METHOD,
            "iou_thresholds": [round(float(t), 2) for t in m.iou_thresholds],
            "f1": F1_RULE,
            "means": "over classes with ground truth in the split",
        },
        "coco": {
            "tool": coco.tool,
            "mAP50-95": coco.map50_95,
            "mAP50": coco.map50,
            "mAP75": coco.map75,
            "AP_small": coco.ap_size["small"],
            "AP_medium": coco.ap_size["medium"],
            "AP_large": coco.ap_size["large"],
            "AR_max_det": coco.ar_max_det,
        },
        "size": {
            k: {"instances": sizes[k], "AP": coco.ap_size[k]} for k in ("small", "medium", "large")
        },
        "ultralytics": dict(ultralytics),
        "per_class": per_class,
        "cost": None
        if cost is None
        else {
            "parameters": cost.parameters,
            "parameters_fused": cost.parameters_fused,
            "gflops": _num(cost.gflops, 4),
            "gflops_imgsz": cost.imgsz,
        },
        "speed_ms": {k: _num(v, 4) for k, v in speed_ms.items()},
        "latency_ms": _num(latency, 4),
    }


def pr_curves(m: DetectionMetrics) -> dict[str, Any]:
    """PR-curve data per class at IoU 0.5, and P/R/F1 against confidence (JSON-ready)."""
    ev = m.evaluated
    classes = {}
    for c, name in enumerate(m.names):
        classes[name] = {
            "instances": int(m.instances[c]),
            "AP50": _num(m.ap[c, 0]) if ev[c] else None,
            "precision_at_recall": _curve(m.precision_at_50[c]),
            "precision": _curve(m.p_curve[c]),
            "recall": _curve(m.r_curve[c]),
            "f1": _curve(m.f1_curve[c]),
        }
    mean_pr = m.precision_at_50[ev].mean(axis=0) if ev.any() else np.zeros(len(m.recall_grid))
    return {
        "iou": 0.5,
        "interpolation": AP_METHOD,
        "recall_grid": _curve(m.recall_grid),
        "confidence_grid": _curve(m.conf_grid),
        "best_confidence": _num(m.f1_confidence, 6),
        "mean": {"precision_at_recall": _curve(mean_pr), "f1": _curve(m.mean_f1_curve)},
        "classes": classes,
    }


def write_json(path: Path, obj: Any) -> Path:
    atomic_write_json(path, obj, indent=1)
    return path


def check_same_classes(
    weights: str | Path, model_names: dict | list, data: str | Path, data_names: list[str]
) -> None:
    """Refuse to score a model under another dataset's class names: a :class:`GraceError`
    listing both when the model's classes (id order) differ from the data.yaml's."""
    if isinstance(model_names, dict):
        model_names = [model_names[k] for k in sorted(model_names)]
    ours = [str(n) for n in model_names]
    if ours != list(data_names):
        raise GraceError(
            f"{weights}: the model's classes [{', '.join(ours)}] differ from {data}'s "
            f"[{', '.join(data_names)}]; evaluate it on a dataset with the same classes in the "
            "same order"
        )


def validate(
    weights: str,
    data: str,
    imgsz: int | None = None,
    batch: int = 16,
    device: str = "",
    conf: float = 0.001,
    iou: float = 0.7,
    max_det: int = 300,
    out: str | Path | None = None,
    protocol: str = "deployed",
    thresholds: str | Path | None = None,
) -> dict[str, Any]:
    """Validate a checkpoint on the ``val`` split of ``data``.

    Parameters
    ----------
    weights
        Checkpoint (ours or plain Ultralytics), exported model (OpenVINO folder, ``.onnx``) or
        model package (:mod:`grace.deploy.runtime`).
    data
        YOLO ``data.yaml``.
    imgsz, batch, device
        Validation settings ("" = automatic device); ``imgsz=None``: an exported model's or a
        package's own input size, else 640.
    conf, iou, max_det
        NMS settings; keep ``conf`` low (0.001) for AP.
    out
        Output directory; default :func:`default_out_dir`.
    protocol
        ``deployed`` (what ``grace predict`` at ``imgsz`` outputs) or ``ultralytics``
        (Ultralytics' rectangular-batch validation); see :data:`PROTOCOL_RULES`.
    thresholds
        A ``grace calibrate`` file (``auto``: the one beside the weights): the operating point
        of ``at_thresholds`` (per-class and pooled P/R/F1 with each class at its threshold) and
        of ``errors.json``; without it errors.json is at the F1-dataset confidence.

    Returns
    -------
    dict
        JSON-ready metrics (see ``build_result``), plus ``protocol``, ``input_shapes``,
        ``problems``, ``weights``, ``data``, ``images``, ``settings``, ``out_dir`` and
        ``files``; the same dict is written to ``metrics.json``.
    """
    from dataclasses import asdict

    from grace.data.yolo_layout import read_yolo_dataset
    from grace.deploy.runtime import load_model, resolve_model
    from grace.eval.coco import coco_evaluate
    from grace.eval.cost import model_cost
    from grace.eval.errors import errors_report
    from grace.eval.metrics import evaluate
    from grace.eval.records import save_records

    if protocol not in PROTOCOLS:
        raise GraceError(f"--protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    ref = resolve_model(weights)  # a missing or foreign file: one line, before the data
    imgsz = int(imgsz or ref.imgsz or 640)
    ds = read_yolo_dataset(data)
    model, ref = load_model(ref)
    check_same_classes(weights, model.names, ds.yaml_path, ds.names)
    th_warnings: list[str] = []
    if thresholds is not None:  # read before the model runs: a bad file fails at once
        from grace.infer.threshold_file import read_thresholds, resolve_path

        th_path = resolve_path(thresholds, weights)
        th = read_thresholds(th_path, list(ds.names), weights, th_warnings.append)
    out_dir = Path(out) if out else default_out_dir(ref.path)
    if out_dir.exists() and not out_dir.is_dir():
        raise GraceError(f"{out_dir}: output path exists and is not a directory")
    # before validation, which may fuse the model; an exported model has no torch graph to count
    cost = None if ref.exported else model_cost(model.model, imgsz)
    if protocol == "deployed":
        from grace.eval.deployed import collect_deployed

        col = collect_deployed(model, ref, ds, imgsz, batch, device, conf, iou, max_det)
    else:
        from grace.eval.collect import collect_predictions

        with tempfile.TemporaryDirectory(prefix="grace-val-") as tmp:
            resolved = ds.write_resolved_yaml(Path(tmp) / "data.yaml")  # the folders we read
            col = collect_predictions(
                model, resolved, imgsz, batch, device, conf, iou, max_det, out_dir
            )
    if not col.records:
        raise GraceError(f"{ds.splits['val'][0]}: no image of the val split could be read")
    m = evaluate(col.records, col.names)
    coco = coco_evaluate(col.records, col.names, max_det=max_det)
    settings = {"imgsz": imgsz, "batch": batch, "device": device, "conf": conf, "iou": iou,
                "max_det": max_det}  # fmt: skip
    files = {
        "metrics": str(out_dir / METRICS_FILE),
        "pr_curves": str(out_dir / PR_CURVES_FILE),
        "errors": str(out_dir / ERRORS_FILE),
        "predictions": str(out_dir / PREDICTIONS_FILE),
    }
    at_thresholds = None
    if thresholds is None:
        errors = errors_report(col.records, col.names, round(m.f1_dataset_confidence, 6))
    else:
        from grace.eval.calibrate import metrics_at

        limits = [float(th.per_class.get(c, th.conf)) for c in range(len(col.names))]
        errors = errors_report(col.records, col.names, limits)
        at_thresholds = {"file": str(th_path), "conf": th.conf,
                         "thresholds": dict(zip(col.names, limits, strict=True)),
                         **metrics_at(col.records, col.names, limits)}  # fmt: skip
    result = {
        "weights": str(weights),
        "data": str(data),
        "format": ref.kind,
        "precision": col.precision or None,  # an OpenVINO model's inference precision here
        "package": str(ref.package) if ref.package else None,
        "protocol": protocol,
        "protocol_rule": PROTOCOL_RULES[protocol],
        "input_shapes": col.input_shapes,
        "images": len(col.records),
        "images_in_split": len(ds.splits["val"][1]),
        **build_result(
            m, coco, size_bucket_counts(col.records), cost, col.speed_ms, col.ultralytics
        ),
        "errors": {"confidence": errors["confidence"], "iou": errors["iou"], **errors["totals"]},
        "confusion_matrix": errors["confusion_matrix"],
        "at_thresholds": at_thresholds,
        "problems": [asdict(p) for p in col.problems]
        + [{"file": str(th_path), "kind": "thresholds", "detail": w} for w in th_warnings],
        "settings": settings,
        "out_dir": str(out_dir),
        "files": files,
    }
    save_records(out_dir / PREDICTIONS_FILE, col.records, col.names,
                 {"protocol": protocol, "weights": str(weights), **settings})  # fmt: skip
    write_json(out_dir / ERRORS_FILE, errors)
    write_json(out_dir / PR_CURVES_FILE, pr_curves(m))
    write_json(out_dir / METRICS_FILE, result)
    return result
