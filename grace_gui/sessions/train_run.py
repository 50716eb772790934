"""The Train tab's session (no Qt): the run shown, its training process, events and log.

A :class:`TrainRunSession` starts ``grace train`` in its own process (see
:mod:`grace_gui.sessions.training_process`), or opens a run folder written by anyone, and follows
it from a watcher thread: new events go into :attr:`series` (a
:class:`~grace.train.progress.RunSeries`, read under :attr:`lock`), new log text is announced by
:attr:`log_added`, and what the buttons may do follows the events, not the process: a run is
over as soon as its ``end`` or ``error`` event is read (the process then still takes seconds to
exit, which blocks nothing).

Signals (psygnal) are emitted from the watcher thread; a view delivers them to its own thread.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from psygnal import Signal

from grace.errors import GraceError
from grace.train.events import EVENTS_FILE, EventTail, request_stop
from grace.train.progress import RunSeries
from grace_gui.sessions.train_estimate import Estimate, cpu_estimate, on_cpu
from grace_gui.sessions.training_process import (
    LOG_FILE,
    LogTail,
    TrainForm,
    free_run_name,
    last_error_line,
    log_tail,
    pending_log,
    process_alive,
    resume_args,
    spawn_training,
    train_args,
)

POLL_S = 0.25


def form_problem(form: TrainForm) -> str:
    """What stops ``form`` from starting, in one line naming the file or value, else ``""``:
    the dataset as the engine reads it, the weights opened as a checkpoint (as ``grace train``
    checks ``--weights``), the numbers in their ranges."""
    from grace.argcheck import check_values
    from grace.data.yolo_layout import read_yolo_dataset

    if not form.data:
        return "no dataset: choose a data.yaml"
    if not Path(form.data).expanduser().exists():
        return f"{form.data}: dataset file not found"
    try:
        read_yolo_dataset(Path(form.data).expanduser())
        check_values(epochs=form.epochs, imgsz=form.imgsz, batch=form.batch, workers=form.workers)
        if form.weights:
            check_weights(form.weights)
    except GraceError as e:
        return str(e)
    return ""


def check_weights(weights: str) -> None:
    """``--weights`` as the engine checks it: a ``.pt`` file (not a folder) holding a model."""
    from grace.nn.checkpoint import check_checkpoint_path
    from grace.train.checkpoints import check_weights_checkpoint

    path = Path(weights).expanduser()
    check_checkpoint_path(path)
    check_weights_checkpoint(path)


def train_images(data: str) -> int:
    """Images in the dataset's train split (as the engine reads it)."""
    from grace.data.yolo_layout import read_yolo_dataset

    return len(read_yolo_dataset(Path(data).expanduser()).splits["train"][1])


class TrainRunSession:
    """The run shown in the Train tab and what may be done with it."""

    changed = Signal()  # series, status or what the buttons may do changed
    log_added = Signal(str)  # new text of the run's log
    started = Signal(str)  # the run folder, once the run's start event was read
    failed = Signal(str, str)  # one line and the details (log tail or traceback)
    checkpoint_ready = Signal(str)  # best.pt of a run followed live that has just finished
    run_ended = Signal(str)  # the folder of a run followed live that has just ended

    def __init__(self, gpus: list[str] | None = None) -> None:
        self.gpus = list(gpus or [])
        self.lock = threading.Lock()  # held while the watcher changes `series`
        self.run_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.series = RunSeries()
        self.stopping = False
        self.start_failure = ""  # why the last start did not start
        self._live_started = False  # the process' own start event was read
        self._live_ended = False  # ... and its end or error event (it may still be exiting)
        self._watch: _Watch | None = None

    # ---- state ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A training process of the shown run is going on (its end event not read yet; a
        resumed run's earlier end event does not count)."""
        return process_alive(self.proc) and not self._live_ended

    def can_start(self) -> bool:
        return not self.running

    def can_stop(self) -> bool:
        """Once the process has started training (a STOP file written before is removed by the
        trainer as it starts), or for an unfinished run of another session."""
        s = self.series
        if self.run_dir is None or self.stopping:
            return False
        if self.proc is not None:
            return self.running and self._live_started
        return not s.finished and s.n_events > 0

    def can_resume(self) -> bool:
        s = self.series
        return (
            self.run_dir is not None
            and not self.running
            and (s.stopped or s.error is not None)
            and (self.run_dir / "weights" / "last.pt").is_file()
        )

    def busy_text(self) -> str:
        if not self.running:
            return ""
        return (
            f"A training run is going on ({self.run_dir}). It keeps running in the background "
            "after quitting; reopen it with Open run… to follow or stop it."
        )

    def status_text(self) -> str:
        """One line: where the shown run is."""
        if self.run_dir is None:
            return f"not started: {self.start_failure}" if self.start_failure else "No run opened"
        s = self.series
        rc = self.proc.poll() if self.proc is not None else None
        if rc not in (None, 0) and not s.finished:
            return f"the training process exited with code {rc} (see the log)"
        if self.running and not self._live_started:
            return "starting the training process (checking the dataset and weights)…"
        text = s.status()
        if s.finished and s.best:
            best = self.run_dir / "weights" / Path(s.best).name  # where it is now, not was
            text += f"; best: weights/{best.name}" if best.is_file() else "; no weights here"
        if self.stopping and not s.finished:
            text += "; stopping after the current batch…"
        return text

    def estimate(self, form: TrainForm) -> Estimate | None:
        """The estimated duration when ``form`` trains on the CPU (None on a GPU)."""
        if not on_cpu(form.device, self.gpus):
            return None
        return cpu_estimate(form, train_images(form.data))

    # ---- actions ----------------------------------------------------------------------------
    def start(self, form: TrainForm, project: Path, name: str = "") -> Path:
        """Check ``form`` and spawn ``grace train`` into a free run folder of ``project``; the
        run folder (created by the engine once its own checks passed). :class:`GraceError`
        with one line when it cannot start."""
        if self.running:
            raise GraceError(f"a run is already going on: {self.run_dir}")
        problem = form_problem(form)
        if problem:
            raise GraceError(problem)
        project = Path(project).expanduser().resolve()
        run_dir = project / free_run_name(project, name or f"{form.variant}-{form.model}")
        log = pending_log(run_dir)
        try:
            proc = spawn_training(train_args(form, project, run_dir.name), log)
        except OSError as e:
            raise GraceError(f"{run_dir}: cannot start training ({e.strerror or e})") from None
        self.open_run(run_dir, proc, log)
        return run_dir

    def stop(self) -> None:
        """Write the run's STOP file: the trainer ends after its current batch."""
        if not self.can_stop():
            return
        request_stop(self.run_dir)
        self.stopping = True
        self.changed.emit()

    def resume(self, device: str = "") -> None:
        """Continue the shown run (``grace train --resume RUN``) from its last.pt; the log and
        the plots follow it on."""
        if self.run_dir is None or self.running:
            return
        last = self.run_dir / "weights" / "last.pt"
        if not last.is_file():
            raise GraceError(f"{last}: no last.pt to resume from")
        run_dir = self.run_dir
        try:
            proc = spawn_training(resume_args(run_dir, device), run_dir / LOG_FILE)
        except OSError as e:
            raise GraceError(f"{run_dir}: cannot resume ({e.strerror or e})") from None
        self.open_run(run_dir, proc)

    def open_run(
        self, run_dir: str | Path, proc: subprocess.Popen | None = None, log: Path | None = None
    ) -> None:
        """Show ``run_dir``: every event so far, then what it appends while it is written.
        ``proc`` is its training process, ``log`` where that logs (default ``train.log``)."""
        self.close()
        run_dir = Path(run_dir).resolve()
        with self.lock:
            self.run_dir, self.proc = run_dir, proc
            self.series = RunSeries()
            self.stopping = False
            self.start_failure = ""
            self._live_started = self._live_ended = False
        self._watch = _Watch(self, run_dir, proc, log or run_dir / LOG_FILE)
        self.changed.emit()
        self._watch.start()

    def close(self) -> None:
        """Stop following (a training process is left to run: it is not ours to end)."""
        if self._watch is not None:
            self._watch.stop_event.set()
            self._watch = None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the watcher has read everything and ended (a finished run, or a process
        that exited); False on timeout. For scripts and tests."""
        watch = self._watch
        if watch is None:
            return True
        watch.join(timeout)
        return not watch.is_alive()

    # ---- from the watcher -------------------------------------------------------------------
    def _take(self, watch: _Watch, events: list[dict], text: str) -> None:
        if watch is not self._watch:
            return  # a run no longer shown
        if text:
            self.log_added.emit(text)
        if not events:
            return
        live = watch.live
        with self.lock:
            self.series.add(events)
        for e in events:
            kind = e.get("type")
            if kind == "start" and live and watch.proc is not None:
                self._live_started = True
                self.started.emit(str(watch.run_dir))
            if kind in ("end", "error") and live and watch.proc is not None:
                self._live_ended = True
            if kind == "error" and not watch.reported and (live or watch.proc is None):
                watch.reported = True
                name = watch.run_dir.name
                self.failed.emit(f"{name}: {e.get('message', 'training failed')}",
                                 e.get("traceback", ""))  # fmt: skip
            elif kind == "end" and live:
                best = e.get("best")
                if best and Path(best).is_file():
                    self.checkpoint_ready.emit(str(best))
                self.run_ended.emit(str(watch.run_dir))
        self.changed.emit()

    def _exited(self, watch: _Watch, returncode: int | None, tail: str) -> None:
        if watch is not self._watch:
            return
        if returncode not in (None, 0) and not watch.reported:
            watch.reported = True
            line = last_error_line(tail) or f"exited with code {returncode}"
            if not watch.run_dir.is_dir():  # the engine refused before making the folder
                with self.lock:
                    self.run_dir, self.proc = None, None
                    self.series = RunSeries()
                    self.start_failure = line
            self.failed.emit(line, tail)
        self.changed.emit()


class _Watch(threading.Thread):
    """Polls one run folder: events, log text, the process' exit."""

    def __init__(
        self, session: TrainRunSession, run_dir: Path, proc: subprocess.Popen | None, log: Path
    ) -> None:
        super().__init__(name=f"watch {run_dir.name}", daemon=True)
        self.session, self.run_dir, self.proc = session, run_dir, proc
        self.stop_event = threading.Event()
        self.live = False  # the first read is the backlog (a resumed run's earlier events)
        self.reported = False
        self.events = EventTail(run_dir / EVENTS_FILE)
        self.log = LogTail(log)

    def run(self) -> None:
        finished = False
        while not self.stop_event.is_set():
            rc = self.proc.poll() if self.proc is not None else None  # before reading
            self._adopt_log()
            new = self.events.read()
            text = self.log.read()
            while text and not self.stop_event.is_set():  # a large backlog, in chunks
                more = self.log.read()
                if not more:
                    break
                self.session._take(self, [], text)
                text = more
            finished = finished or any(e.get("type") in ("end", "error") for e in new)
            if new or text:
                self.session._take(self, new, text)
            self.live = True  # after the backlog, whatever comes is live
            if self.proc is not None and rc is not None:
                self._finish(rc)
                return
            if self.proc is None and finished:
                return
            self.stop_event.wait(POLL_S)

    def _adopt_log(self) -> None:
        """Move a new run's log into its folder as soon as the engine has created it."""
        target = self.run_dir / LOG_FILE
        if self.log.path != target and self.run_dir.is_dir():
            try:
                os.replace(self.log.path, target)  # same folder tree: the process keeps writing
                self.log.path = target
            except FileNotFoundError:
                self.log.path = target
            except OSError:
                pass  # stays where it is; read from there

    def _finish(self, rc: int) -> None:
        tail = log_tail(self.log.path)
        if self.log.path != self.run_dir / LOG_FILE and not self.run_dir.is_dir():
            self.log.path.unlink(missing_ok=True)  # its text goes with the failure report
        self.session._exited(self, rc, tail)
