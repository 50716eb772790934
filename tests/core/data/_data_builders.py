"""Helpers that build small datasets for the data tests (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, w: int = 100, h: int = 80, seed: int = 0, gray: bool = False) -> Path:
    """A noise image with distinct content per seed (colour, or grey stored as RGB)."""
    rng = np.random.default_rng(seed)
    if gray:
        g = rng.integers(0, 256, (h, w), dtype=np.uint8)
        a = np.repeat(g[..., None], 3, axis=2)
    else:
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a, "RGB").save(path, quality=95)
    return path


def voc_xml(filename: str, boxes: list[tuple], w: int | None = 100, h: int | None = 80) -> str:
    """VOC XML text; ``boxes`` are ``(name, xmin, ymin, xmax, ymax)``, or ``(name,)`` for an
    object without a ``<bndbox>``."""
    size = (
        "" if w is None else f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>"
    )
    objs = []
    for b in boxes:
        bb = ""
        if len(b) == 5:
            tags = ("xmin", "ymin", "xmax", "ymax")
            bb = "<bndbox>" + "".join(f"<{t}>{v}</{t}>" for t, v in zip(tags, b[1:], strict=True))
            bb += "</bndbox>"
        objs.append(f"<object><name>{b[0]}</name><difficult>0</difficult>{bb}</object>")
    return f"<annotation><filename>{filename}</filename>{size}{''.join(objs)}</annotation>"


def write_xml(path: Path, filename: str, boxes: list[tuple], **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(voc_xml(filename, boxes, **kw))
    return path


def read_labels(out: Path) -> dict[str, tuple[str, list[str]]]:
    """Output image stem -> (split, label lines)."""
    found = {}
    for split in ("train", "val", "test"):
        for f in sorted((out / "labels" / split).glob("*.txt")):
            found[f.stem] = (split, f.read_text().splitlines())
    return found
