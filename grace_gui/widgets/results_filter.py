"""Sorting and filtering the results table: a ``QSortFilterProxyModel`` by class, confidence
range and file text, and the bar of controls that drives it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget
from superqt import QLabeledDoubleRangeSlider

from grace_gui.widgets.results_table import SORT_ROLE, ResultsModel

ALL, NONE_ROWS = -1, -2  # class filter: every row; only images without detections


class ResultsFilter(QSortFilterProxyModel):
    """Rows of a :class:`ResultsModel` by class, confidence range and file text.

    An image without detections has no class and no confidence: it is shown while neither the
    class nor the confidence range narrows the table (or when the class filter asks for them).
    """

    def __init__(self, source: ResultsModel, parent=None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.class_id, self.low, self.high, self.text = ALL, 0.0, 1.0, ""

    def set_filter(
        self, class_id: int = ALL, low: float = 0.0, high: float = 1.0, text: str = ""
    ) -> None:
        self.beginFilterChange()  # Qt 6.10's replacement of invalidateRowsFilter()
        self.class_id, self.low, self.high = class_id, float(low), float(high)
        self.text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def narrowed(self) -> bool:
        return self.class_id != ALL or self.low > 0.0 or self.high < 1.0

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802 (Qt)
        results = self.sourceModel().results
        if self.text and self.text not in results.frames[results.row_frame(row)].name.lower():
            return False
        rec = results.row_record(row)
        if rec < 0:
            return self.class_id == NONE_ROWS or not self.narrowed
        if self.class_id == NONE_ROWS:
            return False
        class_id, score, _box = results.record(rec)
        if self.class_id != ALL and class_id != self.class_id:
            return False
        return self.low - 1e-9 <= score <= self.high + 1e-9

    def source_row(self, row: int) -> int:
        return self.mapToSource(self.index(row, 0)).row()


class FilterBar(QWidget):
    """Class, confidence range and file text; ``changed(class_id, low, high, text)``."""

    changed = Signal(int, float, float, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Show only the detections of one defect class, or only the "
                                    "images where nothing was found")  # fmt: skip
        self.range = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.range.setRange(0.0, 1.0)
        self.range.setDecimals(2)
        self.range.setSingleStep(0.01)
        self.range.setValue((0.0, 1.0))
        # one row: the low and high values in editable boxes at the ends, none over the handles
        self.range.setHandleLabelPosition(QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
        self.range.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
        self.range.setToolTip("Show only detections whose confidence lies in this range (e.g. "
                              "0.25–0.5 to review the uncertain ones)")  # fmt: skip
        self.text = QLineEdit()
        self.text.setPlaceholderText("file name contains…")
        self.text.setClearButtonEnabled(True)
        self.text.setToolTip("Show only images or frames whose name contains this text")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Show"))
        layout.addWidget(self.class_combo)
        layout.addWidget(self.range, 1)
        layout.addWidget(self.text, 1)
        self.set_classes([])
        self.class_combo.currentIndexChanged.connect(self._emit)
        self.range.valueChanged.connect(self._emit)
        self.text.textChanged.connect(self._emit)

    def set_classes(self, names: Sequence[str]) -> None:
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("all classes", ALL)
        for i, name in enumerate(names):
            self.class_combo.addItem(name, i)
        self.class_combo.addItem("images without detections", NONE_ROWS)
        self.class_combo.blockSignals(False)
        self._emit()

    def set_class(self, class_id: int) -> None:
        self.class_combo.setCurrentIndex(self.class_combo.findData(class_id))

    def _emit(self, *_args) -> None:
        low, high = self.range.value()
        self.changed.emit(int(self.class_combo.currentData()), low, high, self.text.text())
