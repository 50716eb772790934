"""Train tab: the training form, live plots of a run (spawned process), open and compare runs.

Training runs in its own process (``python -m grace train``, a new session): the GUI only reads
the run directory. A watcher (a Worker on the context's pool) tails ``events.jsonl`` and
``train.log``; its updates go into a :class:`~grace.train.progress.RunSeries` and the plots are
redrawn on a timer at most four times a second, so a burst of events never stalls the GUI.

Quitting while a run is going on leaves it running (it is a separate process that writes its
own run directory); *Open run…* follows it again, and *Stop* works on any unfinished run shown,
the one started by an earlier session included (it writes the run's ``STOP`` file).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from grace.train.events import EVENTS_FILE, request_stop
from grace.train.progress import RunSeries
from grace_gui.demo import Demo
from grace_gui.tabs.base import Tab
from grace_gui.widgets.run_compare import RunCompare
from grace_gui.widgets.train_form import TrainFormWidget
from grace_gui.widgets.train_plots import TrainPlots
from grace_gui.workers.qthreading import Worker
from grace_gui.workers.training import (
    RunExit,
    RunUpdate,
    free_run_name,
    process_alive,
    resume_args,
    spawn_training,
    train_args,
    watch_run,
)

TITLE = "Training"
REDRAW_MS = 100  # one changed plot is drawn per tick (see TrainPlots.draw_next)


class TrainTab(Tab):
    title = "Train"
    checkpoint_ready = Signal(str)  # best.pt of a run that has just finished

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.run_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.watcher: Worker | None = None
        self.series = RunSeries()
        self._dirty = False
        self._live = False  # the shown run's events arrive as they happen (not a finished run)
        self._reported_error = False
        self._stopping = False

        self.form = TrainFormWidget(context.gpus)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("train with these settings in a separate process")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(
            "end the run after its current batch (saves a resumable last.pt)"
        )
        self.stop_button.clicked.connect(self.stop_training)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("continue the shown run from its last.pt")
        self.resume_button.clicked.connect(self.resume_training)
        open_button = QPushButton("Open run…")
        open_button.setToolTip(
            "show a run directory (from this app, the command line or elsewhere)"
        )
        open_button.clicked.connect(self._browse_run)
        compare_button = QPushButton("Add to comparison")
        compare_button.clicked.connect(self._compare_current)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.status_label = QLabel("No run opened")
        self.status_label.setWordWrap(True)
        self.run_label = QLabel("")
        self.run_label.setWordWrap(True)
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_label.setStyleSheet("color:#555")

        buttons = QGridLayout()
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.resume_button, 0, 2)
        buttons.addWidget(open_button, 1, 0, 1, 2)
        buttons.addWidget(compare_button, 1, 2)
        form_box = QGroupBox("Training")
        fb = QVBoxLayout(form_box)
        fb.addWidget(self.form)
        fb.addLayout(buttons)
        run_box = QGroupBox("Run")
        rb = QVBoxLayout(run_box)
        rb.addWidget(self.run_label)
        rb.addWidget(self.progress)
        rb.addWidget(self.status_label)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(form_box)
        lv.addWidget(run_box)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(330)
        scroll.setMaximumWidth(420)

        self.plots = TrainPlots()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(3000)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setPlaceholderText("train.log of the run appears here")
        self.compare = RunCompare(context.pool, context.report("Compare runs"))
        self.bottom = QTabWidget()
        self.bottom.addTab(self.log, "Log")
        self.bottom.addTab(self.compare, "Compare runs")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(self.bottom)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([600, 160])

        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()
        self._update_buttons()

    # ---- Tab --------------------------------------------------------------------------------
    def set_dataset(self, data_yaml: str) -> None:
        """The dataset tab opened ``data_yaml``: offer it in the form."""
        self.form.data.setText(str(data_yaml))

    def prefill(self, data: str, weights: str) -> None:
        """Fill the form's dataset and starting weights (the Review tab's "Fine-tune on it")."""
        self.form.data.setText(str(data))
        self.form.weights.setText(str(weights))

    def restore(self) -> bool:
        state = self.settings.get("train/form")
        if isinstance(state, dict):
            self.form.set_state(state)
        runs = [p for p in self.settings.get("train/compare", []) if Path(p).is_dir()]
        if runs:
            self.compare.set_runs(runs)
        last = self.settings.get("train/last_run")
        if isinstance(last, str) and (Path(last) / EVENTS_FILE).is_file():
            self.open_run(last)
            return True
        return False

    def load_demo(self, demo: Demo) -> None:
        if not self.form.data.text():
            self.form.data.setText(str(demo.data_yaml))
        self.open_run(demo.runs[-1])  # GRACE's run: every plot has data
        self.compare.set_runs([str(p) for p in demo.runs])
        self.bottom.setCurrentWidget(self.compare)  # the demo runs have no train.log

    def save_state(self) -> None:
        self.settings.set("train/form", self.form.state())
        if self.run_dir is not None:
            self.settings.set("train/last_run", str(self.run_dir))
        self.settings.set("train/compare", self.compare.paths)

    def busy(self) -> str:
        if process_alive(self.proc):
            return (
                f"A training run is going on ({self.run_dir}). It keeps running in the background "
                "after quitting; reopen it with Open run… to follow or stop it."
            )
        return ""

    def shutdown(self) -> None:
        """Stop watching; a training process is left to finish on its own (see module doc)."""
        self._timer.stop()
        if self.watcher is not None:
            self.watcher.stop()

    # ---- actions ----------------------------------------------------------------------------
    def start_training(self) -> Path | None:
        """Validate the form, pick a free run name and spawn ``grace train``; the run dir."""
        if process_alive(self.proc):
            self.context.notifications.info(TITLE, f"a run is already going on: {self.run_dir}")
            return None
        form = self.form.value()
        problem = self._form_problem(form)
        if problem:
            self.context.notifications.error(TITLE, problem)
            return None
        project = Path(self.form.project.text().strip() or "runs").expanduser().resolve()
        base = self.form.name.text().strip() or f"{form.variant}-{form.model}"
        run_dir = project / free_run_name(project, base)
        try:
            proc = spawn_training(train_args(form, project, run_dir.name), run_dir)
        except OSError as e:
            self.context.notifications.error(TITLE, f"{run_dir}: cannot start training ({e})")
            return None
        self.settings.set("train/form", self.form.state())
        self.open_run(run_dir, proc)
        self.context.status(f"Training started: {run_dir}")
        return run_dir

    @staticmethod
    def _form_problem(form) -> str:
        if not form.data:
            return "no dataset: choose a data.yaml"
        data = Path(form.data).expanduser()
        if not data.is_file():
            return f"{form.data}: dataset file not found"
        if form.weights and not Path(form.weights).expanduser().is_file():
            return f"{form.weights}: weights file not found"
        return ""

    def stop_training(self) -> None:
        """Write the run's STOP file: the trainer ends after its current batch."""
        if self.run_dir is None or (self.series.finished and not process_alive(self.proc)):
            return
        request_stop(self.run_dir)
        self._stopping = True
        self._dirty = True
        self._update_buttons()

    def resume_training(self) -> None:
        """Continue the shown run (``grace train --resume RUN``) from its last.pt."""
        if self.run_dir is None or process_alive(self.proc):
            return
        last = self.run_dir / "weights" / "last.pt"
        if not last.is_file():
            self.context.notifications.error(TITLE, f"{last}: no last.pt to resume from")
            return
        run_dir = self.run_dir
        proc = spawn_training(resume_args(run_dir, self.form.value().device), run_dir)
        self.open_run(run_dir, proc)

    def open_run(self, run_dir: str | Path, proc: subprocess.Popen | None = None) -> None:
        """Show ``run_dir``: every event so far, then what it appends while it is written."""
        if self.watcher is not None:
            self.watcher.stop()
        self.run_dir = Path(run_dir).resolve()
        self.proc = proc
        self.series = RunSeries()
        self._live = proc is not None
        self._reported_error = False
        self._stopping = False
        self.log.clear()
        self.log.setPlaceholderText(
            "train.log of the run appears here (runs started from the command line have none: "
            "their output went to the terminal)"
        )
        self.run_label.setText(str(self.run_dir))
        self.settings.set("train/last_run", str(self.run_dir))
        worker = Worker(watch_run(self.run_dir, proc))
        worker.progress.connect(lambda update, w=worker: self._on_update(w, update))
        worker.result.connect(lambda done, w=worker: self._on_exit(w, done))
        worker.error.connect(self.context.report(TITLE))
        self.watcher = worker
        self._dirty = True
        self._update_buttons()
        worker.start(self.context.pool)

    def _browse_run(self) -> None:
        start = str(self.run_dir.parent) if self.run_dir else self.form.project.text()
        path = QFileDialog.getExistingDirectory(self, "Open run directory", start)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open a run directory chosen by the user; a clear message if it is not one."""
        if not (Path(path) / EVENTS_FILE).is_file():
            self.context.notifications.error(
                TITLE, f"{path}: not a run directory (no events.jsonl)"
            )
            return False
        self.open_run(path)
        return True

    def _compare_current(self) -> None:
        if self.run_dir is not None:
            self.compare.add_run(str(self.run_dir))
            self.bottom.setCurrentWidget(self.compare)

    # ---- watcher ----------------------------------------------------------------------------
    def _on_update(self, worker: Worker, update: RunUpdate) -> None:
        if worker is not self.watcher:
            return  # a run that is no longer shown
        if update.log:
            self.log.appendPlainText(update.log.rstrip("\n"))
        if not update.events:
            return
        self.series.add(update.events)
        self._dirty = True
        for e in update.events:
            if e.get("type") == "error" and not self._reported_error:
                self._reported_error = True
                self.context.notifications.error(
                    TITLE,
                    f"{self.run_dir.name}: {e.get('message', 'training failed')}",
                    e.get("traceback", ""),
                )
            elif e.get("type") == "end" and self._live:
                best = e.get("best")
                if best and Path(best).is_file():
                    self.checkpoint_ready.emit(str(best))
                self.compare.add_run(str(self.run_dir))
        self._live = True  # after the backlog, whatever comes is live
        self._update_buttons()

    def _on_exit(self, worker: Worker, done: RunExit) -> None:
        if worker is not self.watcher:
            return
        if done.returncode not in (None, 0) and not self._reported_error:
            self._reported_error = True
            line = done.error_line or f"exited with code {done.returncode}"
            self.context.notifications.error(TITLE, line, done.log_tail)
        self._dirty = True
        self._update_buttons()

    # ---- drawing ----------------------------------------------------------------------------
    def _redraw(self) -> None:
        if not self._dirty:
            self.plots.draw_next()
            return
        self._dirty = False
        self.plots.set_series(self.series)
        self.plots.draw_next()
        done, total = self.series.progress()
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.status_label.setText(self._status_text())

    def _status_text(self) -> str:
        if self.run_dir is None:
            return "No run opened"
        s = self.series
        rc = self.proc.poll() if self.proc is not None else None
        if rc not in (None, 0) and not s.finished:
            return f"the training process exited with code {rc} (see the log)"
        if rc is None and self.proc is not None and s.start_time is None:
            return "starting the training process…"
        text = s.status()
        if s.finished and s.best and self.run_dir is not None:
            # the end event's path is where it was trained: look in this folder
            best = Path(self.run_dir) / "weights" / Path(s.best).name
            missing = "; its weights are not in this folder"
            text += f"; best: weights/{best.name}" if best.is_file() else missing
        if self._stopping and not s.finished:
            text += "; stopping after the current batch…"
        return text

    def _update_buttons(self) -> None:
        running = process_alive(self.proc)
        unfinished = self.run_dir is not None and not self.series.finished
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(
            unfinished and not self._stopping and (running or self.series.n_events > 0)
        )
        can_resume = (
            self.run_dir is not None
            and not running
            and (self.series.stopped or self.series.error is not None)
            and (self.run_dir / "weights" / "last.pt").is_file()
        )
        self.resume_button.setEnabled(can_resume)
