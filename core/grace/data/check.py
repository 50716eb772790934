"""The dataset as the trainer will see it, checked before any training starts.

Ultralytics drops a *whole image* (its valid boxes too) when one line of its label file breaks
a rule: a coordinate above 1.01 or NaN, a negative value, a class id outside the names, a
wrong number of columns, a file that is not UTF-8. ``grace data stats`` reports such lines one
by one as clipped or dropped boxes; training would lose more, silently. :func:`check_for_training`
runs the stats' label checks (:func:`grace.data.yolo_layout.load_labels`) together with the
trainer's own rules (:func:`trainer_drop_reason`, a mirror of Ultralytics'
``verify_image_label`` that, unlike it, never rewrites an image) and names every image the
trainer would drop, so ``grace train`` can say so and refuse a dataset left with no instances.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from grace.data.images import probe_image
from grace.data.yolo_layout import YoloDataset, label_path, load_labels, read_yolo_dataset
from grace.errors import GraceError

MIN_IMAGE_SIDE = 10  # Ultralytics drops images smaller than this in either dimension
COORD_TOLERANCE = 0.01  # Ultralytics accepts coordinates up to 1.01 and down to -0.01


def trainer_view(text: str, nc: int) -> tuple[int, str | None]:
    """What Ultralytics' trainer makes of a label text: ``(instances kept, None)``, or
    ``(0, why it drops the whole image)``.

    The rules of Ultralytics 8.4's ``verify_image_label`` for a detection task: rows of 5
    numbers, or all rows polygons (more than 6 fields, converted to boxes); every coordinate at
    most 1.01; no value below 0 (down to -0.01 when widths and heights are positive); integer
    class ids below ``nc``. A NaN fails the coordinate rule, as it does there. Repeated rows
    count once (the trainer removes them).
    """
    rows = [line.split() for line in text.strip().splitlines() if line.strip()]
    if not rows:
        return 0, None
    reason, lb = _trainer_rule(rows, nc)
    return (0, reason) if reason else (len(np.unique(lb, axis=0)), None)


def _trainer_rule(rows: list[list[str]], nc: int) -> tuple[str | None, np.ndarray]:
    polygon = any(len(r) > 6 for r in rows)
    none = np.zeros((0, 5), np.float32)
    if polygon and any(len(r) == 5 for r in rows):
        return "labels mix polygon and box rows", none
    try:
        if polygon:
            boxes = []
            for r in rows:
                xy = np.array(r[1:], dtype=np.float32).reshape(-1, 2)
                x0, y0, x1, y1 = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
                boxes.append([float(r[0]), (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])
            lb = np.array(boxes, dtype=np.float32)
        else:
            if len({len(r) for r in rows}) != 1:
                return "rows with different numbers of columns", none
            lb = np.array(rows, dtype=np.float32)
    except ValueError as e:
        return f"a value is not a number ({e})", none
    if lb.shape[1] != 5:
        return f"labels need 5 columns, found {lb.shape[1]}", none
    points = lb[:, 1:]
    if not points.max() <= 1 + COORD_TOLERANCE:
        bad = [float(v) for v in points.ravel() if not v <= 1 + COORD_TOLERANCE]
        values = ", ".join(f"{v:g}" for v in bad[:4])
        return f"coordinates above 1 or not a number: {values}", none
    low = lb.min()
    if not (low >= 0 or (low >= -COORD_TOLERANCE and lb[:, 3:5].min() >= 0)):
        return f"negative values: {', '.join(f'{v:g}' for v in lb[lb < 0][:4])}", none
    if not (lb[:, 0] % 1 == 0).all():
        return "class ids that are not whole numbers", none
    if lb[:, 0].max() >= nc:
        return f"class id {int(lb[:, 0].max())} outside 0..{nc - 1}", none
    return None, lb


@dataclass(frozen=True)
class DroppedImage:
    """An image the trainer would leave out, with its label file and the reason."""

    split: str
    image: str
    label: str
    reason: str

    def line(self) -> str:
        return f"{self.image}: {self.reason}"


@dataclass
class TrainingCheck:
    """Per split: images found, instances the trainer keeps, and the images it would drop."""

    dataset: YoloDataset
    images: dict[str, int] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    dropped: list[DroppedImage] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "data": str(self.dataset.yaml_path),
            "images": dict(self.images),
            "instances": dict(self.instances),
            "dropped": [asdict(d) for d in self.dropped],
        }


def _image_for_trainer(image: Path, nc: int) -> tuple[int, str | None]:
    """``(instances the trainer keeps, None)`` or ``(0, why it drops the image)``."""
    probe = probe_image(image)
    if not probe.ok:
        return 0, f"unreadable image ({probe.error})"
    w, h = probe.shown_size  # what Ultralytics' exif_size reports
    if min(w, h) < MIN_IMAGE_SIDE:
        return 0, f"image {w}x{h} smaller than {MIN_IMAGE_SIDE} px"
    label = label_path(image)
    if not label.is_file():
        return 0, None
    try:
        text = label.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return 0, f"{label.name} is not UTF-8 text (byte {e.object[e.start]:#04x} at {e.start})"
    except OSError as e:
        return 0, f"{label.name} cannot be read ({e.strerror or e})"
    kept, reason = trainer_view(text, nc)
    if reason is None:
        return kept, None
    _, problems = load_labels(image, nc)  # the stats' view of the same lines
    lines = [p.detail for p in problems if p.kind != "duplicate_box"]
    return 0, f"{label.name}: {reason}" + (f" ({'; '.join(lines[:3])})" if lines else "")


def check_for_training(data: str | Path, background_only: bool = False) -> TrainingCheck:
    """Read ``data`` with the one data.yaml reader and find what the trainer would drop.

    Raises
    ------
    GraceError
        When the training split would have no instances left (unless ``background_only``),
        naming how many images were dropped and the first reason.
    """
    ds = read_yolo_dataset(data)
    nc = len(ds.names)
    check = TrainingCheck(ds)
    for split, (_, images) in ds.splits.items():
        if split == "test":
            continue
        kept = 0
        for image in images:
            n, reason = _image_for_trainer(image, nc)
            kept += n
            if reason is not None:
                label = str(label_path(image))
                check.dropped.append(DroppedImage(split, str(image), label, reason))
        check.images[split], check.instances[split] = len(images), kept
    if check.instances.get("train", 0) == 0 and not background_only:
        train_drops = [d for d in check.dropped if d.split == "train"]
        why = (
            f"{len(train_drops)} of {check.images['train']} training images would be dropped "
            f"by the trainer, e.g. {train_drops[0].line()}"
            if train_drops
            else f"none of its {check.images['train']} training images has a labelled box"
        )
        raise GraceError(
            f"{ds.yaml_path}: no instances to train on: {why} (pass --background-only to "
            "train on background images anyway)"
        )
    return check
