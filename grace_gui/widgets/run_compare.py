"""A table of finished runs, what ``grace compare`` prints: headline metrics of each run and its
Δ against the first one. The comparison is computed by :func:`grace.eval.compare.compare` in a
worker (a run without ``val/metrics.json`` has its checkpoint opened for the parameter count)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from grace.eval.runs import METRIC_KEYS
from grace.eval.tables import DELTA_HEADERS, MAIN_HEADERS, pct, signed
from grace_gui.workers.qthreading import Worker

HEADERS = ["Run", "Variant", *MAIN_HEADERS, "Param (M)", *DELTA_HEADERS[:2], "Source"]


def compare_rows(result: dict) -> list[list[str]]:
    """Table cells from :func:`grace.eval.compare.compare`'s result (pure)."""
    rows = []
    for i, r in enumerate(result["runs"]):
        params = r.get("parameters")
        delta = r.get("delta", {}).get("metrics", {})
        rows.append(
            [
                r["name"],
                r.get("variant") or "—",
                *(pct(r["metrics"].get(k)) for k in METRIC_KEYS),
                "—" if params is None else f"{params / 1e6:.2f}",
                *(("ref", "ref") if i == 0 else (signed(delta.get(k)) for k in METRIC_KEYS[:2])),
                r.get("source", ""),
            ]
        )
    return rows


class RunCompare(QWidget):
    """Runs in rows; *Remove* drops the selected ones, *Copy Markdown* copies the full report."""

    compared = Signal(object)  # the compare() result

    def __init__(
        self, pool: QThreadPool, report: Callable[[str, str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.pool, self.report = pool, report
        self.paths: list[str] = []
        self.result: dict | None = None
        self._worker: Worker | None = None
        self._pending = False
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.note = QLabel("Δ: percentage points against the first run.")
        self.note.setStyleSheet("color:#555")
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        copy = QPushButton("Copy Markdown")
        copy.clicked.connect(self.copy_markdown)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(remove)
        row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)

    def set_runs(self, paths: list[str]) -> None:
        self.paths = list(dict.fromkeys(str(p) for p in paths))
        self.refresh()

    def add_run(self, path: str) -> None:
        if str(path) not in self.paths:
            self.set_runs([*self.paths, str(path)])

    def remove_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        self.set_runs([p for i, p in enumerate(self.paths) if i not in rows])

    def refresh(self) -> None:
        """Recompute the comparison in a worker (one at a time; a later request follows)."""
        if self._worker is not None and self._worker.running:
            self._pending = True
            return
        if not self.paths:
            self.result = None
            self.table.setRowCount(0)
            return
        from grace.eval.compare import compare

        self._worker = Worker.call(compare, list(self.paths))
        self._worker.result.connect(self._show)
        self._worker.error.connect(self.report)
        self._worker.finished.connect(self._done)
        self._worker.start(self.pool)

    def _done(self) -> None:
        if self._pending:
            self._pending = False
            self.refresh()

    def _show(self, result: dict) -> None:
        self.result = result
        rows = compare_rows(result)
        self.table.setRowCount(len(rows))
        for i, cells in enumerate(rows):
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(self.paths[i] if j == 0 and i < len(self.paths) else text)
                self.table.setItem(i, j, item)
        self.compared.emit(result)

    def copy_markdown(self) -> None:
        if self.result is not None:
            QGuiApplication.clipboard().setText(self.result["markdown"])
