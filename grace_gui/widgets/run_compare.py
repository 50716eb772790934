"""The Compare table: a view over a :class:`~grace_gui.sessions.compare.CompareSession`.

Every run in a row (the table grows with them), sortable by any column, the reference chosen
in a combo or with a right click, Δ only within the reference's protocol. A comparison the
engine refuses (grace val runs of different protocols or images) keeps its runs as rows without
figures, and the note under the table says why in red.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.compare import HEADERS, CompareSession

MAX_VISIBLE_ROWS = 12  # the table grows to this many rows, then scrolls
NOTE = "Δ: percentage points against the reference, within one protocol."
NOTE_STYLE = "color:#555"
REFUSED_STYLE = "color:#b00020"
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2


class _Item(QTableWidgetItem):
    """Sorts by the session's key (numbers as numbers), not by the text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.data(KEY_ROLE) < other.data(KEY_ROLE)


class RunCompare(QWidget):
    """Runs in rows; *Remove* drops the selected ones, *Copy Markdown* copies the full report."""

    def __init__(self, report: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = CompareSession()
        # computed in a thread: delivered in the GUI thread by psygnal.emit_queued() (the Train
        # tab's timer calls it)
        self.session.changed.connect(self._show, thread="main")
        self.session.failed.connect(report, thread="main")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.setSortingEnabled(True)  # in the order added until a header is clicked
        self.table.verticalHeader().setVisible(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.setToolTip("click a header to sort; right-click a run to use it as reference")
        self.reference = QComboBox()
        self.reference.setToolTip(
            "the run every Δ is measured against; only runs measured with its protocol get a Δ"
        )
        self.reference.activated.connect(self.session.set_reference)
        self.note = QLabel(NOTE)
        self.note.setStyleSheet(NOTE_STYLE)
        self.note.setWordWrap(True)
        remove = QPushButton("Remove")
        remove.setToolTip("take the selected runs out of the comparison (nothing is deleted)")
        remove.clicked.connect(self.remove_selected)
        copy = QPushButton("Copy Markdown")
        copy.setToolTip("copy the full comparison (with size buckets and per-class AP)")
        copy.clicked.connect(self.copy_markdown)
        row = QHBoxLayout()
        row.addWidget(QLabel("Reference:"))
        row.addWidget(self.reference)
        row.addWidget(self.note, 1)
        row.addWidget(remove)
        row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)

    @property
    def paths(self) -> list[str]:
        return self.session.paths

    def set_runs(self, paths: list[str]) -> None:
        self.session.set_runs(paths)

    def add_run(self, path: str) -> None:
        self.session.add_run(path)

    def remove_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        paths = {self.table.item(r, 0).data(PATH_ROLE) for r in rows}
        self.session.remove({i for i, p in enumerate(self.paths) if p in paths})

    def use_as_reference(self, path: str) -> None:
        if path in self.paths:
            self.session.set_reference(self.paths.index(path))

    def _menu(self, pos) -> None:
        item = self.table.itemAt(pos)
        if item is None:
            return
        path = self.table.item(item.row(), 0).data(PATH_ROLE)
        menu = QMenu(self)
        action = QAction("Use as reference", menu)
        action.triggered.connect(lambda: self.use_as_reference(path))
        menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _show(self) -> None:
        s = self.session
        self.table.setSortingEnabled(False)  # fill, then sort as the user last chose
        self.table.setRowCount(len(s.rows))
        for i, cells in enumerate(s.rows):
            for j, cell in enumerate(cells):
                item = _Item(cell.text)
                item.setData(KEY_ROLE, cell.key)
                item.setData(PATH_ROLE, s.paths[i] if i < len(s.paths) else "")
                item.setToolTip(cell.tooltip or cell.text)
                self.table.setItem(i, j, item)
        self.table.setSortingEnabled(True)
        self.reference.clear()
        self.reference.addItems(s.names())
        self.reference.setCurrentIndex(s.reference)
        self.note.setText(f"Not compared: {s.error}" if s.error else NOTE)
        self.note.setToolTip(s.error)
        self.note.setStyleSheet(REFUSED_STYLE if s.error else NOTE_STYLE)
        shown = min(max(len(s.rows), 1), MAX_VISIBLE_ROWS)
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
        row_h = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(height + shown * row_h + 18)  # 18: a horizontal scrollbar

    def copy_markdown(self) -> None:
        if self.session.markdown:
            QGuiApplication.clipboard().setText(self.session.markdown)
