"""One pass of a model over the validation split through Ultralytics' validator (protocol
"ultralytics"), keeping every prediction (the I/O side).

Ultralytics' own ``DetectionValidator`` does the batching, letterboxing, inference and NMS (so
the predictions and the timings are exactly those of ``yolo val``); a subclass keeps, per image,
the predicted boxes scaled back to the original image, their scores and classes. The ground
truth comes from the dataset's YOLO labels (as parsed by the validator's dataset, after its
label checks) in pixels of the original image size.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grace.eval.records import ImageRecord, xywhn_to_xyxy


@dataclass
class Collected:
    """What one validation pass produced."""

    records: list[ImageRecord]
    names: list[str]
    speed_ms: dict[str, float]  # per image: preprocess, inference, postprocess
    ultralytics: dict[str, float] = field(default_factory=dict)  # their own figures, same pass
    input_shapes: list[dict] = field(default_factory=list)  # {"shape": [h, w], "images": n}
    precision: str = ""  # what an OpenVINO model computed in (f32, bf16), else ""
    problems: list = field(default_factory=list)  # grace.data.problems.Problem records


def _validator_class():
    from ultralytics.models.yolo.detect import DetectionValidator

    class CollectingValidator(DetectionValidator):
        """Ultralytics' detection validator that also keeps every prediction per image."""

        def init_metrics(self, model) -> None:
            super().init_metrics(model)
            self.kept: dict[str, dict[str, Any]] = {}
            self.input_shapes: Counter[tuple[int, int]] = Counter()

        def update_metrics(self, preds, batch) -> None:
            super().update_metrics(preds, batch)
            h, w = (int(v) for v in batch["img"].shape[2:])
            self.input_shapes[(h, w)] += len(preds)
            for si, pred in enumerate(preds):
                pbatch = self._prepare_batch(si, batch)
                scaled = self.scale_preds(pred, pbatch)
                h, w = (int(v) for v in pbatch["ori_shape"])
                self.kept[pbatch["im_file"]] = {
                    "width": w,
                    "height": h,
                    "boxes": scaled["bboxes"].detach().float().cpu().numpy(),
                    "scores": pred["conf"].detach().float().cpu().numpy(),
                    "classes": pred["cls"].detach().cpu().numpy().astype(np.int64),
                }

    return CollectingValidator


def collect_predictions(
    model,
    data: str | Path,
    imgsz: int,
    batch: int,
    device: str,
    conf: float = 0.001,
    iou: float = 0.7,
    max_det: int = 300,
    save_dir: str | Path | None = None,
) -> Collected:
    """Run ``model`` over the ``val`` split of ``data`` once and keep every prediction.

    Parameters
    ----------
    model
        An ``ultralytics.YOLO`` (e.g. from :func:`grace.nn.checkpoint.load_yolo`).
    data
        YOLO ``data.yaml``.
    imgsz, batch, device
        Validation image size, batch size and device ("" = automatic).
    conf, iou, max_det
        NMS settings (COCO-style evaluation: a low ``conf`` keeps the whole PR curve).
    save_dir
        Where Ultralytics may write (nothing, with plots off); created if missing.

    Returns
    -------
    Collected
    """
    args = {
        **model.overrides,
        "rect": True,  # as ``YOLO.val``
        "data": str(data),
        "imgsz": imgsz,
        "batch": batch,
        "device": device,
        "conf": conf,
        "iou": iou,
        "max_det": max_det,
        "plots": False,
        "verbose": False,
        "save_json": False,
        "mode": "val",
    }
    validator = _validator_class()(
        save_dir=Path(save_dir) if save_dir else None, args=args, _callbacks=model.callbacks
    )
    validator(model=model.model)
    names_map = (
        validator.names if isinstance(validator.names, dict) else dict(enumerate(validator.names))
    )
    names = [str(names_map[k]) for k in sorted(names_map)]
    records = []
    for label in validator.dataloader.dataset.labels:
        kept = validator.kept.get(label["im_file"])
        if kept is None:  # not evaluated (Ultralytics skipped it); cannot happen with rank -1
            continue
        if label.get("bbox_format", "xywh") != "xywh" or not label.get("normalized", True):
            raise ValueError(f"{label['im_file']}: labels are not normalised xywh")
        records.append(
            ImageRecord(
                file=label["im_file"],
                width=kept["width"],
                height=kept["height"],
                gt_boxes=xywhn_to_xyxy(label["bboxes"], kept["width"], kept["height"]),
                gt_classes=np.asarray(label["cls"]).reshape(-1).astype(np.int64),
                boxes=kept["boxes"],
                scores=kept["scores"],
                classes=kept["classes"],
            )
        )
    records.sort(key=lambda r: r.file)
    box = validator.metrics.box
    return Collected(
        records=records,
        names=names,
        speed_ms={
            k: float(validator.speed.get(k, 0.0))
            for k in ("preprocess", "inference", "postprocess")
        },
        input_shapes=[
            {"shape": list(k), "images": v} for k, v in sorted(validator.input_shapes.items())
        ],
        ultralytics={
            "mAP50-95": float(box.map),
            "mAP50": float(box.map50),
            "precision": float(box.mp),
            "recall": float(box.mr),
        },
    )
