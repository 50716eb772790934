"""Training in its own process and a watcher that follows its run directory.

The GUI never trains in its own process (Ultralytics issue 11679): :func:`spawn_training` starts
``python -m grace train ... --project P --name N --exist-ok`` in a new session (a crash of either
side does not take the other down) with stdout and stderr in ``<run>/train.log``.
:func:`watch_run` is a :class:`~grace_gui.workers.qthreading.Worker` job that polls the run
directory: new events (``EventTail``), new log text and the process' exit; it emits
:class:`RunUpdate` batches through ``worker.progress`` and returns a :class:`RunExit`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grace.config import TrainDefaults
from grace.train.events import EVENTS_FILE, EventTail

LOG_FILE = "train.log"
POLL_S = 0.25
FIRST_LOG_BYTES = 256_000  # an opened run shows the end of a long log, not all of it
CHUNK_BYTES = 256_000  # at most this much new log text per update
_PAPER = TrainDefaults()  # the form starts from the paper's protocol
TRAIN_NICE = 5  # the training process yields the CPU to the GUI (it still gets all idle time)


@dataclass
class TrainForm:
    """What the form asks; :func:`train_args` turns it into the command line."""

    data: str
    model: str = _PAPER.model
    variant: str = "grace"
    epochs: int = _PAPER.epochs
    imgsz: int = _PAPER.imgsz
    batch: int = _PAPER.batch
    device: str = ""  # "" auto, "cpu", "0", "0,1"
    weights: str = ""
    workers: int = 8
    extra: list[str] = field(default_factory=list)


def train_args(form: TrainForm, project: Path, name: str) -> list[str]:
    """The ``grace train`` arguments of ``form`` writing to ``project/name``."""
    args = [
        "train",
        "--data",
        form.data,
        "--model",
        form.model,
        "--variant",
        form.variant,
        "--epochs",
        str(form.epochs),
        "--imgsz",
        str(form.imgsz),
        "--batch",
        str(form.batch),
        "--workers",
        str(form.workers),
    ]
    if form.device:
        args += ["--device", form.device]
    if form.weights:
        args += ["--weights", form.weights]
    return [*args, "--project", str(project), "--name", name, "--exist-ok", *form.extra]


def resume_args(run_dir: Path, device: str = "") -> list[str]:
    """``grace train --resume RUN`` (the run keeps its own settings; a device may be changed)."""
    args = ["train", "--resume", str(run_dir)]
    return [*args, "--device", device] if device else args


def free_run_name(project: Path, base: str) -> str:
    """``base``, else ``base-2``, ``base-3`` ...: the first name not present in ``project``."""
    if not (project / base).exists():
        return base
    i = 2
    while (project / f"{base}-{i}").exists():
        i += 1
    return f"{base}-{i}"


def spawn_training(args: list[str], run_dir: Path, nice: int = TRAIN_NICE) -> subprocess.Popen:
    """Start ``python -m grace <args>`` detached from the GUI's session, logging to
    ``run_dir/train.log`` (appended: a resumed run keeps the earlier log), at a lower CPU
    priority (``nice``) than the GUI."""
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", PYTHONUNBUFFERED="1")
    with open(run_dir / LOG_FILE, "ab") as log:
        log.write(f"$ grace {' '.join(args)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "grace", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    lower_priority(proc.pid, nice)
    return proc


def lower_priority(pid: int, nice: int) -> None:
    """Give the training process a lower CPU priority than the GUI (Unix; a no-op elsewhere):
    on a machine with few cores a training that takes them all would otherwise stall the GUI.
    Set right after the start, before the process has made its worker threads (which inherit
    it)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError:
        pass


@dataclass
class RunUpdate:
    """What the watcher found since its last update."""

    events: list[dict] = field(default_factory=list)
    log: str = ""


@dataclass
class RunExit:
    """How the watch ended: the process' exit code (None when no process was watched, or the
    watch was stopped), its last error line and the end of the log."""

    returncode: int | None
    error_line: str = ""
    log_tail: str = ""
    finished: bool = False  # an end or error event was read


class LogTail:
    """New text of a growing log file since the last read (decoded, ``\\r`` progress redraws
    reduced to their last state)."""

    def __init__(self, path: Path, first_bytes: int = FIRST_LOG_BYTES) -> None:
        self.path = path
        self.offset: int | None = None
        self.first_bytes = first_bytes

    def read(self, limit: int = CHUNK_BYTES) -> str:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return ""
        if self.offset is None or size < self.offset:
            self.offset = max(size - self.first_bytes, 0) if self.offset is None else 0
        if size == self.offset:
            return ""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            raw = f.read(min(size - self.offset, limit))
        cut = raw.rfind(b"\n")
        if cut < 0 and len(raw) < limit:
            return ""  # wait for the end of the line
        raw = raw[: cut + 1] if cut >= 0 else raw
        self.offset += len(raw)
        return clean_log(raw.decode("utf-8", errors="replace"))


def clean_log(text: str) -> str:
    """Keep the last redraw of each ``\\r``-updated line; drop ANSI colour codes."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def last_error_line(text: str) -> str:
    """The ``grace: error: ...`` line of a log, else its last non-empty line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("grace: error:") or ln.startswith("grace: "):
            return ln
    return lines[-1] if lines else ""


def log_tail(path: Path, n_bytes: int = 6000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(path.stat().st_size - n_bytes, 0))
            return clean_log(f.read().decode("utf-8", errors="replace"))
    except OSError:
        return ""


def watch_run(
    run_dir: Path, proc: subprocess.Popen | None = None, poll_s: float = POLL_S, follow: bool = True
):
    """A job for :class:`Worker`: follow ``run_dir`` until the process has exited and all of it
    was read; without a process, until an ``end``/``error`` event (or ``follow`` is False:
    read once). ``worker.stop_event`` ends it at any time."""

    def job(worker) -> RunExit:
        events = EventTail(run_dir / EVENTS_FILE)
        log = LogTail(run_dir / LOG_FILE)
        finished = False
        while True:
            rc = proc.poll() if proc is not None else None  # before reading: nothing is missed
            new = events.read()
            text = log.read()
            while len(text) and not worker.stop_event.is_set():  # drain a large backlog
                more = log.read()
                if not more:
                    break
                worker.progress.emit(RunUpdate([], text))
                text = more
            if any(e.get("type") in ("end", "error") for e in new):
                finished = True
            if new or text:
                worker.progress.emit(RunUpdate(new, text))
            if worker.stop_event.is_set():
                return RunExit(None, finished=finished)
            if proc is not None and rc is not None:
                tail = log_tail(run_dir / LOG_FILE)
                return RunExit(rc, last_error_line(tail), tail, finished)
            if proc is None and (finished or not follow):
                return RunExit(None, finished=finished)
            worker.stop_event.wait(poll_s)

    return job


def process_alive(proc: subprocess.Popen | None) -> bool:
    return proc is not None and proc.poll() is None
