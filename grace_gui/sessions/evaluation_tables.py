"""The Evaluate tab's tables as rows of text, and the images behind a confusion-matrix cell
(pure: no I/O, no Qt). The view shows these rows and the CSV exports write the same rows, so a
figure on screen and in a file are one string.

Figures are percentages with two decimals; a Δ is in percentage points against the reference
model with its 95 % paired-bootstrap interval (:func:`grace.eval.compare.compare`) and says
"not distinguishable" when the interval contains 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from grace.eval.bootstrap import NOT_DISTINGUISHABLE
from grace.eval.tables import DASH, signed

Table = tuple[list[str], list[list[str]]]

HEADLINE = (  # (key in metrics.json "metrics", header, key of its bootstrap interval or None)
    ("mAP50-95", "mAP@0.5:0.95 (%)", "mAP50-95"),
    ("mAP50", "mAP@0.5 (%)", "mAP50"),
    ("precision", "P, mean over classes (%)", None),
    ("recall", "R, mean over classes (%)", None),
    ("f1_dataset", "F1 dataset, pooled (%)", "f1_dataset"),
    ("f1_mean_over_classes", "F1 mean over classes (%)", None),
)
SIZES = ("small", "medium", "large")
REFERENCE = "reference"


def pct(x: float | None) -> str:
    """A fraction as a percentage with two decimals; a dash when unknown."""
    return DASH if x is None else f"{100.0 * float(x):.2f}"


def delta_text(iv: Mapping[str, Any] | None) -> str:
    """``+1.34 [-2.73, +8.35]``, followed by ``not distinguishable`` when the interval holds 0;
    a dash without an interval."""
    if not iv:
        return DASH
    text = f"{signed(iv['delta'])} [{signed(iv['low'])}, {signed(iv['high'])}]"
    return f"{text} {NOT_DISTINGUISHABLE}" if iv["verdict"] == NOT_DISTINGUISHABLE else text


def metrics_table(
    labels: Sequence[str],
    metrics: Sequence[Mapping[str, Any]],
    intervals: Sequence[Mapping[str, Any] | None],
    reference: int,
) -> Table:
    """Tables 1 and 2 of the paper in one: per model its headline figures, each bootstrapped
    figure followed by its Δ column, the AP by object size, the cost and the protocol.

    Parameters
    ----------
    labels
        Model names.
    metrics
        Each model's ``metrics.json``.
    intervals
        Each model's intervals by metric key (``compare()``'s ``runs[i]["intervals"]``); None
        for the reference or when no interval could be computed.
    reference
        Index of the reference model.
    """
    headers = ["Model"]
    for _key, header, boot in HEADLINE:
        headers.append(header)
        if boot:
            headers.append(f"Δ {header.removesuffix(' (%)')} (pp) [95 % CI]")
    headers += [f"AP {s} (%)" for s in SIZES]
    headers += ["Parameters (M)", "Latency (ms/img)", "Protocol", "Image size", "Images"]
    rows = []
    for i, (label, m) in enumerate(zip(labels, metrics, strict=True)):
        row = [label]
        for key, _header, boot in HEADLINE:
            row.append(pct((m.get("metrics") or {}).get(key)))
            if boot:
                iv = (intervals[i] or {}).get(boot) if i != reference else None
                row.append(REFERENCE if i == reference else delta_text(iv))
        size = m.get("size") or {}
        row += [pct((size.get(s) or {}).get("AP")) for s in SIZES]
        params = (m.get("cost") or {}).get("parameters")
        latency = m.get("latency_ms")
        row += [
            DASH if params is None else f"{params / 1e6:.2f}",
            DASH if latency is None else f"{latency:.1f}",
            str(m.get("protocol", DASH)),
            str((m.get("settings") or {}).get("imgsz", DASH)),
            str(m.get("images", DASH)),
        ]
        rows.append(row)
    return headers, rows


def per_class_table(
    labels: Sequence[str], metrics: Sequence[Mapping[str, Any]], key: str = "AP50"
) -> Table:
    """Per class: its validation instances and each model's AP (``key``: ``AP50`` or
    ``AP50-95``) in percent (the paper's Figure 2 as numbers)."""
    names = list((metrics[0].get("per_class") or {}) if metrics else [])
    what = "AP@0.5" if key == "AP50" else "AP@0.5:0.95"
    headers = ["Class", "Instances", *(f"{lab} {what} (%)" for lab in labels)]
    rows = []
    for name in names:
        first = metrics[0]["per_class"][name]
        rows.append([name, str(first.get("instances", DASH)),
                     *(pct(((m.get("per_class") or {}).get(name) or {}).get(key))
                       for m in metrics)])  # fmt: skip
    return headers, rows


def size_table(labels: Sequence[str], metrics: Sequence[Mapping[str, Any]]) -> Table:
    """Per COCO size bucket: its ground-truth instances and each model's AP in percent."""
    headers = ["Object size", "Instances", *(f"{lab} AP@0.5:0.95 (%)" for lab in labels)]
    rows = []
    for s in SIZES:
        first = (metrics[0].get("size") or {}).get(s) or {} if metrics else {}
        rows.append([s, str(first.get("instances", DASH)),
                     *(pct(((m.get("size") or {}).get(s) or {}).get("AP")) for m in metrics)])
    return headers, rows  # fmt: skip


def confusion_table(matrix: Mapping[str, Any]) -> Table:
    """``metrics.json``'s confusion matrix: rows ground truth, columns predicted (each with
    ``background`` last)."""
    labels = [str(x) for x in matrix["labels"]]
    headers = ["ground truth \\ predicted", *labels]
    return headers, [[g, *map(str, r)] for g, r in zip(labels, matrix["counts"], strict=True)]


def cell_images(errors: Mapping[str, Any], row: int, col: int) -> list[str]:
    """The images that put a count into cell (``row``, ``col``) of ``errors.json``'s confusion
    matrix (rows: ground-truth class, then background; columns: predicted class, then
    background), each once, in the file's order.

    A diagonal cell: images with a true positive of that class; (class, background): a miss no
    prediction took; (class g, class p): a miss of g taken by a class-p confusion;
    (background, class p): a false positive of class p that took no missed box.
    """
    nc = len(errors["classes"])
    out = []
    for e in errors["images"]:
        if row < nc and col == row:
            hit = any(t["class"] == row for t in e["matches"])
        elif row < nc and col == nc:
            hit = any(m["class"] == row and m["taken_by"] is None for m in e["misses"])
        elif row < nc:
            takers = {f["pred"] for f in e["false_positives"] if f["class"] == col}
            hit = any(m["class"] == row and m["taken_by"] in takers for m in e["misses"])
        elif col < nc:
            hit = any(f["class"] == col and not f.get("takes_missed_gt")
                      for f in e["false_positives"])  # fmt: skip
        else:
            hit = False
        if hit:
            out.append(str(e["file"]))
    return out


def pr_table(curves: Mapping[str, Any]) -> Table:
    """``pr_curves.json`` at IoU 0.5: per recall of the grid, each class's interpolated
    precision and their mean (the numbers of the PR plot)."""
    names = list(curves["classes"])
    headers = ["recall", *(f"precision {n}" for n in names), "precision mean over classes"]
    columns = [curves["classes"][n]["precision_at_recall"] for n in names]
    columns.append(curves["mean"]["precision_at_recall"])
    rows = [[f"{r:g}", *(f"{col[i]:.6g}" for col in columns)]
            for i, r in enumerate(curves["recall_grid"])]  # fmt: skip
    return headers, rows


def calibration_table(doc: Mapping[str, Any]) -> Table:
    """Per class: target, threshold chosen and P/R/F1 there, next to P/R at the single global
    threshold (:func:`grace.eval.calibrate.calibrate_records`' result)."""
    glob = doc.get("conf")
    headers = ["Class", "Instances", "Target", "Threshold", "P (%)", "R (%)", "F1 (%)",
               f"P at global {glob:.3f} (%)" if glob is not None else "P at global (%)",
               "R at global (%)", "Target reached"]  # fmt: skip
    rows = []
    for name, m in (doc.get("per_class_metrics") or {}).items():
        g = m.get("at_global") or {}
        own = m.get("calibrated")
        rows.append([name, str(m.get("instances")), str(m.get("target")),
                     f"{m['threshold']:.4f}" if own else f"{glob:.4f} (global)",
                     pct(m.get("precision")), pct(m.get("recall")), pct(m.get("f1")),
                     pct(g.get("precision")), pct(g.get("recall")),
                     "yes" if m.get("reached", True) else "no"])  # fmt: skip
    return headers, rows


def csv_text(table: Table) -> str:
    """The table as CSV (header row first)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table[0])
    w.writerows(table[1])
    return buf.getvalue()
