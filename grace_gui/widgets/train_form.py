"""The training form: dataset, model scale, variant, epochs, image size, batch, device, pretrained
weights, output folder; starts with the paper's protocol (:class:`grace.config.TrainDefaults`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from grace.config import MODEL_SCALES, TrainDefaults
from grace_gui.sessions.training_process import TrainForm

VARIANT_LABELS = {
    "baseline": "Baseline (YOLO11)",
    "ds": "DS-CBSM++ (sampler)",
    "fen": "Lite-FEN (attention)",
    "grace": "GRACE (DS-CBSM++ + Lite-FEN)",
}
DEFAULT_PROJECT = Path.home() / "grace-runs"


def device_choices(gpus: list[str]) -> list[tuple[str, str]]:
    """``(label, --device value)``: each GPU found, all of them (DDP) when several, and CPU."""
    choices = [(f"GPU {g}", g.split(":", 1)[0].strip()) for g in gpus]
    if len(gpus) > 1:
        ids = ",".join(v for _label, v in choices)
        choices.append((f"All {len(gpus)} GPUs (DDP: {ids})", ids))
    return [*choices, ("CPU", "cpu")]


def _path_row(edit: QLineEdit, browse) -> QWidget:
    w = QWidget()
    row = QHBoxLayout(w)
    row.setContentsMargins(0, 0, 0, 0)
    button = QPushButton("…")
    button.setFixedWidth(32)
    button.setToolTip("Browse")
    button.clicked.connect(browse)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return w


def _spin(lo: int, hi: int, step: int = 1) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    return s


class TrainFormWidget(QWidget):
    def __init__(self, gpus: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = QLineEdit()
        self.data.setPlaceholderText("path/to/data.yaml")
        self.model = QComboBox()
        for s in MODEL_SCALES:
            self.model.addItem(f"yolo11{s}", f"yolo11{s}")
        self.variant = QComboBox()
        for v, label in VARIANT_LABELS.items():
            self.variant.addItem(label, v)
        self.epochs = _spin(1, 10000)
        self.imgsz = _spin(32, 4096, 32)
        self.batch = _spin(1, 1024)
        self.device = QComboBox()
        for label, value in device_choices(gpus):
            self.device.addItem(label, value)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("none: train from scratch")
        self.workers = _spin(0, 64)
        self.project = QLineEdit(str(DEFAULT_PROJECT))
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (variant-model)")
        defaults = QPushButton("Paper defaults")
        d = TrainDefaults()
        defaults.setToolTip(
            f"{d.model}, {d.epochs} epochs, imgsz {d.imgsz}, batch {d.batch} "
            f"({d.optimizer}, lr0 {d.lr0})"
        )
        defaults.clicked.connect(self.paper_defaults)

        for widget, tip in (
            (self.data, "The data.yaml of the defect images to learn from (train and val "
             "folders, class names); the Dataset tab fills it in when it opens one."),
            (self.model, "Model size: n is fastest and least accurate, x the slowest and most "
             "accurate; the paper uses s."),
            (self.variant, "Baseline: plain YOLO11. DS-CBSM++: shows rare and hard defect "
             "classes more often while training. Lite-FEN: a light attention block that "
             "sharpens faint defects. GRACE: both."),
            (self.epochs, "How many times training goes through all training images; more "
             "takes longer and usually helps up to a point."),
            (self.imgsz, "Images are scaled to this many pixels per side; larger sees finer "
             "defects but trains slower (about quadratically)."),
            (self.batch, "Images per training step; lower it if the GPU runs out of memory."),
            (self.device, "Where to train: a GPU is tens of times faster than the CPU."),
            (self.weights, "Optional: a checkpoint (.pt) of an earlier training to start from "
             "instead of from scratch; checked before the run starts."),
            (self.workers, "Processes that load images in the background (0: in the training "
             "process itself)."),
            (self.project, "The folder where each run gets its own subfolder (weights, plots, "
             "log)."),
            (self.name, "The run's folder name; a number is added when it already exists."),
        ):  # fmt: skip
            widget.setToolTip(tip)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Dataset", _path_row(self.data, self._browse_data))
        form.addRow("Model", self.model)
        form.addRow("Variant", self.variant)
        form.addRow("Epochs", self.epochs)
        form.addRow("Image size", self.imgsz)
        form.addRow("Batch", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Weights", _path_row(self.weights, self._browse_weights))
        form.addRow("Workers", self.workers)
        form.addRow("Runs folder", _path_row(self.project, self._browse_project))
        form.addRow("Run name", self.name)
        form.addRow("", defaults)
        self.paper_defaults()

    def paper_defaults(self) -> None:
        """The paper's protocol; the device and dataset stay as chosen."""
        d = TrainDefaults()
        self.model.setCurrentIndex(self.model.findData(d.model))
        self.variant.setCurrentIndex(self.variant.findData("grace"))
        self.epochs.setValue(d.epochs)
        self.imgsz.setValue(d.imgsz)
        self.batch.setValue(d.batch)
        self.workers.setValue(8)

    # ---- values -----------------------------------------------------------------------------
    def value(self) -> TrainForm:
        return TrainForm(
            data=self.data.text().strip(),
            model=self.model.currentData(),
            variant=self.variant.currentData(),
            epochs=self.epochs.value(),
            imgsz=self.imgsz.value(),
            batch=self.batch.value(),
            device=self.device.currentData() or "",
            weights=self.weights.text().strip(),
            workers=self.workers.value(),
        )

    def state(self) -> dict:
        f = self.value()
        return {**vars(f), "project": self.project.text(), "name": self.name.text()}

    def prefill(self, data: str, weights: str) -> None:
        """Set the dataset and the starting weights (the Review tab's "Fine-tune on it")."""
        self.data.setText(str(data))
        self.weights.setText(str(weights))

    def set_state(self, s: dict) -> None:
        """Fill in what :meth:`state` returned (unknown or missing values are left alone)."""
        for key, combo in (("model", self.model), ("variant", self.variant)):
            i = combo.findData(s.get(key))
            if i >= 0:
                combo.setCurrentIndex(i)
        i = self.device.findData(s.get("device"))
        if i >= 0:
            self.device.setCurrentIndex(i)
        for key, spin in (
            ("epochs", self.epochs),
            ("imgsz", self.imgsz),
            ("batch", self.batch),
            ("workers", self.workers),
        ):
            if isinstance(s.get(key), int):
                spin.setValue(s[key])
        for key, edit in (
            ("data", self.data),
            ("weights", self.weights),
            ("project", self.project),
            ("name", self.name),
        ):
            if isinstance(s.get(key), str):
                edit.setText(s[key])

    # ---- browsing ---------------------------------------------------------------------------
    def _browse_data(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Dataset", self.data.text(), "YOLO data (*.yaml *.yml)"
        )
        if path:
            self.data.setText(path)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Pretrained weights", self.weights.text(), "Checkpoints (*.pt)"
        )
        if path:
            self.weights.setText(path)

    def _browse_project(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", self.project.text())
        if path:
            self.project.setText(path)
