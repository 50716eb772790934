"""One colour per class index, the same in every drawing, plot and tab (engine and GUI).

A Tableau-like palette of ten colours that stay distinguishable on grey steel images and on a
white plot background; class ``i`` takes colour ``i mod 10``.
"""

from __future__ import annotations

PALETTE_RGB: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)  # fmt: skip


def class_rgb(class_id: int) -> tuple[int, int, int]:
    """RGB colour of a class index (Qt, pyqtgraph)."""
    return PALETTE_RGB[int(class_id) % len(PALETTE_RGB)]


def class_color(class_id: int) -> tuple[int, int, int]:
    """BGR colour of a class index (OpenCV drawing)."""
    r, g, b = class_rgb(class_id)
    return (b, g, r)
