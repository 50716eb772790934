"""``grace calibrate``: per-class thresholds on the validation split, written beside the weights.

The detections are those of ``grace val``'s deployed protocol (what ``grace predict`` outputs at
``--imgsz``, every score down to 0.001): read from a ``grace val`` output folder's
``predictions.npz`` (``val_dir``), or produced by running that evaluation into a temporary
folder. The thresholds follow :mod:`grace.eval.calibration`; the file is written by
:mod:`grace.infer.threshold_file`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from grace.errors import GraceError
from grace.eval import calibration
from grace.eval.calibration import (
    OperatingPoint,
    Target,
    choose_threshold,
    few_instances_warning,
    operating_point,
    parse_class_targets,
    parse_target,
)
from grace.eval.matching import match_image
from grace.eval.records import ImageRecord
from grace.infer.threshold_file import default_path, write_thresholds

RULE = " ".join((calibration.__doc__ or "").split())


def class_detections(
    records: Sequence[ImageRecord], nc: int
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per class: all detections' scores and true-positive flags at IoU 0.5 (``grace val``'s
    matching), and the ground-truth instances ``(C,)``."""
    scores: list[list[np.ndarray]] = [[] for _ in range(nc)]
    tps: list[list[np.ndarray]] = [[] for _ in range(nc)]
    n_gt = np.zeros(nc, dtype=np.int64)
    for rec in records:
        n_gt += np.bincount(rec.gt_classes, minlength=nc)[:nc]
        tp = match_image(rec.gt_boxes, rec.gt_classes, rec.boxes, rec.scores, rec.classes,
                         np.array([0.5]))[:, 0]  # fmt: skip
        for c in range(nc):
            sel = rec.classes == c
            scores[c].append(rec.scores[sel])
            tps[c].append(tp[sel])
    return ([np.concatenate(s) if s else np.zeros(0) for s in scores],
            [np.concatenate(t) if t else np.zeros(0, bool) for t in tps], n_gt)  # fmt: skip


def _pooled(points: Sequence[OperatingPoint], threshold: float | None = None) -> dict[str, Any]:
    tp, fp, fn = (sum(getattr(p, k) for p in points) for k in ("tp", "fp", "fn"))
    return {
        "threshold": threshold,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
    }


def metrics_at(
    records: Sequence[ImageRecord], names: Sequence[str], limits: Sequence[float]
) -> dict[str, Any]:
    """Per class and pooled TP/FP/FN and P/R/F1 at IoU 0.5 with class ``c``'s detections kept
    when score >= ``limits[c]`` (``grace val --thresholds``)."""
    scores, tps, n_gt = class_detections(records, len(names))
    points = [operating_point(scores[c], tps[c], int(n_gt[c]), float(limits[c]))
              for c in range(len(names))]  # fmt: skip
    return {
        "per_class": {
            n: {"instances": int(n_gt[c]), **asdict(points[c])} for c, n in enumerate(names)
        },  # fmt: skip
        "pooled": _pooled(points),
    }


def calibrate_records(
    records: Sequence[ImageRecord],
    names: Sequence[str],
    target: Target,
    class_targets: dict[int, Target] | None = None,
) -> dict[str, Any]:
    """Thresholds and figures from matched detections (pure).

    Returns
    -------
    dict
        ``conf`` (global threshold), ``per_class`` ({name: threshold} for the classes that
        could be calibrated), ``target``, ``per_class_metrics`` (per class: instances, target,
        threshold, reached, TP/FP/FN, P/R/F1 at its threshold and ``at_global``: the same at
        ``conf``), ``global_metrics`` (pooled at ``conf``), ``calibrated_metrics`` (pooled at
        the per-class thresholds) and ``warnings``.
    """
    nc = len(names)
    class_targets = class_targets or {}
    scores, tps, n_gt = class_detections(records, nc)
    warnings: list[str] = []
    pooled = choose_threshold(np.concatenate(scores), np.concatenate(tps), int(n_gt.sum()), target)
    if pooled is None:
        raise GraceError(
            "no detection matches any ground-truth box on the val split: nothing to calibrate "
            "(is this the model's dataset?)"
        )
    conf = pooled.threshold
    if not pooled.reached:
        warnings.append(f"all classes: target {target} not reached by any single threshold; "
                        f"the global threshold gives the best reachable {target.kind}")  # fmt: skip
    per_class: dict[str, float] = {}
    metrics: dict[str, Any] = {}
    own_points, global_points = [], []
    for c, name in enumerate(names):
        t = class_targets.get(c, target)
        at_global = operating_point(scores[c], tps[c], int(n_gt[c]), conf)
        point = choose_threshold(scores[c], tps[c], int(n_gt[c]), t)
        if point is None:
            warnings.append(
                f"{name}: {'no validation instance' if n_gt[c] == 0 else 'no detection matches'}"
                " to calibrate on; the global threshold applies"
            )
            point = at_global
        else:
            per_class[name] = point.threshold
            if not point.reached:
                warnings.append(f"{name}: target {t} not reached on the val split; threshold "
                                f"{point.threshold:.4f} gives the best {t.kind} "
                                f"({getattr(point, t.kind):.4f})")  # fmt: skip
        few = few_instances_warning(name, int(n_gt[c]), t)
        if few:
            warnings.append(few)
        own_points.append(point)
        global_points.append(at_global)
        metrics[name] = {
            "instances": int(n_gt[c]),
            "target": str(t),
            "calibrated": name in per_class,
            **asdict(point),
            "at_global": asdict(at_global),
        }
    return {
        "conf": conf,
        "per_class": per_class,
        "target": {
            "default": str(target),
            "per_class": {names[c]: str(t) for c, t in sorted(class_targets.items())},
        },
        "per_class_metrics": metrics,
        "global_metrics": _pooled(global_points, conf),
        "calibrated_metrics": _pooled(own_points),
        "warnings": warnings,
    }


