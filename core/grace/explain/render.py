"""Drawing the Eigen-CAM figure with OpenCV only (no PIL fonts, nothing downloads).

Pure functions on BGR ``uint8`` images: colouring a normalised heatmap, blending it over the
image, drawing titles, and laying panels out side by side (detections are drawn by
:func:`grace.images.draw_detections`, in the style of every other view). The same colormap and
opacity are applied to every panel, so after :func:`grace.explain.eigencam.normalize_global` the
same activation gets the same colour everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from grace.explain.options import COLORMAP_NAMES, DEFAULT_COLORMAP, DEFAULT_OPACITY

__all__ = [
    "COLORMAPS",
    "DEFAULT_COLORMAP",
    "DEFAULT_OPACITY",
    "GAP",
    "Detections",
    "colorbar",
    "colorize",
    "compose",
    "overlay",
    "panel_shape",
    "title_height",
]

#: OpenCV colormaps by name (see :mod:`grace.explain.options` for the default).
COLORMAPS = {n: getattr(cv2, f"COLORMAP_{n.upper()}") for n in COLORMAP_NAMES}
#: Pixels of background between two panels of :func:`compose`.
GAP = 8
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_MIN_FONT_SCALE = 0.35


@dataclass
class Detections:
    """One model's detections on one image, in that image's pixel coordinates.

    Attributes
    ----------
    xyxy : numpy.ndarray, shape (N, 4)
    cls : numpy.ndarray, shape (N,), int
    conf : numpy.ndarray, shape (N,)
    names : dict
        ``{class index: name}``.
    """

    xyxy: np.ndarray
    cls: np.ndarray
    conf: np.ndarray
    names: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cls)


def _colormap(name: str) -> int:
    try:
        return COLORMAPS[name]
    except KeyError:
        raise ValueError(f"unknown colormap {name!r}: use one of {', '.join(COLORMAPS)}") from None


def colorize(heat01: np.ndarray, colormap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Colour a heatmap in ``[0, 1]`` (values are clipped, then quantised to 256 levels).

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8, BGR
    """
    h = np.asarray(heat01, np.float32)
    if h.ndim != 2:
        raise ValueError(f"heatmap must be 2-D, got shape {h.shape}")
    q = np.rint(np.clip(np.nan_to_num(h), 0.0, 1.0) * 255.0).astype(np.uint8)
    return cv2.applyColorMap(q, _colormap(colormap))


def overlay(
    image: np.ndarray,
    heat01: np.ndarray,
    colormap: str = DEFAULT_COLORMAP,
    opacity: float = DEFAULT_OPACITY,
) -> np.ndarray:
    """Blend a coloured heatmap over an image: ``(1 - opacity) * image + opacity * colour``.

    Parameters
    ----------
    image : numpy.ndarray, (H, W, 3) BGR uint8 (or (H, W) grey)
    heat01 : numpy.ndarray, (H, W)
        A normalised heatmap of the image's size.
    colormap : str
        A name from :data:`COLORMAPS`.
    opacity : float
        Weight of the heatmap, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray, (H, W, 3) BGR uint8
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    img = np.asarray(image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[:2] != np.shape(heat01):
        raise ValueError(f"heatmap {np.shape(heat01)} does not match image {img.shape[:2]}")
    col = colorize(heat01, colormap).astype(np.float32)
    out = (1.0 - float(opacity)) * img.astype(np.float32) + float(opacity) * col
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def panel_shape(image_hw: tuple[int, int], panel_height: int | None = None) -> tuple[int, int]:
    """``(height, width)`` of one panel: the image scaled (aspect kept) to ``panel_height``.

    The default height is the image's own, clamped to ``[256, 640]`` so that small images
    (NEU-DET is 200x200) get readable titles and large ones a figure of sensible size.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    ph = int(panel_height) if panel_height else min(640, max(256, h))
    return ph, max(1, round(w * ph / h))


def title_height(panel_height: int) -> int:
    """Height of the title strip above the panels (grows with the panel height)."""
    return max(26, round(0.085 * panel_height))


