"""Dataset tab: open a data.yaml / NEU-DET / VOC / image folder, browse, statistics, problems."""

from __future__ import annotations

from PySide6.QtCore import Signal

from grace_gui.tabs.base import Tab


class DatasetTab(Tab):
    title = "Dataset"
    dataset_loaded = Signal(str)  # the data.yaml now open ("" for a plain image folder)
    image_selected = Signal(str)  # the image in the large view
