"""One pass of ``grace predict``'s own code over the validation split (protocol "deployed").

The images are decoded and batched by :class:`grace.infer.files.FileSource` and turned into
detections by :meth:`grace.infer.predictor.Predictor.predict`, exactly as ``grace predict`` does
on the same files at the same ``--imgsz``, ``--batch``, ``--iou`` and ``--max-det`` (with a low
confidence for AP). The ground truth is read with the one label reader
(:func:`grace.data.yolo_layout.load_labels`) and scaled to the decoded image's size; every label
problem and every image that cannot be decoded is reported as a
:class:`~grace.data.problems.Problem`, never dropped silently.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np

from grace.data.problems import Problem
from grace.data.yolo_layout import YoloDataset, load_labels
from grace.eval.collect import Collected
from grace.eval.records import ImageRecord, xywhn_to_xyxy

PROTOCOL = "deployed"


def _ground_truth(image: Path, nc: int, width: int, height: int, problems: list[Problem]):
    boxes, found = load_labels(image, nc)
    problems.extend(found)
    boxes = boxes or []  # no label file: a background image (reported above)
    xywhn = np.array([[b.cx, b.cy, b.w, b.h] for b in boxes], dtype=np.float64).reshape(-1, 4)
    return xywhn_to_xyxy(xywhn, width, height), np.array([b.cls for b in boxes], dtype=np.int64)


def collect_deployed(
    model,
    weights: str | Path,
    ds: YoloDataset,
    imgsz: int,
    batch: int,
    device: str,
    conf: float = 0.001,
    iou: float = 0.7,
    max_det: int = 300,
) -> Collected:
    """Run ``grace predict``'s predictor over ``ds``'s ``val`` split once; keep every detection.

    Parameters
    ----------
    model
        An ``ultralytics.YOLO`` loaded from ``weights`` (shared with the cost figures).
    weights
        The checkpoint path (for the predictor's checks and names).
    ds
        The dataset as :func:`grace.data.yolo_layout.read_yolo_dataset` read it.
    imgsz, batch, device
        Inference size, images per batch, device ("" = automatic), as ``grace predict``'s.
    conf, iou, max_det
        NMS settings (a low ``conf`` keeps the whole PR curve).

    Returns
    -------
    Collected
        Records in the split's order; ``speed_ms`` holds ``predict`` (per image: letterbox,
        forward and NMS, without decoding); ``input_shapes`` the network input shapes fed, with
        how many images each; ``problems`` the label and image problems.
    """
    from grace.infer.files import FileSource
    from grace.infer.predictor import Predictor
    from grace.infer.sources import SourceSpec
    from grace.infer.thresholds import make_thresholds

    images = ds.splits["val"][1]
    predictor = Predictor(weights, iou=iou, imgsz=imgsz, device=device, max_det=max_det,
                          model=model)  # fmt: skip
    predictor.thresholds = make_thresholds(conf, [], predictor.names)
    predictor.warmup()
    source = FileSource(SourceSpec(str(ds.splits["val"][0]), "glob", list(images)))
    problems: list[Problem] = []
    records: list[ImageRecord] = []
    shapes: Counter[tuple[int, int]] = Counter()
    seconds = 0.0
    nc = len(ds.names)
    try:
        for frames in source.batches(batch, prefetch=predictor.device_type == "cuda"):
            t0 = time.perf_counter()
            results = predictor.predict(frames)
            seconds += time.perf_counter() - t0
            if predictor.last_input_shape is not None:
                shapes[predictor.last_input_shape] += len(frames)
            for r in results:
                f = r.frame
                gt, gt_cls = _ground_truth(Path(f.source), nc, f.width, f.height, problems)
                records.append(ImageRecord(f.source, f.width, f.height, gt, gt_cls,
                                           r.boxes, r.scores, r.classes))  # fmt: skip
    finally:
        source.close()
    for s in source.stats.skipped:
        problems.append(Problem(s.file, "unreadable_image", f"{s.reason}; not evaluated"))
    return Collected(
        records=records,
        names=list(predictor.names),
        speed_ms={"predict": 1000.0 * seconds / max(len(records), 1)},
        input_shapes=[{"shape": list(k), "images": v} for k, v in sorted(shapes.items())],
        problems=problems,
        precision=getattr(predictor, "precision", ""),
    )
