"""Inference tab: a checkpoint and a source (image, folder, video, camera, stream), live view,
thresholds, results table, exports.

The engine's :func:`grace.infer.run.run_predict` runs in a worker at a low floor threshold; the
records it produces all reach the table, but only the newest frame is kept for display, and the
GUI picks it up on a 25 Hz timer (no queue of frames, whatever the source's rate). The sliders
filter the table and the boxes at once, without running again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from grace.images import try_read_image
from grace_gui.context import AppContext
from grace_gui.demo import Demo
from grace_gui.tabs.base import Tab
from grace_gui.widgets.image_view import Box, ImageView
from grace_gui.widgets.inference_export import write_annotated, write_records
from grace_gui.widgets.inference_job import FrameStore, ResultBuffer, make_job
from grace_gui.widgets.inference_sources import SourceBar
from grace_gui.widgets.inference_thresholds import ThresholdPanel
from grace_gui.widgets.results_table import ResultsModel
from grace_gui.workers.qthreading import Worker

FLOOR = 0.05  # the run predicts at min(FLOOR, sliders); the sliders then filter without a re-run
REFRESH_MS = 40  # the view and the table take what arrived 25 times a second


class InferenceTab(Tab):
    title = "Inference"
    frame_available = Signal()  # a frame is on display (the Eigen-CAM tab may take it)
    run_finished = Signal(object)  # the run's Summary, or None when it failed
    exported = Signal(object)  # rows or images written by an export, or None when it failed

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.results = ResultsModel(self)
        self.kept = FrameStore()
        self._buffer = ResultBuffer()
        self._resume = threading.Event()
        self._resume.set()
        self._done = threading.Event()
        self._done.set()
        self._worker: Worker | None = None
        self._pending: tuple[str, str] | None = None
        self._shown: tuple[np.ndarray, str, int] | None = None  # image, name, frame id
        self._select_token = 0
        self.summary = None
        self._t0 = 0.0
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._drain)
        for path in self.settings.get("inference/models", []):
            if Path(path).is_file():
                self.inputs.add_model(path, select=False)

    # layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.inputs = SourceBar(self.context.gpus)
        self.inputs.run_requested.connect(self.run)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(lambda: self.run())
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Detections as CSV…", lambda: self._ask_export("csv"))
        menu.addAction("Detections as JSON…", lambda: self._ask_export("json"))
        menu.addAction("Annotated images…", lambda: self._ask_export("images"))
        self.export_button.setMenu(menu)
        buttons = QVBoxLayout()
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        row1.addWidget(self.run_button)
        row1.addWidget(self.stop_button)
        row2.addWidget(self.pause_button)
        row2.addWidget(self.export_button)
        buttons.addLayout(row1)
        buttons.addLayout(row2)
        top = QHBoxLayout()
        top.addWidget(self.inputs, 1)
        top.addLayout(buttons)

        self.view = ImageView()
        self.view.set_placeholder("Choose a model and a source, then Run")
        self.overlay = QLabel(self.view)
        self.overlay.setStyleSheet(
            "background: rgba(0,0,0,150); color: white; padding: 3px 6px; border-radius: 3px;"
        )
        self.overlay.hide()
        self.view.installEventFilter(self)
        self.follow = QCheckBox("Follow the run")
        self.follow.setChecked(True)
        self.follow.setToolTip("Show each new frame; selecting a row turns this off")
        self.status_label = QLabel("")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        under = QHBoxLayout()
        under.addWidget(self.status_label, 1)
        under.addWidget(self.follow)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.view, 1)
        lv.addLayout(under)

        self.thresholds = ThresholdPanel()
        self.thresholds.changed.connect(self._thresholds_changed)
        self.table = QTableView()
        self.table.setModel(self.results)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 130), (2, 80), (3, 130)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.select_row(cur.row()) if cur.isValid() else None
        )
        self.count_label = QLabel("No detections yet")
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.thresholds)
        rv.addWidget(self.count_label)
        rv.addWidget(self.table, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 520])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._set_running(False)

    # run -------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None and not self._done.is_set()

    def run(self, weights: str | None = None, source: str | None = None) -> Worker | None:
        """Run the chosen (or given) checkpoint on the chosen (or given) source; a run going on
        is stopped first and this one starts when it has ended."""
        if weights:
            self.add_checkpoint(str(weights))
        if source is not None:
            self.inputs.set_source(str(source))
        weights, source = self.inputs.model_path(), self.inputs.source()
        if not weights or not source:
            what = "a checkpoint (Model → Browse…)" if not weights else "a source"
            self.context.notifications.error("Inference", f"choose {what} first")
            return None
        if self.running:
            self._pending = (weights, source)
            self.stop()
            return None
        from grace.infer.run import PredictRequest

        floor = min(FLOOR, self.thresholds.thresholds().floor)
        req = PredictRequest(weights, source, conf=floor, device=self.inputs.device(),
                             progress_every=0)  # fmt: skip
        self._buffer, self.summary = ResultBuffer(), None
        self.results.reset(self.results.names, self.results.model_name)
        self.kept.clear()
        self.thresholds.set_floor(floor)
        self._resume.set()
        self.pause_button.setChecked(False)
        self.follow.setChecked(True)
        self._done.clear()
        job = make_job(req, self._buffer, self._resume)

        def tracked(w: Worker):
            try:
                return job(w)
            finally:
                self._done.set()

        worker = Worker(tracked)
        worker.result.connect(self._run_result)
        worker.error.connect(self.context.report("Inference"))
        worker.error.connect(lambda message, _d="": self.status_label.setText(message))
        worker.finished.connect(lambda w=worker: self._run_ended(w))
        self._worker = worker
        self._t0 = time.perf_counter()
        self.status_label.setText(f"Loading {Path(weights).name} and opening {source} …")
        self._set_running(True)
        self.settings.remember("inference/models", weights)
        self.save_state()
        worker.start(self.context.pool)
        self._timer.start()
        return worker

    def pause(self, paused: bool) -> None:
        """Hold the run after its current batch (a live source keeps dropping frames)."""
        if paused:
            self._resume.clear()
        else:
            self._resume.set()
        self.pause_button.setText("Resume" if paused else "Pause")
        self._update_status()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        self._resume.set()

    def _run_result(self, summary) -> None:
        self.summary = summary
        if summary.skipped:  # corrupt or unreadable files: reported and skipped, never silent
            names = ", ".join(Path(s["file"]).name for s in summary.skipped[:3])
            more = f" and {len(summary.skipped) - 3} more" if len(summary.skipped) > 3 else ""
            self.context.notifications.warning(
                "Inference",
                f"{len(summary.skipped)} file(s) skipped: {names}{more}",
                "\n".join(f"{s['file']}: {s['reason']}" for s in summary.skipped),
            )

    def _run_ended(self, worker: Worker) -> None:
        if worker is not self._worker:
            return
        self._done.set()
        self._drain()
        self._timer.stop()
        self._set_running(False)
        self._update_status()
        self.run_finished.emit(self.summary)
        if self._pending is not None:
            weights, source = self._pending
            self._pending = None
            self.run(weights, source)

    def _set_running(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.pause_button.isChecked() else "Pause")
        self.overlay.setVisible(running or self.summary is not None)

    # what arrived ----------------------------------------------------------------------------
    def _drain(self) -> None:
        """Take what the run produced since the last tick: all records, the newest frame."""
        buf = self._buffer
        names = buf.names
        if names is not None and (names != self.results.names or not self.thresholds.names):
            keep = self.settings.get("inference/class_conf", {})
            self.results.reset(names, buf.model_name)
            self.thresholds.set_classes(names, keep if isinstance(keep, dict) else {})
            self.results.set_thresholds(self.thresholds.thresholds())
        elif names is not None:
            self.results.model_name = buf.model_name
        d = buf.drain()
        self.results.add_frames(d.frames)
        if len(d):
            self.results.append(d.frame_ids, d.classes, d.scores, d.boxes)
        if d.kept:
            self.kept.add(d.kept)
        if d.latest is not None and self.follow.isChecked():
            name = self.results.frames[d.latest.frame_id].name
            self._show(d.latest.image, name, d.latest.frame_id)
        self._update_status()

    def _show(self, image: np.ndarray, name: str, frame_id: int) -> None:
        self._shown = (image, name, frame_id)
        self.view.set_image(image)
        self._draw_boxes()
        self.frame_available.emit()

    def _draw_boxes(self) -> None:
        if self._shown is None:
            return
        boxes, scores, classes = self.results.frame_detections(self._shown[2])
        self.view.set_boxes([
            Box(*map(float, b), int(c), f"{self.results.class_name(int(c))} {s:.2f}")
            for b, s, c in zip(boxes, scores.tolist(), classes.tolist(), strict=True)
        ])  # fmt: skip

    def _update_status(self) -> None:
        frames, rows = len(self.results.frames), self.results.rowCount()
        held = self.results.record_count
        self.count_label.setText(
            f"{rows} detections shown of {held} found (at ≥ {self.thresholds.floor:.2f})"
        )
        if self.running:
            fps = self._buffer.fps()
            state = "paused" if not self._resume.is_set() else "running"
            text = f"{state} · {frames} frames · {fps:.1f} FPS"
        elif self.summary is not None:
            s = self.summary
            dropped = f" · {s.dropped} dropped" if s.dropped else ""
            text = (f"{s.stop_reason} · {s.images} frames in {s.elapsed_s:.1f} s · "
                    f"{s.throughput_ips:.1f} FPS{dropped}")  # fmt: skip
        else:
            text = ""
        if text:
            self.overlay.setText(text)
            self.overlay.adjustSize()
            self._place_overlay()
        if self._shown is not None:
            n = self.view.box_count()
            self.status_label.setText(f"{self._shown[1]} · {n} box{'es' if n != 1 else ''}")

    def _place_overlay(self) -> None:
        """Bottom left of the view, clear of the boxes' labels at the top."""
        self.overlay.move(8, max(8, self.view.height() - self.overlay.height() - 8))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if obj is self.view and event.type() == QEvent.Type.Resize:
            self._place_overlay()
        return super().eventFilter(obj, event)

    def _thresholds_changed(self, thresholds) -> None:
        self.results.set_thresholds(thresholds)
        self._draw_boxes()
        self._update_status()
        self.settings.set("inference/conf", thresholds.conf)
        self.settings.set("inference/class_conf", self.thresholds.by_name())

    # results table ---------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        """Show the image or frame of a table row with its boxes (files are re-read in a
        worker; a video or live frame only if it was kept)."""
        if not 0 <= row < self.results.rowCount():
            return
        if self.running:
            self.follow.setChecked(False)
        frame_id = self.results.row_frame(row)
        info = self.results.frames[frame_id]
        self._select_token += 1
        token = self._select_token
        if info.is_video:
            image = self.kept.get(frame_id)
            if image is None:
                self._shown = None
                self.view.set_placeholder(
                    f"{info.name} was not kept (only the latest video frames with detections"
                    " are kept, up to 256 MB)"
                )
                return
            self._show(image, info.name, frame_id)
            return
        worker = Worker.call(try_read_image, info.source)

        def shown(read) -> None:
            if token != self._select_token:
                return  # another row was chosen meanwhile
            image, reason = read
            if image is None:
                self.context.notifications.error("Inference", f"{info.source}: {reason}")
                return
            self._show(image, info.name, frame_id)

        worker.result.connect(shown)
        worker.error.connect(self.context.report("Inference"))
        worker.start(self.context.pool)

    # exports ---------------------------------------------------------------------------------
    def _ask_export(self, what: str) -> None:
        start = self.settings.get("inference/export_dir", "") or str(Path.home())
        if what == "images":
            path = QFileDialog.getExistingDirectory(self, "Annotated images into", start)
        else:
            path, _ = QFileDialog.getSaveFileName(
                self, f"Export detections as {what.upper()}",
                str(Path(start) / f"detections.{what}"), f"{what.upper()} (*.{what})",
            )  # fmt: skip
        if not path:
            return
        self.settings.set("inference/export_dir", str(Path(path).parent if what != "images"
                                                      else path))  # fmt: skip
        (self.export_images if what == "images" else self.export_records)(path)

    def export_records(self, path: str) -> Worker:
        """CSV or JSON (by suffix) of the detections shown in the table, in a worker."""
        det = self.results.snapshot()
        return self._export(Worker.call(write_records, det, path), f"{{}} detections → {path}")

    def export_images(self, folder: str) -> Worker:
        """Annotated images (the rows shown, drawn by the engine) into ``folder``."""
        det = self.results.snapshot(self.kept.as_dict())
        worker = Worker(lambda w: write_annotated(det, folder, w.stop_event.is_set))
        return self._export(worker, f"{{}} annotated images → {folder}")

    def _export(self, worker: Worker, done: str) -> Worker:
        outcome: list = [None]

        def written(n: int) -> None:
            outcome[0] = n
            self.context.status(done.format(n))

        worker.result.connect(written)
        worker.error.connect(self.context.report("Inference"))
        worker.finished.connect(lambda: self.exported.emit(outcome[0]))
        return worker.start(self.context.pool)

    # contract with the window ----------------------------------------------------------------
    def add_checkpoint(self, path: str) -> None:
        """Offer ``path`` in the model chooser (a run has just produced it)."""
        self.inputs.add_model(str(path))
        self.settings.remember("inference/models", str(path))

    def open_model(self, path: str) -> None:
        """The user opened ``path`` (File > Open model…): add it and select it."""
        self.inputs.add_model(str(path), select=True)
        self.settings.remember("inference/models", str(path))

    def current_frame(self):
        """``(bgr_image, name)`` of the frame on display, or ``None``."""
        return None if self._shown is None else (self._shown[0], self._shown[1])

    def load_demo(self, demo: Demo) -> None:
        self.inputs.add_model(str(demo.models[0]), select=False)
        self.run(str(demo.models[1]), str(demo.images))

    def restore(self) -> bool:
        s = self.settings
        model, source = s.get("inference/model", ""), s.get("inference/source", "")
        kind = s.get("inference/source_kind", "")
        if not model or not Path(model).is_file() or not source:
            return False
        live = kind in ("Camera", "Stream URL")
        if not live and not Path(source).exists():
            return False
        conf = s.get("inference/conf", None)
        if isinstance(conf, (int, float)):
            self.thresholds.set_conf(float(conf))
        self.inputs.add_model(model)
        self.inputs.set_source(source, kind or None)
        if live:  # never open a camera or a stream unasked
            self.view.set_placeholder(f"Press Run to open {source}")
        else:
            self.run()
        return True

    def save_state(self) -> None:
        s = self.settings
        if self.inputs.model_path():
            s.set("inference/model", self.inputs.model_path())
        if self.inputs.source():
            s.set("inference/source", self.inputs.source())
            s.set("inference/source_kind", self.inputs.kind())
        s.set("inference/conf", self.thresholds.conf)
        if self.thresholds.names:
            s.set("inference/class_conf", self.thresholds.by_name())

    def shutdown(self) -> None:
        self._pending = None
        self.stop()
        self._timer.stop()
        self._done.wait(5.0)  # the run ends after its current batch
