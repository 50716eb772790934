"""What flows through inference: a decoded frame with where it came from, and skipped inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

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
