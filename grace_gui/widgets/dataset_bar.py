"""The Dataset tab's top bar: open buttons, what is open, what runs, the one Split and the one
Class filter, and how many images they let through."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

ALL_SPLITS, ALL_CLASSES = "All splits", "All classes"


class DatasetBar(QWidget):
    """``open_yaml`` / ``open_folder`` when a button is pressed, ``filter_chosen(split,
    class_name)`` (``""``: all) when the user picks a filter."""

    open_yaml = Signal()
    open_folder = Signal()
    filter_chosen = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        yaml_button = QPushButton("Open data.yaml…")
        yaml_button.setToolTip("Open a YOLO dataset by its data.yaml (image folders, class names)")
        yaml_button.clicked.connect(self.open_yaml)
        folder_button = QPushButton("Open folder…")
        folder_button.setToolTip(
            "Open a YOLO dataset folder, a NEU-DET or Pascal VOC folder (converted to YOLO "
            "first, every problem listed) or a plain folder of images to look at"
        )
        folder_button.clicked.connect(self.open_folder)
        self.path = QLabel("No dataset")
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(100)
        self.progress.hide()
        self.activity = QLabel()
        self.split = QComboBox()
        self.split.setToolTip(
            "Which part of the dataset to look at: the images the model learns from (train), "
            "those it is scored on (val, test), or all of them; the charts follow"
        )
        self.classes = QComboBox()
        self.classes.setToolTip("Show only the images with at least one box of this defect class")
        self.classes.setMinimumContentsLength(14)
        for combo in (self.split, self.classes):
            combo.activated.connect(self._chosen)
        self.count = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(yaml_button)
        layout.addWidget(folder_button)
        layout.addWidget(self.path, 1)
        for w in (self.progress, self.activity, QLabel("Split:"), self.split, QLabel("Class:")):
            layout.addWidget(w)
        layout.addWidget(self.classes)
        layout.addWidget(self.count)

    def set_path(self, path: str) -> None:
        self.path.setText(path)
        self.path.setToolTip(path)

    def set_choices(self, splits: list[str], names: list[str]) -> None:
        for combo, items in (
            (self.split, [ALL_SPLITS, *splits]),
            (self.classes, [ALL_CLASSES, *names]),
        ):
            combo.clear()
            combo.addItems(items)

    def show_filter(self, split: str, class_name: str, shown: int, total: int) -> None:
        self.split.setCurrentText(split or ALL_SPLITS)
        self.classes.setCurrentText(class_name or ALL_CLASSES)
        self.count.setText(f"{shown} of {total} images")

    def set_activity(self, text: str) -> None:
        self.activity.setText(text)
        self.progress.setVisible(bool(text))

    def _chosen(self) -> None:
        split = self.split.currentText() if self.split.currentIndex() > 0 else ""
        cls = self.classes.currentText() if self.classes.currentIndex() > 0 else ""
        self.filter_chosen.emit(split, cls)
