"""Eigen-CAM tab: one image, up to four checkpoints, side-by-side heatmaps on one scale."""

from __future__ import annotations

from collections.abc import Callable

from grace_gui.tabs.base import Tab


class CamTab(Tab):
    title = "Eigen-CAM"

    def add_checkpoint(self, path: str) -> None:
        """Offer ``path`` among the checkpoints (a run has just produced it)."""

    def set_dataset_image(self, path: str) -> None:
        """The image selected in the dataset tab (offered as the input)."""

    def set_frame_provider(self, provider: Callable[[], object]) -> None:
        """``provider()`` gives the inference tab's current ``(bgr, name)`` or ``None``."""
