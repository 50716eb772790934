"""A training in its own process: its command line, its start, its log (no Qt).

The GUI never trains in its own process (Ultralytics issue 11679): :func:`spawn_training` starts
``python -m grace train ... --project P --name N --exist-ok`` in a new session (a crash of either
side does not take the other down) with stdout and stderr in a log file. A new run logs to
:func:`pending_log` beside its future folder, because the engine creates the run folder only
once its checks passed (a failed start leaves no folder); the session moves the log into
``<run>/train.log`` when the folder appears. A resumed run appends to its ``train.log``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grace.config import TrainDefaults

LOG_FILE = "train.log"
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

    def taken(name: str) -> bool:  # a folder, or a run starting (its log waits beside it)
        return (project / name).exists() or pending_log(project / name).exists()

    if not taken(base):
        return base
    i = 2
    while taken(f"{base}-{i}"):
        i += 1
    return f"{base}-{i}"


def pending_log(run_dir: Path) -> Path:
    """Where a new run logs until the engine has created ``run_dir``: a hidden file beside it."""
    return run_dir.parent / f".{run_dir.name}.{LOG_FILE}"


def spawn_training(args: list[str], log_path: Path, nice: int = TRAIN_NICE) -> subprocess.Popen:
    """Start ``python -m grace <args>`` detached from the GUI's session, logging to ``log_path``
    (appended: a resumed run keeps the earlier log; its folder is created), at a lower CPU
    priority (``nice``) than the GUI."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
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


def process_alive(proc: subprocess.Popen | None) -> bool:
    return proc is not None and proc.poll() is None
