"""The "New review store" dialog: from a folder of images (the uncertain detections of a model)
or from a ``grace val`` output (a model's errors on a labelled split), and where the store goes
(default: beside the folder, or in the val output; never over an existing file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from grace_gui.sessions.model_files import MODEL_FILTER, picked_model
from grace_gui.sessions.review_state import store_beside_folder, store_in_val_dir


@dataclass(frozen=True)
class NewChoice:
    """What to make: ``source`` ``"folder"`` (``images``) or ``"val"`` (``data``, ``val_dir``),
    with ``weights``, into ``store``."""

    source: str
    weights: str
    store: str
    images: str = ""
    data: str = ""
    val_dir: str = ""


def _row(edit: QLineEdit, browse) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    b = QPushButton("…")
    b.setToolTip("Browse")
    b.setMaximumWidth(32)
    b.clicked.connect(browse)
    lay.addWidget(edit, 1)
    lay.addWidget(b)
    return w


class NewStoreDialog(QDialog):
    def __init__(self, source: str = "folder", weights: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New review store")
        self.source = QComboBox()
        self.source.addItem("A folder of images (the model's uncertain detections)", "folder")
        self.source.addItem("A grace val output (the model's errors on labelled images)", "val")
        self.source.setToolTip(
            "What to review: detections near the threshold on new images, "
            "or the errors a model made on images whose defects are known"
        )
        self.fields = {k: QLineEdit() for k in ("images", "val_dir", "data", "weights", "store")}
        tips = {
            "images": "The folder of images to inspect (not changed)",
            "val_dir": "The folder grace val wrote (metrics.json, errors.json, predictions.npz)",
            "data": "The dataset (data.yaml) grace val was run on: its val split is reviewed",
            "weights": "The model (.pt, OpenVINO, ONNX or package) whose findings you review; "
                       "a .pt is also the starting weights of a fine-tuning on the result",
            "store": "The review store file to make (every decision is saved in it as you go)",
        }  # fmt: skip
        labels = {"images": "Images", "val_dir": "grace val output", "data": "Dataset",
                  "weights": "Model", "store": "Store file"}  # fmt: skip
        self.labels = labels
        form = QFormLayout(self)
        form.addRow("Source", self.source)
        self.rows = {}
        for key, edit in self.fields.items():
            edit.setToolTip(tips[key])
            self.rows[key] = _row(edit, lambda _=False, k=key: self._browse(k))
            form.addRow(labels[key], self.rows[key])
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00")
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)  # fmt: skip
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.form = form
        self.fields["weights"].setText(weights)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.fields["images"].textChanged.connect(self._default_store)
        self.fields["val_dir"].textChanged.connect(self._default_store)
        self.source.setCurrentIndex(self.source.findData(source))
        self._source_changed()
        self.resize(640, self.sizeHint().height())

    def _source_changed(self) -> None:
        val = self.source.currentData() == "val"
        for key, shown in (("images", not val), ("val_dir", val), ("data", val)):
            self.form.setRowVisible(self.rows[key], shown)
        self._default_store()

    def _default_store(self) -> None:
        folder = self.fields["val_dir" if self.source.currentData() == "val" else "images"]
        text = folder.text().strip()
        if text and Path(text).is_dir():
            val = self.source.currentData() == "val"
            self.fields["store"].setText(str(store_in_val_dir(text) if val
                                             else store_beside_folder(text)))  # fmt: skip

    def _browse(self, key: str) -> None:
        edit = self.fields[key]
        if key in ("images", "val_dir"):
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        elif key == "store":
            path, _ = QFileDialog.getSaveFileName(self, "Store file", edit.text(), "*.db")
        elif key == "weights":
            path, _ = QFileDialog.getOpenFileName(self, "Choose a model", edit.text(), MODEL_FILTER)
            path = picked_model(path)  # an OpenVINO .xml or a package.json: its folder
        else:
            pattern = "YOLO data (*.yaml *.yml)"
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", edit.text(), pattern)
        if path:
            edit.setText(path)

    def choice(self) -> NewChoice:
        v = {k: e.text().strip() for k, e in self.fields.items()}
        if self.source.currentData() == "folder":
            v["val_dir"] = v["data"] = ""
        else:
            v["images"] = ""
        return NewChoice(self.source.currentData(), **v)

    def _ok(self) -> None:
        c = self.choice()
        needed = ["weights", "store"]
        needed += ["images"] if c.source == "folder" else ["val_dir", "data"]
        empty = [self.labels[k] for k in needed if not getattr(c, k)]
        if empty:
            self.problem.setText(f"Fill in: {', '.join(empty)}")
            return
        self.accept()


def ask_new(parent, source: str = "folder", weights: str = "") -> NewChoice | None:
    dialog = NewStoreDialog(source, weights, parent)
    return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None
