"""Pure box geometry: checking a box against its image, YOLO lines, COCO size buckets.

Size buckets (COCO, by box area in pixels at the original image resolution,
``area = (w * W) * (h * H)`` for a normalised box): small ``area <= 32**2``, medium
``32**2 < area <= 96**2``, large ``area > 96**2``. pycocotools' ``areaRng`` bounds are inclusive
at both ends (a box of exactly 96**2 counts as medium *and* large there); to make the buckets a
partition we put a box on a boundary in the lower bucket. On NEU-DET one box lies exactly on a
boundary (pitted_surface_100, 48 x 192 = 96**2) and this rule gives the paper's counts
(small 447, medium 2,772, large 967); the strict ``<`` rule gives 2,771 / 968.
"""

from __future__ import annotations

from dataclasses import dataclass

SMALL_MAX_AREA = 32**2
MEDIUM_MAX_AREA = 96**2
SIZE_BUCKETS = ("small", "medium", "large")
SIZE_RULE = (
    "COCO buckets by box area in pixels at the original image resolution, "
    "area = (w*W)*(h*H): small <= 32^2, 32^2 < medium <= 96^2, large > 96^2 "
    "(a box on a boundary goes to the lower bucket)"
)
EDGE_TOLERANCE = 1e-5  # normalised coordinates this far outside [0, 1] are rounding, not errors


def size_bucket(area: float) -> str:
    """COCO size bucket of a box of ``area`` square pixels (see the module rule)."""
    if area <= SMALL_MAX_AREA:
        return "small"
    return "medium" if area <= MEDIUM_MAX_AREA else "large"


def side_area(w_px: float, h_px: float) -> float:
    """Area of a ``w_px x h_px`` box in pixels, each side rounded to 1/100 pixel first.

    The rounding undoes the 6-decimal rounding of label files and the float error of
    normalised-to-pixel conversions (exact for images up to 10,000 pixels a side), so integer
    boxes land exactly on 32**2 and 96**2 whichever path computed them.
    """
    return round(w_px, 2) * round(h_px, 2)


def pixel_area(w: float, h: float, width: int, height: int) -> float:
    """Area in pixels of a normalised ``w x h`` box in a ``width x height`` image."""
    return side_area(w * width, h * height)


def size_bucket_counts(sides_px) -> dict[str, int]:
    """Boxes per size bucket, from ``(w_px, h_px)`` pairs: the one rule for ``grace data stats``
    and ``grace val``."""
    counts = dict.fromkeys(SIZE_BUCKETS, 0)
    for w, h in sides_px:
        counts[size_bucket(side_area(float(w), float(h)))] += 1
    return counts


@dataclass(frozen=True)
class BoxCheck:
    """Result of checking a box against its image. ``status`` is ``ok``, ``clipped``,
    ``outside`` or ``zero_area``; ``box`` is the box to keep (None when dropped)."""

    status: str
    box: tuple[float, float, float, float] | None


def check_box(
    xmin: float, ymin: float, xmax: float, ymax: float, width: float, height: float
) -> BoxCheck:
    """Check a pixel box ``xmin, ymin, xmax, ymax`` against a ``width x height`` image.

    A box with no area is ``zero_area``; one with no area left inside the image is ``outside``;
    one partly outside is ``clipped`` to the image; otherwise ``ok`` with the values unchanged.
    """
    if not (xmax > xmin and ymax > ymin):
        return BoxCheck("zero_area", None)
    cx0, cy0 = max(xmin, 0.0), max(ymin, 0.0)
    cx1, cy1 = min(xmax, float(width)), min(ymax, float(height))
    if not (cx1 > cx0 and cy1 > cy0):
        return BoxCheck("outside", None)
    if (cx0, cy0, cx1, cy1) != (xmin, ymin, xmax, ymax):
        return BoxCheck("clipped", (cx0, cy0, cx1, cy1))
    return BoxCheck("ok", (xmin, ymin, xmax, ymax))


def check_normalised(cx: float, cy: float, w: float, h: float) -> BoxCheck:
    """Check a normalised YOLO box (centre, size) against the unit square.

    Coordinates within :data:`EDGE_TOLERANCE` outside [0, 1] count as inside (rounding).
    Returns the box as normalised ``x0, y0, x1, y1``.
    """
    if not (w > 0 and h > 0):
        return BoxCheck("zero_area", None)
    x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    t = EDGE_TOLERANCE
    if x0 >= -t and y0 >= -t and x1 <= 1 + t and y1 <= 1 + t:
        return BoxCheck("ok", (x0, y0, x1, y1))
    c = (max(x0, 0.0), max(y0, 0.0), min(x1, 1.0), min(y1, 1.0))
    if not (c[2] > c[0] and c[3] > c[1]):
        return BoxCheck("outside", None)
    return BoxCheck("clipped", c)


def yolo_line(cls: int, box: tuple[float, float, float, float], width: float, height: float) -> str:
    """One YOLO label line (no newline) for pixel box ``xmin, ymin, xmax, ymax``."""
    xmin, ymin, xmax, ymax = box
    cx, cy = (xmin + xmax) / 2 / width, (ymin + ymax) / 2 / height
    bw, bh = (xmax - xmin) / width, (ymax - ymin) / height
    return f"{cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"
