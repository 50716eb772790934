"""The right side of the Inference tab: thresholds, per-class and per-image counts, the filter
bar and the results table (sortable, filtered through :class:`ResultsFilter`)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.inference_results import Results
from grace_gui.widgets.colors import class_qcolor
from grace_gui.widgets.inference_thresholds import ThresholdPanel
from grace_gui.widgets.results_filter import FilterBar, ResultsFilter
from grace_gui.widgets.results_table import ResultsModel

WIDTHS = ((0, 170), (1, 58), (2, 122), (3, 76), (4, 66))


def counts_text(results: Results) -> str:
    """Images, images with detections, detections, and detections per class (rich text)."""
    per_class = " · ".join(
        f"<span style='color:{class_qcolor(i).name()}'>■</span> {n} {name}"
        for i, (name, n) in enumerate(results.class_counts().items())
    )
    text = (f"<b>{len(results.frames)}</b> images · <b>{results.frames_with_detections()}</b> "
            f"with detections · <b>{results.detection_count}</b> detections")  # fmt: skip
    return text + (f"<br>{per_class}" if per_class else "")


class ResultsPanel(QWidget):
    """``row_chosen(frame_id, record)`` when the user picks a row (record -1: no detection)."""

    row_chosen = Signal(int, int)

    def __init__(self, results: Results, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = results
        self.thresholds = ThresholdPanel()
        self.counts = QLabel("No results yet")
        self.counts.setWordWrap(True)
        self.counts.setToolTip("Detections per class and images with detections, at the "
                               "current thresholds")  # fmt: skip
        self.filters = FilterBar()
        self.model = ResultsModel(results, self)
        self.rows = ResultsFilter(self.model, self)
        self.filters.changed.connect(self.rows.set_filter)
        self.table = t = QTableView()
        t.setModel(self.rows)
        t.setSortingEnabled(True)
        t.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the run's order until a header click
        t.setAlternatingRowColors(True)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(22)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        t.horizontalHeader().setStretchLastSection(True)  # the box takes what is left
        for col, width in WIDTHS:
            t.setColumnWidth(col, width)
        t.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.choose(cur.row()) if cur.isValid() else None
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.thresholds, self.counts, self.filters):
            layout.addWidget(w)
        layout.addWidget(t, 1)

    def set_classes(self, names: list[str]) -> None:
        self.thresholds.set_classes(names)
        self.filters.set_classes(names)

    def refresh(self) -> None:
        """The rows were re-filtered or cleared."""
        self.model.refresh()
        self.show_counts()

    def appended(self) -> None:
        self.model.appended()
        self.show_counts()

    def show_counts(self) -> None:
        self.counts.setText(counts_text(self.results))

    def choose(self, row: int) -> None:
        """Pick row ``row`` of the table as sorted and filtered."""
        if 0 <= row < self.rows.rowCount():
            source = self.rows.source_row(row)
            self.row_chosen.emit(self.results.row_frame(source), self.results.row_record(source))

    def shown_records(self) -> list[int]:
        """The record of each detection row shown, in table order (what exports write)."""
        rows = range(self.rows.rowCount())
        recs = (self.results.row_record(self.rows.source_row(r)) for r in rows)
        return [r for r in recs if r >= 0]
