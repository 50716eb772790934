"""Inference tab: a view over :class:`~grace_gui.sessions.inference.InferenceSession` (model,
source, thresholds, live view, results table with counts, exports). The session runs and holds
everything; this module builds the widgets, wires the signals and renders the session's state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QSplitter, QVBoxLayout, QWidget

from grace_gui.context import AppContext
from grace_gui.demo import Demo
from grace_gui.gui_thread import call_on_gui_thread
from grace_gui.sessions.inference import InferenceSession, end_notice, refresh_ms
from grace_gui.tabs.base import Tab
from grace_gui.widgets.image_view import Box
from grace_gui.widgets.inference_controls import RunControls, ask_export_path
from grace_gui.widgets.inference_results_panel import ResultsPanel
from grace_gui.widgets.inference_sources import SourceBar
from grace_gui.widgets.inference_view import InferenceView
from grace_gui.widgets.notifications import Notice

SETUP_KEYS = ("models", "model", "source", "source_kind", "conf", "class_conf")


class InferenceTab(Tab):
    title = "Inference"
    frame_available = Signal()  # a frame is on display (the Eigen-CAM tab may take it)
    run_finished = Signal(object)  # the run's Summary, or None when it failed
    exported = Signal(object)  # rows or images written by an export, or None when it failed

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.session = s = InferenceSession()
        self._shown = None  # (image, name, frame id) on display
        self._record: int | None = None  # the selected detection
        self._error, self._closed = "", False
        self._build()
        self._timer = QTimer(self, interval=refresh_ms(""))
        self._timer.timeout.connect(s.poll)
        s.busy_changed.connect(lambda busy: self._timer.start() if busy else self._timer.stop())
        s.set_wake(lambda: call_on_gui_thread(lambda: None if self._closed else s.poll()))
        s.models_changed.connect(self._show_models)
        s.model_changed.connect(self._show_models)
        s.classes_changed.connect(self.panel.set_classes)
        s.thresholds_changed.connect(self._thresholds_shown)
        s.state_changed.connect(self._state_shown)
        s.results_reset.connect(self._reset)
        s.results_added.connect(self._added)
        s.verdicts_changed.connect(self._update_status)  # a watch's counters, with no new frame
        s.finished.connect(self._finished)
        s.failed.connect(self._failed)
        s.frame_loaded.connect(self._show)
        s.frame_failed.connect(lambda _fid, reason: self._clear(reason))
        s.exported.connect(self._exported)

    def _build(self) -> None:
        self.inputs = SourceBar(self.context.gpus)
        self.inputs.run_requested.connect(self.run)
        self.inputs.model_chosen.connect(self.session.select_model)
        self.controls = c = RunControls()
        c.run.connect(self.run)
        c.stop.connect(self.stop)
        c.paused.connect(self.pause)
        c.export.connect(self._ask_export)
        self.run_button, self.pause_button, self.stop_button = (c.run_button, c.pause_button,
                                                                c.stop_button)  # fmt: skip
        top = QGridLayout()
        top.addWidget(self.inputs, 0, 0)
        top.addWidget(c, 0, 1)
        top.setColumnStretch(0, 1)
        self.live = InferenceView()
        self.view, self.follow, self.caption = self.live.view, self.live.follow, self.live.caption
        self.panel = ResultsPanel(self.session.results)
        self.panel.thresholds.changed.connect(self.session.set_thresholds)
        self.panel.row_chosen.connect(self._row_chosen)
        self.thresholds, self.table = self.panel.thresholds, self.panel.table
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.live)
        split.addWidget(self.panel)
        split.setSizes([640, 600])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    # run -------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.session.running

    @property
    def summary(self):
        return self.session.summary

    def run(self, weights: str | None = None, source: str | None = None) -> bool:
        """Run the chosen (or given) checkpoint on the chosen (or given) source."""
        if source is not None:
            self.inputs.set_source(str(source))
        self.session.device = self.inputs.device()
        self.session.set_source(self.inputs.source(), self.inputs.kind())
        self._timer.setInterval(refresh_ms(self.inputs.kind()))
        started = self.session.start(None, str(weights) if weights else None)
        self.save_state()
        return started

    def pause(self, paused: bool) -> None:
        (self.session.pause if paused else self.session.resume)()

    def stop(self) -> None:
        self.session.stop()

    def _state_shown(self, state: str) -> None:
        self.controls.show_state(state)
        self._update_status()

    def _reset(self) -> None:
        self.panel.refresh()
        self._record, self._error = None, ""
        self.follow.setChecked(True)
        self.thresholds.set_floor(self.session.floor)
        self._clear(self.session.placeholder())

    def _added(self, d) -> None:
        self.panel.appended()
        if d.latest is not None and self.follow.isChecked():
            self._show(d.latest.frame_id, d.latest.image)
        self._update_status()

    def _finished(self, summary) -> None:
        if summary is None:  # the old images go: the view says what went wrong
            self._clear(f"No results: {self._error}")
        elif notice := end_notice(summary):  # skipped files (never silent), a watch's store
            self.context.notifications.notify(Notice("Inference", *notice))
        self._update_status()
        self.run_finished.emit(summary)

    def _failed(self, message: str, details: str) -> None:
        self._error = message
        self.context.report("Inference")(message, details)

    # view ------------------------------------------------------------------------------------
    def _show(self, frame_id: int, image) -> None:
        self._shown = (image, self.session.results.frames[frame_id].name, frame_id)
        self.live.show_image(image, self._shown[1], *self._boxes())
        self.frame_available.emit()

    def _clear(self, text: str) -> None:
        self._shown = None
        self.live.clear(text)

    def _boxes(self) -> tuple[list[Box], int | None]:
        """The boxes of the frame shown at the current thresholds, and the selected one."""
        res = self.session.results
        recs = res.frame_records(self._shown[2]).tolist()
        boxes = []
        for r in recs:
            c, score, box = res.record(r)
            boxes.append(Box(*map(float, box), c, f"{res.class_name(c)} {score:.2f}"))
        return boxes, recs.index(self._record) if self._record in recs else None

    def _thresholds_shown(self, thresholds) -> None:
        self.thresholds.show_thresholds(thresholds)
        self.panel.refresh()
        if self._shown is not None:
            self.live.show_boxes(self._shown[1], *self._boxes())
        self._update_status()

    def _update_status(self) -> None:
        self.panel.show_counts()
        self.live.show_verdicts(self.session.verdicts())
        text = self.session.status_text()
        self.live.set_overlay(text, bool(text))

    def select_row(self, row: int) -> None:
        """Choose row ``row`` of the table as sorted and filtered."""
        self.panel.choose(row)

    def _row_chosen(self, frame_id: int, record: int) -> None:
        """Show the row's image with its detection highlighted (files are re-read by the
        session, in its thread)."""
        self.follow.setChecked(False)
        self._record = record if record >= 0 else None
        if self._shown is not None and self._shown[2] == frame_id:
            self.live.show_boxes(self._shown[1], *self._boxes())
        else:
            self.session.load_frame(frame_id)

    # exports ---------------------------------------------------------------------------------
    def _ask_export(self, what: str) -> None:
        start = self.settings.get("inference/export_dir", "") or str(Path.home())
        if path := ask_export_path(self, what, start):
            folder = path if what == "images" else str(Path(path).parent)
            self.settings.set("inference/export_dir", folder)
            (self.export_images if what == "images" else self.export_records)(path)

    def export_records(self, path: str) -> None:
        """CSV or JSON (by suffix) of the detections shown in the table, in table order."""
        self.session.export_records(path, self.panel.shown_records())

    def export_images(self, folder: str) -> None:
        """Annotated images (the detections shown, drawn by the engine) into ``folder``."""
        self.session.export_images(folder, self.panel.shown_records())

    def _exported(self, n) -> None:
        if n is not None:
            self.context.status(f"Inference: {n} written")
        self.exported.emit(n)

    # contract with the window ----------------------------------------------------------------
    def _show_models(self, *_args) -> None:
        s = self.session
        self.inputs.show_models(s.models, s.model.path if s.model else "")

    def add_checkpoint(self, path: str) -> None:
        """Offer ``path`` (a run has just produced it); the chosen model stays chosen."""
        self.session.add_model(str(path), select=self.session.model is None)

    def open_model(self, path: str) -> None:
        """The user opened ``path`` (File > Open model…): add it and select it."""
        self.session.add_model(str(path), select=True)

    def current_frame(self):
        """``(bgr_image, name)`` of the frame on display, or ``None``."""
        return None if self._shown is None else (self._shown[0], self._shown[1])

    def load_demo(self, demo: Demo) -> None:
        self.session.add_model(str(demo.models[0]))
        self.run(str(demo.models[1]), str(demo.images))

    def restore(self) -> bool:
        """Restore the last setup (models, model, source, thresholds) without running it."""
        setup = {k: self.settings.get(f"inference/{k}") for k in SETUP_KEYS}
        if not self.session.restore_setup({k: v for k, v in setup.items() if v is not None}):
            return False
        self.inputs.set_source(self.session.source, self.session.kind or None)
        self._clear(f"Press Run to inspect {self.session.source}")
        return True

    def save_state(self) -> None:
        for key, value in self.session.setup().items():
            self.settings.set(f"inference/{key}", value)

    def shutdown(self) -> None:
        self._closed = True
        self.session.set_wake(None)
        self.session.stop()
        self.session.wait(5.0)  # the run ends after its current batch
        self._timer.stop()
