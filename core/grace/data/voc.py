"""Pascal VOC annotation parsing (NEU-DET, GC10-DET and the like)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from grace.errors import GraceError


@dataclass(frozen=True)
class VocBox:
    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclass(frozen=True)
class VocAnnotation:
    path: Path
    filename: str | None
    width: int | None
    height: int | None
    boxes: tuple[VocBox, ...]


def _num(node: ET.Element | None, tag: str) -> float | None:
    child = node.find(tag) if node is not None else None
    if child is None or child.text is None or not child.text.strip():
        return None
    return float(child.text)


def parse_voc(path: str | Path) -> VocAnnotation:
    """Parse one VOC XML file; raise :class:`GraceError` naming the file if it is not valid XML."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise GraceError(f"{path}: not valid XML ({e})") from None
    size = root.find("size")
    w, h = _num(size, "width"), _num(size, "height")
    boxes = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        coords = [_num(bb, t) for t in ("xmin", "ymin", "xmax", "ymax")]
        name = (obj.findtext("name") or "").strip()
        if bb is None or any(c is None for c in coords):
            raise GraceError(f"{path}: object {name!r} without a complete <bndbox>")
        boxes.append(VocBox(name, *coords))  # type: ignore[arg-type]
    return VocAnnotation(
        path, root.findtext("filename"), int(w) if w else None, int(h) if h else None, tuple(boxes)
    )
