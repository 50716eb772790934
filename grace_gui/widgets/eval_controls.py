"""The Evaluate tab's form: the models, the dataset, the image size, Evaluate with its progress,
and the reference of every Δ."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.evaluation_files import ModelChoice
from grace_gui.sessions.model_files import MODEL_FILES_TIP, MODEL_FILTER, picked_model


def _button(text: str, tip: str) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    return b


class EvalControls(QWidget):
    add_requested = Signal(str)  # a model (checkpoint, export, package) or run folder chosen
    remove_requested = Signal(int)
    dataset_chosen = Signal(str)
    evaluate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = QListWidget()
        self.models.setToolTip("The models to compare; the first is the reference until you "
                               "choose another below")  # fmt: skip
        self.models.setMaximumHeight(110)
        add_file = _button("Add model…", f"Add a trained model: {MODEL_FILES_TIP}")
        add_run = _button("Add run…", "Add a training run folder: its weights/best.pt is used")
        remove = _button("Remove", "Leave the selected model out of the comparison")
        add_file.clicked.connect(self._ask_file)
        add_run.clicked.connect(self._ask_run)
        remove.clicked.connect(lambda: self.remove_requested.emit(self.models.currentRow()))
        self.dataset = QLabel("—")
        self.dataset.setWordWrap(True)
        self.dataset.setToolTip("The labelled images the models are scored on (its val split); "
                                "by default the dataset open in the Dataset tab")  # fmt: skip
        browse = _button("Dataset…", "Score the models on another data.yaml")
        browse.clicked.connect(self._ask_dataset)
        self.imgsz = QSpinBox()
        self.imgsz.setRange(0, 4096)
        self.imgsz.setSingleStep(32)
        self.imgsz.setSpecialValueText("as trained")
        self.imgsz.setToolTip(
            "The size the images are scaled to for the model, as on the line (grace predict "
            "--imgsz). 'as trained': each model at the size it was trained at, an exported "
            "model at the size it was exported for"
        )
        self.reference = QComboBox()
        self.reference.setToolTip("Every Δ is this model's figure subtracted from the other's, "
                                  "with its 95 % interval over the images")  # fmt: skip
        self.evaluate_button = _button("Evaluate", "Score every model on the dataset's val split "
                                       "exactly as grace predict would run it (reuses an "
                                       "evaluation that is still up to date)")  # fmt: skip
        self.evaluate_button.clicked.connect(self.evaluate_requested.emit)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("")
        self.report_button = _button(
            "Report…", "Write one HTML file to mail about the model selected above: its "
            "identity, the dataset, the figures with intervals, curves, worst errors, an Eigen-CAM"
        )  # fmt: skip
        self.status.setWordWrap(True)

        box = QGroupBox("Models")
        bl = QVBoxLayout(box)
        bl.addWidget(self.models)
        row = QHBoxLayout()
        for b in (add_file, add_run, remove):
            row.addWidget(b)
        bl.addLayout(row)
        form = QFormLayout()
        data_row = QHBoxLayout()
        data_row.addWidget(self.dataset, 1)
        data_row.addWidget(browse)
        form.addRow("Dataset", data_row)
        form.addRow("Image size", self.imgsz)
        form.addRow("Reference", self.reference)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addLayout(form)
        layout.addWidget(self.evaluate_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.report_button)
        self.setMaximumWidth(360)

    def show_models(self, models: Sequence[ModelChoice]) -> None:
        self.models.clear()
        for m in models:
            self.models.addItem(m.label)
            self.models.item(self.models.count() - 1).setToolTip(m.weights)

    def show_dataset(self, path: str) -> None:
        self.dataset.setText(f"{Path(path).parent.name}/{Path(path).name}" if path else "—")
        self.dataset.setToolTip(path)

    def show_reference(self, labels: Sequence[str], index: int) -> None:
        self.reference.blockSignals(True)
        self.reference.clear()
        self.reference.addItems(list(labels))
        self.reference.setCurrentIndex(index)
        self.reference.blockSignals(False)

    def show_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(what)

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", "", MODEL_FILTER)
        path = picked_model(path)  # an OpenVINO .xml or a package.json: its folder
        if path:
            self.add_requested.emit(path)

    def _ask_run(self) -> None:
        if path := QFileDialog.getExistingDirectory(self, "Add a training run folder"):
            self.add_requested.emit(path)

    def _ask_dataset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Dataset", "", "data.yaml (*.yaml *.yml)")
        if path:
            self.dataset_chosen.emit(path)
