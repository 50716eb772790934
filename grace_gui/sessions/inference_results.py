"""The results of an inference run (no Qt): every frame and every detection record, and the rows
a table shows at the current thresholds.

Rows are the records whose confidence reaches their class's threshold, plus one row for each
frame with none (an image inspected and found clean is a row with the count 0, never missing).
Rows are ordered by frame, then by record, so a batch that arrives only appends rows. Records live
in growing numpy columns (amortised doubling): appending a batch and re-filtering 100,000 records
at a new threshold cost milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grace.infer.stamp import RunStamp
from grace.infer.thresholds import ClassThresholds
from grace_gui.sessions.inference_export import Detections
from grace_gui.sessions.inference_job import Drained, FrameInfo

NO_RECORD = -1  # the record index of a frame's "no detection" row


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


@dataclass(frozen=True)
class Row:
    """One table row: a detection (``record >= 0``) or a frame without any (``record == -1``)."""

    frame_id: int
    record: int
    class_id: int = -1
    score: float = float("nan")
    box: tuple[float, float, float, float] | None = None
    in_frame: int = 0  # detections of its frame at the current thresholds


def _rows(frame_ids: np.ndarray, records: np.ndarray, first: int, n: int, counts: np.ndarray):
    """Rows of frames ``first .. first + n - 1``: their kept records (``frame_ids``,
    ``records``) and one empty row per frame whose ``counts`` is 0, ordered by frame."""
    empty = np.flatnonzero(counts == 0) + first
    frames = np.concatenate([frame_ids, empty])
    recs = np.concatenate([records, np.full(len(empty), NO_RECORD, np.int64)])
    order = np.lexsort((recs, frames))
    return frames[order], recs[order]


class Results:
    """Frames, records and rows of one run (see the module docstring)."""

    def __init__(self) -> None:
        self.reset()
        self.thresholds = ClassThresholds(0.25)

    def reset(self, names: Sequence[str] = ()) -> None:
        self.names: list[str] = list(names)
        self.frames: list[FrameInfo] = []
        self._cols = _Columns()
        self._counts = np.zeros(0, np.int64)  # kept records per frame
        self._row_frame = np.zeros(0, np.int64)
        self._row_rec = np.zeros(0, np.int64)

    # data in ---------------------------------------------------------------------------------
    def add(self, d: Drained) -> int:
        """Add what a run produced (frames and their records); returns the rows added, which
        are at the end."""
        first, n = len(self.frames), len(d.frames)
        self.frames.extend(d.frames)
        start = self._cols.n
        if len(d):
            self._cols.append(d.frame_ids, d.classes, d.scores, d.boxes)
        keep = np.flatnonzero(self.thresholds.keep(d.scores, d.classes))
        kept_frames = d.frame_ids[keep].astype(np.int64)
        counts = np.bincount(kept_frames - first, minlength=n)[:n] if n else np.zeros(0, np.int64)
        self._counts = np.concatenate([self._counts, counts])
        frames, recs = _rows(kept_frames, keep.astype(np.int64) + start, first, n, counts)
        self._row_frame = np.concatenate([self._row_frame, frames])
        self._row_rec = np.concatenate([self._row_rec, recs])
        return len(frames)

    def set_thresholds(self, thresholds: ClassThresholds) -> None:
        """Re-filter every record at once (no re-run)."""
        self.thresholds = thresholds
        c, n = self._cols, len(self.frames)
        keep = np.flatnonzero(thresholds.keep(c.scores[: c.n], c.classes[: c.n]))
        kept_frames = c.frame_ids[keep]
        self._counts = np.bincount(kept_frames, minlength=n)[:n].astype(np.int64)
        self._row_frame, self._row_rec = _rows(kept_frames, keep.astype(np.int64), 0, n,
                                               self._counts)  # fmt: skip

    # data out --------------------------------------------------------------------------------
    def __len__(self) -> int:
        """The number of rows."""
        return len(self._row_frame)

    @property
    def record_count(self) -> int:
        """Records held (at the run's floor threshold), shown or not."""
        return self._cols.n

    @property
    def detection_count(self) -> int:
        """Records at the current thresholds."""
        return int(self._counts.sum())

    def class_name(self, c: int) -> str:
        return self.names[c] if 0 <= c < len(self.names) else str(c)

    def row(self, i: int) -> Row:
        fid, rec = int(self._row_frame[i]), int(self._row_rec[i])
        in_frame = int(self._counts[fid])
        if rec == NO_RECORD:
            return Row(fid, rec, in_frame=in_frame)
        c = self._cols
        box = tuple(float(v) for v in c.boxes[rec])
        return Row(fid, rec, int(c.classes[rec]), float(c.scores[rec]), box, in_frame)

    def row_frame(self, i: int) -> int:
        return int(self._row_frame[i])

    def row_record(self, i: int) -> int:
        """The record index of row ``i`` (``-1``: a frame without detections)."""
        return int(self._row_rec[i])

    def frame_records(self, frame_id: int) -> np.ndarray:
        """Record indices of one frame at the current thresholds, in order."""
        c = self._cols
        idx = np.flatnonzero(c.frame_ids[: c.n] == frame_id)
        return idx[self.thresholds.keep(c.scores[idx], c.classes[idx])]

    def record(self, i: int) -> tuple[int, float, np.ndarray]:
        """``(class_id, confidence, box)`` of record ``i``."""
        c = self._cols
        return int(c.classes[i]), float(c.scores[i]), c.boxes[i].copy()

    def class_counts(self) -> dict[str, int]:
        """Detections per class at the current thresholds (every class, 0 included)."""
        c = self._cols
        keep = self.thresholds.keep(c.scores[: c.n], c.classes[: c.n])
        cls = c.classes[: c.n][keep]
        cls = cls[(cls >= 0) & (cls < len(self.names))]
        counts = np.bincount(cls, minlength=len(self.names))
        return {n: int(k) for n, k in zip(self.names, counts, strict=True)}

    def frames_with_detections(self) -> int:
        return int((self._counts > 0).sum())

    def snapshot(
        self,
        stamp: RunStamp,
        records: Sequence[int] | None = None,
        kept: Mapping[int, np.ndarray] | None = None,
    ) -> Detections:
        """A copy of ``records`` (default: every row's, in row order) for an export."""
        if records is None:
            records = self._row_rec[self._row_rec != NO_RECORD]
        v = np.asarray(records, np.int64)
        c = self._cols
        return Detections(list(self.frames), list(self.names), stamp, c.frame_ids[v].copy(),
                          c.classes[v].copy(), c.scores[v].copy(), c.boxes[v].copy(),
                          dict(kept or {}))  # fmt: skip