def _fit_text(text: str, width: int, height: int) -> tuple[str, float, int]:
    """Largest font scale (then truncation) that fits ``text`` into ``width`` x ``height``."""
    thick = max(1, round(height / 30))
    (_, th), _ = cv2.getTextSize("Hg", _FONT, 1.0, thick)
    scale = 0.55 * height / th
    avail = max(1, width - 8)
    tw = cv2.getTextSize(text, _FONT, scale, thick)[0][0]
    if tw > avail:
        scale = max(_MIN_FONT_SCALE, scale * avail / tw)
    full, n = text, len(text)
    while text and cv2.getTextSize(text, _FONT, scale, thick)[0][0] > avail:
        n -= 1
        text = full[:n] + ".." if n > 0 else ""
    return text, scale, thick


def _put_centered(img: np.ndarray, text: str, x0: int, width: int, y0: int, height: int) -> None:
    text, scale, thick = _fit_text(text, width, height)
    if not text:
        return
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    x = x0 + max(0, (width - tw) // 2)
    y = y0 + (height + th) // 2 - max(0, base // 3)
    cv2.putText(img, text, (x, y), _FONT, scale, TEXT, thick, cv2.LINE_AA)


def compose(
    panels: Sequence[np.ndarray], titles: Sequence[str], gap: int = GAP, title_h: int | None = None
) -> np.ndarray:
    """Lay panels out side by side, each under its title.

    Parameters
    ----------
    panels : sequence of numpy.ndarray
        BGR ``uint8`` images of the same height (widths may differ, e.g. a colour bar); for the
        Eigen-CAM figure: the input image, then one overlay per model.
    titles : sequence of str
        One per panel (``""`` for none); shrunk, then truncated with ``..`` to fit its panel.
    gap : int
        Background pixels between two panels.
    title_h : int, optional
        Height of the title strip; :func:`title_height` of the panel height if omitted.

    Returns
    -------
    numpy.ndarray
        ``(title_h + H, sum(widths) + gap * (len(panels) - 1), 3)`` BGR ``uint8`` on white.
    """
    if len(panels) == 0 or len(panels) != len(titles):
        raise ValueError(f"need one title per panel, got {len(panels)} panels, {len(titles)}")
    hs = {p.shape[0] for p in panels}
    if len(hs) != 1:
        raise ValueError(f"panels must share one height, got {sorted(hs)}")
    ph = hs.pop()
    th = title_height(ph) if title_h is None else int(title_h)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    out = np.full((th + ph, width, 3), BACKGROUND, np.uint8)
    x = 0
    for p, t in zip(panels, titles, strict=True):
        pw = p.shape[1]
        out[th:, x : x + pw] = p if p.ndim == 3 else cv2.cvtColor(p, cv2.COLOR_GRAY2BGR)
        if t:
            _put_centered(out, str(t), x, pw, 0, th)
        x += pw + gap
    return out


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def colorbar(
    height: int, vmin: float, vmax: float, colormap: str = DEFAULT_COLORMAP, label: str = "raw"
) -> np.ndarray:
    """A vertical colour bar (high at the top) with the global raw range written beside it.

    Returns
    -------
    numpy.ndarray, (height, width, 3) BGR uint8; the width fits the labels.
    """
    height = int(height)
    bar_w = max(12, round(0.05 * height))
    margin = max(4, round(0.02 * height))
    scale, thick = max(_MIN_FONT_SCALE, 0.45 * height / 256), max(1, round(height / 400))
    texts = [_fmt(vmax), _fmt(vmin), label]
    tw = max(cv2.getTextSize(t, _FONT, scale, thick)[0][0] for t in texts)
    th = cv2.getTextSize("0", _FONT, scale, thick)[0][1]
    out = np.full((height, bar_w + 2 * margin + tw + margin, 3), BACKGROUND, np.uint8)
    ramp = np.linspace(1.0, 0.0, height - 2 * margin, dtype=np.float32)[:, None]
    out[margin : height - margin, margin : margin + bar_w] = colorize(
        np.repeat(ramp, bar_w, axis=1), colormap
    )
    x = 2 * margin + bar_w
    cv2.putText(out, texts[0], (x, margin + th), _FONT, scale, TEXT, thick, cv2.LINE_AA)
    cv2.putText(out, texts[1], (x, height - margin), _FONT, scale, TEXT, thick, cv2.LINE_AA)
    cv2.putText(out, label, (x, (height + th) // 2), _FONT, scale, TEXT, thick, cv2.LINE_AA)
    return out
