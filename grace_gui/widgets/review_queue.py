"""The review queue: three filters (kind, class, status) over a table of the items, worst first.

The table is a model over the session's item list (10,000 rows cost nothing until shown); a
decision updates its rows in place (:meth:`QueueModel.set_item`), so the list stays where it
is while the reviewer works down it.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from grace.review.store import STATUSES, Item

COLUMNS = ("#", "Status", "Kind", "Class", "Conf.", "Image")
STATUS_COLORS = {"open": None, "done": QColor(40, 150, 70), "skipped": QColor(150, 150, 150)}


def _words(text: str) -> str:
    return text.replace("_", " ")


class QueueModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list[Item] = []

    def set_items(self, items: list[Item]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def set_item(self, row: int, item: Item) -> None:
        if 0 <= row < len(self.items):
            self.items[row] = item
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 (Qt)
        return 0 if parent is not None and parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 (Qt)
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        it = self.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            status = it.status if not it.last_action else f"{it.status}: {it.last_action}"
            conf = f"{it.confidence:.2f}" if it.confidence is not None else ""
            name = ("[missing] " if it.missing else "") + it.image.rsplit("/", 1)[-1]
            return (str(it.id), status, _words(it.kind), it.cls, conf, name)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return STATUS_COLORS.get(it.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return it.image
        return None


def _combo(tip: str) -> QComboBox:
    c = QComboBox()
    c.setToolTip(tip)
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return c


class ReviewQueue(QWidget):
    """Filters and the item table; ``filter_chosen(kind, cls, status)`` and ``row_chosen``."""

    filter_chosen = Signal(str, str, str)
    row_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = _combo(
            "Which kind of finding to review: false alarms, misses, class "
            "confusions, poorly placed boxes, or detections near the threshold"
        )
        self.cls = _combo("Review only the findings of one defect class")
        self.status = _combo("Open: still to review; done: decided; skipped: looked at, "
                             "left undecided")  # fmt: skip
        self.status.addItem("All statuses", "")
        for s in STATUSES:
            self.status.addItem(s.capitalize(), s)
        self.model = QueueModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setToolTip("The findings to review, worst first; click one to see it")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        head = self.table.horizontalHeader()
        # sized to (the first 200 rows') contents when the list changes, not on every decision:
        # ResizeToContents would read every row of the list at each one
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setResizeContentsPrecision(200)
        head.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: cur.isValid() and self.row_chosen.emit(cur.row())
        )
        filters = QHBoxLayout()
        for c in (self.kind, self.cls, self.status):
            filters.addWidget(c)
            c.currentIndexChanged.connect(self._chosen)
        filters.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        self._quiet = False

    def set_choices(self, kinds: tuple[str, ...], names: tuple[str, ...]) -> None:
        self._quiet = True
        for combo, first, values in ((self.kind, "All kinds", kinds),
                                     (self.cls, "All classes", names)):  # fmt: skip
            combo.clear()
            combo.addItem(first, "")
            for v in values:
                combo.addItem(_words(v), v)
        self.status.setCurrentIndex(0)
        self._quiet = False

    def _chosen(self) -> None:
        if not self._quiet:
            self.filter_chosen.emit(self.kind.currentData() or "", self.cls.currentData() or "",
                                    self.status.currentData() or "")  # fmt: skip

    def set_items(self, items: list[Item]) -> None:
        self.model.set_items(items)
        self.table.resizeColumnsToContents()

    def show_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        if self.table.currentIndex().row() != row:
            self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
