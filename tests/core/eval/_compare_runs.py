"""Constructed ``grace val --out`` folders for the ``grace compare`` tests (imported by name):
``predictions.npz`` written by ``save_records`` and a ``metrics.json`` whose figures come from
``evaluate`` on the same records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from grace.eval.metrics import evaluate
from grace.eval.records import ImageRecord, save_records

NAMES = ["crazing", "pits", "scratches"]


def _records(n: int, seed: int = 1, fp_per_image: int = 6) -> list[ImageRecord]:
    """``n`` 200x200 images, 1-3 GT boxes each; predictions: each GT jittered (a likely TP)
    plus ``fp_per_image`` random boxes, scores overlapping, all distinct."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        g = int(rng.integers(1, 4))
        xy = rng.uniform(0, 140, (g, 2))
        gt = np.c_[xy, xy + rng.uniform(15, 55, (g, 2))]
        gtc = rng.integers(0, len(NAMES), g)
        fxy = rng.uniform(0, 140, (fp_per_image, 2))
        boxes = np.r_[gt + rng.normal(0, 3, gt.shape), np.c_[fxy, fxy + 20]]
        classes = np.r_[gtc, rng.integers(0, len(NAMES), fp_per_image)]
        scores = np.r_[rng.uniform(0.3, 1.0, g), rng.uniform(0.01, 0.7, fp_per_image)]
        recs.append(ImageRecord(f"/data/val/images/im{i:03d}.jpg", 200, 200, gt, gtc, boxes,
                                scores, classes))  # fmt: skip
    return recs


def _val_dir(path: Path, records, protocol: str = "deployed", names=NAMES) -> Path:
    """A ``grace val --out`` folder: predictions.npz and metrics.json (our evaluate's figures)."""
    path.mkdir(parents=True)
    m = evaluate(records, names)
    doc = {
        "protocol": protocol,
        "metrics": {"mAP50-95": m.map50_95, "mAP50": m.map50, "precision": m.precision,
                    "recall": m.recall, "f1_dataset": m.f1_dataset,
                    "f1_mean_over_classes": m.f1_mean_over_classes},
    }  # fmt: skip
    (path / "metrics.json").write_text(json.dumps(doc))
    save_records(path / "predictions.npz", records, names, {"protocol": protocol})
    return path


def _without_high_fps(records, above: float = 0.45) -> list[ImageRecord]:
    """The same images with every false positive scored above ``above`` removed (the random
    boxes are the predictions after the GT-jittered ones)."""
    out = []
    for r in records:
        g = len(r.gt_classes)
        keep = np.r_[np.ones(g, bool), r.scores[g:] <= above]
        out.append(ImageRecord(r.file, r.width, r.height, r.gt_boxes, r.gt_classes,
                               r.boxes[keep], r.scores[keep], r.classes[keep]))  # fmt: skip
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", "compare", *args],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
