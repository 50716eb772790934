"""What evaluation works on: per image, the ground truth and the predictions, in pixels.

Boxes are ``(x1, y1, x2, y2)`` in pixels of the *original* image (not the letterboxed network
input), so that areas, and therefore the COCO size buckets, are those of the image as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _boxes(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1, 4)


def _vector(a, dtype) -> np.ndarray:
    return np.asarray(a, dtype=dtype).reshape(-1)


@dataclass
class ImageRecord:
    """Ground truth and predictions of one image.

    Parameters
    ----------
    file
        Image path (or any unique name).
    width, height
        Original image size in pixels.
    gt_boxes
        ``(G, 4)`` ground-truth boxes, xyxy pixels.
    gt_classes
        ``(G,)`` class indices of the ground truth.
    boxes
        ``(N, 4)`` predicted boxes, xyxy pixels.
    scores
        ``(N,)`` confidences in [0, 1].
    classes
        ``(N,)`` predicted class indices.
    """

    file: str
    width: int
    height: int
    gt_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    gt_classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.gt_boxes = _boxes(self.gt_boxes)
        self.gt_classes = _vector(self.gt_classes, np.int64)
        self.boxes = _boxes(self.boxes)
        self.scores = _vector(self.scores, np.float64)
        self.classes = _vector(self.classes, np.int64)
        if len(self.gt_boxes) != len(self.gt_classes):
            raise ValueError(
                f"{self.file}: {len(self.gt_boxes)} GT boxes, {len(self.gt_classes)} classes"
            )
        if not len(self.boxes) == len(self.scores) == len(self.classes):
            raise ValueError(f"{self.file}: predictions have unequal lengths")


def xywhn_to_xyxy(xywhn, width: int, height: int) -> np.ndarray:
    """YOLO label boxes (normalised centre x, centre y, width, height) to xyxy pixels.

    Parameters
    ----------
    xywhn
        ``(G, 4)`` normalised boxes as in a YOLO label file.
    width, height
        Image size in pixels.

    Returns
    -------
    np.ndarray
        ``(G, 4)`` xyxy boxes in pixels.
    """
    b = _boxes(xywhn)
    scale = np.array([width, height, width, height], dtype=np.float64)
    xy, wh = b[:, :2], b[:, 2:]
    return np.concatenate([xy - wh / 2, xy + wh / 2], axis=1) * scale


PREDICTIONS_FORMAT = "grace val predictions 1"


def save_records(path, records, names, info: dict | None = None) -> None:
    """Every image's ground truth and raw detections as one compressed ``.npz`` (atomic).

    Arrays: ``files``, ``width``, ``height``; ``gt_count`` per image with ``gt_boxes`` (xyxy
    pixels) and ``gt_classes`` concatenated in image order; ``pred_count`` with ``boxes``,
    ``scores``, ``classes`` likewise; ``names``; ``info`` (a JSON string: the settings).
    Read it back with :func:`load_records`.
    """
    import json

    from grace.fileio import atomic_write_with

    def cat(key: str, shape: tuple, dtype) -> np.ndarray:
        parts = [getattr(r, key) for r in records]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(shape, dtype)

    arrays = {
        "format": np.array(PREDICTIONS_FORMAT),
        "names": np.array(list(names), dtype=str),
        "info": np.array(json.dumps(info or {})),
        "files": np.array([r.file for r in records], dtype=str),
        "width": np.array([r.width for r in records], dtype=np.int64),
        "height": np.array([r.height for r in records], dtype=np.int64),
        "gt_count": np.array([len(r.gt_classes) for r in records], dtype=np.int64),
        "gt_boxes": cat("gt_boxes", (0, 4), np.float64),
        "gt_classes": cat("gt_classes", (0,), np.int64),
        "pred_count": np.array([len(r.scores) for r in records], dtype=np.int64),
        "boxes": cat("boxes", (0, 4), np.float32),
        "scores": cat("scores", (0,), np.float32),
        "classes": cat("classes", (0,), np.int64),
    }
    atomic_write_with(path, lambda f: np.savez_compressed(f, **arrays))


def load_records(path) -> tuple[list[ImageRecord], list[str], dict]:
    """The records, class names and settings saved by :func:`save_records`."""
    import json

    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    gt_end, pred_end = np.cumsum(a["gt_count"]), np.cumsum(a["pred_count"])
    records = []
    for i, f in enumerate(a["files"]):
        g = slice(gt_end[i] - a["gt_count"][i], gt_end[i])
        p = slice(pred_end[i] - a["pred_count"][i], pred_end[i])
        records.append(
            ImageRecord(str(f), int(a["width"][i]), int(a["height"][i]), a["gt_boxes"][g],
                        a["gt_classes"][g], a["boxes"][p], a["scores"][p], a["classes"][p])
        )  # fmt: skip
    return records, [str(n) for n in a["names"]], json.loads(str(a["info"]))
