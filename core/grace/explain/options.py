"""Defaults shared by ``grace cam``, the renderer and the GUI (no heavy imports here)."""

from __future__ import annotations

#: OpenCV colormap names offered (``cv2.COLORMAP_<NAME>``). The default, inferno, matches the
#: paper's Figure 3 description: yellow/orange for high response, purple/dark for low.
COLORMAP_NAMES = ("inferno", "plasma", "magma", "viridis", "turbo", "jet")
DEFAULT_COLORMAP = "inferno"
#: Weight of the heatmap in the blend ``(1 - opacity) * image + opacity * colour``.
DEFAULT_OPACITY = 0.5
#: Confidence threshold of the detections drawn on the panels (Ultralytics' predict default).
DEFAULT_CONF = 0.25