def _val_dir_records(val_dir: Path, weights: str, imgsz: int | None):
    from grace.deploy.runtime import model_sha256
    from grace.eval.pairing import read_predictions

    npz = val_dir / "predictions.npz"
    if not npz.is_file():
        raise GraceError(f"{val_dir}: no predictions.npz (not a grace val output folder?)")
    records, names, info = read_predictions(npz)
    if info.get("protocol") != "deployed":
        raise GraceError(
            f"{npz}: evaluated under protocol {info.get('protocol')}; thresholds must be chosen "
            "on what grace predict outputs: re-run grace val with --protocol deployed"
        )
    evaluated = info.get("weights")
    if evaluated and Path(evaluated).resolve() != Path(weights).resolve():
        same = Path(evaluated).exists() and model_sha256(evaluated) == model_sha256(weights)
        if not same:
            raise GraceError(f"{npz}: holds the detections of {evaluated}, not of {weights}")
    if imgsz is not None and info.get("imgsz") not in (None, imgsz):
        raise GraceError(f"{npz}: evaluated at --imgsz {info.get('imgsz')}, not {imgsz}")
    return records, names, info


def calibrate(
    weights: str,
    data: str | None,
    target: str = "f1",
    class_targets: Sequence[str] = (),
    imgsz: int | None = None,
    batch: int = 16,
    device: str = "",
    out: str | Path | None = None,
    val_dir: str | Path | None = None,
    default_imgsz: int = 640,
) -> dict[str, Any]:
    """Choose per-class thresholds and write the thresholds file.

    Parameters
    ----------
    weights
        The model: a checkpoint, an exported model or a package
        (:func:`grace.deploy.runtime.resolve_model`; its scores are the ones calibrated).
    data
        YOLO ``data.yaml`` (its val split); may be None with ``val_dir``.
    target, class_targets
        ``f1`` / ``recall=R`` / ``precision=P``, and ``NAME=KIND:VALUE`` overrides.
    imgsz, batch, device
        Settings of the deployed evaluation (``imgsz`` None: the val dir's, else an exported
        model's or package's own input size, else ``default_imgsz``).
    out
        The thresholds file; default :func:`grace.infer.threshold_file.default_path`.
    val_dir
        A ``grace val`` output folder whose ``predictions.npz`` to reuse.

    Returns
    -------
    dict
        What is written (see :func:`calibrate_records`) plus ``model``, ``model_sha256``,
        ``data``, ``protocol``, ``imgsz``, ``images``, ``rule``, ``problems`` and ``file``.
    """
    from grace.deploy.runtime import model_sha256, resolve_model

    ref = resolve_model(weights)  # not a model: one line, before any evaluation
    tgt = parse_target(target)
    if val_dir is not None:
        records, names, info = _val_dir_records(Path(val_dir), weights, imgsz)
        imgsz, problems = info.get("imgsz", imgsz), []
    else:
        if data is None:
            raise GraceError("--data is required unless --val-dir gives a grace val output")
        from grace.eval.pairing import read_predictions
        from grace.eval.validate import validate

        imgsz = imgsz or ref.imgsz or default_imgsz
        with tempfile.TemporaryDirectory(prefix="grace-calibrate-") as tmp:
            r = validate(weights, data, imgsz=imgsz, batch=batch, device=device, out=tmp,
                         protocol="deployed")  # fmt: skip
            records, names, _ = read_predictions(Path(tmp) / "predictions.npz")
        problems = r["problems"]
    doc = calibrate_records(records, names, tgt, parse_class_targets(class_targets, names))
    path = Path(out) if out else default_path(weights)
    doc.update(
        model=str(weights),
        model_sha256=model_sha256(weights),
        data=None if data is None else str(data),
        protocol="deployed",
        imgsz=imgsz,
        images=len(records),
        rule=RULE,
    )
    write_thresholds(path, doc)
    return {**doc, "problems": problems, "file": str(path)}
