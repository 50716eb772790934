"""The Inference tab's inputs: a model chooser (the session's checkpoints, exports and packages,
each named by its run and folder), the source (image, folder, video file, camera, stream URL)
and the device."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from grace.infer.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from grace_gui.sessions.inference_models import ModelEntry
from grace_gui.sessions.inference_watch import WATCH
from grace_gui.sessions.model_files import MODEL_FILES_TIP, MODEL_FILTER, picked_model

KINDS = ("Image", "Folder", WATCH, "Video file", "Camera", "Stream URL")
PLACEHOLDERS = {
    "Image": "an image file",
    "Folder": "a folder of images",
    WATCH: "the folder the line camera writes into: each new image is judged OK/NG once",
    "Video file": "a video file (.mp4, .avi, …)",
    "Camera": "camera index, e.g. 0",
    "Stream URL": "http://…/video.mjpg or rtsp://…",
}


def guess_kind(source: str) -> str:
    """The chooser's kind for a source text (for restoring and drops)."""
    text = source.strip()
    if "://" in text:
        return "Stream URL"
    if text.isdigit() and not Path(text).exists():
        return "Camera"
    path = Path(text)
    if path.is_dir():
        return "Folder"
    return "Video file" if path.suffix.lower() in VIDEO_SUFFIXES else "Image"


def device_choices(gpus: list[str]) -> list[tuple[str, str]]:
    """``(label, device)`` pairs: each GPU first (``"0"``), then the CPU."""
    out = [(f"GPU {g}", g.split(":", 1)[0].strip()) for g in gpus]
    return [*out, ("CPU", "cpu")]


class SourceBar(QWidget):
    """Model, source and device; ``run_requested`` when the user presses Enter in the source,
    ``model_chosen(path)`` when the user picks or browses a checkpoint."""

    run_requested = Signal()
    model_chosen = Signal(str)

    def __init__(self, gpus: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.last_dir = ""
        self.model_combo = QComboBox()
        self.model_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.model_combo.setMinimumContentsLength(24)
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setToolTip("The trained model (checkpoint, OpenVINO or ONNX export, or "
                                    "package) that inspects the images: run name, file and the "
                                    "folder it is in")  # fmt: skip
        self.model_combo.activated.connect(
            lambda i: self.model_chosen.emit(str(self.model_combo.itemData(i)))
        )
        model_browse = QPushButton("Browse…")
        model_browse.setToolTip(f"Choose a model from disk: {MODEL_FILES_TIP}")
        model_browse.clicked.connect(self.browse_model)
        self.kind_combo = QComboBox()
        self.kind_combo.addItems(KINDS)
        self.kind_combo.currentTextChanged.connect(self._kind_changed)
        self.kind_combo.setToolTip("What to inspect: one image, a folder of images, a folder "
                                   "watched for new images (verdict OK/NG each, results kept "
                                   "beside it for review), a video file, a camera or a "
                                   "network stream")  # fmt: skip
        self.source_edit = QLineEdit()
        self.source_edit.returnPressed.connect(self.run_requested)
        self.source_edit.setToolTip("The image, folder or video path, the camera number or the "
                                    "stream address to inspect; Enter runs")  # fmt: skip
        self.source_browse = QPushButton("Browse…")
        self.source_browse.setToolTip("Choose the image, folder or video on disk")
        self.source_browse.clicked.connect(self.browse_source)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the model runs: a GPU is many times faster than the "
                                     "CPU on large folders and live video")  # fmt: skip
        for label, device in device_choices(gpus):
            self.device_combo.addItem(label, device)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Model"), 0, 0)
        grid.addWidget(self.model_combo, 0, 1, 1, 2)
        grid.addWidget(model_browse, 0, 3)
        grid.addWidget(QLabel("Device"), 0, 4)
        grid.addWidget(self.device_combo, 0, 5)
        grid.addWidget(QLabel("Source"), 1, 0)
        grid.addWidget(self.kind_combo, 1, 1)
        grid.addWidget(self.source_edit, 1, 2)
        grid.addWidget(self.source_browse, 1, 3)
        grid.setColumnStretch(2, 1)
        self._kind_changed(self.kind_combo.currentText())

    # model -----------------------------------------------------------------------------------
    def show_models(self, models: Sequence[ModelEntry], selected: str = "") -> None:
        """List ``models`` (run · file, then the folder; the full path as tooltip) and show
        ``selected`` as chosen."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for i, m in enumerate(models):
            self.model_combo.addItem(m.label(), m.path)
            self.model_combo.setItemData(i, m.path, Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(self.model_combo.findData(selected))
        self.model_combo.blockSignals(False)

    def model_path(self) -> str:
        return str(self.model_combo.currentData() or "")

    def models(self) -> list[str]:
        return [str(self.model_combo.itemData(i)) for i in range(self.model_combo.count())]

    def browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", self.last_dir, MODEL_FILTER)
        path = picked_model(path)  # an OpenVINO .xml or a package.json: its folder
        if path:
            self.last_dir = str(Path(path).parent)
            self.model_chosen.emit(path)

    # source ----------------------------------------------------------------------------------
    def source(self) -> str:
        return self.source_edit.text().strip()

    def set_source(self, source: str, kind: str | None = None) -> None:
        self.kind_combo.setCurrentText(kind or guess_kind(source))
        self.source_edit.setText(str(source))

    def kind(self) -> str:
        return self.kind_combo.currentText()

    def _kind_changed(self, kind: str) -> None:
        self.source_edit.setPlaceholderText(PLACEHOLDERS.get(kind, ""))
        self.source_browse.setEnabled(kind in ("Image", "Folder", WATCH, "Video file"))

    def browse_source(self) -> None:
        kind = self.kind()
        start = self.last_dir or str(Path(self.source()).parent if self.source() else "")
        if kind in ("Folder", WATCH):
            path = QFileDialog.getExistingDirectory(self, f"Choose {PLACEHOLDERS[kind]}", start)
        else:
            suffixes = IMAGE_SUFFIXES if kind == "Image" else VIDEO_SUFFIXES
            pattern = " ".join(f"*{s}" for s in sorted(suffixes))
            path, _ = QFileDialog.getOpenFileName(
                self, f"Choose {PLACEHOLDERS[kind]}", start, f"{kind} ({pattern});;All (*)"
            )
        if path:
            self.last_dir = str(Path(path) if kind in ("Folder", WATCH) else Path(path).parent)
            self.source_edit.setText(path)

    # device ----------------------------------------------------------------------------------
    def device(self) -> str:
        return str(self.device_combo.currentData() or "cpu")
