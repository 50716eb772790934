"""The calibration panel: a target per class (F1, a recall or a precision to reach), the
thresholds chosen on the val split with P/R there next to the single global threshold, and
*Write thresholds file* / *Use in Inference*."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from grace_gui.widgets.colors import class_qcolor
from grace_gui.widgets.eval_tables import TextTable

KINDS = (("Best F1", "f1"), ("Recall at least", "recall"), ("Precision at least", "precision"))
DEFAULT = "as all classes"
TARGET_TIP = (
    "What the threshold should achieve on the validation images: the best balance (F1); "
    "a recall to reach (the share of defects found, e.g. 0.95: miss at most 1 in 20); or a "
    "precision to reach (the share of alarms that are real defects)"
)


def _target_row(default: bool) -> tuple[QComboBox, QDoubleSpinBox]:
    kind = QComboBox()
    if default:
        kind.addItem(DEFAULT, "")
    for text, data in KINDS:
        kind.addItem(text, data)
    kind.setToolTip(TARGET_TIP)
    value = QDoubleSpinBox()
    value.setRange(0.01, 1.0)
    value.setDecimals(2)
    value.setSingleStep(0.01)
    value.setValue(0.9)
    value.setToolTip("The recall or precision to reach (0–1); unused for best F1")
    kind.currentIndexChanged.connect(lambda: value.setEnabled(kind.currentData() not in ("", "f1")))
    value.setEnabled(False)
    return kind, value


def target_text(kind: str, value: float) -> str:
    return kind if kind == "f1" else f"{kind}={value:.2f}"


class CalibrationPanel(QWidget):
    calibrate_requested = Signal(int, str, dict)  # model index, default target, {class: target}
    write_requested = Signal()
    use_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QComboBox()
        self.model.setToolTip("The model whose thresholds are chosen")
        self.kind, self.value = _target_row(default=False)
        self.class_rows: list[tuple[str, QComboBox, QDoubleSpinBox]] = []
        self._grid = QGridLayout()
        self.calibrate_button = QPushButton("Calibrate")
        self.calibrate_button.setToolTip("Choose each class's threshold on the val split")
        self.write_button = QPushButton("Write thresholds file…")
        self.write_button.setToolTip("Save the thresholds beside the model "
                                     "(<model>.thresholds.json), read by grace predict "
                                     "--thresholds auto and grace val --thresholds")  # fmt: skip
        self.use_button = QPushButton("Use in Inference")
        self.use_button.setToolTip("Set the Inference tab's model and sliders to these thresholds")
        for b in (self.write_button, self.use_button):
            b.setEnabled(False)
        self.calibrate_button.clicked.connect(self._calibrate)
        self.write_button.clicked.connect(self.write_requested.emit)
        self.use_button.clicked.connect(self.use_requested.emit)
        self.table = TextTable("Per class: the threshold chosen and precision (P), recall (R) "
                               "and F1 there, next to P and R at one threshold for all classes")
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color:#8a5a00;")

        top = QHBoxLayout()
        for w in (QLabel("Model"), self.model, QLabel("All classes"), self.kind, self.value):
            top.addWidget(w)
        top.addStretch(1)
        buttons = QHBoxLayout()
        for b in (self.calibrate_button, self.write_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.warnings)

    def set_models(self, labels: Sequence[str], names: Sequence[str]) -> None:
        """The models to calibrate and one target row per class."""
        self.model.clear()
        self.model.addItems(list(labels))
        if [n for n, _, _ in self.class_rows] == list(names):
            return
        for i in reversed(range(self._grid.count())):
            self._grid.itemAt(i).widget().deleteLater()
        self.class_rows = []
        for c, name in enumerate(names):
            swatch = QLabel()
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background:{class_qcolor(c).name()}; border-radius:2px;")
            kind, value = _target_row(default=True)
            kind.setToolTip(f"{name}: " + TARGET_TIP)
            col = 4 * (c % 2)
            for j, w in enumerate((swatch, QLabel(name), kind, value)):
                self._grid.addWidget(w, c // 2, col + j)
            self.class_rows.append((name, kind, value))

    def set_class_target(self, name: str, kind: str, value: float = 0.9) -> None:
        row = next(r for r in self.class_rows if r[0] == name)
        row[1].setCurrentIndex(row[1].findData(kind))
        row[2].setValue(value)

    def targets(self) -> tuple[str, dict[str, str]]:
        default = target_text(self.kind.currentData(), self.value.value())
        own = {n: target_text(k.currentData(), v.value())
               for n, k, v in self.class_rows if k.currentData()}  # fmt: skip
        return default, own

    def _calibrate(self) -> None:
        default, own = self.targets()
        self.calibrate_requested.emit(self.model.currentIndex(), default, own)

    def show_calibration(self, table, warnings: Sequence[str] | None) -> None:
        """The session's calibration table (None: cleared)."""
        on = table is not None
        self.table.show_rows(*(table if on else ([], [])))
        self.warnings.setText("\n".join(warnings or []))
        for b in (self.write_button, self.use_button):
            b.setEnabled(on)
