"""EXIF orientation: what the trainer sees, which frame an annotator drew on, moving boxes.

A JPEG with an EXIF orientation tag (2..8) stores its pixels in one frame and is shown in
another. OpenCV's ``imread`` (Ultralytics' ``load_image``) applies the tag and Ultralytics'
``exif_size`` reports the rotated size, so the trainer sees the *shown* frame. Annotation tools
differ: LabelImg ignores the tag and draws on the stored pixels (its issues #198, #395); CVAT,
labelme and Roboflow draw on the shown image. The importer writes the image with its pixels
physically rotated to the shown frame and no tag, and moves the boxes into that frame when they
were drawn on the stored pixels. Which frame the annotator used is read from the XML's
``<size>``: the rotated size means the shown frame; the stored size, or a size that cannot tell
(orientations 2-4, square images, no or another size), means the stored pixels (LabelImg's
behaviour).

Orientation ``o`` maps a stored point ``(x, y)`` of a ``W x H`` image to the shown frame as
``PIL.ImageOps.exif_transpose`` does (continuous pixel-edge coordinates):
2 ``(W-x, y)``, 3 ``(W-x, H-y)``, 4 ``(x, H-y)``, 5 ``(y, x)``, 6 ``(H-y, x)``,
7 ``(H-y, W-x)``, 8 ``(y, W-x)``; 5-8 swap width and height.
"""

from __future__ import annotations

from pathlib import Path

from grace.fileio import atomic_path

SWAPS = frozenset({5, 6, 7, 8})
NAMES = {
    1: "normal",
    2: "mirrored left-right",
    3: "rotated 180 degrees",
    4: "mirrored top-bottom",
    5: "transposed",
    6: "rotated 90 degrees clockwise",
    7: "transversed",
    8: "rotated 90 degrees counter-clockwise",
}
JPEG_QUALITY = 95


def shown_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """The ``(width, height)`` a viewer (and OpenCV) shows for a stored ``width x height``."""
    return (height, width) if orientation in SWAPS else (width, height)


def _point(x: float, y: float, w: float, h: float, o: int) -> tuple[float, float]:
    return {
        1: (x, y),
        2: (w - x, y),
        3: (w - x, h - y),
        4: (x, h - y),
        5: (y, x),
        6: (h - y, x),
        7: (h - y, w - x),
        8: (y, w - x),
    }[o]


def box_to_shown(
    box: tuple[float, float, float, float], width: float, height: float, orientation: int
) -> tuple[float, float, float, float]:
    """Move a pixel box ``xmin, ymin, xmax, ymax`` drawn on the stored ``width x height`` pixels
    into the shown frame of ``orientation`` (see the module table)."""
    x0, y0, x1, y1 = box
    ax, ay = _point(x0, y0, width, height, orientation)
    bx, by = _point(x1, y1, width, height, orientation)
    return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def annotated_frame(
    xml_size: tuple[int | None, int | None], stored: tuple[int, int], orientation: int
) -> str:
    """``"shown"`` when the XML's size is the shown size and not the stored one, else
    ``"stored"`` (the stored size, or a size that cannot tell the two apart)."""
    shown = shown_size(*stored, orientation)
    return "shown" if tuple(xml_size) == shown and shown != stored else "stored"


def write_upright(src: Path, dst: Path) -> None:
    """Write ``src`` to ``dst`` with its pixels rotated as its EXIF orientation shows them and no
    EXIF block (so every reader sees the same frame); JPEGs are re-encoded at quality
    :data:`JPEG_QUALITY`. Atomic: a failure leaves no partial ``dst``."""
    from PIL import ImageOps

    from grace.data.images import open_image

    with open_image(src) as im:
        fmt = im.format or "PNG"
        upright = ImageOps.exif_transpose(im)
        kw = {"quality": JPEG_QUALITY} if fmt in ("JPEG", "MPO") else {}
        with atomic_path(dst) as tmp:
            upright.save(tmp, format="JPEG" if fmt == "MPO" else fmt, **kw)
