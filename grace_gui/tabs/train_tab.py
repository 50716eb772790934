"""Train tab: a view over a :class:`~grace_gui.sessions.train_run.TrainRunSession` (the run, its
process and watcher) and a :class:`~grace_gui.sessions.compare.CompareSession` (the Compare
table). The sessions' signals reach the GUI thread through psygnal's queued connections,
drained by the tab's timer (no Qt call from a watcher thread), one plot per tick. Quitting leaves
a run going (its own process); *Open run…* follows it again, *Stop* works on any unfinished run.
"""

from __future__ import annotations

from pathlib import Path

from psygnal import emit_queued
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from grace.errors import GraceError
from grace.train.events import EVENTS_FILE
from grace_gui.demo import Demo
from grace_gui.sessions.train_run import TrainRunSession, form_problem
from grace_gui.tabs.base import Tab
from grace_gui.widgets.run_compare import RunCompare
from grace_gui.widgets.run_panels import RunBox, RunLog
from grace_gui.widgets.train_form import TrainFormWidget
from grace_gui.widgets.train_plots import TrainPlots

TITLE = "Training"
REDRAW_MS = 100  # one changed plot is drawn per tick (see TrainPlots.draw_next)


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class TrainTab(Tab):
    title = "Train"
    checkpoint_ready = Signal(str)  # best.pt of a run that has just finished

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.session = TrainRunSession(context.gpus)
        self._dirty = True
        self.form = TrainFormWidget(context.gpus)
        self.start_button = _button("Start", "check the form, then train in a separate process "
                                    "(on a CPU, says how long it would take first)",
                                    self.start_training)  # fmt: skip
        self.stop_button = _button("Stop", "end the run after its current batch (saves a "
                                   "resumable last.pt)", self.stop_training)  # fmt: skip
        self.resume_button = _button("Resume", "continue the shown run from its last.pt (its "
                                     "interrupted epoch runs again)", self.resume_training)
        open_button = _button("Open run…", "show a run folder (from this app, the command line "
                              "or elsewhere) with its settings", self._browse_run)  # fmt: skip
        compare_button = _button("Add to comparison", "add the shown run to the Compare table",
                                 self._compare_current)  # fmt: skip
        self.run_box = RunBox()
        buttons = QGridLayout()
        for i, b in enumerate((self.start_button, self.stop_button, self.resume_button)):
            buttons.addWidget(b, 0, i)
        buttons.addWidget(open_button, 1, 0, 1, 2)
        buttons.addWidget(compare_button, 1, 2)
        form_box = QGroupBox("Training")
        fb = QVBoxLayout(form_box)
        fb.addWidget(self.form)
        fb.addLayout(buttons)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(form_box)
        lv.addWidget(self.run_box)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(430)

        self.plots = TrainPlots()
        self.log = RunLog()
        self.compare = RunCompare(context.report("Compare runs"))
        self.bottom = QTabWidget()
        self.bottom.addTab(self.log, "Log")
        self.bottom.addTab(self.compare, "Compare runs")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plots)
        right.addWidget(self.bottom)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

        s = self.session  # its watcher thread emits; the timer below delivers here (Qt-safe)
        for signal, slot in (
            (s.changed, self._mark_dirty),
            (s.log_added, self.log.append_following),
            (s.started, lambda run: context.status(f"Training started: {run}")),
            (s.failed, lambda line, details: context.notifications.error(TITLE, line, details)),
            (s.checkpoint_ready, lambda best: self.checkpoint_ready.emit(best)),
            (s.run_ended, self.compare.add_run),
        ):
            signal.connect(slot, thread="main")
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()
        self._redraw()

    # ---- Tab --------------------------------------------------------------------------------
    def set_dataset(self, data_yaml: str) -> None:
        """The dataset tab opened ``data_yaml``: offer it in the form."""
        self.form.data.setText(str(data_yaml))

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
        if self.session.run_dir is not None:
            self.settings.set("train/last_run", str(self.session.run_dir))
        self.settings.set("train/compare", self.compare.paths)

    def busy(self) -> str:
        return self.session.busy_text()

    def shutdown(self) -> None:
        """Stop watching; a training process is left to finish on its own (see module doc)."""
        self._timer.stop()
        self.session.close()

    # ---- actions ----------------------------------------------------------------------------
    def start_training(self) -> Path | None:
        """Check the form, say how long a CPU run would take (and ask when it is long), then
        spawn ``grace train``; the run folder, or None when it did not start."""
        form = self.form.value()
        try:
            problem = form_problem(form)
            if problem:
                raise GraceError(problem)
            estimate = self.session.estimate(form)
            if estimate is not None and estimate.needs_confirmation:
                answer = QMessageBox.question(
                    self, TITLE, f"Training on the CPU would take {estimate.text()}.\n\n"
                    "A GPU is tens of times faster. Start anyway?"
                )  # fmt: skip
                if answer != QMessageBox.StandardButton.Yes:
                    return None
            project = Path(self.form.project.text().strip() or "runs")
            run = self.session.start(form, project, self.form.name.text().strip())
        except GraceError as e:
            self.context.notifications.error(TITLE, str(e))
            return None
        self.settings.set("train/form", self.form.state())
        note = f" ({estimate.text()})" if estimate is not None else ""
        self.context.status(f"Starting training: {run}{note}")
        self._follow_log()
        return run

    def stop_training(self) -> None:
        self.session.stop()

    def resume_training(self) -> None:
        try:
            self.session.resume(self.form.value().device)
        except GraceError as e:
            self.context.notifications.error(TITLE, str(e))
            return
        self._follow_log()

    def open_run(self, run_dir: str | Path) -> None:
        """Show ``run_dir``: its settings, every event so far, then what it appends."""
        self.log.clear()
        self.session.open_run(run_dir)
        self.settings.set("train/last_run", str(self.session.run_dir))

    def _browse_run(self) -> None:
        run = self.session.run_dir
        start = str(run.parent) if run else self.form.project.text()
        path = QFileDialog.getExistingDirectory(self, "Open run directory", start)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open a run directory chosen by the user; a clear message if it is not one."""
        if not (Path(path) / EVENTS_FILE).is_file():
            message = f"{path}: not a run directory (no events.jsonl)"
            self.context.notifications.error(TITLE, message)
            return False
        self.open_run(path)
        return True

    def _compare_current(self) -> None:
        if self.session.run_dir is not None:
            self.compare.add_run(str(self.session.run_dir))
            self.bottom.setCurrentWidget(self.compare)

    # ---- rendering --------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        self._dirty = True  # any thread: the timer renders

    def _follow_log(self) -> None:
        """Show the log and keep its end in view (a new run, a resumed one)."""
        self.log.clear()
        self.bottom.setCurrentWidget(self.log)

    def _redraw(self) -> None:
        emit_queued()  # what the sessions' threads announced, delivered in the GUI thread
        s = self.session
        with s.lock:
            if self._dirty:
                self._dirty = False
                self.plots.set_series(s.series)
                self.run_box.render(s)
                self.start_button.setEnabled(s.can_start())
                self.stop_button.setEnabled(s.can_stop())
                self.resume_button.setEnabled(s.can_resume())
            self.plots.draw_next()
