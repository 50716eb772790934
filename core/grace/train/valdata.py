"""The validation images of training, fed as ``grace predict`` feeds them (protocol "deployed").

Ultralytics validates during training (the fitness that picks ``best.pt``) on rectangular
batches: each image's long side resized to ``imgsz``, then padded to a batch shape of a multiple
of the stride plus half a stride (200x200 NEU-DET images at 256 become 288x288). ``grace
predict`` instead runs Ultralytics' predictor: the image as decoded
(:func:`grace.images.read_image`) goes through ``LetterBox(imgsz, auto=same_shapes,
stride=model stride)`` with the defaults ``scaleup=True``, ``center=True`` (Ultralytics
8.4.190, ``BasePredictor.pre_transform``; ``auto`` is True when the images of a batch share
one shape, as ``YOLO.predict`` sets ``rect=True``). :class:`DeployedValDataset` does exactly
that per image, with ``auto`` True when every val image has the same shape (then every batch
of predict has one shape); a split of mixed shapes is letterboxed to the square ``imgsz``, which
is what predict does to a batch of mixed shapes (a batch of predict that happens to hold only
images of one non-square shape gets the smaller rectangle: the one case that differs).
"""

from __future__ import annotations

from typing import Any

from ultralytics.data.augment import LetterBox
from ultralytics.data.dataset import YOLODataset
from ultralytics.data.utils import get_split_fraction
from ultralytics.utils import colorstr

from grace.images import read_image


class DeployedValDataset(YOLODataset):
    """Ultralytics' YOLO dataset without rectangular batches, loading each image as decoded by
    ``grace predict`` and letterboxing it as its predictor does (module notes)."""

    def load_image(self, i: int, rect_mode: bool = True, resize_short: bool = False):
        """The image as decoded, not resized (the letterbox resizes it once, as predict)."""
        im = read_image(self.im_files[i])  # a GraceError naming the file if unreadable
        h, w = im.shape[:2]
        return im, (h, w), (h, w)

    def build_transforms(self, hyp: Any):
        transforms = super().build_transforms(hyp)  # [LetterBox(scaleup=False), Format]
        shapes = {tuple(int(v) for v in lb["shape"]) for lb in self.labels if "shape" in lb}
        transforms.transforms[0] = LetterBox(
            self.imgsz, auto=len(shapes) == 1, scaleup=True, center=True, stride=self.stride
        )
        return transforms


def build_deployed_val_dataset(
    cfg: Any, img_path: str, batch: int | None, data: dict, stride: int
) -> DeployedValDataset:
    """:class:`DeployedValDataset` with the arguments Ultralytics' ``build_yolo_dataset`` gives
    a validation dataset, less the rectangular batches."""
    fraction = 1.0 if data.get("complete") else get_split_fraction(cfg.fraction, cfg.split)
    return DeployedValDataset(
        img_path=img_path,
        imgsz=cfg.imgsz,
        batch_size=batch,
        augment=False,
        hyp=cfg,
        rect=False,
        cache=cfg.cache or None,
        single_cls=cfg.single_cls or False,
        stride=stride,
        pad=0.5,
        prefix=colorstr("val: "),
        task=cfg.task,
        classes=cfg.classes,
        data=data,
        fraction=fraction,
    )
