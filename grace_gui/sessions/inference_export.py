"""Exports of the Inference session (no Qt): the detections shown in the table (CSV, JSON) and
annotated images, written with the engine's own writers (:mod:`grace.infer.writers`) and
drawing (:func:`grace.images.draw_detections`). Each record carries what ``grace predict``
writes: the model's full path and SHA-256, the threshold its class had to reach, a video frame's
position and the time. Run them off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grace.errors import GraceError
from grace.images import try_read_image
from grace.infer.frames import Frame
from grace.infer.predictor import RECORD_FIELDS, FrameResult
from grace.infer.stamp import RunStamp
from grace.infer.writers import AnnotatedWriter, CsvWriter, JsonWriter
from grace_gui.sessions.inference_job import FrameInfo


@dataclass
class Detections:
    """A copy of the table's rows (taken on the GUI thread, cheap: numpy slices)."""

    frames: list[FrameInfo]
    names: list[str]
    stamp: RunStamp  # the model (path, hash), the thresholds in force, the run's start
    frame_ids: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    kept: Mapping[int, np.ndarray] = field(default_factory=dict)  # video/live frames by id

    def __len__(self) -> int:
        return int(len(self.scores))

    def class_name(self, c: int) -> str:
        return self.names[c] if 0 <= c < len(self.names) else str(c)

    def records(self) -> list[dict]:
        """One engine record (:data:`RECORD_FIELDS`) per row, in table order."""
        out = []
        rows = zip(self.frame_ids.tolist(), self.classes.tolist(), self.scores.tolist(),
                   self.boxes.tolist(), strict=True)  # fmt: skip
        for fid, cid, score, box in rows:
            f = self.frames[fid]
            rec = dict(
                zip(
                    RECORD_FIELDS[:11],
                    (
                        f.source,
                        f.index,
                        self.class_name(cid),
                        cid,
                        round(score, 5),
                        *(round(v, 2) for v in box),
                        f.width,
                        f.height,
                    ),
                    strict=True,
                )
            )
            rec.update(self.stamp.fields(cid, f.time), timestamp_s=f.seconds)
            out.append({k: rec[k] for k in RECORD_FIELDS})
        return out

    def result(self, frame_id: int, image: np.ndarray) -> FrameResult:
        """The frame's rows as a :class:`FrameResult` on ``image``."""
        f = self.frames[frame_id]
        m = self.frame_ids == frame_id
        source = f.source
        if f.is_video:  # one image per kept frame: <stem>_<index>.jpg
            stem = Path(f.source).stem if "://" not in f.source else "stream"
            source = str(Path(f.source).parent / f"{stem}_{f.index:06d}.jpg")
        frame = Frame(image, source, f.index, f.time)  # written as an image
        return FrameResult(frame, self.boxes[m], self.scores[m], self.classes[m])


def write_records(det: Detections, path: str | Path) -> int:
    """CSV or JSON (by the suffix of ``path``) of the rows; returns the row count."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".json"):
        raise GraceError(f"{path}: choose a .csv or .json file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = CsvWriter(path) if path.suffix.lower() == ".csv" else JsonWriter(path)
    try:
        writer.write(det.records())
    finally:
        writer.close()
    return len(det)


def write_annotated(
    det: Detections,
    folder: str | Path,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Every file image of the run, and every kept video/live frame with rows, drawn with its
    rows into ``folder``; returns the number of images written."""
    folder = Path(folder)
    sources = {Path(f.source).resolve().parent for f in det.frames if not f.is_video}
    if folder.exists() and folder.resolve() in sources:
        raise GraceError(f"{folder}: a source folder; annotated images would overwrite images")
    folder.mkdir(parents=True, exist_ok=True)
    writer = AnnotatedWriter(folder, det.names)
    with_rows = set(np.unique(det.frame_ids).tolist())
    for fid, f in enumerate(det.frames):
        if stop():
            break
        if f.is_video:
            image = det.kept.get(fid) if fid in with_rows else None
        else:
            image, reason = try_read_image(f.source)
            if image is None:
                raise GraceError(f"{f.source}: cannot read this image any more ({reason})")
        if image is not None:
            writer.write(det.result(fid, image))
    writer.close()
    return len(writer.images)
