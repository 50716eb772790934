"""A dataset's problems as a tree: one branch per kind with its count, serious kinds first, and
the selected problem written out in full underneath (file, kind, what was done, detail; a tree
row is one line, its whole text also in its tooltip).

A branch's rows are made when it is first opened, so a kind with thousands of problems
(``grayscale_as_rgb`` on NEU-DET) costs nothing until someone looks at it.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.dataset import FoundProblem, ProblemGroup

LEVEL_COLORS = {
    "serious": QColor(170, 30, 30),
    "fixed": QColor(150, 95, 0),
    "note": QColor(90, 90, 90),
}
LEVEL_WORDS = {
    "serious": "serious: images or boxes left out, or labels that may be wrong",
    "fixed": "fixed: changed and kept, or a stray file ignored",
    "note": "note: nothing lost or changed",
}
ORIGIN_WORDS = {"import": "found by the import", "check": "found checking the dataset"}
_GROUP = Qt.ItemDataRole.UserRole
_PROBLEM = Qt.ItemDataRole.UserRole + 1


class ProblemsPanel(QWidget):
    """:meth:`set_groups` takes the session's groups; ``chosen(problem)`` when one is clicked."""

    chosen = Signal(object)  # FoundProblem

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.groups: list[ProblemGroup] = []
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["File", "Detail"])
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)  # one line a row: the full text is in the tooltip
        self.tree.setToolTip("Problems by kind, the most serious first; click one to see its image")
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 180)
        self.tree.itemExpanded.connect(self._fill)
        self.tree.currentItemChanged.connect(self._current)
        self.detail = QTextBrowser()  # the selected problem in full, long paths wrapped
        self.detail.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.detail.setPlaceholderText("Select a problem to read it in full.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def count(self) -> int:
        return sum(len(g.problems) for g in self.groups)

    def set_groups(self, groups: list[ProblemGroup]) -> None:
        """Show ``groups`` (in their order); serious ones open."""
        self.groups = groups
        self.tree.clear()
        for g in groups:
            item = QTreeWidgetItem([f"{g.title} ({len(g.problems)})", ""])
            item.setData(0, _GROUP, g)
            item.setForeground(0, QBrush(LEVEL_COLORS[g.level]))
            font = item.font(0)
            font.setBold(g.level == "serious")
            item.setFont(0, font)
            item.setToolTip(0, f"{LEVEL_WORDS[g.level]}\n{g.handling}")
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self.tree.addTopLevelItem(item)
            item.setFirstColumnSpanned(True)  # (only once the item is in the tree)
            if g.level == "serious":
                item.setExpanded(True)
        self.detail.setPlaceholderText(
            "Select a problem to read it in full." if groups else "No problems."
        )
        self.detail.clear()

    def _fill(self, item: QTreeWidgetItem) -> None:
        group = item.data(0, _GROUP)
        if group is None or item.childCount():
            return
        rows = []
        for p in group.problems:
            row = QTreeWidgetItem([p.shown, p.detail])
            row.setData(0, _PROBLEM, p)
            row.setToolTip(0, p.file)
            row.setToolTip(1, p.detail)
            rows.append(row)
        item.addChildren(rows)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), self.tree.width() // 2))

    def problem_items(self, key: str) -> list[QTreeWidgetItem]:
        """The rows of the group ``key`` (made now if needed)."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.data(0, _GROUP).key == key:
                self._fill(top)
                return [top.child(k) for k in range(top.childCount())]
        return []

    def _current(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is None:
            return
        problem: FoundProblem | None = item.data(0, _PROBLEM)
        if problem is None:
            g = item.data(0, _GROUP)
            self.detail.setText(
                f"<b>{escape(g.title)}</b>: {len(g.problems)} ({escape(LEVEL_WORDS[g.level])})"
                f"<br>{escape(g.handling)}"
            )
            return
        group = item.parent().data(0, _GROUP)
        self.detail.setText(
            f"<b>{escape(problem.file)}</b><br>{escape(problem.kind)}, "
            f"{escape(ORIGIN_WORDS.get(problem.origin, problem.origin))}"
            + (f"<br>{escape(problem.detail)}" if problem.detail else "")
            + f"<br><i>What was done:</i> {escape(group.handling)}"
        )
        self.chosen.emit(problem)
