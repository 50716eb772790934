"""numpy images to Qt images (copies, so the array can be reused at once)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A BGR (OpenCV) or grey ``uint8`` array to a QImage that owns its pixels."""
    image = np.ascontiguousarray(image)
    if image.ndim == 2:
        h, w = image.shape
        return QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    h, w, c = image.shape
    if c == 4:
        return QImage(image.data, w, h, 4 * w, QImage.Format.Format_ARGB32).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_BGR888).copy()
