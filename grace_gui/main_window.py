"""The main window: composes the tabs, the menu bar, the notification area and the status bar;
nothing else."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from grace_gui.context import AppContext
from grace_gui.device import device_label_from
from grace_gui.menus import WindowMenus
from grace_gui.settings import READ_ONLY_NOTICE
from grace_gui.tabs.base import Tab
from grace_gui.tabs.cam_tab import CamTab
from grace_gui.tabs.dataset_tab import DatasetTab
from grace_gui.tabs.evaluate_tab import EvaluateTab
from grace_gui.tabs.inference_tab import InferenceTab
from grace_gui.tabs.review_tab import ReviewTab
from grace_gui.tabs.train_tab import TrainTab


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("GRACE Inspector")
        context.status = lambda message: self.statusBar().showMessage(message, 8000)

        self.dataset_tab = DatasetTab(context)
        self.train_tab = TrainTab(context)
        self.inference_tab = InferenceTab(context)
        self.evaluate_tab = EvaluateTab(context)
        self.review_tab = ReviewTab(context)
        self.cam_tab = CamTab(context)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for tab in self.all_tabs():
            self.tabs.addTab(tab, tab.title)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(context.notifications)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.device_label = QLabel(f"Device: {device_label_from(context.gpus)}")
        self.statusBar().addPermanentWidget(self.device_label)
        if not context.settings.writable:
            read_only = QLabel("Settings: read-only")
            read_only.setToolTip(READ_ONLY_NOTICE)
            self.statusBar().addPermanentWidget(read_only)
            context.notifications.warning("Settings", READ_ONLY_NOTICE)
        self.menus = WindowMenus(self)
        self._connect_tabs()

    def all_tabs(self) -> list[Tab]:
        return [self.dataset_tab, self.train_tab, self.inference_tab, self.evaluate_tab,
                self.review_tab, self.cam_tab]  # fmt: skip

    def _connect_tabs(self) -> None:
        self.dataset_tab.dataset_loaded.connect(self.train_tab.set_dataset)
        self.dataset_tab.image_selected.connect(self.cam_tab.set_dataset_image)
        self.train_tab.checkpoint_ready.connect(self.inference_tab.add_checkpoint)
        self.train_tab.checkpoint_ready.connect(self.cam_tab.offer_checkpoint)
        self.cam_tab.set_frame_provider(self.inference_tab.current_frame)
        th = self.inference_tab.thresholds  # Eigen-CAM draws at the Inference tab's thresholds
        self.cam_tab.set_threshold_provider(lambda: (th.conf, th.by_name()))
        th.changed.connect(lambda _t: self.cam_tab.set_thresholds(th.conf, th.by_name()))
        self.review_tab.fine_tune_requested.connect(self.train_tab.form.prefill)
        ev = self.evaluate_tab
        self.dataset_tab.dataset_loaded.connect(ev.set_dataset)
        ev.use_thresholds.connect(self.inference_tab.session.use_calibrated)
        ev.use_thresholds.connect(lambda *_a: self.tabs.setCurrentWidget(self.inference_tab))
        ev.cell_images.connect(self.dataset_tab.show_images)  # Review opens val dirs, not lists
        ev.cell_images.connect(lambda _paths: self.tabs.setCurrentWidget(self.dataset_tab))

    def open_initial(self) -> None:
        """Each tab restores what the last session left open, or shows the demo."""
        for tab in self.all_tabs():
            if not tab.restore() and self.context.demo is not None:
                tab.load_demo(self.context.demo)

    def restore_geometry(self) -> None:
        s = self.context.settings
        geometry, state = s.get_bytes("window/geometry"), s.get_bytes("window/state")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 820)
        if state is not None:
            self.restoreState(state)
        self.tabs.setCurrentIndex(int(s.get("window/tab", 0)))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        reasons = [r for r in (tab.busy() for tab in self.all_tabs()) if r]
        if reasons and self.isVisible() and not self.confirm_close(reasons):
            event.ignore()
            return
        s = self.context.settings
        s.set_bytes("window/geometry", self.saveGeometry())
        s.set_bytes("window/state", self.saveState())
        s.set("window/tab", self.tabs.currentIndex())
        for tab in self.all_tabs():
            tab.save_state()
            tab.shutdown()
        s.close()  # written, and the lock released for the next instance
        event.accept()

    def confirm_close(self, reasons: list[str]) -> bool:
        answer = QMessageBox.question(
            self,
            "Quit GRACE Inspector?",
            "\n".join(reasons) + "\n\nQuit anyway?",
        )
        return answer == QMessageBox.StandardButton.Yes
