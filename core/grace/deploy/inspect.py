"""Watch-folder inspection: what ``grace inspect`` and the Inference tab's "Watch folder" run.

Each image the watcher (:mod:`grace.deploy.watch`) finds fully written is predicted once with the
model (through the one loader, :mod:`grace.deploy.runtime`: ``.pt``, OpenVINO, ONNX or a package)
and judged at the thresholds in force (a ``--thresholds`` file, else a package's, else 0.25):

- verdict ``NG`` when any detection reaches its class threshold, else ``OK``; exactly the
  detections ``grace predict`` keeps at the same thresholds (the model runs ``review_band``
  lower and the thresholds are applied after NMS, which per class and greedy in descending
  score keeps the same boxes above them);
- an NG image is copied, byte for byte the bytes inspected, to the NG folder (atomically; a name
  already taken there by other content gets the SHA-256's first 12 hex digits appended);
- detections within ``review_band`` of their threshold become review items (queue
  ``uncertain``, kind ``near_threshold``, :func:`grace.review.queues.uncertain_queue`);
- verdict, detections, model path and SHA-256 (:func:`grace.deploy.runtime.model_sha256`, as in
  every record and review store), thresholds, latency (decode + predict) and time
  go into the results store (:mod:`grace.deploy.results`) in one transaction per image, after
  the NG copy; a file that cannot be decoded is recorded ``corrupt``, one gone before it was
  read ``vanished``, each with the reason, and the watch goes on.

Restart-safe: a file is identified by ``(path, size, mtime)``; what the store holds is not
taken again, anything else in the folder is. A stop request (Ctrl-C, SIGTERM, the GUI's Stop)
is honoured between images: the current one is finished and committed first.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from grace.argcheck import check_device, check_values
from grace.deploy.results import Inspection, ResultsStore
from grace.deploy.watch import FolderWatcher, Ready
from grace.errors import GraceError
from grace.fileio import atomic_write_bytes
from grace.infer.thresholds import ClassThresholds

Log = Callable[[str], None]
FrameHook = Callable[[Any], None]  # called with a grace.infer.predictor.FrameResult
DEFAULT_BAND = 0.1


@dataclass
class InspectRequest:
    """Everything ``grace inspect`` takes (see its ``--help``)."""

    model: str
    watch: str
    results: str | None = None  # default: default_results(watch)
    ng_dir: str | None = None
    review_band: float = DEFAULT_BAND
    thresholds: str | None = None  # a grace calibrate file, or "auto"
    conf: float | None = None  # the user's global threshold over the file's / package's
    class_conf: Sequence[str] | Mapping[str, float] = field(default_factory=list)  # by name
    imgsz: int | None = None
    device: str = ""
    poll: float = 0.2
    max_images: int | None = None  # stop after this many files taken
    timeout: float | None = None  # stop after this many seconds with nothing new
    settle: float = 5.0  # see grace.deploy.watch


@dataclass
class InspectSummary:
    """Counts and latencies of one run, and why it ended."""

    store: str
    watch: str
    model: str
    model_sha256: str
    thresholds: dict
    runtime: str = ""  # the format that ran, and OpenVINO's precision: "openvino, bf16"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("OK", "NG", "corrupt", "vanished"), 0))  # fmt: skip
    latencies_ms: list[float] = field(default_factory=list)
    stop_reason: str = ""
    elapsed_s: float = 0.0

    @property
    def taken(self) -> int:
        return sum(self.counts.values())

    def add(self, row: Inspection) -> None:
        self.counts[row.status] += 1
        if row.latency_ms is not None:
            self.latencies_ms.append(row.latency_ms)

    def as_dict(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {"store": self.store, "watch": self.watch, "model": self.model,
                "model_sha256": self.model_sha256, "runtime": self.runtime,
                "thresholds": self.thresholds,
                "files": self.taken, **self.counts, "stop_reason": self.stop_reason,
                "elapsed_s": round(self.elapsed_s, 3),
                "latency_ms": {"median": round(median(lat), 2), "max": round(max(lat), 2)}
                if lat else None}  # fmt: skip

    def line(self) -> str:
        c = self.counts
        lat = f"; latency median {median(self.latencies_ms):.1f} ms" if self.latencies_ms else ""
        return (f"grace inspect: {self.taken} files (OK {c['OK']}, NG {c['NG']}, corrupt "
                f"{c['corrupt']}, vanished {c['vanished']}) in {self.elapsed_s:.1f} s{lat}; "
                f"{self.stop_reason}; results in {self.store}")  # fmt: skip


def default_results(watch: str | Path) -> Path:
    """``<watch folder>.inspect.sqlite`` beside the watched folder (not in it)."""
    w = Path(watch).resolve()
    return w.parent / f"{w.name}.inspect.sqlite"


def lowered(th: ClassThresholds, band: float) -> ClassThresholds:
    """``th`` with every threshold ``band`` lower (not below 0): what the model runs at so that
    the detections just under a threshold are seen."""
    return ClassThresholds(max(0.0, th.conf - band),
                           {c: max(0.0, t - band) for c, t in th.per_class.items()})  # fmt: skip


def _check(req: InspectRequest) -> tuple[Path, Path, Path | None]:
    check_values(imgsz=req.imgsz, timeout=req.timeout, poll=req.poll,
                 review_band=req.review_band, max_images=req.max_images)  # fmt: skip
    check_device(req.device)
    watch = Path(req.watch).expanduser()
    if not watch.is_dir():
        raise GraceError(f"{req.watch}: --watch must be an existing folder")
    watch = watch.resolve()
    ng = Path(req.ng_dir).expanduser().resolve() if req.ng_dir else None
    if ng is not None and ng == watch:
        raise GraceError(f"{req.ng_dir}: --ng-dir must not be the watched folder (its copies "
                         "would be inspected again)")  # fmt: skip
    if ng is not None and ng.exists() and not ng.is_dir():
        raise GraceError(f"{req.ng_dir}: --ng-dir exists and is not a folder")
    store = Path(req.results).expanduser() if req.results else default_results(watch)
    if store.exists() and not store.is_file():
        raise GraceError(f"{store}: --results exists and is not a file")
    if not store.parent.is_dir():
        raise GraceError(f"{store.parent}: folder of --results not found")
    return watch, store.resolve(), ng


class Inspector:
    """The model, the thresholds and the results store of one inspection run; :meth:`inspect`
    takes one file (module rules). Close it (or use it as a context manager)."""

    def __init__(self, req: InspectRequest, predictor=None, log: Log | None = None) -> None:
        from grace.deploy.runtime import model_sha256
        from grace.infer.predictor import Predictor
        from grace.infer.run import PredictRequest, request_thresholds
        from grace.infer.threshold_file import thresholds_json

        log = log or (lambda _m: None)
        self.req = req
        self.watch, self.store_path, self.ng_dir = _check(req)
        fresh = predictor is None
        if fresh:
            predictor = Predictor(req.model, imgsz=req.imgsz, device=req.device)
        self.predictor = predictor
        self.names = list(predictor.names)
        preq = PredictRequest(req.model, str(self.watch), conf=req.conf,
                              class_conf=req.class_conf, thresholds=req.thresholds)  # fmt: skip
        ref = getattr(predictor, "ref", None)
        self.th, source = request_thresholds(preq, self.names, log, ref)
        predictor.thresholds = lowered(self.th, req.review_band)
        if fresh:
            predictor.warmup()
        self.th_json = thresholds_json(self.th, self.names)
        self.model_path = str(Path(req.model).expanduser().resolve())
        self.model_sha256 = model_sha256(self.model_path) if Path(self.model_path).exists() else ""
        meta = {"source": {"watch": str(self.watch)},
                "model": {"path": self.model_path, "sha256": self.model_sha256},
                "thresholds": self.th_json, "thresholds_from": source,
                "band": req.review_band}  # fmt: skip
        self.store = ResultsStore(self.store_path, self.names, meta)
        self.taken = self.store.taken()
        if self.ng_dir is not None:
            try:
                self.ng_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise GraceError(f"{self.ng_dir}: cannot create --ng-dir "
                                 f"({e.strerror or e})") from None  # fmt: skip

    def close(self) -> None:
        self.store.close()

    def runtime(self) -> str:
        """What runs the model: ``pt``, ``onnx``, or ``openvino, bf16`` (with its precision)."""
        ref = getattr(self.predictor, "ref", None)
        parts = [getattr(ref, "kind", "") or "", getattr(self.predictor, "precision", "") or ""]
        return ", ".join(p for p in parts if p)

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _row(self, path: Path, status: str, detail: str = "", **kw: Any) -> Inspection:
        return Inspection(str(path), status, detail, model_path=self.model_path,
                          model_sha256=self.model_sha256, thresholds=self.th_json,
                          **kw)  # fmt: skip

    def is_taken(self, ready: Ready) -> bool:
        return (str(ready.path), ready.state.size, ready.state.mtime_ns) in self.taken

    def was_taken(self, path: Path) -> bool:
        return any(p == str(path) for p, _, _ in self.taken)

    def vanished(self, path: Path, why: str) -> Inspection:
        """Record that ``path`` went away (``why``) before it could be inspected."""
        return self.store.record(self._row(path, "vanished", why))

    def _ng_copy(self, path: Path, data: bytes, sha: str) -> str:
        target = self.ng_dir / path.name
        if target.exists():
            try:
                same = hashlib.sha256(target.read_bytes()).hexdigest() == sha
            except OSError:
                same = False
            if not same:  # the name is another image's: keep both
                target = target.with_name(f"{path.stem}.{sha[:12]}{path.suffix}")
        try:
            atomic_write_bytes(target, data)
        except OSError as e:
            raise GraceError(f"{target}: the NG copy could not be written ({e.strerror or e}); "
                             f"{path.name} is not recorded and is taken again at the next "
                             "start") from None  # fmt: skip
        return str(target)

    def inspect(self, ready: Ready, on_frame: FrameHook | None = None) -> Inspection | None:
        """Inspect and record one file; ``None`` when it changed while it was read (the
        watcher should give it back). ``on_frame`` gets the model's result (the decoded image
        and every detection at the lowered thresholds) before the record is written."""
        from grace.eval.records import ImageRecord
        from grace.images import NOT_FOUND, try_read_image
        from grace.infer.frames import Frame
        from grace.review.queues import uncertain_queue

        path, state = ready.path, ready.state
        kw = {"size": state.size, "mtime_ns": state.mtime_ns}
        t0 = time.perf_counter()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return self.vanished(path, "gone before it could be read")
        except OSError as e:
            return self.store.record(self._row(path, "corrupt", f"cannot read "
                                               f"({e.strerror or e})", **kw))  # fmt: skip
        try:
            st = os.stat(path)
            if (st.st_size, st.st_mtime_ns) != (state.size, state.mtime_ns):
                return None
        except FileNotFoundError:
            pass  # gone after it was read: the bytes read are inspected
        sha = hashlib.sha256(data).hexdigest()
        kw["sha256"] = sha
        if ready.truncated:
            why = (f"truncated: no end marker after {self.req.settle:g} s without change "
                   "(a writer that stopped mid-file?)")  # fmt: skip
            return self.store.record(self._row(path, "corrupt", why, **kw))
        img, reason = try_read_image(path)
        if img is None:
            if reason == NOT_FOUND:
                return self.vanished(path, "gone before it could be decoded")
            return self.store.record(self._row(path, "corrupt", reason, **kw))
        r = self.predictor.predict([Frame(img, str(path), 0, time.time())])[0]
        latency = (time.perf_counter() - t0) * 1000.0
        if on_frame is not None:
            on_frame(r)
        keep = self.th.keep(r.scores, r.classes)
        order = sorted(map(int, keep.nonzero()[0]), key=lambda j: -float(r.scores[j]))
        dets = [{"class": self.names[int(r.classes[j])],
                 "confidence": round(float(r.scores[j]), 5),
                 "box": [round(float(v), 2) for v in r.boxes[j]]} for j in order]  # fmt: skip
        status = "NG" if dets else "OK"
        rec = ImageRecord(str(path), r.frame.width, r.frame.height, boxes=r.boxes,
                          scores=r.scores, classes=r.classes)  # fmt: skip
        images, items = uncertain_queue([rec], self.names, self.th, self.req.review_band)
        detail = ""
        if items and self.store.has_image(str(path)):
            detail = (
                f"{len(items)} uncertain detections not queued for review: the store "
                "already has an image at this path (a file name used again)"
            )
            images, items = [], []
        image = images[0] if images else None
        if image is not None:
            image.sha256 = sha
        for it in items:
            it.model_path, it.model_sha256, it.thresholds = (self.model_path, self.model_sha256,
                                                             self.th_json)  # fmt: skip
        ng_copy = self._ng_copy(path, data, sha) if status == "NG" and self.ng_dir else None
        row = self._row(
            path,
            status,
            detail,
            width=r.frame.width,
            height=r.frame.height,
            detections=dets,
            ng_copy=ng_copy,
            latency_ms=round(latency, 2),
            **kw,
        )
        self.store.record(row, image, items)
        self.taken.add((str(path), state.size, state.mtime_ns))
        return row


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_inspect(
    req: InspectRequest,
    predictor=None,
    on_result: Callable[[Inspection], None] | None = None,
    stop: threading.Event | None = None,
    log: Log | None = stderr_log,
    on_frame: FrameHook | None = None,
) -> InspectSummary:
    """Watch ``req.watch`` and inspect each new image until ``stop`` is set, ``max_images``
    files were taken, or nothing new came for ``timeout`` seconds.

    Parameters
    ----------
    req
        The request; bad input (no such folder, not a model, a store of other classes, ...) is
        one :class:`GraceError` line before anything is watched.
    predictor
        A ready predictor of ``req.model`` (the GUI's); by default one is loaded.
    on_result
        Called with each record, committed, in the calling thread.
    stop
        Set it (from a signal handler or another thread) to end after the current image.
    log
        Notes (files that are not images, thresholds read); default stderr.
    on_frame
        Called with each decoded image's model result (pixels and the detections at the
        thresholds lowered by ``review_band``), before its record; the GUI shows it.

    Returns
    -------
    InspectSummary
    """
    log = log or (lambda _m: None)
    stop = stop or threading.Event()
    with Inspector(req, predictor, log) as insp:
        store = insp.store_path
        journal = {store, *(store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal"))}
        watcher = FolderWatcher(insp.watch, ignore=journal, settle=req.settle)
        summary = InspectSummary(str(store), str(insp.watch), str(req.model),
                                 insp.model_sha256, insp.th_json, insp.runtime())  # fmt: skip
        log(f"grace inspect: watching {insp.watch} with {req.model} ({summary.runtime}); "
            f"results in {store}")  # fmt: skip
        t0 = last = time.monotonic()

        def done(row: Inspection) -> None:
            summary.add(row)
            if on_result is not None:
                on_result(row)

        def full() -> bool:
            return req.max_images is not None and summary.taken >= req.max_images

        while not summary.stop_reason:
            poll = watcher.poll()
            for p in poll.others:
                log(f"grace inspect: {p}: not an image; left alone")
            for p in poll.gone:  # (a file inspected before a restart and removed: nothing)
                if not full() and not insp.was_taken(p):
                    done(insp.vanished(p, "gone before it was fully written"))
            for ready in poll.ready:
                if stop.is_set() or full():
                    break
                if insp.is_taken(ready):  # inspected before a restart
                    watcher.handed(ready)
                    continue
                row = insp.inspect(ready, on_frame)
                if row is None:
                    watcher.retry(ready)
                    continue
                watcher.handed(ready)
                done(row)
            now = time.monotonic()
            if poll.pending or poll.ready or poll.gone:
                last = now
            if stop.is_set():
                summary.stop_reason = "stopped"
            elif full():
                summary.stop_reason = f"{req.max_images} files taken (--max-images)"
            elif req.timeout is not None and now - last >= req.timeout:
                summary.stop_reason = f"nothing new for {req.timeout:g} s (--timeout)"
            else:
                stop.wait(req.poll)
        summary.elapsed_s = time.monotonic() - t0
    return summary
