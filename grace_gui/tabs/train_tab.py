"""Train tab: the training form, live plots of a run (spawned process), open and compare runs."""

from __future__ import annotations

from PySide6.QtCore import Signal

from grace_gui.tabs.base import Tab


class TrainTab(Tab):
    title = "Train"
    checkpoint_ready = Signal(str)  # best.pt of a run that has just finished

    def set_dataset(self, data_yaml: str) -> None:
        """The dataset tab opened ``data_yaml``: offer it in the form."""
