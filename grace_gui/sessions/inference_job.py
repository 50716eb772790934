"""The Inference session's run, off the GUI thread (no Qt here).

The job calls the engine's :func:`grace.infer.run.run_predict`; each batch of results goes
into a :class:`ResultBuffer`, which the GUI drains on a timer (5 to 25 times a second). The
buffer accumulates the detection records (they are all kept, for the table) but holds only the
LATEST frame image for display, so a live source that outpaces the screen never builds a queue:
older frames are replaced, not queued. Pausing blocks the run inside ``on_results`` (a live
source keeps reading and dropping frames meanwhile).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grace.infer.predictor import FrameResult
from grace.infer.stamp import RunStamp, make_stamp, video_seconds

KEEP_FRAMES_BYTES = 256 * 2**20  # video / live frames with detections kept for the table


@dataclass(frozen=True)
class FrameInfo:
    """Where a frame came from (its pixels stay on disk for file images)."""

    source: str  # file path, camera name or URL
    index: int  # frame number in a video or live source; 0 for a still image
    width: int
    height: int
    is_video: bool  # a frame of a video file or of a live source
    fps: float | None = None  # the video's frame rate, when known
    time: float = 0.0  # when the frame was read (time.time())

    @property
    def seconds(self) -> float | None:
        """A video frame's position in seconds (index / fps); ``None`` for a still image."""
        return video_seconds(self.index, self.fps) if self.is_video else None

    @property
    def name(self) -> str:
        """What the table and the view call it: ``crazing_1.jpg``, ``clip.mp4 #12``."""
        base = self.source if "://" in self.source else (Path(self.source).name or self.source)
        return f"{base} #{self.index}" if self.is_video else base


@dataclass
class Latest:
    """The newest frame and its detections (at the run's floor threshold)."""

    frame_id: int
    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


@dataclass
class Drained:
    """What arrived since the last :meth:`ResultBuffer.drain`."""

    frames: list[FrameInfo] = field(default_factory=list)  # new frames, ids continue in order
    frame_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    latest: Latest | None = None
    kept: dict[int, np.ndarray] = field(default_factory=dict)  # video/live frames by id

    def __len__(self) -> int:
        return int(len(self.scores))


def fps_from(arrivals: Sequence[tuple[float, int]], now: float, window: float = 2.0) -> float:
    """Frames per second over the last ``window`` seconds from ``(time, frames)`` arrivals.

    >>> fps_from([(0.0, 8), (1.0, 8), (2.0, 8)], now=2.0)
    8.0
    """
    recent = [(t, n) for t, n in arrivals if now - t <= window]
    if len(recent) < 2:
        return 0.0
    span = recent[-1][0] - recent[0][0]
    frames = sum(n for _, n in recent[1:])  # frames that arrived after the first timestamp
    return frames / span if span > 0 else 0.0


class ResultBuffer:
    """The hand-over between the run (``push``, worker thread) and the GUI (``drain``)."""

    def __init__(self, keep_bytes: int = KEEP_FRAMES_BYTES, clock=time.perf_counter) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.keep_bytes = keep_bytes
        self._pending = Drained()
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self._kept_bytes = 0
        self.frames_total = 0  # frames pushed so far (their ids are 0 .. frames_total - 1)
        self.replaced = 0  # latest frames replaced before the GUI showed them
        self._arrivals: deque[tuple[float, int]] = deque(maxlen=256)
        self.names: list[str] | None = None  # the checkpoint's classes, once it is loaded
        self.stamp: RunStamp | None = None  # the model's path and hash, once it is loaded

    def push(self, results: Sequence[FrameResult]) -> None:
        """Add one batch (called from the worker thread)."""
        if not results:
            return
        frames, chunks, kept = [], [], {}
        first = self.frames_total
        for i, r in enumerate(results):
            f = r.frame
            frames.append(FrameInfo(str(f.source), int(f.index), f.width, f.height, f.is_video,
                                    f.fps, float(f.time)))  # fmt: skip
            if len(r):
                n = len(r)
                ids = np.full(n, first + i, np.int64)
                chunks.append((ids, r.classes.astype(np.int64), r.scores.astype(np.float32),
                               r.boxes.astype(np.float32).reshape(n, 4)))  # fmt: skip
                if f.is_video:
                    kept[first + i] = f.image
        last = results[-1]
        latest = Latest(first + len(results) - 1, last.frame.image, last.boxes, last.scores,
                        last.classes)  # fmt: skip
        with self._lock:
            self.frames_total += len(results)
            p = self._pending
            p.frames.extend(frames)
            self._chunks.extend(chunks)
            if p.latest is not None:
                self.replaced += 1
            p.latest = latest
            for k, img in kept.items():
                p.kept[k] = img
                self._kept_bytes += img.nbytes
            while self._kept_bytes > self.keep_bytes and p.kept:  # the GUI is not draining
                self._kept_bytes -= p.kept.pop(next(iter(p.kept))).nbytes
            self._arrivals.append((self._clock(), len(results)))

    def drain(self) -> Drained:
        """Everything new since the last call (called from the GUI thread)."""
        with self._lock:
            out, chunks = self._pending, self._chunks
            self._pending, self._chunks, self._kept_bytes = Drained(), [], 0
        if chunks:
            out.frame_ids = np.concatenate([c[0] for c in chunks])
            out.classes = np.concatenate([c[1] for c in chunks])
            out.scores = np.concatenate([c[2] for c in chunks])
            out.boxes = np.concatenate([c[3] for c in chunks])
        return out

    def fps(self) -> float:
        with self._lock:
            arrivals = list(self._arrivals)
        return fps_from(arrivals, self._clock())


