"""One prediction run, from a request to a summary: what ``grace predict`` and the GUI call."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grace.argcheck import check_device, check_values
from grace.errors import GraceError
from grace.fileio import atomic_write_text
from grace.infer.files import FileSource
from grace.infer.live import LiveSource, Log, ReconnectPolicy
from grace.infer.predictor import FramePredictor, FrameResult, Predictor
from grace.infer.sources import SourceSpec, open_source, resolve_source
from grace.infer.stamp import make_stamp
from grace.infer.summary import Summary
from grace.infer.threshold_file import DEFAULT_CONF
from grace.infer.thresholds import ClassThresholds, make_thresholds
from grace.infer.writers import Outputs

DEFAULT_OUT = Path("runs/grace/predict")


@dataclass
class PredictRequest:
    """Everything ``grace predict`` takes (see its ``--help``)."""

    weights: str
    source: str
    conf: float | None = None  # None: the thresholds file's, a package's, else DEFAULT_CONF
    class_conf: Sequence[str] | Mapping[str, float] = field(default_factory=list)
    thresholds: str | None = None  # a grace calibrate file, or "auto" (beside the weights)
    iou: float = 0.7
    imgsz: int | None = None
    batch: int = 8
    device: str = ""
    max_det: int = 300
    out: str | None = None
    save_csv: bool = False
    save_json: bool = False
    save_img: bool = False
    live: bool = False  # play a video file as a live source
    max_frames: int | None = None
    duration: float | None = None
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    timeout: float = 5.0  # connect / read timeout of live sources
    progress_every: float = 5.0  # seconds between progress lines (0: none)

    @property
    def saves(self) -> bool:
        return self.save_csv or self.save_json or self.save_img


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _next_free(base: Path) -> Path:
    if not base.exists() or not any(base.iterdir()):
        return base
    n = 2
    while (base.parent / f"{base.name}{n}").exists():
        n += 1
    return base.parent / f"{base.name}{n}"


def output_dir(req: PredictRequest, spec: SourceSpec) -> Path | None:
    """``--out`` as given, else ``runs/grace/predict`` (numbered when taken) when something is
    saved; ``None`` when neither. Refuses to write annotated images over the source images."""
    if not req.saves and not req.out:
        return None
    out = Path(req.out).expanduser() if req.out else _next_free(DEFAULT_OUT)
    if out.exists() and not out.is_dir():
        raise GraceError(f"{out}: --out exists and is not a folder")
    if req.save_img and spec.paths:
        parents = {p.resolve().parent for p in spec.paths}
        if out.resolve() in parents:
            raise GraceError(f"{out}: --out is a source folder; --save-img would overwrite images")
    return out


def _settings(req: PredictRequest, predictor: FramePredictor, batch: int) -> dict:
    return {
        "conf": predictor.thresholds.conf,
        "class_conf": predictor.thresholds.describe(predictor.names),
        "iou": req.iou,
        "imgsz": getattr(predictor, "imgsz", None) or req.imgsz,  # a package's or export's own
        "batch": batch,
        "device": req.device,
        "format": getattr(getattr(predictor, "ref", None), "kind", None),  # what ran: pt, ...
        "precision": getattr(predictor, "precision", "") or None,  # OpenVINO's, once set up
    }


def request_thresholds(
    req: PredictRequest, names: list[str], log: Log, ref=None
) -> tuple[ClassThresholds, str]:
    """The thresholds in force and where they come from, by precedence: ``conf`` and
    ``class_conf`` (the user's; each overrides its value) over the thresholds file
    ``req.thresholds`` (``FILE`` or ``auto``) over a model package's own thresholds (``ref``, a
    :class:`grace.deploy.runtime.ModelRef`; used whole, and only when the user gave none of the
    others) over :data:`DEFAULT_CONF`. Every file is read by the one reader,
    :func:`grace.infer.threshold_file.read_thresholds`.

    Returns
    -------
    tuple
        ``(thresholds, source)``; ``source`` is ``file`` (``file+user`` with the user's
        overrides on top), ``package``, ``user`` or ``default``.
    """
    user = req.conf is not None or bool(req.class_conf)
    if req.thresholds:
        from grace.infer.threshold_file import read_thresholds, resolve_path

        path = resolve_path(req.thresholds, req.weights)
        base = read_thresholds(path, names, req.weights, log)
        conf = base.conf if req.conf is None else req.conf
        extra = make_thresholds(conf, req.class_conf, names)
        log(f"thresholds from {path}: conf {conf:g}, per class {base.describe(names)}")
        th = ClassThresholds(extra.conf, {**base.per_class, **extra.per_class})
        return th, "file+user" if user else "file"
    if not user and ref is not None:
        from grace.deploy.runtime import package_thresholds

        th = package_thresholds(ref, names)
        if th is not None:
            log(f"thresholds from the package {ref.path}: conf {th.conf:g}, per class "
                f"{th.describe(names)}")  # fmt: skip
            return th, "package"
    conf = DEFAULT_CONF if req.conf is None else req.conf
    return make_thresholds(conf, req.class_conf, names), "user" if user else "default"


def _thresholds(req: PredictRequest, predictor: FramePredictor, log: Log):
    return request_thresholds(req, list(predictor.names), log, getattr(predictor, "ref", None))


def run_predict(
    req: PredictRequest,
    predictor: FramePredictor | None = None,
    on_results: Callable[[list[FrameResult]], None] | None = None,
    stop: threading.Event | None = None,
    log: Log | None = stderr_log,
) -> Summary:
    """Run ``req`` to the end of its source (or ``max_frames``, ``duration``, ``stop``, Ctrl-C).

    Parameters
    ----------
    req
        The request; bad input (missing source, not a checkpoint, unknown class in
        ``class_conf``, unreachable stream, ...) is a :class:`GraceError` with one line.
    predictor
        A ready predictor (reused across runs, or a wrapper in tests); by default one is
        loaded from ``req.weights``, and its thresholds are set from ``req``.
    on_results
        Called with each batch of results, in the calling thread (the GUI's worker).
    stop
        Set it from another thread to end the run after the current batch.
    log
        Progress and reconnection lines (default: stderr).

    Returns
    -------
    Summary
    """
    log = log or (lambda _m: None)
    spec = resolve_source(req.source)  # cheap checks before the model loads
    out_dir = output_dir(req, spec)
    check_values(conf=req.conf, iou=req.iou, imgsz=req.imgsz, batch=req.batch,
                 max_det=req.max_det, max_frames=req.max_frames, duration=req.duration,
                 timeout=req.timeout)  # fmt: skip
    check_device(req.device)
    # a camera or stream is opened first: a bad index or URL fails before the model loads
    source = open_source(spec, req.live, req.reconnect, req.timeout, log)
    try:
        if predictor is None:
            predictor = Predictor(req.weights, iou=req.iou, imgsz=req.imgsz, device=req.device,
                                  max_det=req.max_det)  # fmt: skip
            predictor.thresholds, thresholds_from = _thresholds(req, predictor, log)
            predictor.warmup()
        else:
            predictor.thresholds, thresholds_from = _thresholds(req, predictor, log)
        stamp = predictor.model_name
        if out_dir is not None and (req.save_csv or req.save_json):
            stamp = make_stamp(req.weights, predictor.thresholds, time.time())
        outputs = Outputs(out_dir, predictor.names, stamp, req.save_csv,
                          req.save_json, req.save_img, realtime=source.live)  # fmt: skip
    except BaseException:
        source.close()
        raise
    if isinstance(source, LiveSource):
        source.reset_dropped()  # frames that arrived while the model loaded do not count
    summary = Summary(spec.text if spec.kind != "stream" else source.name, source.kind,
                      predictor.model_name, str(req.weights), list(predictor.names))  # fmt: skip
    summary.settings = _settings(req, predictor, batch=1 if source.live else req.batch)
    summary.settings["thresholds_from"] = thresholds_from
    reason = ""
    t0 = last_log = time.perf_counter()

    def halted() -> bool:
        timed_out = req.duration is not None and time.perf_counter() - t0 >= req.duration
        return timed_out or (stop is not None and stop.is_set())

    try:
        if isinstance(source, FileSource):  # decode ahead only where the model is not on the CPU
            batches = source.batches(
                req.batch, halted, getattr(predictor, "device_type", "") == "cuda"
            )
        else:
            batches = source.batches(1, halted)
        for batch in batches:
            if req.max_frames is not None:
                batch = batch[: max(0, req.max_frames - summary.images)]
            results = predictor.predict(batch)
            summary.add(results)
            outputs.write(results)
            if on_results is not None:
                on_results(results)
            now = time.perf_counter()
            if req.progress_every and now - last_log >= req.progress_every:
                last_log = now
                st = source.sync_stats()
                log(f"{summary.images} frames, {summary.images / (now - t0):.1f}/s, "
                    f"{summary.detections} detections, {st.dropped} dropped")  # fmt: skip
            if req.max_frames is not None and summary.images >= req.max_frames:
                reason = "max frames reached"
                break
            if halted():
                break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        elapsed = time.perf_counter() - t0
        if not reason:
            if stop is not None and stop.is_set():
                reason = "stopped"
            elif req.duration is not None and elapsed >= req.duration:
                reason = "duration reached"
            else:
                reason = source.end_reason or "end of source"
        source.close()
        files = outputs.close()
    summary.finish(elapsed, source.sync_stats(), reason)
    for s in summary.skipped:  # in summary.json too; a terminal sees each one here
        log(f"skipped {s['file']}: {s['reason']}")
    summary.out_dir, summary.files = (str(out_dir) if out_dir else None), files
    if out_dir is not None:
        path = out_dir / "summary.json"
        summary.files["summary"] = str(path)
        atomic_write_text(path, json.dumps(summary.as_dict(), indent=2) + "\n")
    return summary
