"""Live sources: a reader thread keeps only the newest frame; drops reconnect with back-off.

Reading frames slower than they arrive builds up lag (OpenCV and servers buffer). Here a reader
thread grabs continuously into a one-slot buffer: a new frame replaces an unread one (counted
as dropped), and the consumer always takes the newest, so what it shows is never more than one
inference behind the camera.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from grace.errors import GraceError
from grace.images import quiet_cv2
from grace.infer.frames import Frame, SourceStats

Log = Callable[[str], None]


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential back-off for live sources.

    ``connect_attempts`` bound the first connection (then a :class:`GraceError`);
    ``max_attempts`` bound each reconnection after a drop (then the run ends with the stream
    lost); the wait before attempt k is ``min(initial_delay * factor**(k-1), max_delay)``.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    factor: float = 2.0
    max_attempts: int = 10
    connect_attempts: int = 3

    def delay(self, attempt: int) -> float:
        """Wait before the ``attempt``-th try (1-based)."""
        return min(self.initial_delay * self.factor ** max(0, attempt - 1), self.max_delay)


class LatestFrame:
    """A one-slot buffer: ``put`` replaces an unread frame (counting it as dropped), ``take``
    returns the newest frame once. ``close`` wakes the consumer for good."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0
        self.closed_reason: str | None = None

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame, or ``None`` after ``timeout`` / once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self.closed_reason, timeout)
            frame, self._frame = self._frame, None
            return frame

    def reset_dropped(self) -> None:
        with self._cond:
            self.dropped = 0

    def close(self, reason: str) -> None:
        with self._cond:
            self.closed_reason = self.closed_reason or reason
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None


