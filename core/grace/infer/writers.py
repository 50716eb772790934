"""Outputs of a prediction run: CSV and JSON records, annotated images and videos.

Every writer streams (rows are flushed per batch, the JSON array is closed at the end), so that
a long live run stopped with Ctrl-C keeps what it produced. The CSV and JSON files stream into a
temporary file beside their target, which replaces the target when the writer is closed: a
previous ``predictions.csv`` stays whole until the new one is complete.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from grace.fileio import atomic_path, atomic_write_bytes
from grace.images import draw_detections
from grace.infer.frames import Frame
from grace.infer.predictor import RECORD_FIELDS, FrameResult
from grace.infer.stamp import RunStamp


class _AtomicStream:
    """A text file written as it goes into a temporary file, moved over ``path`` on close."""

    def __init__(self, path: str | Path, newline: str | None = None) -> None:
        self.path = Path(path)
        self._stack = ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._f = open(tmp, "w", newline=newline, encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        """Flush and close the temporary file and move it over ``path`` (GraceError if not)."""
        try:
            self._f.close()
        except OSError as e:  # the last flush failed: drop the temporary file, name the target
            self._stack.__exit__(type(e), e, e.__traceback__)
            raise
        self._stack.close()


class CsvWriter(_AtomicStream):
    """``predictions.csv``: a header of :data:`RECORD_FIELDS`, one row per detection (a field
    that is ``None`` in the JSON, such as a still image's ``timestamp_s``, is empty here)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, newline="")
        self._w = csv.DictWriter(self._f, fieldnames=RECORD_FIELDS)
        self._w.writeheader()

    def write(self, records: Sequence[dict]) -> None:
        self._w.writerows(records)
        self._f.flush()


class JsonWriter(_AtomicStream):
    """``predictions.json``: one JSON array of record objects, written as it goes."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._f.write("[")
        self._n = 0

    def write(self, records: Sequence[dict]) -> None:
        for r in records:
            self._f.write(("," if self._n else "") + "\n" + json.dumps(r))
            self._n += 1
        self._f.flush()

    def close(self) -> None:
        self._f.write("\n]\n" if self._n else "]\n")
        super().close()


def safe_name(text: str) -> str:
    """A file-name-safe form of a camera name or URL."""
    text = re.sub(r"^[a-z]+://", "", text)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "stream"


class AnnotatedWriter:
    """Annotated images into ``out_dir`` under their own names (a name seen twice gets its
    folder prefixed) and one video per video source (``<stem>.mp4``; a live source gets its
    frames repeated so that the video plays in real time)."""

    def __init__(self, out_dir: str | Path, names: Sequence[str], realtime: bool = False):
        self.out_dir = Path(out_dir)
        self.names, self.realtime = list(names), realtime
        self._videos: dict[str, dict] = {}
        self._used: set[str] = set()
        self.images: list[Path] = []

    def write(self, result: FrameResult) -> None:
        f = result.frame
        img = draw_detections(f.image, result.boxes, result.classes, result.scores, self.names)
        if f.is_video:
            self._write_video(f, img)
        else:
            self._write_image(f, img)

    def _write_image(self, f: Frame, img: np.ndarray) -> None:
        import cv2

        src = Path(f.source)
        name = src.name
        if name in self._used:
            name = f"{safe_name(src.parent.name)}_{name}"
        self._used.add(name)
        path = self.out_dir / name
        ok, buf = cv2.imencode(path.suffix or ".jpg", img)
        if not ok:  # a format OpenCV reads but cannot write
            path = path.with_suffix(".png")
            ok, buf = cv2.imencode(".png", img)
        atomic_write_bytes(path, buf.tobytes())
        self.images.append(path)

    def _open_video(self, f: Frame, img: np.ndarray) -> dict:
        import cv2

        stem = safe_name(Path(f.source).stem if not self.realtime else f.source)
        fps = float(f.fps or 25.0)
        h, w = img.shape[:2]
        for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
            path = self.out_dir / f"{stem}{suffix}"
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (w, h))
            if writer.isOpened():
                return {"writer": writer, "path": path, "fps": fps, "size": (w, h), "n": 0,
                        "t0": f.time}  # fmt: skip
            writer.release()
        raise OSError(f"{self.out_dir}: cannot write a video (no mp4v or MJPG encoder)")

    def _write_video(self, f: Frame, img: np.ndarray) -> None:
        import cv2

        if f.source not in self._videos:
            self._videos[f.source] = self._open_video(f, img)
        v = self._videos[f.source]
        if (img.shape[1], img.shape[0]) != v["size"]:
            img = cv2.resize(img, v["size"])
        repeat = 1
        if self.realtime:  # fill the time since the last processed frame
            due = int((f.time - v["t0"]) * v["fps"]) + 1
            repeat = int(min(max(1, due - v["n"]), 5 * v["fps"]))
        for _ in range(repeat):
            v["writer"].write(img)
        v["n"] += repeat

    @property
    def videos(self) -> list[Path]:
        return [v["path"] for v in self._videos.values()]

    def close(self) -> None:
        for v in self._videos.values():
            v["writer"].release()


class Outputs:
    """The writers a run asked for, behind one ``write(results)`` / ``close()``."""

    def __init__(
        self,
        out_dir: Path | None,
        names: Sequence[str],
        model: str | RunStamp,
        save_csv: bool = False,
        save_json: bool = False,
        save_img: bool = False,
        realtime: bool = False,
    ) -> None:
        self.out_dir, self.names, self.stamp = out_dir, list(names), model
        self.csv = self.json = self.annotated = None
        if out_dir is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self.csv = CsvWriter(out_dir / "predictions.csv") if save_csv else None
        self.json = JsonWriter(out_dir / "predictions.json") if save_json else None
        self.annotated = AnnotatedWriter(out_dir, names, realtime) if save_img else None

    def write(self, results: Sequence[FrameResult]) -> None:
        if self.csv or self.json:
            records = [r for res in results for r in res.records(self.names, self.stamp)]
            for w in (self.csv, self.json):
                if w is not None:
                    w.write(records)
        if self.annotated is not None:
            for res in results:
                self.annotated.write(res)

    def close(self) -> dict:
        """Close every writer; returns the files written (``{}`` when none)."""
        files: dict = {}
        for key, w in (("csv", self.csv), ("json", self.json)):
            if w is not None:
                w.close()
                files[key] = str(w.path)
        if self.annotated is not None:
            self.annotated.close()
            if self.annotated.images:
                files["images"] = len(self.annotated.images)
            if self.annotated.videos:
                files["videos"] = [str(p) for p in self.annotated.videos]
        return files
