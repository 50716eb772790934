"""The Evaluate tab's tables: a read-only table of text rows (metrics with Δ and intervals,
per-class and per-size AP, calibration) and the confusion matrix, whose cells are clicked to
list their images."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from grace.eval.bootstrap import NOT_DISTINGUISHABLE

GREY = QColor("#777777")
BETTER, WORSE = QColor("#1b7d2b"), QColor("#b3261e")


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    return item


class TextTable(QTableWidget):
    """Rows of text; a Δ cell is grey when not distinguishable, green/red when it is."""

    def __init__(self, tip: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip(tip)

    def show_rows(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.clear()
        self.setColumnCount(len(headers))
        self.setRowCount(len(rows))
        self.setHorizontalHeaderLabels(list(headers))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = _item(text.replace(f" {NOT_DISTINGUISHABLE}", f"\n{NOT_DISTINGUISHABLE}"))
                if headers[c].startswith("Δ") and text[:1] in "+-":
                    grey = text.endswith(NOT_DISTINGUISHABLE)
                    item.setForeground(GREY if grey else BETTER if text[0] == "+" else WORSE)
                    item.setToolTip(
                        "The interval holds 0: on these images the two models cannot be told "
                        "apart" if grey else "The whole 95 % interval lies on one side of 0"
                    )
                self.setItem(r, c, item)
        self.resizeRowsToContents()

    def cell_texts(self) -> list[list[str]]:
        """What is shown, row by row (header excluded; a two-line Δ as one line)."""
        return [[self.item(r, c).text().replace("\n", " ") for c in range(self.columnCount())]
                for r in range(self.rowCount())]  # fmt: skip


class ConfusionTable(QTableWidget):
    """Counts, rows ground truth and columns predicted; shaded by the share of its row.
    ``cell_chosen(row, col)`` when a cell is clicked."""

    cell_chosen = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setToolTip(
            "Rows: the true defect class (background: nothing there). Columns: what the model "
            "said. The diagonal is found defects; the last column missed defects; the last row "
            "false alarms. Click a cell to list its images."
        )
        self.cellClicked.connect(self.cell_chosen.emit)

    def show_matrix(self, labels: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        self.clear()
        n = len(labels)
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"predicted\n{x}" for x in labels])
        self.setVerticalHeaderLabels([f"true: {x}" for x in labels])
        for r, row in enumerate(counts):
            total = max(sum(row), 1)
            for c, v in enumerate(row):
                item = _item(str(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = v / total
                hue = QColor(44, 120, 60) if r == c else QColor(190, 50, 40)
                hue.setAlpha(int(30 + 200 * share) if v else 0)
                item.setBackground(hue)
                if share > 0.6:
                    item.setForeground(QColor("white"))
                self.setItem(r, c, item)
