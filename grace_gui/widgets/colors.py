"""Class colours as Qt colours: the engine's palette (:mod:`grace.colors`), so a class looks the
same in the image views, the plots and the OpenCV drawings."""

from __future__ import annotations

from PySide6.QtGui import QColor

from grace.colors import class_rgb


def class_qcolor(class_id: int, alpha: int = 255) -> QColor:
    r, g, b = class_rgb(class_id)
    return QColor(r, g, b, alpha)
