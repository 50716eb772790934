"""The detections of an inference run as a table model: one row per detection (file or frame,
class, confidence, box), filtered at once by the global and per-class thresholds.

Records live in growing numpy columns (amortised doubling), so appending a batch and
re-filtering 100,000 rows cost milliseconds; the view asks only for the rows it shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from grace.infer.thresholds import ClassThresholds
from grace_gui.widgets.colors import class_qcolor
from grace_gui.widgets.inference_export import Detections
from grace_gui.widgets.inference_job import FrameInfo

COLUMNS = ("Image / frame", "Class", "Confidence", "Box (x1, y1, x2, y2)")


class _Columns:
    """Append-only numpy columns with amortised growth."""

    def __init__(self) -> None:
        self.n = 0
        self.frame_ids = np.zeros(0, np.int64)
        self.classes = np.zeros(0, np.int64)
        self.scores = np.zeros(0, np.float32)
        self.boxes = np.zeros((0, 4), np.float32)

    def append(self, frame_ids, classes, scores, boxes) -> None:
        k = len(scores)
        need = self.n + k
        if need > len(self.scores):
            cap = max(need, 2 * len(self.scores), 1024)
            for name in ("frame_ids", "classes", "scores", "boxes"):
                old = getattr(self, name)
                new = np.zeros((cap, *old.shape[1:]), old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        sl = slice(self.n, need)
        self.frame_ids[sl], self.classes[sl], self.scores[sl] = frame_ids, classes, scores
        self.boxes[sl] = np.asarray(boxes, np.float32).reshape(k, 4)
        self.n = need


class ResultsModel(QAbstractTableModel):
    """Rows are the records whose confidence reaches their class's threshold."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.model_name = ""
        self.frames: list[FrameInfo] = []
        self.thresholds = ClassThresholds(0.25)
        self._cols = _Columns()
        self._visible = np.zeros(0, np.int64)  # record index of each row

    # data in ---------------------------------------------------------------------------------
    def reset(self, names: Sequence[str] = (), model_name: str = "") -> None:
        self.beginResetModel()
        self.names, self.model_name = list(names), model_name
        self.frames = []
        self._cols = _Columns()
        self._visible = np.zeros(0, np.int64)
        self.endResetModel()

    def add_frames(self, frames: Sequence[FrameInfo]) -> None:
        self.frames.extend(frames)

    def append(self, frame_ids, classes, scores, boxes) -> None:
        """Add records; the ones above the thresholds become rows at the end."""
        k = len(scores)
        if not k:
            return
        start = self._cols.n
        self._cols.append(frame_ids, classes, scores, boxes)
        keep = np.flatnonzero(self.thresholds.keep(scores, classes)) + start
        if len(keep):
            first = len(self._visible)
            self.beginInsertRows(QModelIndex(), first, first + len(keep) - 1)
            self._visible = np.concatenate([self._visible, keep])
            self.endInsertRows()

    def set_thresholds(self, thresholds: ClassThresholds) -> None:
        """Re-filter every record at once (no re-run)."""
        self.beginResetModel()
        self.thresholds = thresholds
        self._visible = np.flatnonzero(self.thresholds.keep(self.all_scores, self.all_classes))
        self.endResetModel()

    # data out --------------------------------------------------------------------------------
    @property
    def all_scores(self) -> np.ndarray:
        return self._cols.scores[: self._cols.n]

    @property
    def all_classes(self) -> np.ndarray:
        return self._cols.classes[: self._cols.n]

    @property
    def record_count(self) -> int:
        """Records held (at the run's floor threshold), shown or not."""
        return self._cols.n

    def class_name(self, c: int) -> str:
        return self.names[c] if 0 <= c < len(self.names) else str(c)

    def row_frame(self, row: int) -> int:
        return int(self._cols.frame_ids[self._visible[row]])

    def row_record(self, row: int) -> tuple[int, int, float, np.ndarray]:
        """``(frame_id, class_id, confidence, box)`` of a row."""
        i = self._visible[row]
        c = self._cols
        return int(c.frame_ids[i]), int(c.classes[i]), float(c.scores[i]), c.boxes[i].copy()

    def frame_detections(self, frame_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``boxes, scores, classes`` of one frame above the thresholds."""
        c, n = self._cols, self._cols.n
        idx = np.flatnonzero(c.frame_ids[:n] == frame_id)
        keep = idx[self.thresholds.keep(c.scores[idx], c.classes[idx])]
        return c.boxes[keep], c.scores[keep], c.classes[keep]

    def snapshot(self, kept=None) -> Detections:
        """A copy of the rows for an export (cheap; the records are built in the worker)."""
        c, v = self._cols, self._visible
        return Detections(list(self.frames), list(self.names), self.model_name,
                          c.frame_ids[v].copy(), c.classes[v].copy(), c.scores[v].copy(),
                          c.boxes[v].copy(), dict(kept or {}))  # fmt: skip

    def records(self) -> list[dict]:
        """The rows as the engine's records (:data:`RECORD_FIELDS`), in table order."""
        return self.snapshot().records()

    # Qt --------------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 (Qt)
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 (Qt)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = self._visible[index.row()]
        col = index.column()
        c = self._cols
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                fid = int(c.frame_ids[i])
                return self.frames[fid].name if fid < len(self.frames) else str(fid)
            if col == 1:
                return self.class_name(int(c.classes[i]))
            if col == 2:
                return f"{float(c.scores[i]):.3f}"
            return ", ".join(f"{v:.0f}" for v in c.boxes[i])
        if role == Qt.ItemDataRole.DecorationRole and col == 1:
            return class_qcolor(int(c.classes[i]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
