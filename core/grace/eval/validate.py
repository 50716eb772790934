"""``grace val``: metrics of a checkpoint on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.nn.checkpoint import load_yolo


def validate(
    weights: str,
    data: str,
    imgsz: int = 640,
    batch: int = 16,
    device: str = "",
    conf: float = 0.001,
    iou: float = 0.7,
) -> dict[str, Any]:
    """Validate a checkpoint on ``data``; returns a JSON-ready dict of metrics."""
    from grace.data.check import check_data_yaml

    if not Path(weights).is_file():
        raise GraceError(f"{weights}: weights file not found")
    summary = check_data_yaml(data)
    model = load_yolo(weights)
    m = model.val(
        data=str(data),
        imgsz=imgsz,
        batch=batch,
        device=device,
        conf=conf,
        iou=iou,
        plots=False,
        verbose=False,
    )
    p, r = float(m.box.mp), float(m.box.mr)
    names = m.names if isinstance(m.names, dict) else dict(enumerate(m.names))
    per_class = {}
    for i, c in enumerate(m.box.ap_class_index):
        per_class[names[int(c)]] = {"AP50-95": float(m.box.ap[i]), "AP50": float(m.box.ap50[i])}
    return {
        "weights": str(weights),
        "data": str(data),
        "images": summary.images["val"],
        "metrics": {
            "mAP50-95": float(m.box.map),
            "mAP50": float(m.box.map50),
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r > 0 else 0.0,
        },
        "per_class": per_class,
        "speed_ms": {k: float(v) for k, v in m.speed.items()},
    }
