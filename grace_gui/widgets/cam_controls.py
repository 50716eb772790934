"""The Eigen-CAM tab's side panel: the image, the checkpoints, how the maps are drawn, export and
the figures of the comparison. Widgets only; the tab wires them to its session."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from grace.explain.options import COLORMAP_NAMES, DEFAULT_COLORMAP, DEFAULT_METHOD, METHOD_LABELS
from grace_gui.sessions.cam_job import MAX_CHECKPOINTS
from grace_gui.widgets.cam_checkpoints import CheckpointList

#: What each field does, in a quality engineer's words.
TIPS = {
    "method": "How the heatmap is made. Eigen-CAM (the paper's Figure 3): where this layer of "
    "the model responds most, no gradient needed. Eigen-Grad-CAM, LayerCAM, Grad-CAM++: what "
    "raised the scores of the defects each model detected.",
    "layer": "Which stage of the network the heatmap shows. P3 sees 1/8 of the image's "
    "resolution (small defects), P5 1/32 (large ones). The default is what the detection head "
    "reads for small defects, after Lite-FEN's attention in a GRACE model.",
    "opacity": "How strongly the heatmap covers the image: 0 shows only the image, 1 only the "
    "heatmap.",
    "colormap": "The colours of the heatmap from low to high response (inferno: dark to yellow).",
    "detections": "Draw the defects each model finds on its panel, at the Inference tab's "
    "confidence thresholds (global and per class).",
}


class CamControls(QWidget):
    """Every control of the tab's side panel (no behaviour of its own)."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        image_box = QGroupBox("Image")
        self.image_label = QLabel("none")
        self.image_label.setWordWrap(True)
        self.file_button = QPushButton("File…", toolTip="Explain an image file from disk")
        self.dataset_button = QPushButton(
            "From Dataset", toolTip="Explain the image selected in the Dataset tab"
        )
        self.frame_button = QPushButton(
            "From Inference", toolTip="Explain the image or frame shown in the Inference tab"
        )
        buttons = QHBoxLayout()
        for b in (self.file_button, self.dataset_button, self.frame_button):
            buttons.addWidget(b)
        v = QVBoxLayout(image_box)
        v.addWidget(self.image_label)
        v.addLayout(buttons)

        models_box = QGroupBox(f"Checkpoints (panels, up to {MAX_CHECKPOINTS})")
        self.checkpoints = CheckpointList(session)
        QVBoxLayout(models_box).addWidget(self.checkpoints)

        self.method_combo = QComboBox()
        for name, label in METHOD_LABELS.items():
            self.method_combo.addItem(label, name)
        self.method_combo.setCurrentIndex(self.method_combo.findData(DEFAULT_METHOD))
        self.layer_combo = QComboBox()
        self.layer_combo.addItem("P3 input of the head", None)  # the default, named for the models
        self.layer_combo.view().setMinimumWidth(320)  # long names show whole in the list
        self.opacity = QLabeledDoubleSlider(Qt.Orientation.Horizontal)  # slider + its value
        self.opacity.setRange(0.0, 1.0)
        self.opacity.setSingleStep(0.01)
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAP_NAMES))
        self.colormap.setCurrentText(DEFAULT_COLORMAP)
        self.detections = QCheckBox("Show each model's detections")
        self.detections.setChecked(True)
        view_box = QGroupBox("Display")
        form = QFormLayout(view_box)
        rows = [
            ("Method", self.method_combo, "method"),
            ("Layer", self.layer_combo, "layer"),
            ("Opacity", self.opacity, "opacity"),
            ("Colormap", self.colormap, "colormap"),
        ]
        for label, w, tip in rows:
            w.setToolTip(TIPS[tip])
            form.addRow(label, w)
        self.detections.setToolTip(TIPS["detections"])
        form.addRow(self.detections)

        self.export_button = QPushButton(
            "Export PNG…", toolTip="Save the figure with each panel at the image's own size"
        )
        self.export_button.setEnabled(False)
        self.info = QLabel("Choose an image and at least one checkpoint.")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side = QVBoxLayout(self)
        for w in (image_box, models_box, view_box, self.export_button, self.info):
            side.addWidget(w)
        side.addStretch(1)
        self.setFixedWidth(360)

    def set_layers(self, default: str, layers: Sequence[tuple[int, str]]) -> None:
        """Offer ``layers`` (index, name) after the default, keeping the current choice; no
        signal is emitted."""
        current = self.layer_combo.currentData()
        combo = self.layer_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(default, None)
        combo.setItemData(0, "the default layer", Qt.ItemDataRole.ToolTipRole)
        for i, name in layers:
            combo.addItem(name, i)
            combo.setItemData(combo.count() - 1, f"layer {i} of the model",
                              Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    def select_layer(self, index: int | None) -> None:
        """Choose layer ``index`` (offered by number until the models' names are known)."""
        pos = self.layer_combo.findData(index)
        if pos < 0:
            self.layer_combo.addItem(f"layer {index}", index)
            pos = self.layer_combo.count() - 1
        self.layer_combo.setCurrentIndex(pos)
