"""Eigen-CAM tab: a view over :class:`~grace_gui.sessions.cam.CamSession` (computes in the pool;
results rendered on the GUI thread at the size shown, by FigureView; exported in full)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QWidget
from superqt.utils import create_worker

from grace.explain.options import DEFAULT_METHOD, METHOD_LABELS
from grace_gui.demo import Demo
from grace_gui.gui_thread import on_gui_thread
from grace_gui.sessions.cam import CamSession
from grace_gui.sessions.cam_job import CamResult, range_text
from grace_gui.tabs.base import Tab
from grace_gui.widgets.cam_controls import CamControls
from grace_gui.widgets.figure_view import FigureBox
from grace_gui.widgets.notifications import Notice

PLACEHOLDER = "Choose an image and at least one checkpoint"
KEYS = {"checkpoints": "selected", "show_detections": "detections"}  # settings keys


class CamTab(Tab):
    title = "Eigen-CAM"
    computed = Signal(object)  # CamResult, once it is on display
    exported = Signal(str)  # the PNG written

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.session = s = CamSession(submit=context.pool.start,
                                      device="" if context.gpus else "cpu")  # fmt: skip
        self._dataset_image: str | None = None
        self._shown: CamResult | None = None
        self._provider: Callable[[], object] | None = None
        self._thresholds: Callable[[], tuple[float, Mapping[str, float]]] | None = None
        self._schedule = QTimer(self, singleShot=True, interval=0)  # coalesces changes
        self._schedule.timeout.connect(self.compute)
        self.controls = c = CamControls(s)
        self.figure_box = FigureBox()
        self.view = self.figure_box.view
        self.view.set_placeholder(PLACEHOLDER)
        layout = QHBoxLayout(self)
        layout.addWidget(c)
        layout.addWidget(self.figure_box, 1)

        c.file_button.clicked.connect(self.browse_image)
        c.dataset_button.clicked.connect(self.use_dataset_image)
        c.frame_button.clicked.connect(self.use_inference_frame)
        c.method_combo.currentIndexChanged.connect(
            lambda: s.set_method(c.method_combo.currentData()))  # fmt: skip
        c.layer_combo.currentIndexChanged.connect(lambda: s.set_layer(c.layer_combo.currentData()))
        c.opacity.setValue(s.opacity)
        c.opacity.valueChanged.connect(lambda v: s.set_display(opacity=v))
        c.colormap.currentTextChanged.connect(lambda name: s.set_display(colormap=name))
        c.detections.toggled.connect(lambda on: s.set_display(detections=on))
        c.export_button.clicked.connect(self.browse_export)

        s.set_recent(list(self.settings.get("cam/models", []) or []))
        self._slots = [
            (s.inputs_changed, self._changed), (s.checkpoints_changed, self._on_checkpoints),
            (s.recent_changed, self._on_recent), (s.display_changed, self.view.redraw),
            (s.started, self._on_started), (s.computed, self._on_computed),
            (s.failed, self._on_failed), (s.cleared, self._on_cleared),
            (s.refused, self._on_refused),
        ]  # fmt: skip
        for signal, slot in self._slots:
            signal.connect(slot)

    # what the other tabs call -------------------------------------------------------------------
    def add_checkpoint(self, path: str) -> None:
        self.session.add_checkpoint(str(path))

    def offer_checkpoint(self, path: str) -> None:
        """A run produced ``path``: first under *Recent*, no panel added (nothing recomputes)."""
        self.session.remember(str(path))

    def set_dataset_image(self, path: str) -> None:
        self._dataset_image = str(path)
        self.controls.dataset_button.setToolTip(f"Explain {Path(path).name} from the Dataset tab")

    def set_frame_provider(self, provider: Callable[[], object]) -> None:
        """``provider()`` gives the inference tab's current ``(bgr, name)`` or ``None``."""
        self._provider = provider

    def set_thresholds(self, conf: float, per_class: Mapping[str, float] | None = None) -> None:
        """The Inference tab's thresholds (global, and per class by name) for the detections."""
        self.session.set_thresholds(conf, per_class)

    def set_threshold_provider(self, provider: Callable[[], tuple]) -> None:
        """``provider()`` gives the Inference tab's ``(conf, {class: conf})``, read at compute."""
        self._thresholds = provider

    def compute(self) -> None:
        if self._thresholds is not None:
            self.session.set_thresholds(*self._thresholds())
        self._schedule.stop()  # what set_thresholds scheduled is this very compute
        self.session.compute()

    def _changed(self) -> None:  # (psygnal cannot inspect QTimer.start's signature)
        self._schedule.start()

    # choices ------------------------------------------------------------------------------------
    def set_image_path(self, path: str) -> None:
        self.controls.image_label.setText(Path(path).name)
        self.controls.image_label.setToolTip(str(path))
        self.session.set_image_path(str(path))

    def set_image_array(self, bgr: np.ndarray, name: str) -> None:
        self.controls.image_label.setText(f"{name} (from Inference)")
        self.session.set_image_array(bgr, name)

    def browse_image(self) -> None:
        start = str(Path(self.session.image_path).parent) if self.session.image_path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose an image", start, "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff)"
        )
        if path:
            self.set_image_path(path)

    def use_dataset_image(self) -> None:
        if not self._dataset_image:
            return self._say("No image is selected in the Dataset tab yet.")
        self.set_image_path(self._dataset_image)

    def use_inference_frame(self) -> None:
        frame = self._provider() if self._provider is not None else None
        if frame is None:
            return self._say("The Inference tab has no frame yet: run it on an image first.")
        self.set_image_array(*frame)

    def set_method(self, method: str) -> None:
        self.session.set_method(method)  # raises on an unknown name
        combo = self.controls.method_combo
        combo.setCurrentIndex(combo.findData(method))

    # rendering the session's state -------------------------------------------------------------
    @property
    def result(self) -> CamResult | None:
        """The result on display."""
        return self._shown

    def busy_computing(self) -> bool:
        s = self.session
        return s.busy or self._schedule.isActive() or s.result is not self._shown

    @on_gui_thread
    def _on_started(self, request) -> None:
        label = METHOD_LABELS.get(request.method, request.method)
        self.controls.info.setText(f"Computing {label} of {len(request.weights)} checkpoint(s)…")

    @on_gui_thread
    def _on_computed(self, result: CamResult) -> None:
        if result is not self.session.result:
            return  # a later job (or an error) replaced it already
        self._shown = result
        self.controls.set_layers(result.default_layer, result.layers)
        self.view.set_source(self.session)
        times = ", ".join(f"{c.time_ms:.0f}" for c in result.cams)
        self.controls.info.setText(f"{range_text(result)}\nCAM time per model: {times} ms")
        self.controls.export_button.setEnabled(True)
        self.computed.emit(result)

    @on_gui_thread
    def _on_failed(self, message: str) -> None:
        self._on_cleared(message)
        self.context.notifications.error(self.title, message)

    @on_gui_thread
    def _on_cleared(self, text: str) -> None:
        self._shown = None
        self.controls.export_button.setEnabled(False)
        self.view.set_placeholder(text)
        self.controls.info.setText(text)

    @on_gui_thread
    def _on_refused(self, reason: str) -> None:
        self._say(reason, "warning" if "At most" in reason or "already" in reason else "error")

    @on_gui_thread
    def _on_checkpoints(self, paths: list[str]) -> None:
        self.controls.checkpoints.show_paths(paths)

    @on_gui_thread
    def _on_recent(self, paths: list[str]) -> None:
        self.settings.set("cam/models", paths)

    def _say(self, message: str, level: str = "info") -> None:
        self.context.notifications.notify(Notice(self.title, message, "", level))

    # export -------------------------------------------------------------------------------------
    def browse_export(self) -> None:
        folder = self.settings.get("cam/export_dir", str(Path.home()))
        name = f"cam_{Path(self.session.image_name or 'figure').stem}.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the figure", str(Path(folder) / name), "PNG (*.png)"
        )
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> None:
        """Write the figure at full resolution to ``path`` (``.png`` added when missing)."""
        self.settings.set("cam/export_dir", str(Path(path).parent))
        worker = create_worker(self.session.export, str(path), _start_thread=False)
        worker.returned.connect(self._exported)
        worker.errored.connect(lambda e: self.context.notifications.error(self.title, str(e)))
        worker.start()

    def _exported(self, path: str) -> None:
        self.context.status(f"Eigen-CAM figure written to {path}")
        self.exported.emit(path)

    # the Tab protocol ---------------------------------------------------------------------------
    def restore(self) -> bool:
        s, c = self.settings, self.controls
        image = s.get("cam/image")
        models = [p for p in s.get("cam/selected", []) or [] if Path(p).is_file()]
        if not image or not Path(image).is_file() or not models:
            return False
        c.opacity.setValue(float(s.get("cam/opacity", self.session.opacity)))
        c.detections.setChecked(str(s.get("cam/detections", True)).lower() != "false")
        c.colormap.setCurrentText(str(s.get("cam/colormap", self.session.colormap)))
        if (layer := s.get("cam/layer")) not in (None, "", "None"):
            c.select_layer(int(layer))
        self.set_method(m if (m := s.get("cam/method")) in METHOD_LABELS else DEFAULT_METHOD)
        self.session.set_checkpoints(models)
        self.set_image_path(image)
        return True

    def load_demo(self, demo: Demo) -> None:
        self.session.set_checkpoints([str(p) for p in demo.models])
        self.set_image_path(str(demo.first_image))

    def save_state(self) -> None:
        s, ses = self.settings, self.session
        if ses.image_path:
            s.set("cam/image", ses.image_path)
        for key in ("checkpoints", "layer", "method", "opacity", "show_detections", "colormap"):
            s.set(f"cam/{KEYS.get(key, key)}", getattr(ses, key))

    def shutdown(self) -> None:
        self._schedule.stop()
        self.session.shutdown()
        for signal, slot in self._slots:
            signal.disconnect(slot)
        self._slots = []
