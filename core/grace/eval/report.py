"""``grace report``: one self-contained HTML file an engineer can mail.

It says which model (path, SHA-256, variant, training settings, classes), on which data (the
data.yaml, counts per split and class, the content hash of the val split,
:mod:`grace.data.content_hash`), and what it scores: the metrics of ``grace val`` under the
deployed protocol with 95 % bootstrap intervals over the val images
(:mod:`grace.eval.bootstrap`), a per-class table at the calibrated thresholds (or the global
operating point, labelled so), the PR curves per class at IoU 0.5 and the per-class AP bars (the
paper's Figures 1 and 2), the confusion matrix, the worst false positives and misses as
thumbnails, and the Eigen-CAM of one image (:mod:`grace.explain`, P3 layer). Every figure is a
PNG inside the file (``data:`` URI); there is no external resource. Inputs are resolved by
:mod:`grace.eval.report_sources`, figures drawn by :mod:`grace.eval.report_figures`, the page
written by :mod:`grace.eval.report_html`; the file is written atomically.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grace.errors import GraceError
from grace.eval.records import ImageRecord

WORST_COUNT = 6  # thumbnails of each kind
SECTIONS = (
    ("model", "Model"),
    ("dataset", "Dataset"),
    ("metrics", "Metrics and protocol"),
    ("per-class", "Per-class results"),
    ("pr-curves", "Precision-recall curves (Figure 1)"),
    ("ap-bars", "Average precision per class (Figure 2)"),
    ("confusion", "Confusion matrix"),
    ("errors", "Worst false positives and misses"),
    ("eigencam", "Eigen-CAM"),
    ("problems", "Problems and notes"),
)
HTML_SUFFIXES = (".html", ".htm")


# pure ------------------------------------------------------------------------------------------
def class_table(
    records: Sequence[ImageRecord],
    names: Sequence[str],
    per_class: dict[str, dict],
    thresholds: dict[str, float],
) -> list[dict[str, Any]]:
    """Per class: instances, AP@0.5:0.95 and AP@0.5 (``grace val``'s ``per_class``), the
    threshold, and TP, FP, FN, P, R, F1 at IoU 0.5 counting the class's predictions with score
    >= its threshold (the rules of :func:`grace.eval.metrics.evaluate`: P = 0 when none passes);
    then an ``all classes`` row pooling TP, FP and FN over classes.

    Returns
    -------
    list of dict
        One per class (``class``, ``id``, ``instances``, ``AP50-95``, ``AP50``, ``threshold``,
        ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1``), then the pooled row.
    """
    from grace.eval.metrics import evaluate, harmonic

    grid = np.unique([float(thresholds[n]) for n in names])
    m = evaluate(records, names, conf_grid=grid)
    rows = []
    for c, name in enumerate(names):
        j = int(np.searchsorted(grid, float(thresholds[name])))
        tp, n, gt = int(m.tp_count[c, j]), int(m.pred_count[c, j]), int(m.instances[c])
        pc = per_class.get(name, {})
        rows.append(
            {
                "class": name,
                "id": c,
                "instances": gt,
                "AP50-95": pc.get("AP50-95"),
                "AP50": pc.get("AP50"),
                "threshold": float(thresholds[name]),
                "tp": tp,
                "fp": n - tp,
                "fn": gt - tp,
                "precision": float(m.p_curve[c, j]) if gt else None,
                "recall": float(m.r_curve[c, j]) if gt else None,
                "f1": float(m.f1_curve[c, j]) if gt else None,
            }
        )
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    rows.append(
        {
            "class": "all classes (pooled)",
            "id": None,
            "instances": tp + fn,
            "AP50-95": None,
            "AP50": None,
            "threshold": None,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": p,
            "recall": r,
            "f1": harmonic(p, r),
        }
    )
    return rows


def worst_false_positives(errors: dict, k: int = WORST_COUNT) -> list[dict]:
    """The ``k`` most confident false positives of ``errors.json``, at most one per image (its
    most confident), each with its image entry under ``image``."""
    best = []
    for e in errors["images"]:
        if e["false_positives"]:
            fp = max(e["false_positives"], key=lambda f: f["confidence"])
            best.append({**fp, "image": e})
    best.sort(key=lambda f: -f["confidence"])
    return best[:k]


def _area(box: Sequence[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def worst_misses(errors: dict, k: int = WORST_COUNT) -> list[dict]:
    """The ``k`` largest missed ground-truth boxes of ``errors.json`` (a large defect missed is
    the worst), at most one per image (its largest), each with its image entry under ``image``."""
    best = []
    for e in errors["images"]:
        if e["misses"]:
            miss = max(e["misses"], key=lambda m: _area(m["box"]))
            best.append({**miss, "area": _area(miss["box"]), "image": e})
    best.sort(key=lambda m: -m["area"])
    return best[:k]


def cam_image(errors: dict) -> dict | None:
    """The image the Eigen-CAM is drawn on: the most true positives, then the most ground truth,
    then the first in order (None when there are no images)."""
    images = errors["images"]
    if not images:
        return None
    return max(images, key=lambda e: (e["tp"], e["tp"] + e["fn"], -images.index(e)))


def image_boxes(e: dict) -> dict[str, np.ndarray]:
    """Ground truth and counted predictions of one ``errors.json`` image entry, as arrays."""
    gt = [(m["gt"], m["gt_box"], m["class"]) for m in e["matches"]]
    gt += [(m["gt"], m["box"], m["class"]) for m in e["misses"]]
    gt.sort()
    preds = [(m["pred_box"], m["class"], m["confidence"]) for m in e["matches"]]
    preds += [(f["box"], f["class"], f["confidence"]) for f in e["false_positives"]]
    return {
        "gt_index": np.array([g[0] for g in gt], int),
        "gt_boxes": np.array([g[1] for g in gt], float).reshape(-1, 4),
        "gt_classes": np.array([g[2] for g in gt], int),
        "boxes": np.array([p[0] for p in preds], float).reshape(-1, 4),
        "classes": np.array([p[1] for p in preds], int),
        "scores": np.array([p[2] for p in preds], float),
    }


# I/O -------------------------------------------------------------------------------------------
def _thumbnails(errors: dict, names: list[str], problems: list[str]) -> dict[str, list[dict]]:
    """PNG thumbnails of the worst false positives and misses (an unreadable image is a problem
    line and no thumbnail)."""
    from grace.eval.matching import box_iou
    from grace.eval.report_figures import png_bytes, thumbnail
    from grace.images import try_read_image

    out: dict[str, list[dict]] = {"false_positives": [], "misses": []}
    for kind, items in (
        ("false_positives", worst_false_positives(errors)),
        ("misses", worst_misses(errors)),
    ):
        for it in items:
            e = it["image"]
            img, why = try_read_image(e["file"])
            if img is None:
                problems.append(f"{e['file']}: {why}; no thumbnail")
                continue
            b = image_boxes(e)
            emphasis: list[int] = []
            if kind == "false_positives":  # the error itself, over all the ground truth
                b["boxes"], b["classes"] = np.array([it["box"]], float), np.array([it["class"]])
                b["scores"] = np.array([it["confidence"]])
            else:  # the missed box stands out; the predictions that overlap it, if any
                emphasis = [int(i) for i in np.flatnonzero(b["gt_index"] == it["gt"])]
                near = box_iou(b["boxes"], np.array([it["box"]], float))[:, 0] > 0
                b["boxes"], b["classes"], b["scores"] = (
                    b[k][near] for k in ("boxes", "classes", "scores")
                )
            png = png_bytes(
                thumbnail(
                    img,
                    b["gt_boxes"],
                    b["gt_classes"],
                    b["boxes"],
                    b["classes"],
                    b["scores"],
                    names,
                    emphasis,
                )
            )
            out[kind].append(
                {**{k: v for k, v in it.items() if k != "image"}, "file": e["file"], "png": png}
            )
    return out


def _eigencam(model, errors: dict, imgsz: int, conf: float, problems: list[str]) -> dict | None:
    """Eigen-CAM (P3 input of the head, as ``grace cam``) of :func:`cam_image`, with the
    model's detections at ``conf``; None (and a problem line) when it cannot be drawn."""
    from grace.eval.report_figures import png_bytes
    from grace.explain.figure import compare_models, render_figure
    from grace.images import try_read_image

    e = cam_image(errors)
    if e is None:
        return None
    img, why = try_read_image(e["file"])
    if img is None:
        problems.append(f"{e['file']}: {why}; no Eigen-CAM")
        return None
    try:
        cmp = compare_models(
            img, [model], layer=None, imgsz=imgsz, detections=True, conf=conf, method="eigencam"
        )
    except Exception as ex:  # the rest of the report stands; the reason is shown
        problems.append(f"{e['file']}: Eigen-CAM failed ({type(ex).__name__}: {ex})")
        return None
    fig = render_figure(
        img,
        cmp.maps01,
        ["Eigen-CAM"],
        input_title=Path(e["file"]).name,
        detections=cmp.detections,
        value_range=cmp.value_range,
        method="eigencam",
        panel_height=360,
    )
    c = cmp.cams[0]
    return {
        "file": e["file"],
        "png": png_bytes(fig),
        "layer": c.layer,
        "imgsz": cmp.imgsz,
        "conf": conf,
        "feature_shape": list(c.feature_shape),
        "detections": len(cmp.detections[0]) if cmp.detections else 0,
    }


def _report_models(ref, device: str) -> tuple[Any, Any, str]:
    """``(model, cam_model, cam_note)``: the model whose names and identity the report shows
    (the one evaluated), the PyTorch model Eigen-CAM reads (``None`` when there is none), and
    why there is none (``""`` when there is)."""
    from grace.deploy.runtime import NEEDS_PT, load_model
    from grace.explain.figure import load_models

    if ref.kind == "pt":
        model = load_models([ref.weights], device)[0]
        return model, model, ""
    model, _ = load_model(ref)
    pt = (ref.manifest.get("formats") or {}).get("pt") if ref.package is not None else None
    if pt:  # a package that holds its checkpoint: Eigen-CAM of that .pt
        return model, load_models([ref.package / pt], device)[0], ""
    what = f"an exported {ref.kind} model"
    if ref.package is not None:
        what = "a model package without its model.pt"
    return model, None, f"{ref.path}: {what}; Eigen-CAM {NEEDS_PT} it was exported from"


def _trained_size(model, ref) -> int:
    from grace.explain.figure import default_imgsz

    return default_imgsz(model) if ref.kind == "pt" else 640


def _dataset(data: str, problems: list[str]) -> dict:
    from grace.data.content_hash import split_content_hash
    from grace.data.stats import dataset_stats
    from grace.data.yolo_layout import read_yolo_dataset

    stats = dataset_stats(data)
    h = split_content_hash(read_yolo_dataset(data), "val")
    problems += [p.line() for p in h.problems]
    return {
        "yaml": stats["data"],
        "names": stats["names"],
        "splits": stats["splits"],
        "problems": stats["problems"],
        "problem_counts": stats["problem_counts"],
        "duplicates": len(stats["duplicates"]),
        "val_hash": {"sha256": h.sha256, "images": h.images, "labels": h.labels},
    }


def _model(weights: Path, run: Path | None, model, metrics: dict, problems: list, ref=None) -> dict:
    """The model's identity; ``model`` is its PyTorch model (``None``: an export without one,
    whose training settings come from its run or package only and Lite-FEN is not known)."""
    from grace.deploy.runtime import model_sha256
    from grace.eval.report_sources import training_settings, variant_of
    from grace.nn.fen import has_fen

    ckpt = (getattr(model, "ckpt", None) or {}) if model is not None else {}
    if run is None and ref is not None and ref.package is not None:
        if (ref.package / "training").is_dir():
            run = ref.package / "training"  # the run's args.yaml and grace.json, packed
    settings, source, bad = training_settings(run, ckpt)
    variant, grace_cfg, bad2 = variant_of(weights, run)
    problems += bad + bad2
    files = [f for f in weights.rglob("*") if f.is_file()] if weights.is_dir() else [weights]
    return {
        "path": str(weights.resolve()),
        "format": ref.kind if ref is not None else "pt",
        "package": ref is not None and ref.package is not None,
        "sha256": model_sha256(weights),
        "bytes": sum(f.stat().st_size for f in files),
        "variant": variant,
        "grace": grace_cfg,
        "settings": settings,
        "settings_source": source,
        "ultralytics": ckpt.get("version"),
        "date": ckpt.get("date"),
        "cost": metrics.get("cost") or {},
        "lite_fen": None if model is None else has_fen(model),
    }


def check_out(out: str | Path) -> Path:
    """``--out``: an ``.html`` file path that is not a folder."""
    p = Path(out)
    if p.suffix.lower() not in HTML_SUFFIXES:
        raise GraceError(f"--out {out}: the report must be an .html file")
    if p.is_dir():
        raise GraceError(f"--out {out}: is a folder")
    return p


def build_report(
    out: str | Path,
    run: str | None = None,
    weights: str | None = None,
    data: str | None = None,
    imgsz: int | None = None,
    thresholds: str | None = None,
    device: str = "",
    batch: int = 16,
    resamples: int = 1000,
    seed: int = 0,
    val_out: str | None = None,
) -> dict[str, Any]:
    """Write the HTML report of a run (``run``) or a checkpoint on a dataset (``weights`` and
    ``data``) to ``out`` (atomically).

    Parameters
    ----------
    out
        The ``.html`` file.
    run, weights, data
        A run directory, or a checkpoint and a ``data.yaml`` (``data`` may also override the
        run's dataset).
    imgsz
        Evaluation size; default the reused evaluation's, else the checkpoint's training size.
    thresholds
        A ``thresholds.json``; default the one beside the weights, if any.
    device, batch
        For an evaluation that has to run.
    resamples, seed
        Bootstrap resamples (at least 1,000 for the report's intervals) and seed.
    val_out
        Where an evaluation of ``weights`` goes (default: a temporary folder).

    Returns
    -------
    dict
        ``out``, ``sections`` (the section ids, in order), ``problems`` (lines), ``evaluation``
        (how the figures were obtained) and ``metrics`` (point values and intervals).
    """
    from grace.deploy.runtime import resolve_model
    from grace.eval.bootstrap import run_intervals
    from grace.eval.records import load_records
    from grace.eval.report_figures import ap_bars_png, confusion_png, pr_curves_png
    from grace.eval.report_html import render
    from grace.eval.report_sources import (
        find_thresholds,
        read_json,
        read_thresholds,
        resolve_inputs,
    )
    from grace.eval.validate import (
        ERRORS_FILE,
        METRICS_FILE,
        PR_CURVES_FILE,
        PREDICTIONS_FILE,
        validate,
    )
    from grace.fileio import atomic_write_text

    out_path = check_out(out)
    if resamples < 1000:
        raise GraceError(f"--resamples {resamples}: at least 1000 for a 95 % interval")
    inputs = resolve_inputs(run, weights, data, imgsz, val_out)
    problems = list(inputs.notes)
    ref = resolve_model(inputs.weights)  # what grace val runs: an export or package as such
    model, cam_model, cam_note = _report_models(ref, device)
    if thresholds is None and ref.thresholds is not None:
        thresholds = str(ref.thresholds)  # a package's own thresholds, as grace predict uses
    if thresholds is not None:  # a file given that cannot be used: fail before evaluating
        names = [str(model.names[k]) for k in sorted(model.names)]
        read_thresholds(Path(thresholds), names)
    size = imgsz or ref.imgsz or _trained_size(model, ref)
    if cam_note:
        problems.append(cam_note)
    with tempfile.TemporaryDirectory(prefix="grace-report-") as tmp:
        val_dir = inputs.val_dir or Path(tmp)
        if not inputs.reuse:
            validate(
                str(inputs.weights),
                str(inputs.data),
                imgsz=size,
                batch=batch,
                device=device,
                out=val_dir,
            )
        metrics = read_json(val_dir / METRICS_FILE)
        pr = read_json(val_dir / PR_CURVES_FILE)
        errors = read_json(val_dir / ERRORS_FILE)
        records, names, _ = load_records(val_dir / PREDICTIONS_FILE)
    size = int((metrics.get("settings") or {}).get("imgsz") or size)
    problems += [f"{p['file']}: {p['kind']}: {p['detail']}" for p in metrics.get("problems", [])]
    intervals = run_intervals(records, len(names), resamples, seed)
    for k, iv in intervals.items():
        if abs(iv.value - (metrics["metrics"].get(k) or 0.0)) > 1e-9:
            problems.append(
                f"{val_dir / PREDICTIONS_FILE}: gives {k} {iv.value:.6f}, "
                f"metrics.json {metrics['metrics'].get(k)} (different evaluations?)"
            )
    th, bad = find_thresholds(thresholds, inputs.weights, names, float(metrics["f1_confidence"]))
    problems += bad
    op_conf = float(errors["confidence"])
    content = {
        "title": f"{inputs.weights.name} on {Path(str(metrics['data'])).name}",
        "model": _model(inputs.weights, inputs.run, cam_model, metrics, problems, ref),
        "names": names,
        "dataset": _dataset(str(metrics["data"]), problems),
        "metrics": metrics,
        "evaluation": inputs.why,
        "intervals": intervals,
        "thresholds": th,
        "class_table": class_table(records, names, metrics["per_class"], th.per_class),
        "figures": {
            "pr_curves": pr_curves_png(pr, names),
            "ap_bars": ap_bars_png(metrics["per_class"], names),
            "confusion": confusion_png(
                errors["confusion_matrix"], f"IoU {errors['iou']}, confidence {op_conf:g}"
            ),
        },
        "errors": errors,
        "thumbnails": _thumbnails(errors, names, problems),
        "cam": None if cam_model is None else _eigencam(cam_model, errors, size, op_conf, problems),
        "cam_note": cam_note,
        "problems": problems,
    }
    atomic_write_text(out_path, render(content, SECTIONS))
    return {
        "out": str(out_path),
        "sections": [s for s, _ in SECTIONS],
        "problems": problems,
        "evaluation": inputs.why,
        "metrics": {
            k: {
                "value": v.value,
                "low": v.low,
                "high": v.high,
                "resamples": v.resamples,
                "seed": v.seed,
            }
            for k, v in intervals.items()
        },
    }
