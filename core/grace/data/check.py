"""Checks of a YOLO ``data.yaml`` that fail early with one clear line, before any training starts.

Ultralytics would otherwise try to *download* a dataset whose folders are missing, and train on
a dataset without labels with only a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from grace.errors import GraceError

IMAGE_SUFFIXES = {".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm"}


@dataclass(frozen=True)
class DatasetSummary:
    yaml_path: Path
    names: list[str]
    images: dict[str, int]  # split -> number of images
    label_files: dict[str, int]  # split -> number of label files found


def _split_images(root: Path, entry: str | list) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for e in entries:
        p = Path(e)
        p = p if p.is_absolute() else root / p
        if p.is_dir():
            images += [f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES]
        elif p.is_file() and p.suffix == ".txt":  # a list of image paths
            for line in p.read_text().splitlines():
                q = Path(line.strip())
                if line.strip():
                    images.append(q if q.is_absolute() else p.parent / q)
        else:
            raise GraceError(f"{p}: split folder not found")
    return images


def _label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):  # Ultralytics: last /images/ becomes /labels/
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _check_labels(label: Path, nc: int) -> None:
    for n, line in enumerate(label.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            cls = int(float(fields[0]))
        except ValueError:
            raise GraceError(f"{label}:{n}: class id {fields[0]!r} is not a number") from None
        if not 0 <= cls < nc:
            raise GraceError(
                f"{label}:{n}: class id {cls} outside 0..{nc - 1} (data.yaml has {nc} names)"
            )


def check_data_yaml(path: str | Path) -> DatasetSummary:
    """Validate a YOLO ``data.yaml``; raise :class:`GraceError` at the first fatal problem.

    Fatal: missing or unparsable file, no ``names``, no ``train``/``val`` entry, a missing split
    folder, a split without images, a training split without any label file, and a class id
    outside the names. Returns the per-split counts.
    """
    path = Path(path)
    if not path.is_file():
        raise GraceError(f"{path}: data file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise GraceError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise GraceError(f"{path}: expected a mapping with 'path', 'train', 'val' and 'names'")
    names = data.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not names or not isinstance(names, list):
        raise GraceError(f"{path}: no class 'names'")
    root = Path(data.get("path") or path.parent)
    root = root if root.is_absolute() else path.parent / root
    images: dict[str, int] = {}
    labels: dict[str, int] = {}
    for split in ("train", "val"):
        if not data.get(split):
            raise GraceError(f"{path}: no '{split}' entry")
        files = _split_images(root, data[split])
        if not files:
            raise GraceError(f"{path}: the {split} split has no images ({root / str(data[split])})")
        found = [lb for lb in map(_label_path, files) if lb.is_file()]
        for lb in found:
            _check_labels(lb, len(names))
        images[split], labels[split] = len(files), len(found)
    if labels["train"] == 0:
        raise GraceError(f"{path}: no label files for the {images['train']} training images")
    return DatasetSummary(path, [str(n) for n in names], images, labels)
