"""Global and per-class confidence sliders (class colours and names from the checkpoint).

A class slider follows the global one until the user moves it (then it is that class's own
threshold); *Reset* makes every class follow the global slider again. ``changed`` carries a
:class:`~grace.infer.thresholds.ClassThresholds` on every move, so that the view and the table
are filtered at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from grace.infer.thresholds import ClassThresholds
from grace_gui.widgets.colors import class_qcolor

STEPS = 100  # slider units per 1.0 of confidence


def to_steps(value: float) -> int:
    return int(round(min(1.0, max(0.0, float(value))) * STEPS))


def _slider() -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(1, STEPS)
    s.setSingleStep(1)
    s.setPageStep(5)
    s.setMinimumWidth(120)
    return s


class ThresholdPanel(QGroupBox):
    changed = Signal(object)  # ClassThresholds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Confidence thresholds", parent)
        self.names: list[str] = []
        self.overrides: dict[int, float] = {}
        self.global_slider = _slider()
        self.global_slider.setValue(25)
        self.global_label = QLabel()
        self.global_slider.valueChanged.connect(self._global_moved)
        self.class_sliders: list[QSlider] = []
        self._class_labels: list[QLabel] = []
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#8a5a00;")
        self.note.hide()
        self.reset_button = QPushButton("Reset classes")
        self.reset_button.setToolTip("Every class follows the global threshold again")
        self.reset_button.clicked.connect(self.reset_classes)

        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        self._grid.addWidget(QLabel("<b>All classes</b>"), 0, 0, 1, 2)
        self._grid.addWidget(self.global_slider, 0, 2)
        self._grid.addWidget(self.global_label, 0, 3)
        self._grid.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(self._grid)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.note)
        self.floor = 0.0  # the threshold the shown run predicted at
        self._update_labels()

    # classes ---------------------------------------------------------------------------------
    def set_classes(self, names: Sequence[str], by_name: Mapping[str, float] | None = None) -> None:
        """One slider per class of the checkpoint; ``by_name`` restores own thresholds."""
        if list(names) == self.names and by_name is None:
            return
        for w in [*self.class_sliders, *self._class_labels, *self._swatches()]:
            self._grid.removeWidget(w)
            w.deleteLater()
        self.names, self.class_sliders, self._class_labels = list(names), [], []
        keep = by_name if by_name is not None else self.by_name()
        self.overrides = {i: float(keep[n]) for i, n in enumerate(self.names) if n in keep}
        for i, name in enumerate(self.names):
            swatch = QLabel()
            swatch.setObjectName("swatch")
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background:{class_qcolor(i).name()}; border-radius:2px;")
            label = QLabel(name)
            slider = _slider()
            slider.setValue(to_steps(self.overrides.get(i, self.conf)))
            slider.valueChanged.connect(lambda v, c=i: self._class_moved(c, v))
            value = QLabel()
            for col, w in enumerate((swatch, label, slider, value)):
                self._grid.addWidget(w, i + 1, col)
            self.class_sliders.append(slider)
            self._class_labels.extend([label, value])
        self._update_labels()

    def _swatches(self) -> list[QWidget]:
        return [w for w in self.findChildren(QLabel, "swatch")]

    # values ----------------------------------------------------------------------------------
    @property
    def conf(self) -> float:
        return self.global_slider.value() / STEPS

    def by_name(self) -> dict[str, float]:
        """Own class thresholds by class name (what settings keep)."""
        return {self.names[c]: v for c, v in self.overrides.items() if c < len(self.names)}

    def thresholds(self) -> ClassThresholds:
        return ClassThresholds(self.conf, dict(self.overrides))

    def set_conf(self, value: float) -> None:
        self.global_slider.setValue(to_steps(value))

    def set_class_conf(self, class_id: int, value: float) -> None:
        self.class_sliders[class_id].setValue(to_steps(value))

    def set_floor(self, floor: float) -> None:
        """The threshold the run predicted at: lower slider values need a re-run."""
        self.floor = floor
        self._update_labels()

    def reset_classes(self) -> None:
        self.overrides.clear()
        self._global_moved(self.global_slider.value())

    # slots -----------------------------------------------------------------------------------
    def _global_moved(self, value: int) -> None:
        for c, s in enumerate(self.class_sliders):
            if c not in self.overrides:
                s.blockSignals(True)
                s.setValue(value)
                s.blockSignals(False)
        self._emit()

    def _class_moved(self, class_id: int, value: int) -> None:
        self.overrides[class_id] = value / STEPS
        self._emit()

    def _emit(self) -> None:
        self._update_labels()
        self.changed.emit(self.thresholds())

    def _update_labels(self) -> None:
        self.global_label.setText(f"{self.conf:.2f}")
        for c, s in enumerate(self.class_sliders):
            own = c in self.overrides
            label = self._class_labels[2 * c + 1]
            label.setText(f"{s.value() / STEPS:.2f}" + (" *" if own else "  "))
            label.setToolTip("own threshold" if own else "follows the global threshold")
        low = self.thresholds().floor < self.floor - 1e-9
        self.note.setText(
            f"Below {self.floor:.2f}, the threshold the run used: run again to see those boxes."
        )
        self.note.setVisible(low)
