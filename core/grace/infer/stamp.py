"""What every exported detection says about where it came from: the model's full path and
SHA-256, the threshold in force for its class, the video position and the time (pure but for
hashing the model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grace.infer.thresholds import ClassThresholds


def iso_time(seconds: float) -> str:
    """``seconds`` since the epoch as local ISO 8601 with its UTC offset, to the millisecond.

    >>> iso_time(0.0).startswith(("1970-01-01", "1969-12-31"))
    True
    """
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="milliseconds")


def video_seconds(index: int, fps: float | None) -> float | None:
    """A video frame's position in seconds (``index / fps``), rounded to the millisecond;
    ``None`` without a frame rate.

    >>> video_seconds(30, 25.0)
    1.2
    """
    return round(index / fps, 3) if fps else None


@dataclass(frozen=True)
class RunStamp:
    """The model and thresholds of a run and when it started, added to every record."""

    model: str  # the checkpoint's file name
    model_path: str = ""  # its absolute path
    model_sha256: str = ""
    thresholds: ClassThresholds = field(default_factory=ClassThresholds)
    started: float = 0.0  # time.time() at the start of the run

    def threshold(self, class_id: int) -> float:
        """The confidence threshold a detection of ``class_id`` had to reach."""
        return float(self.thresholds.per_class.get(class_id, self.thresholds.conf))

    def fields(self, class_id: int, frame_time: float = 0.0) -> dict:
        """The stamp's record fields for one detection (``frame_time``: when the frame was read,
        else the run's start)."""
        when = frame_time or self.started
        return {
            "model": self.model,
            "model_path": self.model_path,
            "model_sha256": self.model_sha256,
            "threshold": round(self.threshold(class_id), 5),
            "time": iso_time(when) if when else "",
        }


def make_stamp(weights: str | Path, thresholds: ClassThresholds, started: float) -> RunStamp:
    """The stamp of a run of the model ``weights`` (hashes it, a file or a folder such as an
    OpenVINO model or a package, by :func:`grace.deploy.runtime.model_sha256`: call it off the
    GUI thread; a path that is gone gets no hash)."""
    from grace.deploy.runtime import model_sha256

    path = Path(weights).expanduser().resolve()
    digest = model_sha256(path) if path.exists() else ""
    return RunStamp(path.name, str(path), digest, thresholds, started)