class FrameStore:
    """Video / live frames kept for the results table, oldest dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = KEEP_FRAMES_BYTES) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0

    def add(self, frames: dict[int, np.ndarray]) -> None:
        for k, img in frames.items():
            self._frames[k] = img
            self._bytes += img.nbytes
        while self._bytes > self.max_bytes and self._frames:
            _k, old = self._frames.popitem(last=False)
            self._bytes -= old.nbytes

    def get(self, frame_id: int) -> np.ndarray | None:
        return self._frames.get(frame_id)

    def as_dict(self) -> dict[int, np.ndarray]:
        return dict(self._frames)

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._frames)


class PredictorCache:
    """Loaded predictors by checkpoint (path, modification time), device and size, so that a
    second run on the same model starts at once. Used from worker threads, one run at a time."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, object] = OrderedDict()

    def get(self, weights: str, device: str = "", imgsz: int | None = None, iou: float = 0.7):
        from grace.deploy.runtime import resolve_model
        from grace.infer.predictor import Predictor

        path = resolve_model(weights).path  # a checkpoint, an OpenVINO folder, .onnx, a package
        key = (str(path.resolve()), path.stat().st_mtime_ns, device, imgsz)
        with self._lock:
            predictor = self._items.get(key)
            if predictor is None:
                predictor = Predictor(path, iou=iou, imgsz=imgsz, device=device)
                predictor.warmup()
                self._items[key] = predictor
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
        predictor.iou = iou
        return predictor


PREDICTORS = PredictorCache()


def hold_while_paused(
    resume: threading.Event, stop: threading.Event, held: threading.Event | None
) -> None:
    """Block the job while ``resume`` is clear (paused) and ``stop`` is not set; ``held`` is
    set meanwhile (what was in flight has been delivered)."""
    if held is not None and not resume.is_set():
        held.set()
    while not resume.is_set() and not stop.is_set():
        resume.wait(0.1)
    if held is not None:
        held.clear()


def make_job(
    req,
    buffer: ResultBuffer,
    resume: threading.Event,
    stop: threading.Event,
    cache: PredictorCache = PREDICTORS,
    held: threading.Event | None = None,
) -> Callable[[], object]:
    """``job() -> Summary``: the run of ``req``, its batches pushed into ``buffer``.

    The source is checked before the model loads (a missing file fails at once); the model's
    hash is taken in the job, not on the GUI thread; the run stops when ``stop`` is set and
    waits while ``resume`` is clear; ``held`` is set while it waits (its batch delivered).
    """

    def job() -> object:
        from grace.infer.run import run_predict
        from grace.infer.sources import resolve_source

        resolve_source(req.source)
        predictor = cache.get(req.weights, req.device, req.imgsz, req.iou)
        buffer.stamp = make_stamp(req.weights, predictor.thresholds, time.time())
        buffer.names = list(predictor.names)

        def on_results(results: list[FrameResult]) -> None:
            buffer.push(results)
            hold_while_paused(resume, stop, held)

        return run_predict(req, predictor, on_results=on_results, stop=stop, log=None)

    return job
