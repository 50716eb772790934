"""The Eigen-CAM tab's checkpoint chooser: the panels' checkpoints in order (at most four), with
Add… (a file), Recent (remembered in settings ``cam/models``) and Remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
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

from grace_gui.widgets.cam_job import MAX_CHECKPOINTS, refusal

RECENT_KEY = "cam/models"


def default_title(path: str) -> str:
    """The panel title ``grace cam`` gives ``path`` (imported late: figure imports torch)."""
    from grace.explain.figure import default_title as title

    return title(path)


class CheckpointList(QWidget):
    """Checkpoints in panel order. :meth:`add` answers why it refused (``""`` when added)."""

    changed = Signal()  # the list of paths changed
    refused = Signal(str)  # one line: why a checkpoint was not added

    def __init__(self, settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.list = QListWidget()
        self.list.setMinimumHeight(96)
        self.list.setMaximumHeight(120)
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a checkpoint (.pt) as the next panel")
        self.add_button.clicked.connect(self.browse)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.recent_button.setMenu(self.recent_menu)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.list, 0, 0, 1, 3)
        grid.addWidget(self.add_button, 1, 0)
        grid.addWidget(self.recent_button, 1, 1)
        grid.addWidget(self.remove_button, 1, 2)

    # the list -------------------------------------------------------------------------------
    def paths(self) -> list[str]:
        return [self.list.item(i).toolTip() for i in range(self.list.count())]

    def add(self, path: str, notify: bool = True) -> str:
        """Append ``path``; ``""`` if it was added, else the reason (also emitted as
        :attr:`refused`)."""
        path = str(path)
        reason = refusal(self.paths(), path, MAX_CHECKPOINTS)
        if reason:
            self.refused.emit(reason)
            return reason
        item = QListWidgetItem(default_title(path))
        item.setToolTip(path)
        self.list.addItem(item)
        if notify:
            self.changed.emit()
        return ""

    def set_paths(self, paths: list[str]) -> None:
        """Replace the list (paths that are gone or over the limit are skipped quietly)."""
        self.list.clear()
        for p in paths:
            if not refusal(self.paths(), str(p)):
                self.add(str(p), notify=False)
        self.changed.emit()

    def remove(self, path: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).toolTip() == path:
                self.list.takeItem(i)
                self.changed.emit()
                return

    def remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.remove(item.toolTip())

    # choosing ---------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        return [p for p in self.settings.get(RECENT_KEY, []) if Path(p).is_file()]

    def remember(self, path: str) -> None:
        self.settings.remember(RECENT_KEY, str(path))

    def browse(self) -> None:
        recent = self.recent()
        start = str(Path(recent[0]).parent) if recent else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a checkpoint", start, "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.add(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent()
        if not recent:
            self.recent_menu.addAction("(no recent checkpoints)").setEnabled(False)
        for p in recent:
            action = self.recent_menu.addAction(default_title(p))
            action.setToolTip(p)
            action.triggered.connect(lambda _=False, p=p: self.add(p))
