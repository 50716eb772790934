"""The main window's menu bar: File, View and Help, with their keyboard shortcuts.

File asks for a path and hands it to the tab that opens it, through the tabs' public methods:
``dataset_tab.open_path``, ``train_tab.open_path``, ``inference_tab.open_model`` (added and
selected) and ``cam_tab.add_checkpoint`` / ``offer_checkpoint``. Open model… takes any model the
engine runs (:data:`~grace_gui.sessions.model_files.MODEL_FILTER`; an OpenVINO ``.xml`` or a
``package.json`` picked stands for its folder); Eigen-CAM refuses an export in one line and lists
only checkpoints under Recent. View switches tabs (Ctrl+1…N) and toggles full screen; Help opens
the Guide (F1), the shortcuts and About.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from grace_gui.help import TextDialog, about_dialog, guide_dialog, shortcuts_dialog
from grace_gui.sessions.model_files import MODEL_FILTER, picked_model

if TYPE_CHECKING:
    from grace_gui.main_window import MainWindow

FILE_ACTIONS = (  # (name: the method it calls, text, shortcut, what it does)
    ("open_dataset", "Open &dataset…", "Ctrl+O",
     "Open a dataset folder (data.yaml, NEU-DET, VOC or plain images) to inspect"),
    ("open_yaml", "Open data.&yaml…", "Ctrl+Shift+O",
     "Open a YOLO data.yaml file that lists the train and val images"),
    ("open_run", "Open &run…", "Ctrl+Shift+R",
     "Open a training run folder to see its curves and settings"),
    ("open_model", "Open &model…", "Ctrl+Shift+M",
     "Open a trained model (.pt, OpenVINO, ONNX or package) for inference, or its .pt for "
     "Eigen-CAM when that tab is shown"),
    ("quit", "&Quit", "Ctrl+Q", "Close GRACE Inspector"),
)  # fmt: skip
HELP_ACTIONS = (  # (name: the dialog it shows, text, shortcut, what it does)
    ("guide", "&Guide", "F1", "What each tab is for and what the terms mean"),
    ("shortcuts", "&Keyboard shortcuts", "Ctrl+/", "Every keyboard shortcut of the window"),
    ("about", "&About GRACE Inspector", "",
     "Version, device and library versions (for a bug report)"),
)  # fmt: skip


class WindowMenus(QObject):
    """Builds ``window``'s menu bar; :attr:`actions` by name (``"open_dataset"``, ``"guide"``…)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.settings = window.context.settings
        self.actions: dict[str, QAction] = {}
        self.dialogs: dict[str, TextDialog] = {}
        bar = window.menuBar()

        file = bar.addMenu("&File")
        for name, text, keys, tip in FILE_ACTIONS:
            slot = window.close if name == "quit" else getattr(self, name)
            if name == "quit":
                file.addSeparator()
            self._add(file, name, text, keys, slot, tip)

        view = bar.addMenu("&View")
        group = QActionGroup(self)
        for i, tab in enumerate(window.all_tabs()):
            show = lambda _=False, i=i: window.tabs.setCurrentIndex(i)  # noqa: E731
            tip = f"Show the {tab.title} tab"
            action = self._add(
                view, f"tab_{i + 1}", f"&{i + 1} {tab.title}", f"Ctrl+{i + 1}", show, tip
            )
            action.setCheckable(True)
            group.addAction(action)
        window.tabs.currentChanged.connect(self._tab_shown)
        self._tab_shown(window.tabs.currentIndex())
        view.addSeparator()
        tip = "Use the whole screen for the window (F11 again to leave)"
        self._add(view, "full_screen", "&Full screen", "F11", self.set_full_screen, tip)
        self.actions["full_screen"].setCheckable(True)

        help_menu = bar.addMenu("&Help")
        for name, text, keys, tip in HELP_ACTIONS:
            self._add(help_menu, name, text, keys, lambda _=False, n=name: self.show_dialog(n), tip)

    def _add(self, menu: QMenu, name: str, text: str, keys: str, slot: Callable, tip: str):
        action = QAction(text, self.window)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.window.addAction(action)  # shortcuts work while the menu bar is hidden (full screen)
        self.actions[name] = action
        return action

    # File ------------------------------------------------------------------------------------
    def _remembered_dir(self, key: str) -> str:
        return str(self.settings.get(key, ""))

    def open_dataset(self) -> None:
        start = self._remembered_dir("dataset/last_dir")
        path = QFileDialog.getExistingDirectory(self.window, "Open dataset folder", start)
        self._open_dataset(path)

    def open_yaml(self) -> None:
        start = self._remembered_dir("dataset/last_dir")
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open data.yaml", start, "YAML (*.yaml *.yml)"
        )
        self._open_dataset(path)

    def _open_dataset(self, path: str) -> None:
        if not path:
            return
        self.settings.set("dataset/last_dir", str(Path(path).parent))
        self.window.tabs.setCurrentWidget(self.window.dataset_tab)
        self.window.dataset_tab.open_path(path)

    def open_run(self) -> None:
        start = self._remembered_dir("window/last_run_dir")
        path = QFileDialog.getExistingDirectory(self.window, "Open run folder", start)
        if not path:
            return
        self.settings.set("window/last_run_dir", str(Path(path).parent))
        self.window.tabs.setCurrentWidget(self.window.train_tab)
        self.window.train_tab.open_path(path)

    def open_model(self) -> None:
        """Eigen-CAM on screen: add the model there (an export is refused there in one line);
        otherwise select it in Inference (and offer it in Eigen-CAM's recent list, which takes
        checkpoints only)."""
        start = self._remembered_dir("window/last_model_dir")
        path, _ = QFileDialog.getOpenFileName(self.window, "Open model", start, MODEL_FILTER)
        path = picked_model(path)  # an OpenVINO .xml or a package.json: its folder
        if not path:
            return
        self.settings.set("window/last_model_dir", str(Path(path).parent))
        w = self.window
        if w.tabs.currentWidget() is w.cam_tab:
            w.cam_tab.add_checkpoint(path)
            return
        w.tabs.setCurrentWidget(w.inference_tab)
        w.inference_tab.open_model(path)
        w.cam_tab.offer_checkpoint(path)

    # View ------------------------------------------------------------------------------------
    def _tab_shown(self, index: int) -> None:
        action = self.actions.get(f"tab_{index + 1}")
        if action is not None:
            action.setChecked(True)

    def set_full_screen(self, on: bool) -> None:
        if on:
            self.window.showFullScreen()
        else:
            self.window.showNormal()

    # Help ------------------------------------------------------------------------------------
    def show_dialog(self, name: str) -> TextDialog:
        """Show (building it the first time) the dialog ``guide``, ``shortcuts`` or ``about``."""
        if name not in self.dialogs:
            if name == "guide":
                dialog = guide_dialog(self.window)
            elif name == "shortcuts":
                dialog = shortcuts_dialog(list(self.actions.values()), self.window)
            else:
                dialog = about_dialog(self.window.context.gpus, self.window)
            self.dialogs[name] = dialog
        dialog = self.dialogs[name]
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog
