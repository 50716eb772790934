"""The Eigen-CAM tab's checkpoint chooser, a view over :class:`~grace_gui.sessions.cam.CamSession`:
the panels' checkpoints in order (at most four), Add… (a file), Recent (each model once, told
apart by run name and folder) and Remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from grace_gui.sessions.cam_job import MAX_CHECKPOINTS, checkpoint_labels
from grace_gui.sessions.model_files import PT_FILTER, picked_model


class CheckpointList(QWidget):
    """The session's checkpoints; every button calls the session, which announces the change."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.list = QListWidget()
        self.list.setMinimumHeight(96)
        self.list.setMaximumHeight(120)
        self.list.setToolTip(
            f"The models compared, one heatmap panel each, left to right (at most "
            f"{MAX_CHECKPOINTS}); hover over one for its file"
        )
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a trained model as the next panel: its PyTorch "
                                   "checkpoint (.pt); an OpenVINO or ONNX export has no layers "
                                   "to look into")  # fmt: skip
        self.add_button.clicked.connect(self.browse)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setToolTip("Models used or trained recently: pick one to add it")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self)
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        self.recent_button.setMenu(self.recent_menu)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take the selected model out of the comparison")
        self.remove_button.clicked.connect(self.remove_selected)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.list, 0, 0, 1, 3)
        grid.addWidget(self.add_button, 1, 0)
        grid.addWidget(self.recent_button, 1, 1)
        grid.addWidget(self.remove_button, 1, 2)

    def show_paths(self, paths: list[str]) -> None:
        """Render the session's checkpoints."""
        self.list.clear()
        for path, label in zip(paths, checkpoint_labels(paths), strict=True):
            item = QListWidgetItem(label)
            item.setToolTip(path)
            self.list.addItem(item)

    def paths(self) -> list[str]:
        return [self.list.item(i).toolTip() for i in range(self.list.count())]

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.session.remove_checkpoint(item.toolTip())

    def browse(self) -> None:
        recent = self.session.recent
        start = str(Path(recent[0]).parent) if recent else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a PyTorch checkpoint (.pt): Eigen-CAM needs it, not an export", start,
            PT_FILTER,
        )  # fmt: skip
        if path:  # a package's package.json: its folder, whose model.pt the session takes
            self.session.add_checkpoint(picked_model(path))

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.session.recent
        if not recent:
            self.recent_menu.addAction("(no recent checkpoints)").setEnabled(False)
        for path, label in zip(recent, checkpoint_labels(recent), strict=True):
            action = self.recent_menu.addAction(label)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.session.add_checkpoint(p))
