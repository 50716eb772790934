"""Frames of files: images, folders, globs and video files, decoded in order and batched."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grace.errors import GraceError
from grace.images import quiet_cv2, try_read_image
from grace.infer.frames import VIDEO_SUFFIXES, Frame, Skipped, SourceStats

if TYPE_CHECKING:
    from grace.infer.sources import SourceSpec


@dataclass
class _Failure:
    error: BaseException


class FileSource:
    """Images and videos decoded in order; unreadable files are listed in ``stats.skipped``
    and the run goes on (a single-file source that cannot be read is a :class:`GraceError`).

    The images of a batch are decoded in parallel (OpenCV releases the GIL), as Ultralytics'
    own folder loader does; with ``prefetch`` the next batch is decoded while the model works
    on the current one, which pays where the model runs on a GPU and the CPU is otherwise idle
    (on a CPU device the decoding would only take cores from the model).
    """

    live = False

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.name = spec.text
        self.stats = SourceStats(skipped=list(spec.skipped))
        self._stop = threading.Event()
        self.end_reason: str | None = None

    def _skip(self, path: Path, reason: str) -> None:
        if self.kind in ("image", "video"):
            raise GraceError(f"{path}: {reason}")
        self.stats.skipped.append(Skipped(str(path), reason))

    def _video(self, path: Path) -> Iterator[Frame]:
        import cv2

        with quiet_cv2():
            cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                self._skip(path, "cannot open video (corrupt or unsupported format)")
                return
            fps = cap.get(cv2.CAP_PROP_FPS)
            fps = float(fps) if fps and 0 < fps < 1000 else None
            n = 0
            while not self._stop.is_set():
                with quiet_cv2():
                    ok, img = cap.read()
                if not ok or img is None:
                    break
                yield Frame(img, str(path), n, time.time(), fps, True)
                n += 1
            if n == 0:
                self._skip(path, "no frame could be decoded (corrupt or unsupported video)")
        finally:
            cap.release()

    def _images(self, paths: list[Path], decode: Callable) -> Iterator[Frame]:
        for path, (img, reason) in zip(paths, decode(try_read_image, paths), strict=True):
            if img is None:
                self._skip(path, reason)
            else:
                yield Frame(img, str(path), 0, time.time())

    def frames(self, chunk: int = 1, decode: Callable = map) -> Iterator[Frame]:
        """Every readable frame in order; runs of up to ``chunk`` images are decoded together
        with ``decode`` (``map``, or a thread pool's ``map``)."""
        pending: list[Path] = []
        for path in self.spec.paths:
            if self._stop.is_set():
                return
            if path.suffix.lower() in VIDEO_SUFFIXES:
                yield from self._images(pending, decode)
                pending = []
                yield from self._video(path)
                continue
            pending.append(path)
            if len(pending) >= chunk:
                yield from self._images(pending, decode)
                pending = []
        yield from self._images(pending, decode)

    def _batched(self, size: int, decode: Callable) -> Iterator[list[Frame]]:
        batch: list[Frame] = []
        for frame in self.frames(size, decode):
            batch.append(frame)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def batches(
        self, size: int = 8, halt: Callable[[], bool] | None = None, prefetch: bool = False
    ) -> Iterator[list[Frame]]:
        """Batches of ``size`` frames (``halt`` is checked between batches)."""
        size = max(1, int(size))
        workers = min(size, os.cpu_count() or 1)
        pool = ThreadPoolExecutor(workers, "grace-decode") if workers > 1 else None
        decode = pool.map if pool is not None else map
        batches = self._batched(size, decode)
        if prefetch:
            batches = self._prefetched(batches)
        try:
            for batch in batches:
                yield batch
                if halt is not None and halt():
                    return
            self.end_reason = "end of source"
        finally:
            self._stop.set()
            batches.close()  # ends (and joins) the prefetching thread first
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _prefetched(self, batches: Iterator[list[Frame]]) -> Iterator[list[Frame]]:
        """``batches`` produced one ahead by a background thread."""
        q: queue.Queue = queue.Queue(maxsize=1)
        done = object()

        def put(item) -> bool:
            while not self._stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                for batch in batches:
                    if not put(batch):
                        return
            except BaseException as e:  # handed to the consumer
                put(_Failure(e))
            finally:
                put(done)

        thread = threading.Thread(target=work, name="grace-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = q.get(timeout=0.5)
                except queue.Empty:
                    if thread.is_alive():
                        continue
                    return
                if item is done:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            self._stop.set()
            thread.join(timeout=5)

    def sync_stats(self) -> SourceStats:
        return self.stats

    def close(self) -> None:
        self._stop.set()
