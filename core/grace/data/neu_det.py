"""``grace data import neu-det``: NEU-DET (``IMAGES/``, ``ANNOTATIONS/``) to a YOLO dataset.

Rules (the paper's, Methods "Dataset and splits"):
* byte-identical images are dropped by content hash (SHA-256), keeping the first by file name;
* the kept images, sorted by name, are shuffled with ``numpy.random.default_rng(seed)`` and the
  first ``round(n * val_fraction)`` go to val (8:2 by default);
* classes are the sorted set of ``<name>`` tags; instances are counted by ``<name>``.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from grace.data.voc import parse_voc
from grace.errors import GraceError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class ImportReport:
    out: str
    data_yaml: str
    names: list[str]
    images: dict[str, int]
    instances: dict[str, int]
    instances_per_class: dict[str, int]
    duplicates_dropped: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_neu_det(
    src: str | Path, out: str | Path, seed: int = 0, val_fraction: float = 0.2
) -> ImportReport:
    """Convert NEU-DET at ``src`` into a YOLO dataset at ``out``; returns what was written."""
    src, out = Path(src), Path(out)
    img_dir, ann_dir = src / "IMAGES", src / "ANNOTATIONS"
    for d in (img_dir, ann_dir):
        if not d.is_dir():
            raise GraceError(f"{d}: folder not found (expected NEU-DET's IMAGES/ and ANNOTATIONS/)")
    if not 0 < val_fraction < 1:
        raise GraceError(f"--val-fraction must be between 0 and 1 (got {val_fraction})")
    images = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise GraceError(f"{img_dir}: no images")
    first_by_hash: dict[str, Path] = {}
    kept, dropped = [], []
    for p in images:
        h = _sha256(p)
        if h in first_by_hash:
            dropped.append({"dropped": p.name, "kept": first_by_hash[h].name, "sha256": h})
        else:
            first_by_hash[h] = p
            kept.append(p)
    annotations = {}
    for p in kept:
        xml = ann_dir / f"{p.stem}.xml"
        if not xml.is_file():
            raise GraceError(f"{xml}: annotation missing for {p.name}")
        annotations[p] = parse_voc(xml)
    names = sorted({b.name for a in annotations.values() for b in a.boxes})
    index = {n: i for i, n in enumerate(names)}
    order = np.random.default_rng(seed).permutation(len(kept))
    n_val = int(round(len(kept) * val_fraction))
    split_of = {kept[j]: ("val" if k < n_val else "train") for k, j in enumerate(order)}
    counts = {"train": 0, "val": 0}
    per_class = dict.fromkeys(names, 0)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    for p, ann in annotations.items():
        split = split_of[p]
        if not (ann.width and ann.height):
            from PIL import Image

            with Image.open(p) as im:
                w, h = im.size
        else:
            w, h = ann.width, ann.height
        lines = []
        for b in ann.boxes:
            cx, cy = (b.xmin + b.xmax) / 2 / w, (b.ymin + b.ymax) / 2 / h
            bw, bh = (b.xmax - b.xmin) / w, (b.ymax - b.ymin) / h
            lines.append(f"{index[b.name]} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
            per_class[b.name] += 1
        counts[split] += len(lines)
        shutil.copy2(p, out / "images" / split / p.name)
        (out / "labels" / split / f"{p.stem}.txt").write_text("".join(f"{x}\n" for x in lines))
    data_yaml = out / "data.yaml"
    data_yaml.write_text(
        yaml.safe_dump(
            {
                "path": str(out.resolve()),
                "train": "images/train",
                "val": "images/val",
                "names": dict(enumerate(names)),
            },
            sort_keys=False,
        )
    )
    n_split = {s: sum(1 for v in split_of.values() if v == s) for s in ("train", "val")}
    return ImportReport(str(out), str(data_yaml), names, n_split, counts, per_class, dropped)
