"""What flows through inference: a decoded frame with where it came from, and skipped inputs."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = frozenset(
    {".bmp", ".dib", ".jpeg", ".jpg", ".jpe", ".jp2", ".png", ".tif", ".tiff", ".webp", ".pbm",
     ".pgm", ".ppm", ".pnm", ".avif", ".mpo"}
)  # fmt: skip
VIDEO_SUFFIXES = frozenset(
    {".asf", ".avi", ".gif", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".wmv",
     ".webm"}
)  # fmt: skip


@dataclass
class Frame:
    """One decoded image (BGR, ``uint8``, H x W x 3) and its origin.

    ``source`` is the file path, camera name (``camera0``) or URL; ``index`` is the frame number
    within that source (0 for a still image; for live sources the reader's running count, so
    gaps are the frames dropped while the model was busy); ``time`` is when it was decoded or
    captured (``time.time()``).
    """

    image: np.ndarray
    source: str
    index: int = 0
    time: float = 0.0
    fps: float | None = None  # the source's frame rate, for video outputs
    is_video: bool = False

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass
class Skipped:
    """An input that was not processed, with the reason (reported, never silently dropped)."""

    file: str
    reason: str

    def as_dict(self) -> dict:
        return {"file": self.file, "reason": self.reason}


@dataclass
class SourceStats:
    """Counters a source keeps while it is read."""

    dropped: int = 0  # live frames replaced in the one-slot buffer before they were read
    reconnects: int = 0  # successful reconnections of a live source
    reconnect_attempts: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def read_image(path: str | Path) -> np.ndarray | None:
    """Decode an image file to BGR ``uint8`` (any bit depth / channels), ``None`` if it cannot.

    Reads the bytes first so that non-ASCII paths work on every platform.
    """
    import cv2

    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    with quiet_cv2():
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return img if img is not None and img.size else None


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: int | None = None


@contextlib.contextmanager
def quiet_cv2() -> Iterator[None]:
    """Silence OpenCV's own log lines (and FFmpeg's) while opening or decoding, so that a bad
    input ends with our one line rather than a screen of back-end warnings. Re-entrant and safe
    across threads: the level in force before the outermost entry comes back at the last exit."""
    global _quiet_depth, _quiet_saved
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = log.getLogLevel()
            log.setLogLevel(log.LOG_LEVEL_SILENT)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                log.setLogLevel(_quiet_saved)
