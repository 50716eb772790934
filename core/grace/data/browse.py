"""Browsing a dataset (for the GUI, Qt-free): what kind of folder a path is, and an index of its
images with their split and ground-truth boxes.

Kinds: ``yolo`` (a ``data.yaml`` or a folder holding one), ``neu-det`` (``IMAGES/`` and
``ANNOTATIONS/``; import with :func:`grace.data.neu_det.import_neu_det`), ``voc`` (Pascal VOC
XMLs next to or apart from the images; :func:`grace.data.voc_import.import_voc`) and ``images``
(a plain folder of images, no labels). YOLO labels are read with the engine's reader
(:func:`grace.data.yolo_layout.load_labels`), so the boxes shown are the boxes trained on.
Image sizes are read lazily (file header only) when boxes are wanted in pixels.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grace.data.images import is_image_name, open_image
from grace.data.yolo_layout import LabelBox, label_path, load_labels, read_yolo_dataset
from grace.errors import GraceError

KINDS = ("yolo", "neu-det", "voc", "images")
_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str | Path) -> tuple:
    """Sort key that orders file names as a person does: ``crazing_2`` before ``crazing_10``
    (runs of digits compare as numbers, the rest case-insensitively), then the full path."""
    name = Path(path).name
    parts = _DIGITS.split(name.casefold())
    return tuple((int(x), "") if i % 2 else (0, x) for i, x in enumerate(parts)), name, str(path)


def folder_kind(path: str | Path) -> str:
    """``yolo``, ``neu-det``, ``voc`` or ``images`` (see the module); a :class:`GraceError`
    naming the path when it is missing or holds none of them."""
    p = Path(path)
    if not p.exists():
        raise GraceError(f"{p}: not found")
    if p.is_file():
        if p.suffix.lower() in (".yaml", ".yml"):
            return "yolo"
        raise GraceError(f"{p}: not a data.yaml or a dataset folder")
    if (p / "data.yaml").is_file() or len(list(p.glob("*.yaml")) + list(p.glob("*.yml"))) == 1:
        return "yolo"
    if (p / "IMAGES").is_dir() and (p / "ANNOTATIONS").is_dir():
        return "neu-det"
    has_images = False
    for _d, dirs, files in os.walk(p):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in files:
            if f.lower().endswith(".xml"):
                return "voc"
            has_images = has_images or is_image_name(Path(f))
    if has_images:
        return "images"
    raise GraceError(f"{p}: no data.yaml, NEU-DET or VOC annotations, and no images")


@dataclass(frozen=True)
class IndexedImage:
    """One image: its split (``""`` for a plain folder) and its label boxes (``None``: no
    label file; normalised ``cx cy w h`` as in the label file)."""

    path: Path
    split: str
    boxes: tuple[LabelBox, ...] | None = None

    @property
    def classes(self) -> frozenset[int]:
        return frozenset(b.cls for b in self.boxes or ())


@dataclass
class DatasetIndex:
    """Every image of a dataset in display order (split, then file name in
    :func:`natural_key` order)."""

    kind: str
    source: Path
    names: list[str]
    images: list[IndexedImage]
    data_yaml: Path | None = None
    _by_file: dict[str, int] | None = field(default=None, repr=False)

    @property
    def splits(self) -> list[str]:
        """The splits present, in the order train, val, test."""
        return list(dict.fromkeys(im.split for im in self.images if im.split))

    def select(self, split: str = "", class_id: int | None = None) -> list[int]:
        """Indices of the images in ``split`` (``""``: all) having a box of ``class_id``
        (``None``: any image)."""
        return [
            i
            for i, im in enumerate(self.images)
            if (not split or im.split == split) and (class_id is None or class_id in im.classes)
        ]

    def image_of(self, file: str | Path) -> int | None:
        """The index of the image a problem's ``file`` is about (the image itself or its
        label file), or ``None``."""
        if self._by_file is None:
            by: dict[str, int] = {}
            for i, im in enumerate(self.images):
                by[str(im.path)] = i
                if im.split:
                    by.setdefault(str(label_path(im.path)), i)
            self._by_file = by
        return self._by_file.get(str(file))


def index_dataset(path: str | Path) -> DatasetIndex:
    """The index of a YOLO dataset or a plain image folder (NEU-DET and VOC folders are
    imported first: a :class:`GraceError` says so)."""
    kind = folder_kind(path)
    if kind == "yolo":
        return index_yolo(path)
    if kind == "images":
        return index_images(path)
    raise GraceError(f"{path}: a {kind} folder; import it to YOLO first")


def index_yolo(data: str | Path) -> DatasetIndex:
    """Index of the YOLO dataset ``data`` (a ``data.yaml`` or its folder); labels are read with
    :func:`~grace.data.yolo_layout.load_labels` (dropped lines are the stats' problems)."""
    ds = read_yolo_dataset(data, required=())
    if not ds.splits:
        raise GraceError(f"{ds.yaml_path}: no train, val or test entry")
    images = []
    for split, (_folder, paths) in ds.splits.items():
        for p in sorted(paths, key=natural_key):
            boxes, _problems = load_labels(p, len(ds.names))
            images.append(IndexedImage(p, split, None if boxes is None else tuple(boxes)))
    return DatasetIndex("yolo", ds.yaml_path.parent, ds.names, images, ds.yaml_path)


def index_images(folder: str | Path) -> DatasetIndex:
    """Index of a plain image folder (searched recursively, hidden folders skipped)."""
    root = Path(folder)
    found = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        found += [Path(d, f) for f in files if is_image_name(Path(f)) and not f.startswith(".")]
    if not found:
        raise GraceError(f"{root}: no images found")
    found.sort(key=natural_key)
    return DatasetIndex("images", root, [], [IndexedImage(p, "") for p in found])


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` from the file header (no decode)."""
    with open_image(path) as im:
        return im.size


def pixel_boxes(
    boxes: tuple[LabelBox, ...] | list[LabelBox] | None, width: int, height: int
) -> list[tuple[float, float, float, float, int]]:
    """Normalised label boxes to ``(x1, y1, x2, y2, class_id)`` in pixels of a
    ``width x height`` image."""
    out = []
    for b in boxes or ():
        x1, y1 = (b.cx - b.w / 2) * width, (b.cy - b.h / 2) * height
        out.append((x1, y1, x1 + b.w * width, y1 + b.h * height, b.cls))
    return out
