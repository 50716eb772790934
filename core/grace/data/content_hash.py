"""One content hash of a YOLO dataset: which images and labels, byte for byte, a model saw."""

from __future__ import annotations

import hashlib
from pathlib import Path

from grace.data.images import sha256_file


def dataset_content_hash(data: str | Path) -> str:
    """SHA-256 over the sorted ``split/relative-path sha256`` lines of every image and label file
    of each split of ``data`` (a YOLO ``data.yaml``) and its class names; file names and folder
    locations outside the splits do not count, so a copy of the dataset has the same hash.

    Raises
    ------
    GraceError
        From the data.yaml reader when ``data`` is not a readable dataset.
    """
    from grace.data.yolo_layout import read_yolo_dataset

    ds = read_yolo_dataset(data)
    lines = ["names " + "|".join(ds.names)]
    for split in sorted(ds.splits):
        root, images = ds.splits[split][0], ds.splits[split][1]
        for image in sorted(images):
            rel = _rel(Path(image), Path(root))
            lines.append(f"{split}/{rel} {sha256_file(image)}")
            label = _label_of(Path(image))
            if label is not None and label.is_file():
                lines.append(f"{split}/{rel}.txt {sha256_file(label)}")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _label_of(image: Path) -> Path | None:
    from grace.data.yolo_layout import find_label

    return find_label(image)
