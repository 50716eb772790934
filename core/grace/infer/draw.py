"""Boxes and labels drawn with OpenCV only (no fonts to fetch, nothing downloads)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grace.colors import PALETTE_RGB, class_color  # noqa: F401 (re-exported)


def draw_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    names: Sequence[str],
) -> np.ndarray:
    """A copy of ``image`` (BGR) with a box and a ``name 0.87`` label per detection."""
    import cv2

    out = np.ascontiguousarray(image).copy()
    h, w = out.shape[:2]
    thick = max(1, round((h + w) / 600))
    scale = max(0.3, (h + w) / 1600)
    for box, s, c in zip(
        np.asarray(boxes).tolist(), np.asarray(scores).tolist(), classes, strict=True
    ):
        c = int(c)
        color = class_color(c)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        name = names[c] if 0 <= c < len(names) else str(c)
        label = f"{name} {s:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = y1 - 2 if y1 - th - base - 2 >= 0 else min(h - 1, y1 + th + base + 2)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw + 2, ty + 1), color, -1)
        lum = 0.299 * color[2] + 0.587 * color[1] + 0.114 * color[0]
        ink = (0, 0, 0) if lum > 150 else (255, 255, 255)
        cv2.putText(out, label, (x1 + 1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1,
                    cv2.LINE_AA)  # fmt: skip
    return out