class Grabber(Protocol):
    """A device or connection that yields frames; used by one reader thread only, except
    :meth:`interrupt`, which other threads may call to end a blocked read."""

    name: str
    finite: bool  # the end of data is the end of the source (a video file played live)
    fps: float | None

    def open(self) -> None: ...  # raises OSError with a readable reason

    def read(self) -> np.ndarray | None: ...  # None: ended or dropped

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class CvGrabber:
    """A camera index, an rtsp/http URL or a video file through ``cv2.VideoCapture``.

    ``pace`` plays a file at its own frame rate (a video file treated as a live source).
    """

    def __init__(
        self, target: int | str, name: str, finite: bool = False, pace: bool = False,
        timeout: float = 5.0,
    ) -> None:  # fmt: skip
        self.target, self.name, self.finite, self.pace = target, name, finite, pace
        self.timeout = timeout
        self.fps: float | None = None
        self._cap = None
        self._t0, self._n = 0.0, 0

    def open(self) -> None:
        import cv2

        with quiet_cv2():
            if isinstance(self.target, str) and "://" in self.target:
                ms = int(self.timeout * 1000)
                params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
                cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, params)
            else:
                cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            what = "video" if self.finite else "stream"
            what = "camera" if isinstance(self.target, int) else what
            why = " (no such camera, or it is in use)" if what == "camera" else ""
            raise OSError(f"cannot open the {what}{why}")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else None
        self._cap, self._t0, self._n = cap, time.monotonic(), 0

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        with quiet_cv2():
            ok, img = self._cap.read()
        if not ok or img is None:
            return None
        if self.pace and self.fps:
            self._n += 1
            wait = self._t0 + self._n / self.fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        return img

    def interrupt(self) -> None:
        """Nothing: releasing a capture another thread reads from is unsafe; reads of cameras
        and streams return within a frame interval or the read timeout."""

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class LiveSource:
    """Frames of a :class:`Grabber`, newest only, with reconnection.

    :meth:`start` makes the first connection (a :class:`GraceError` after
    ``policy.connect_attempts`` failures) and starts the reader thread; iterate
    :meth:`frames` (or :meth:`batches`, always of one frame); :meth:`close` stops the thread.
    """

    live = True

    def __init__(
        self, grabber: Grabber, kind: str, policy: ReconnectPolicy | None = None,
        log: Log | None = None,
    ) -> None:  # fmt: skip
        self.grabber, self.kind = grabber, kind
        self.policy = policy or ReconnectPolicy()
        self.log: Log = log or (lambda _msg: None)
        self.stats = SourceStats()
        self.slot = LatestFrame()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0

    @property
    def name(self) -> str:
        return self.grabber.name

    @property
    def end_reason(self) -> str | None:
        return self.slot.closed_reason

    def _connect(self, attempts: int, first: bool) -> str | None:
        """Open the grabber within ``attempts`` tries; ``None`` on success, else the reason."""
        reason = "stopped"
        for attempt in range(1, max(1, attempts) + 1):
            if not first or attempt > 1:
                delay = self.policy.delay(attempt if not first else attempt - 1)
                verb = "retrying" if first else "reconnecting"
                self.log(f"{self.name}: {verb} in {delay:.2g} s (attempt {attempt}/{attempts})")
                if self._stop.wait(delay):
                    return "stopped"
            if not first:
                self.stats.reconnect_attempts += 1
            try:
                self.grabber.open()
                return None
            except OSError as e:
                reason = str(e) or type(e).__name__
                self.grabber.close()
                if not first or attempt < attempts:
                    self.log(f"{self.name}: attempt {attempt}/{attempts} failed: {reason}")
        return reason

    def start(self) -> LiveSource:
        reason = self._connect(self.policy.connect_attempts, first=True)
        if reason is not None:
            n = max(1, self.policy.connect_attempts)
            tries = f", {n} attempts" if n > 1 else ""
            raise GraceError(f"{self.name}: {reason}{tries}")
        self._thread = threading.Thread(target=self._read_loop, name="grace-live", daemon=True)
        self._thread.start()
        return self

    def _read_loop(self) -> None:
        g = self.grabber
        try:
            while not self._stop.is_set():
                img = g.read()
                if img is not None:
                    self.slot.put(Frame(img, self.name, self._seq, time.time(), g.fps, True))
                    self._seq += 1
                    continue
                g.close()
                if self._stop.is_set():
                    break
                if g.finite:
                    self.slot.close("end of source")
                    return
                self.log(f"{self.name}: stream dropped after frame {self._seq}")
                reason = self._connect(self.policy.max_attempts, first=False)
                if reason == "stopped":
                    break
                if reason is not None:
                    n = self.policy.max_attempts
                    self.log(f"{self.name}: stream lost ({reason}; {n} reconnect attempts)")
                    self.slot.close(f"stream lost after {n} reconnect attempts: {reason}")
                    return
                self.stats.reconnects += 1
                self.log(f"{self.name}: reconnected")
        except Exception as e:  # never die silently: the consumer sees the reason
            self.slot.close(f"reader failed: {type(e).__name__}: {e}")
        finally:
            g.close()
            self.slot.close("stopped")

    def frames(self, halt: Callable[[], bool] | None = None, poll: float = 0.1) -> Iterator[Frame]:
        """The newest frame each time the consumer asks, until the source ends or is closed
        (or ``halt()`` is true, checked at least every ``poll`` seconds)."""
        while not self._stop.is_set() and not (halt is not None and halt()):
            frame = self.slot.take(timeout=poll)
            if frame is not None:
                yield frame
            elif self.slot.closed:
                return

    def batches(
        self, size: int = 1, halt: Callable[[], bool] | None = None
    ) -> Iterator[list[Frame]]:
        """Always one frame: batching would mean waiting for older frames."""
        for frame in self.frames(halt):
            yield [frame]

    def reset_dropped(self) -> None:
        self.slot.reset_dropped()

    def sync_stats(self) -> SourceStats:
        self.stats.dropped = self.slot.dropped
        return self.stats

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.grabber.interrupt()
        self.slot.close("stopped")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.sync_stats()
