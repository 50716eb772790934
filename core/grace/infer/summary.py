"""The summary of a prediction run (what the CLI prints and ``summary.json`` holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from grace.infer.frames import SourceStats
from grace.infer.predictor import FrameResult


@dataclass
class Summary:
    """Counts and timings of one run; ``images`` counts frames for video and live sources."""

    source: str
    kind: str
    model: str
    weights: str
    names: list[str]
    images: int = 0
    detections: int = 0
    per_class: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    throughput_ips: float = 0.0
    dropped: int = 0
    reconnects: int = 0
    reconnect_attempts: int = 0
    skipped: list[dict] = field(default_factory=list)
    stop_reason: str = ""
    settings: dict = field(default_factory=dict)
    out_dir: str | None = None
    files: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.per_class = self.per_class or {n: 0 for n in self.names}
        self._counts = np.zeros(len(self.names), np.int64)

    def add(self, results: Sequence[FrameResult]) -> None:
        """Count one batch of results."""
        for r in results:
            self.images += 1
            self.detections += len(r)
            if len(r):
                cls = r.classes[(r.classes >= 0) & (r.classes < len(self.names))]
                self._counts += np.bincount(cls, minlength=len(self.names))
        self.per_class = {n: int(c) for n, c in zip(self.names, self._counts, strict=True)}

    def finish(self, elapsed: float, stats: SourceStats, reason: str) -> Summary:
        self.elapsed_s = round(float(elapsed), 4)
        self.throughput_ips = round(self.images / elapsed, 3) if elapsed > 0 else 0.0
        self.dropped, self.reconnects = int(stats.dropped), int(stats.reconnects)
        self.reconnect_attempts = int(stats.reconnect_attempts)
        self.skipped = [s.as_dict() for s in stats.skipped]
        self.stop_reason = reason
        return self

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("names")
        return d
