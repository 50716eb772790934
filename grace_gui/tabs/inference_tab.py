"""Inference tab: a checkpoint and a source (image, folder, video, camera, stream), live view,
thresholds, results table, exports."""

from __future__ import annotations

from PySide6.QtCore import Signal

from grace_gui.tabs.base import Tab


class InferenceTab(Tab):
    title = "Inference"
    frame_available = Signal()  # a frame is on display (the Eigen-CAM tab may take it)

    def add_checkpoint(self, path: str) -> None:
        """Offer ``path`` in the model chooser (a run has just produced it)."""

    def current_frame(self):
        """``(bgr_image, name)`` of the frame on display, or ``None``."""
        return None
