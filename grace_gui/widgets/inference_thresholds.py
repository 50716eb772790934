"""Global and per-class confidence sliders (class colours and names from the checkpoint).

superqt's labelled sliders show and take the value (type 0.40 in the box), replacing our own
slider-plus-label pairs and their step conversions. A class slider follows the global one until
the user moves it (then it is that class's own threshold, marked *own*); *Reset* makes every
class follow the global slider again. ``changed`` carries a
:class:`~grace.infer.thresholds.ClassThresholds` on every move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from grace.infer.thresholds import ClassThresholds
from grace_gui.widgets.colors import class_qcolor

GLOBAL_TIP = (
    "The confidence a detection needs to count as a defect, for every class that has no "
    "threshold of its own. Higher: fewer false alarms, more missed defects."
)
CLASS_TIP = (
    "The confidence a {name} detection needs to count. Move it to give {name} its own "
    "threshold (e.g. stricter for a class that raises false alarms)."
)


def _slider(tip: str) -> QLabeledDoubleSlider:
    s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    s.setRange(0.01, 1.0)
    s.setDecimals(2)
    s.setSingleStep(0.01)
    s.setPageStep(0.05)
    s.setMinimumWidth(140)
    s.setToolTip(tip)
    return s


class ThresholdPanel(QGroupBox):
    changed = Signal(object)  # ClassThresholds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Confidence thresholds", parent)
        self.names: list[str] = []
        self.overrides: dict[int, float] = {}
        self.global_slider = _slider(GLOBAL_TIP)
        self.global_slider.setValue(0.25)
        self.global_slider.valueChanged.connect(self._global_moved)
        self.class_sliders: list[QLabeledDoubleSlider] = []
        self._row_widgets: list[QWidget] = []
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#8a5a00;")
        self.note.hide()
        self.reset_button = QPushButton("Reset classes")
        self.reset_button.setToolTip("Every class follows the 'All classes' threshold again")
        self.reset_button.clicked.connect(self.reset_classes)
        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        self._grid.addWidget(QLabel("<b>All classes</b>"), 0, 0, 1, 2)
        self._grid.addWidget(self.global_slider, 0, 2, 1, 2)
        self._grid.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(self._grid)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.note)
        self.floor = 0.0  # the threshold the shown run predicted at

    def set_classes(self, names: Sequence[str], by_name: Mapping[str, float] | None = None) -> None:
        """One slider per class of the checkpoint; ``by_name`` gives own thresholds."""
        for w in self._row_widgets:
            self._grid.removeWidget(w)
            w.deleteLater()
        self.names, self.class_sliders, self._row_widgets = list(names), [], []
        keep = by_name or {}
        self.overrides = {i: float(keep[n]) for i, n in enumerate(self.names) if n in keep}
        for i, name in enumerate(self.names):
            swatch = QLabel()
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background:{class_qcolor(i).name()}; border-radius:2px;")
            label, own = QLabel(name), QLabel()
            slider = _slider(CLASS_TIP.format(name=name))
            slider.setValue(self.overrides.get(i, self.conf))
            slider.valueChanged.connect(lambda v, c=i: self._class_moved(c, v))
            for col, w in enumerate((swatch, label, slider, own)):
                self._grid.addWidget(w, i + 1, col)
            self.class_sliders.append(slider)
            self._row_widgets.extend([swatch, label, slider, own])
        self._update_labels()

    # values ----------------------------------------------------------------------------------
    @property
    def conf(self) -> float:
        return round(float(self.global_slider.value()), 2)

    def thresholds(self) -> ClassThresholds:
        return ClassThresholds(self.conf, dict(self.overrides))

    def show_thresholds(self, t: ClassThresholds) -> None:
        """Show ``t`` without emitting ``changed`` (the session's thresholds)."""
        self.overrides = {c: float(v) for c, v in t.per_class.items() if c < len(self.names)}
        for s, value in [(self.global_slider, t.conf)] + [
            (s, self.overrides.get(c, t.conf)) for c, s in enumerate(self.class_sliders)
        ]:
            s.blockSignals(True)
            s.setValue(value)
            s.blockSignals(False)
        self._update_labels()

    def set_conf(self, value: float) -> None:
        self.global_slider.setValue(value)

    def set_class_conf(self, class_id: int, value: float) -> None:
        self.class_sliders[class_id].setValue(value)

    def set_floor(self, floor: float) -> None:
        """The threshold the run predicted at: lower slider values need a re-run."""
        self.floor = floor
        self._update_labels()

    def reset_classes(self) -> None:
        self.overrides.clear()
        self._global_moved(self.conf)

    # slots -----------------------------------------------------------------------------------
    def _global_moved(self, _value: float) -> None:
        for c, s in enumerate(self.class_sliders):
            if c not in self.overrides:
                s.blockSignals(True)
                s.setValue(self.conf)
                s.blockSignals(False)
        self._emit()

    def _class_moved(self, class_id: int, value: float) -> None:
        self.overrides[class_id] = round(float(value), 2)
        self._emit()

    def _emit(self) -> None:
        self._update_labels()
        self.changed.emit(self.thresholds())

    def _update_labels(self) -> None:
        for c in range(len(self.class_sliders)):
            own = c in self.overrides
            label = self._row_widgets[4 * c + 3]
            label.setText("own" if own else "")
            label.setToolTip("its own threshold" if own else "follows 'All classes'")
        low = self.thresholds().floor < self.floor - 1e-9
        self.note.setText(
            f"Below {self.floor:.2f}, the threshold the run used: run again to see those boxes."
        )
        self.note.setVisible(low)
