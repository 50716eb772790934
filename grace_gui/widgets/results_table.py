"""The results of an inference run as a table model over the session's
:class:`~grace_gui.sessions.inference_results.Results`: one row per detection at the current
thresholds, and one row (count 0) per image without any.

The model holds no data of its own: it announces the rows the session appended
(``results_added``) and resets when the thresholds change. Numbers sort as numbers (the sort role
is ``Qt.UserRole``); the image column sorts in the run's order.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from grace_gui.sessions.inference_results import Results
from grace_gui.widgets.colors import class_qcolor

COLUMNS = ("Image / frame", "Time (s)", "Class", "Confidence", "In image", "Box (x1, y1, x2, y2)")
TIPS = (
    "The image file, or the video / camera frame (#number)",
    "A video frame's position in the video (frame number / frames per second)",
    "The defect class found; '— none —' for an image where nothing reached its threshold",
    "How sure the model is (0–1); only detections at or above their class's threshold are rows",
    "Detections in this image at the current thresholds (0: the image looks clean)",
    "The detection's box in image pixels: left, top, right, bottom",
)
NONE_TEXT = "— none —"
SORT_ROLE = Qt.ItemDataRole.UserRole
D = Qt.ItemDataRole.DisplayRole


class ResultsModel(QAbstractTableModel):
    def __init__(self, results: Results, parent=None) -> None:
        super().__init__(parent)
        self.results = results
        self._rows = 0

    def appended(self, *_args) -> None:
        """The session added rows at the end."""
        n = len(self.results)
        if n > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, n - 1)
            self._rows = n
            self.endInsertRows()

    def refresh(self, *_args) -> None:
        """The session re-filtered or cleared its rows."""
        self.beginResetModel()
        self._rows = len(self.results)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 (Qt)
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 (Qt)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=D):  # noqa: N802 (Qt)
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == D:
            return COLUMNS[section]
        return TIPS[section] if role == Qt.ItemDataRole.ToolTipRole else None

    def data(self, index, role=D):
        if not index.isValid():
            return None
        row, col = self.results.row(index.row()), index.column()
        frame = self.results.frames[row.frame_id]
        empty = row.record < 0
        if role == SORT_ROLE:
            seconds = frame.seconds if frame.seconds is not None else -1.0
            score = -1.0 if empty else row.score
            area = 0.0 if empty else (row.box[2] - row.box[0]) * (row.box[3] - row.box[1])
            return (row.frame_id, seconds, row.class_id, score, row.in_frame, area)[col]
        if role == D:
            if col == 0:
                return frame.name
            if col == 1:
                return "" if frame.seconds is None else f"{frame.seconds:.3f}"
            if col == 2:
                return NONE_TEXT if empty else self.results.class_name(row.class_id)
            if col == 3:
                return "" if empty or math.isnan(row.score) else f"{row.score:.3f}"
            if col == 4:
                return str(row.in_frame)
            return "" if empty else ", ".join(f"{v:.0f}" for v in row.box)
        if role == Qt.ItemDataRole.DecorationRole and col == 2 and not empty:
            return class_qcolor(row.class_id)
        if role == Qt.ItemDataRole.ForegroundRole and empty:
            return QColor(120, 120, 120)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
