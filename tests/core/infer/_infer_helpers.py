"""Helpers shared by the inference tests (a module with a unique name: tests import it
directly, which a module called ``conftest`` does not allow reliably)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

LOW_CONF = 1e-4  # a 1-epoch model is unsure of everything: keep its candidates


def write_video(path: Path, n: int = 30, size: int = 64, fps: float = 30.0) -> Path:
    """``n`` frames of textured gray with a moving bright bar (mp4v)."""
    rng = np.random.default_rng(0)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    assert w.isOpened()
    for i in range(n):
        img = rng.normal(128, 12, (size, size, 3)).clip(0, 255).astype(np.uint8)
        x = (2 * i) % (size - 8)
        img[10:50, x : x + 4] = 230
        w.write(img)
    w.release()
    return path
