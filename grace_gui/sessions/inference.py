"""The Inference session (no Qt): the models offered and the one chosen, the source, the
thresholds, the run (idle, running, paused, stopping) and its results, exports.

A run is the engine's :func:`grace.infer.run.run_predict` in a thread at a low floor threshold
(a "Watch folder" source runs ``grace inspect``'s :func:`~grace.deploy.inspect.run_inspect`
instead, :mod:`grace_gui.sessions.inference_watch`, with OK/NG counters); its records all reach
:attr:`InferenceSession.results`, but only the newest frame is kept for display.
:meth:`InferenceSession.poll`, called by the tab on the GUI thread (:func:`refresh_ms`), or
by :meth:`InferenceSession.wait` in a script or test, takes what arrived and emits the
signals there, so widgets connected to them are only ever called on the GUI thread, and a
live source that outpaces the screen never builds a queue. Thresholds filter the results at once,
without running again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path

from psygnal import Signal

from grace.infer.stamp import RunStamp
from grace.infer.thresholds import ClassThresholds
from grace_gui.sessions.inference_export import write_annotated, write_records
from grace_gui.sessions.inference_job import PREDICTORS, FrameStore, ResultBuffer, make_job
from grace_gui.sessions.inference_models import ModelEntry, model_entry
from grace_gui.sessions.inference_results import Results
from grace_gui.sessions.inference_watch import (
    WATCH,
    Tally,
    VerdictTally,
    WatchSummary,
    make_watch_job,
)
from grace_gui.sessions.polled_jobs import PolledJobs

FLOOR = 0.05  # a run predicts at min(FLOOR, thresholds); the thresholds then filter, no re-run
LIVE_KINDS = ("Video file", "Camera", "Stream URL")


def refresh_ms(kind: str) -> int:
    """How often the view takes what a run of source ``kind`` produced: 25 times a second for
    moving pictures, 5 times for files (a folder at 100 images/s cannot be watched image by
    image, and every refresh repaints the table and the view on the GUI thread, time taken
    from the model on a small CPU). A run's end is delivered at once either way (the wake).

    >>> refresh_ms("Camera"), refresh_ms("Folder")
    (40, 200)
    """
    return 40 if kind in LIVE_KINDS else 200


def skipped_message(skipped: Sequence[Mapping]) -> tuple[str, str]:
    """``("2 file(s) skipped: a.jpg, b.jpg", "<path>: <reason> per line")`` for a summary's
    skipped files (``("", "")`` when none).

    >>> skipped_message([{"file": "/d/a.jpg", "reason": "empty file"}])
    ('1 file(s) skipped: a.jpg', '/d/a.jpg: empty file')
    """
    if not skipped:
        return "", ""
    names = ", ".join(Path(s["file"]).name for s in skipped[:3])
    more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    details = "\n".join(f"{s['file']}: {s['reason']}" for s in skipped)
    return f"{len(skipped)} file(s) skipped: {names}{more}", details


def end_notice(summary) -> tuple[str, str, str] | None:
    """What the tab tells when a run ends: ``(message, details, level)`` — the files skipped
    (a warning), and for a watched folder where its results are, to be reviewed; ``None``
    when there is nothing to tell."""
    skipped = skipped_message(summary.skipped)
    if isinstance(summary, WatchSummary):
        store = summary.inspect.store
        hint = (f"results in {store} (the Review tab opens it: Open review store…, for the "
                "detections near their threshold)")  # fmt: skip
        if skipped[0]:
            return f"{skipped[0]}; {hint}", skipped[1], "warning"
        return f"{summary.counts()}; {hint}", "", "info"
    return (*skipped, "warning") if skipped[0] else None


class RunState(str, Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


class InferenceSession:
    """What the Inference tab shows and runs (see the module docstring)."""

    models_changed = Signal()  # the list of models offered
    model_changed = Signal(object)  # the chosen ModelEntry (or None)
    classes_changed = Signal(list)  # the chosen model's class names, once loaded
    thresholds_changed = Signal(object)  # ClassThresholds
    state_changed = Signal(str)  # a RunState value
    results_reset = Signal()  # a run starts: the results are empty again
    results_added = Signal(object)  # a Drained: new frames, records, the newest frame
    finished = Signal(object)  # the run's Summary, or None when it failed
    failed = Signal(str, str)  # one-line message, details
    frame_loaded = Signal(int, object)  # frame id, BGR image (asked with load_frame)
    frame_failed = Signal(int, str)  # frame id, why it cannot be shown
    exported = Signal(object)  # rows or images written, or None when the export failed
    busy_changed = Signal(bool)  # a job runs (poll() has work)
    verdicts_changed = Signal()  # a watch is ready, or counted a file (a corrupt one too)

    def __init__(self, cache=PREDICTORS) -> None:
        self.cache = cache
        self.models: list[ModelEntry] = []
        self.model: ModelEntry | None = None
        self.source, self.kind, self.device = "", "", "cpu"
        self.names: list[str] = []
        self.thresholds = ClassThresholds(0.25)
        self._by_name: dict[str, float] = {}  # own class thresholds waiting for the class names
        self.results = Results()
        self.kept = FrameStore()  # video / live frames with detections, for the table
        self.summary = None
        self.tally: VerdictTally | None = None  # a watch's OK/NG counters
        self.stamp: RunStamp | None = None  # the run's model path and hash
        self.started_at = 0.0
        self.state = RunState.IDLE
        self._jobs = PolledJobs()
        self._buffer = ResultBuffer()
        self._stop, self._resume = None, None
        self._held: threading.Event | None = None
        self._pending: tuple[str, str] | None = None
        self._run_model: ModelEntry | None = None
        self._seen: Tally | None = None  # a watch's counters as last announced
        self._frame_token = 0
        self._busy = False

    # models ----------------------------------------------------------------------------------
    def add_model(self, path: str | Path, select: bool = False) -> ModelEntry:
        """Offer ``path`` (first in the list); chosen only when asked (a training that ends
        offers its checkpoint but never changes the user's model)."""
        path = str(path)
        entry = next((m for m in self.models if m.path == path), None)
        if entry is None:
            entry = model_entry(path)
            self.models.insert(0, entry)
            self.models_changed.emit()
        if select:
            self.select_model(path)
        return entry

    def select_model(self, path: str | Path, own_thresholds: bool = True) -> None:
        """Choose an offered model and read its classes in the background; a package's own
        thresholds (its ``thresholds.json``, what ``grace predict`` and ``grace inspect`` judge
        by) then become the sliders' unless ``own_thresholds`` is false (a restored setup
        keeps the user's)."""
        entry = next((m for m in self.models if m.path == str(path)), None) or self.add_model(path)
        if entry == self.model:
            return
        self.model = entry
        self.model_changed.emit(entry)
        device = self.device

        def read() -> tuple[list[str], ClassThresholds | None]:
            from grace.deploy.runtime import package_thresholds, resolve_model

            names = list(self.cache.get(entry.path, device).names)
            own = package_thresholds(resolve_model(entry.path), names) if own_thresholds else None
            return names, own

        def done(read_out) -> None:
            if entry != self.model:
                return
            names, own = read_out
            self._set_names(names)
            if own is not None:
                self._by_name = {}
                self.set_thresholds(own)

        self._submit(read, done, self._report)

    def _set_names(self, names: Sequence[str]) -> None:
        names = list(names)
        if names == self.names:
            return
        keep = self._by_name or self.class_conf_by_name()
        self.names = names
        self.results.names = names
        per_class = {i: float(keep[n]) for i, n in enumerate(names) if n in keep}
        self._by_name = {}
        self.classes_changed.emit(names)
        self.set_thresholds(ClassThresholds(self.thresholds.conf, per_class))

    # thresholds ------------------------------------------------------------------------------
    def set_thresholds(self, thresholds: ClassThresholds) -> None:
        """Filter the results at once (no re-run)."""
        self.thresholds = thresholds
        self.results.set_thresholds(thresholds)
        self.thresholds_changed.emit(thresholds)

    def use_calibrated(self, weights: str, conf: float, by_name: Mapping[str, float]) -> None:
        """Choose ``weights`` with its calibrated thresholds (the Evaluate tab's *Use in
        Inference*): the global one and each class's by name; a class the names read so far
        lack is applied once the model's names are read (a package's own thresholds give
        way to these)."""
        self.add_model(weights)
        self.select_model(weights, own_thresholds=False)
        by_name = {str(k): float(v) for k, v in by_name.items()}
        per_class = {i: by_name[n] for i, n in enumerate(self.names) if n in by_name}
        self._by_name = by_name if set(by_name) - set(self.names) else {}
        self.set_thresholds(ClassThresholds(float(conf), per_class))

    def class_conf_by_name(self) -> dict[str, float]:
        """Own class thresholds by class name (what settings keep)."""
        names = self.names
        return {names[c]: v for c, v in self.thresholds.per_class.items() if c < len(names)}

    @property
    def floor(self) -> float:
        """The threshold a new run predicts at."""
        return min(FLOOR, self.thresholds.floor)

    # run -------------------------------------------------------------------------------------
    def set_source(self, source: str, kind: str = "") -> None:
        self.source, self.kind = str(source).strip(), kind

    @property
    def running(self) -> bool:
        return self.state is not RunState.IDLE

    def start(self, source: str | None = None, weights: str | None = None) -> bool:
        """Run the chosen (or given) model on the chosen (or given) source; a run going on is
        stopped first and this one starts when it has ended. ``False`` when it did not start
        now (``failed`` says why when something is missing)."""
        if weights:
            self.add_model(weights, select=True)
        if source is not None:
            self.set_source(source, self.kind)
        if self.model is None or not self.source:
            what = "a model (Model → Browse…)" if self.model is None else "a source"
            self.failed.emit(f"choose {what} first", "")
            return False
        if self.running:
            self._pending = (self.model.path, self.source)
            self.stop()
            return False
        self._buffer, self.summary, self.stamp = ResultBuffer(), None, None
        self._run_model = self.model  # the user may choose another while this one runs
        self._stop, self._resume = threading.Event(), threading.Event()
        self._held = threading.Event()
        self._resume.set()
        self.results.reset(self.names)
        self.results.set_thresholds(self.thresholds)
        self.kept.clear()
        self.started_at = time.time()
        job = self._job()  # a watch's counters exist before its state is shown
        self._seen = None
        self._set_state(RunState.RUNNING)
        self.results_reset.emit()
        self._submit(job, self._run_done, self._run_failed)
        return True

    def _job(self):
        """The run's job: a watch of the folder, or a prediction over the source."""
        from grace.infer.run import PredictRequest

        if self.kind == WATCH:
            self.tally = VerdictTally()
            return make_watch_job(self.model.path, self.source, self.device, self.thresholds,
                                  self._buffer, self.tally, self._resume, self._stop,
                                  self.cache, self._held)  # fmt: skip
        self.tally = None
        req = PredictRequest(self.model.path, self.source, conf=self.floor, device=self.device,
                             progress_every=0)  # fmt: skip
        return make_job(req, self._buffer, self._resume, self._stop, self.cache, self._held)

    def verdicts(self) -> Tally | None:
        """A watch's OK/NG counters now (``None`` when the last run was not a watch)."""
        return self.tally.snapshot() if self.tally is not None else None

    def pause(self) -> None:
        """Hold the run after its current batch (a live source keeps dropping frames; a watch
        finishes the image it has taken, files dropped meanwhile wait in the folder)."""
        if self.state is RunState.RUNNING:
            self._resume.clear()
            self._set_state(RunState.PAUSED)

    def holding(self) -> bool:
        """Paused and actually held: the batch that was in flight has been delivered."""
        held = self._held
        return self.state is RunState.PAUSED and held is not None and held.is_set()

    def resume(self) -> None:
        if self.state is RunState.PAUSED:
            self._resume.set()
            self._set_state(RunState.RUNNING)

    def stop(self) -> None:
        """End the run after its current batch."""
        if self.running:
            self._stop.set()
            self._resume.set()
            self._set_state(RunState.STOPPING)

    def fps(self) -> float:
        return self._buffer.fps()

    def status_text(self) -> str:
        """One line on the run: going on, or how the last one ended (``""`` before any)."""
        if self.running and self.tally is not None:
            t = self.tally.snapshot()
            what = t.text() if t.files else "waiting for new images" if self.stamp else "loading"
            return f"{self.state.value} · watching {Path(self.source).name} · {what}"
        if self.running:
            frames = len(self.results.frames)
            return f"{self.state.value} · {frames} frames · {self.fps():.1f} FPS"
        m = self.summary
        if m is None:
            return ""
        if isinstance(m, WatchSummary):
            return m.line()
        dropped = f" · {m.dropped} dropped" if m.dropped else ""
        return (f"{m.stop_reason} · {m.images} frames in {m.elapsed_s:.1f} s · "
                f"{m.throughput_ips:.1f} FPS{dropped}")  # fmt: skip

    def placeholder(self) -> str:
        """What the view says until a run's first image."""
        m = self.model.name if self.model else ""
        if self.kind == WATCH:
            return (f"Loading {m}, then watching {self.source}: each new image is judged OK/NG "
                    "once it is fully written")  # fmt: skip
        return f"Loading {m} and opening {self.source} …"

    def _drain(self) -> None:
        buf = self._buffer
        if buf.names is not None and self.stamp is None:
            self.stamp = buf.stamp
            if self._run_model == self.model:
                self._set_names(buf.names)
            else:  # the rows are the run's model's; the sliders stay the chosen model's
                self.results.names = list(buf.names)
        d = buf.drain()
        if d.frames or d.latest is not None:
            self.results.add(d)
            self.kept.add(d.kept)
            self.results_added.emit(d)
        tally = self.tally.snapshot() if self.tally is not None and self.stamp else None
        if tally is not self._seen:  # ready, or a file counted that brought no frame
            self._seen = tally
            self.verdicts_changed.emit()

    def _run_done(self, summary) -> None:
        self._drain()
        self.summary = summary
        self._ended(summary)

    def _run_failed(self, message: str, details: str) -> None:
        self._drain()
        self.failed.emit(message, details)
        self._ended(None)

    def _ended(self, summary) -> None:
        self._set_state(RunState.IDLE)
        self.finished.emit(summary)
        if self._pending is not None:
            weights, source = self._pending
            self._pending = None
            self.start(source, weights)

    def _set_state(self, state: RunState) -> None:
        if state is not self.state:
            self.state = state
            self.state_changed.emit(state.value)

    # the GUI thread's side -------------------------------------------------------------------
    def set_wake(self, wake) -> None:
        """``wake()`` is called from a job's thread as soon as its outcome waits (the tab
        queues a :meth:`poll` on the GUI thread, so a run's end is shown without waiting for
        the next tick); ``None`` to stop."""
        self._jobs.wake = wake

    def poll(self) -> None:
        """Take what the jobs produced and emit it, in the caller's thread."""
        if self.running:
            self._drain()
        self._jobs.poll()
        self._update_busy()

    def wait(self, timeout: float = 120.0) -> bool:
        """Poll until no job runs (scripts and tests); ``False`` on timeout."""
        return self._jobs.wait(self.poll, lambda: not self._jobs.busy, timeout)

    def _submit(self, fn, done, failed) -> None:
        self._jobs.submit(fn, done, failed)
        self._update_busy()

    def _update_busy(self) -> None:
        if self._jobs.busy != self._busy:
            self._busy = not self._busy
            self.busy_changed.emit(self._busy)

    def _report(self, message: str, details: str) -> None:
        self.failed.emit(message, details)

    # frames ----------------------------------------------------------------------------------
    def load_frame(self, frame_id: int) -> None:
        """Read a frame of the results (files are read in a thread): ``frame_loaded`` or
        ``frame_failed`` follows; only the last one asked for is answered."""
        from grace.images import try_read_image

        self._frame_token += 1
        token, info = self._frame_token, self.results.frames[frame_id]
        if info.is_video:
            image = self.kept.get(frame_id)
            if image is None:
                self.frame_failed.emit(
                    frame_id,
                    f"{info.name} was not kept (only the latest "
                    "video frames with detections are kept, up to 256 MB)",
                )
            else:
                self.frame_loaded.emit(frame_id, image)
            return

        def read(outcome) -> None:
            if token != self._frame_token:
                return  # another frame was asked for meanwhile
            image, reason = outcome
            if image is None:
                self.frame_failed.emit(frame_id, f"{info.source}: {reason}")
            else:
                self.frame_loaded.emit(frame_id, image)

        self._submit(lambda: try_read_image(info.source), read,
                     lambda m, _d: self.frame_failed.emit(frame_id, m))  # fmt: skip

    # exports ---------------------------------------------------------------------------------
    def export_stamp(self) -> RunStamp:
        """The model of the results shown, the thresholds in force now, the run's start."""
        s = self.stamp or RunStamp(Path(self.model.path).name if self.model else "")
        return RunStamp(s.model, s.model_path, s.model_sha256, self.thresholds, self.started_at)

    def export_records(self, path: str | Path, records: Sequence[int] | None = None) -> None:
        """CSV or JSON (by suffix) of ``records`` (default: every row's), in a thread."""
        det = self.results.snapshot(self.export_stamp(), records)
        self._export(lambda: write_records(det, path))

    def export_images(self, folder: str | Path, records: Sequence[int] | None = None) -> None:
        """Annotated images (the rows' detections, drawn by the engine) into ``folder``."""
        det = self.results.snapshot(self.export_stamp(), records, self.kept.as_dict())
        self._export(lambda: write_annotated(det, folder))

    def _export(self, fn) -> None:
        def failed(message: str, details: str) -> None:
            self.failed.emit(message, details)
            self.exported.emit(None)

        self._submit(fn, self.exported.emit, failed)

    # setup -----------------------------------------------------------------------------------
    def setup(self) -> dict:
        """What a launch restores: the models, the chosen one, the source, the thresholds."""
        return {"models": [m.path for m in self.models][:10],
                "model": self.model.path if self.model else "", "source": self.source,
                "source_kind": self.kind, "conf": self.thresholds.conf,
                "class_conf": self.class_conf_by_name() or self._by_name}  # fmt: skip

    def restore_setup(self, setup: Mapping) -> bool:
        """Offer the models that still exist and choose the model, source and thresholds of
        ``setup`` — without running. ``False`` when its model or source is gone."""
        for path in reversed([p for p in setup.get("models", []) if Path(str(p)).exists()]):
            self.add_model(path, select=False)
        model, source = str(setup.get("model", "")), str(setup.get("source", ""))
        kind = str(setup.get("source_kind", ""))
        live = kind in ("Camera", "Stream URL")
        if not model or not Path(model).exists() or not source:
            return False
        if not live and not Path(source).exists():
            return False
        conf, by_name = setup.get("conf"), setup.get("class_conf")
        if isinstance(by_name, dict):
            self._by_name = {str(k): float(v) for k, v in by_name.items()}
        if isinstance(conf, (int, float)):
            self.set_thresholds(ClassThresholds(float(conf), self.thresholds.per_class))
        self.set_source(source, kind)
        self.select_model(model, own_thresholds=False)
        return True
