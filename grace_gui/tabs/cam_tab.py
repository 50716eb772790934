"""Eigen-CAM tab: one image, up to four checkpoints, side-by-side heatmaps on one scale.

The figure is the one ``grace cam`` writes. Checkpoints load and maps compute in a worker on
the context's pool (models cached by path); opacity, colormap and detections on/off re-render
from the cached maps on the GUI thread (a few milliseconds), a layer or method change recomputes.
Eigen-CAM (the paper's Figure 3) is the default method; Eigen-Grad-CAM, LayerCAM and Grad-CAM++
explain the class scores of each model's detections.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from grace.explain.options import (
    COLORMAP_NAMES,
    DEFAULT_COLORMAP,
    DEFAULT_METHOD,
    DEFAULT_OPACITY,
    METHOD_LABELS,
)
from grace_gui.demo import Demo
from grace_gui.tabs.base import Tab
from grace_gui.widgets.cam_checkpoints import CheckpointList
from grace_gui.widgets.cam_job import (
    MAX_CHECKPOINTS,
    CamRequest,
    CamResult,
    ModelCache,
    Stopped,
    range_text,
    render_composite,
    run_job,
    write_png,
)
from grace_gui.widgets.image_view import ImageView
from grace_gui.widgets.notifications import Notice
from grace_gui.workers.qthreading import Worker

DEFAULT_LAYER = "Default: P3 input of the head"


class CamTab(Tab):
    title = "Eigen-CAM"
    computed = Signal(object)  # CamResult, once it is on display
    exported = Signal(str)  # the PNG written

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.cache = ModelCache()
        self.result: CamResult | None = None
        self.figure: np.ndarray | None = None  # the composite on display (BGR)
        self.render_ms = 0.0  # the last re-render's wall time
        self._image_path: str | None = None
        self._frame: tuple[np.ndarray, str] | None = None  # an image given as an array
        self._dataset_image: str | None = None
        self._provider: Callable[[], object] | None = None
        self._worker: Worker | None = None
        self._pending = False
        self._export: Worker | None = None
        self._schedule = QTimer(self, singleShot=True, interval=0)  # coalesces changes
        self._schedule.timeout.connect(self.compute)
        self._build()

    # layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        image_box = QGroupBox("Image")
        self.image_label = QLabel("none")
        self.image_label.setWordWrap(True)
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(self.browse_image)
        self.dataset_button = QPushButton("From Dataset")
        self.dataset_button.setToolTip("The image selected in the Dataset tab")
        self.dataset_button.clicked.connect(self.use_dataset_image)
        self.frame_button = QPushButton("From Inference")
        self.frame_button.setToolTip("The frame on display in the Inference tab")
        self.frame_button.clicked.connect(self.use_inference_frame)
        buttons = QHBoxLayout()
        for b in (self.file_button, self.dataset_button, self.frame_button):
            buttons.addWidget(b)
        v = QVBoxLayout(image_box)
        v.addWidget(self.image_label)
        v.addLayout(buttons)

        models_box = QGroupBox(f"Checkpoints (panels, up to {MAX_CHECKPOINTS})")
        self.checkpoints = CheckpointList(self.settings)
        self.checkpoints.changed.connect(self._schedule.start)
        self.checkpoints.refused.connect(self._refused)
        QVBoxLayout(models_box).addWidget(self.checkpoints)

        view_box = QGroupBox("Display")
        self.method_combo = QComboBox()
        for name, label in METHOD_LABELS.items():
            self.method_combo.addItem(label, name)
        self.method_combo.setCurrentIndex(self.method_combo.findData(DEFAULT_METHOD))
        self.method_combo.setToolTip(
            "How the heatmap is made (recomputes). Eigen-CAM: where the layer responds most, "
            "no gradient (the paper's Figure 3). Eigen-Grad-CAM, LayerCAM, Grad-CAM++: what "
            "raised the scores of the defects each model detected."
        )
        self.method_combo.currentIndexChanged.connect(self._schedule.start)
        self.layer_combo = QComboBox()
        self.layer_combo.addItem(DEFAULT_LAYER, None)
        self.layer_combo.setToolTip("Explain this layer's output in every model (recomputes)")
        self.layer_combo.currentIndexChanged.connect(self._schedule.start)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity_label = QLabel()
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAP_NAMES))
        self.colormap.setCurrentText(DEFAULT_COLORMAP)
        self.colormap.currentIndexChanged.connect(self.rerender)
        self.detections = QCheckBox("Show each model's detections")
        self.detections.setChecked(True)
        self.detections.toggled.connect(self.rerender)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_label)
        form = QFormLayout(view_box)
        form.addRow("Method", self.method_combo)
        form.addRow("Layer", self.layer_combo)
        form.addRow("Opacity", opacity_row)
        form.addRow("Colormap", self.colormap)
        form.addRow(self.detections)

        self.export_button = QPushButton("Export PNG…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.browse_export)
        self.info = QLabel("Choose an image and at least one checkpoint.")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        side = QVBoxLayout()
        for w in (image_box, models_box, view_box, self.export_button, self.info):
            side.addWidget(w)
        side.addStretch(1)
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(340)
        self.view = ImageView()
        self.view.set_placeholder("Choose an image and at least one checkpoint")
        layout = QHBoxLayout(self)
        layout.addWidget(panel)
        layout.addWidget(self.view, 1)
        self._opacity_changed(self.opacity.value())

    # what the other tabs call -------------------------------------------------------------------
    def add_checkpoint(self, path: str) -> None:
        """Offer ``path`` among the checkpoints (a run has just produced it)."""
        self.checkpoints.add(str(path))

    def offer_checkpoint(self, path: str) -> None:
        """A run has just produced ``path``: put it first under *Recent*, without adding a panel
        (that would recompute every heatmap, or be refused with four panels already)."""
        self.checkpoints.remember(str(path))

    def set_dataset_image(self, path: str) -> None:
        """The image selected in the dataset tab (offered as the input)."""
        self._dataset_image = str(path)
        self.dataset_button.setToolTip(f"Use {Path(path).name} from the Dataset tab")

    def set_frame_provider(self, provider: Callable[[], object]) -> None:
        """``provider()`` gives the inference tab's current ``(bgr, name)`` or ``None``."""
        self._provider = provider

    # choosing the image -------------------------------------------------------------------------
    def set_image_path(self, path: str) -> None:
        self._image_path, self._frame = str(path), None
        self.image_label.setText(Path(path).name)
        self.image_label.setToolTip(str(path))
        self._schedule.start()

    def set_image_array(self, bgr: np.ndarray, name: str) -> None:
        self._image_path, self._frame = None, (np.array(bgr, copy=True), str(name))
        self.image_label.setText(f"{name} (from Inference)")
        self.image_label.setToolTip(str(name))
        self._schedule.start()

    def browse_image(self) -> None:
        start = str(Path(self._image_path).parent) if self._image_path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose an image", start, "Images (*.jpg *.jpeg *.png *.bmp *.tif *.tiff)"
        )
        if path:
            self.set_image_path(path)

    def use_dataset_image(self) -> None:
        if not self._dataset_image:
            self._say("No image is selected in the Dataset tab yet.", "info")
            return
        self.set_image_path(self._dataset_image)

    def use_inference_frame(self) -> None:
        frame = self._provider() if self._provider is not None else None
        if frame is None:
            self._say("The Inference tab has no frame yet: run it on an image first.", "info")
            return
        bgr, name = frame
        self.set_image_array(bgr, name)

    # computing ----------------------------------------------------------------------------------
    def request(self) -> CamRequest | None:
        """What the controls ask for, or ``None`` while an image or a checkpoint is missing."""
        weights = tuple(self.checkpoints.paths())
        if not weights or (self._image_path is None and self._frame is None):
            return None
        frame, name = self._frame if self._frame is not None else (None, "")
        return CamRequest(
            weights=weights,
            image_path=self._image_path,
            image=frame,
            image_name=name,
            layer=self.layer_combo.currentData(),
            device="" if self.context.gpus else "cpu",
            method=self.method_combo.currentData(),
        )

    def compute(self) -> None:
        """Start the worker for the current choice (one at a time; the latest choice wins)."""
        req = self.request()
        if req is None:
            self._clear("Choose an image and at least one checkpoint")
            return
        if self._worker is not None:
            self._pending = True
            return
        label = METHOD_LABELS.get(req.method, req.method)
        self.info.setText(f"Computing {label} of {len(req.weights)} checkpoint(s)…")
        cache = self.cache
        worker = Worker(lambda w: run_job(req, cache, w.stop_event))
        worker.result.connect(self._on_result)
        worker.error.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker.start(self.context.pool)

    def busy_computing(self) -> bool:
        return self._worker is not None or self._pending or self._schedule.isActive()

    def _on_result(self, result: CamResult) -> None:
        self.checkpoints.blockSignals(True)  # the result already leaves them out
        for path, message in result.failed:
            self.context.notifications.error(self.title, message)
            self.checkpoints.remove(path)
        self.checkpoints.blockSignals(False)
        for path in result.weights:
            self.checkpoints.remember(path)
        self.result = result
        self._set_layers(result.layers)
        self.rerender()
        self.export_button.setEnabled(True)
        self.computed.emit(result)

    def _on_error(self, message: str, details: str) -> None:
        if message == Stopped.__name__:  # the tab is closing: nobody waits for it
            return
        self.context.report(self.title)(message, details)
        self.info.setText(f"Could not compute: {message}")

    def _on_finished(self) -> None:
        self._worker = None
        if self._pending:
            self._pending = False
            self.compute()

    def _set_layers(self, layers: list[tuple[int, str]]) -> None:
        """Offer the layers the models share, keeping the current choice."""
        current = self.layer_combo.currentData()
        have = [self.layer_combo.itemData(i) for i in range(1, self.layer_combo.count())]
        if have == [i for i, _ in layers]:
            return
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItem(DEFAULT_LAYER, None)
        for i, text in layers:
            self.layer_combo.addItem(text, i)
        pos = self.layer_combo.findData(current)
        self.layer_combo.setCurrentIndex(max(pos, 0))
        self.layer_combo.blockSignals(False)

    def set_layer(self, index: int | None) -> None:
        """Explain ``model.model[index]`` (``None``: the default); recomputes."""
        pos = self.layer_combo.findData(index)
        if pos < 0:
            self.layer_combo.addItem(f"model.{index}", index)
            pos = self.layer_combo.count() - 1
        self.layer_combo.setCurrentIndex(pos)

    def set_method(self, method: str) -> None:
        """Use the CAM method ``method`` (``eigencam``, ``layercam``…); recomputes."""
        pos = self.method_combo.findData(method)
        if pos < 0:
            raise ValueError(f"unknown CAM method {method!r}")
        self.method_combo.setCurrentIndex(pos)

    # rendering ----------------------------------------------------------------------------------
    def _opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value / 100:.2f}")
        self.rerender()

    def rerender(self) -> None:
        """Redraw the composite from the cached maps (no model runs)."""
        if self.result is None:
            return
        t0 = time.perf_counter()
        self.figure = render_composite(
            self.result,
            self.opacity.value() / 100,
            self.detections.isChecked(),
            self.colormap.currentText(),
        )
        self.view.set_image(self.figure)
        self.render_ms = (time.perf_counter() - t0) * 1000
        r = self.result
        counts = ", ".join(f"{t}: {len(d)}" for t, d in zip(r.titles, r.detections, strict=True))
        times = ", ".join(f"{c.time_ms:.0f}" for c in r.cams)
        self.info.setText(
            f"{range_text(r)}\nDetections (conf {r.request.conf}): {counts}\n"
            f"CAM time per model: {times} ms\n"
            f"Figure: {self.figure.shape[1]} x {self.figure.shape[0]} px"
        )

    def _clear(self, text: str) -> None:
        self.result, self.figure = None, None
        self.export_button.setEnabled(False)
        self.view.set_placeholder(text)
        self.info.setText(text + ".")

    # export -------------------------------------------------------------------------------------
    def browse_export(self) -> None:
        if self.figure is None or self.result is None:
            return
        folder = self.settings.get("cam/export_dir", str(Path.home()))
        name = f"cam_{Path(self.result.request.name).stem}.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the composite", str(Path(folder) / name), "PNG (*.png)"
        )
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> None:
        """Write the composite on display to ``path`` (``.png`` added when missing)."""
        if self.figure is None:
            return
        if Path(path).suffix.lower() != ".png":
            path += ".png"
        self.settings.set("cam/export_dir", str(Path(path).parent))
        worker = Worker.call(write_png, self.figure.copy(), path)
        worker.result.connect(self._exported)
        worker.error.connect(self.context.report(self.title))
        self._export = worker.start(self.context.pool)

    def _exported(self, path: str) -> None:
        self.context.status(f"Eigen-CAM figure written to {path}")
        self.exported.emit(path)

    # messages -----------------------------------------------------------------------------------
    def _say(self, message: str, level: str = "info") -> None:
        self.context.notifications.notify(Notice(self.title, message, "", level))

    def _refused(self, reason: str) -> None:
        self._say(reason, "warning")

    # the Tab protocol ---------------------------------------------------------------------------
    def restore(self) -> bool:
        s = self.settings
        image = s.get("cam/image")
        models = [p for p in s.get("cam/selected", []) if Path(p).is_file()]
        if not image or not Path(image).is_file() or not models:
            return False
        self._restore_display()
        self.checkpoints.set_paths(models)
        self.set_image_path(image)
        return True

    def _restore_display(self) -> None:
        s = self.settings
        self.opacity.setValue(int(s.get("cam/opacity", round(DEFAULT_OPACITY * 100))))
        self.detections.setChecked(bool(s.get("cam/detections", True)))
        self.colormap.setCurrentText(str(s.get("cam/colormap", DEFAULT_COLORMAP)))
        layer = s.get("cam/layer")
        if isinstance(layer, int):
            self.set_layer(layer)
        method = s.get("cam/method", DEFAULT_METHOD)
        if method in METHOD_LABELS:
            self.set_method(method)

    def load_demo(self, demo: Demo) -> None:
        self.checkpoints.set_paths([str(p) for p in demo.models])
        self.set_image_path(str(demo.first_image))

    def save_state(self) -> None:
        s = self.settings
        if self._image_path:
            s.set("cam/image", self._image_path)
        s.set("cam/selected", self.checkpoints.paths())
        s.set("cam/layer", self.layer_combo.currentData())
        s.set("cam/method", self.method_combo.currentData())
        s.set("cam/opacity", self.opacity.value())
        s.set("cam/detections", self.detections.isChecked())
        s.set("cam/colormap", self.colormap.currentText())

    def busy(self) -> str:
        return ""  # a comparison is quick to redo; nothing is lost by closing

    def shutdown(self) -> None:
        self._schedule.stop()
        self._pending = False
        if self._worker is not None:
            self._worker.stop()
