"""Pascal VOC annotation parsing (NEU-DET, GC10-DET and the like).

:func:`read_voc` is tolerant (bad files and bad objects become :class:`Problem` records);
:func:`parse_voc` is the strict form that raises :class:`GraceError` at the first one.
Coordinates are kept as written (VOC's 1-based pixel convention is not shifted). A file is
decoded by the encoding its XML declaration names (``gbk`` and other multi-byte encodings that
expat refuses included).
"""

from __future__ import annotations

import codecs
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from grace.data.images import LFS_POINTER_DETAIL, is_lfs_pointer
from grace.data.problems import Problem
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
    try:
        value = float(child.text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")


def _root_of(data: bytes) -> ET.Element:
    """Parse XML bytes, decoding them by the declared encoding (expat itself refuses multi-byte
    encodings such as ``gbk``). Raises ``ValueError`` (``UnicodeDecodeError``, ``LookupError``
    folded in) or ``ET.ParseError`` with a readable message."""
    decl = _DECLARATION.match(data)
    enc = _ENCODING.search(decl.group(0)) if decl else None
    if enc is None:
        return ET.fromstring(data)  # no declared encoding: UTF-8 or a UTF-16 BOM, as expat reads
    name = enc.group(1).decode("ascii", "replace").strip()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} declared") from None
    try:
        text = data[decl.end() :].decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as e:
        raise ValueError(f"not valid {name} text at byte {decl.end() + e.start}") from None
    return ET.fromstring(text)


def read_voc(path: str | Path) -> tuple[VocAnnotation | None, list[Problem]]:
    """Parse one VOC XML file without raising.

    Returns ``(None, [bad_xml])`` for a file that is not XML (in its declared encoding), a Git
    LFS pointer, or not a VOC ``<annotation>``; otherwise the annotation with its complete boxes
    and a ``bad_box`` problem for each object without a complete numeric ``<bndbox>``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Problem(str(path), "bad_xml", f"unreadable ({e.strerror or e})")]
    if is_lfs_pointer(data):
        return None, [Problem(str(path), "bad_xml", LFS_POINTER_DETAIL.replace("image", "XML"))]
    try:
        root = _root_of(data)
    except (ET.ParseError, ValueError) as e:
        return None, [Problem(str(path), "bad_xml", f"not valid XML ({e})")]
    if root.tag != "annotation":
        return None, [Problem(str(path), "bad_xml", f"root element <{root.tag}>, not <annotation>")]
    size = root.find("size")
    w, h = _num(size, "width"), _num(size, "height")
    boxes, problems = [], []
    for k, obj in enumerate(root.iter("object"), 1):
        bb = obj.find("bndbox")
        coords = [_num(bb, t) for t in ("xmin", "ymin", "xmax", "ymax")]
        name = (obj.findtext("name") or "").strip()
        if bb is None or any(c is None for c in coords):
            problems.append(
                Problem(str(path), "bad_box", f"object {k} ({name!r}) without a complete <bndbox>")
            )
            continue
        boxes.append(VocBox(name, *coords))  # type: ignore[arg-type]
    ann = VocAnnotation(
        path,
        root.findtext("filename"),
        int(w) if w and w > 0 else None,
        int(h) if h and h > 0 else None,
        tuple(boxes),
    )
    return ann, problems


def parse_voc(path: str | Path) -> VocAnnotation:
    """Parse one VOC XML file; raise :class:`GraceError` naming the file at the first problem."""
    ann, problems = read_voc(path)
    if problems:
        raise GraceError(f"{problems[0].file}: {problems[0].detail}")
    assert ann is not None
    return ann
