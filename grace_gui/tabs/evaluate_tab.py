"""Evaluate tab: a view over :class:`~grace_gui.sessions.evaluation.EvaluationSession` — the
models and dataset, the evaluation with its progress, the metrics with Δ and intervals (Tables
1/2), PR curves (Figure 1), per-class AP (Figure 2), AP by size, the confusion matrix (a cell
lists its images) and the calibration panel; every page exports PNG and CSV."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from grace.fileio import atomic_path
from grace_gui.demo import Demo
from grace_gui.gui_thread import on_gui_thread
from grace_gui.sessions.evaluation import EvaluationSession
from grace_gui.sessions.jobs import Jobs
from grace_gui.tabs.base import Tab
from grace_gui.widgets.eval_controls import EvalControls
from grace_gui.widgets.eval_pages import EvalPages


@on_gui_thread
def _on_gui_thread(fn) -> None:
    fn()


class EvaluateTab(Tab):
    title = "Evaluate"
    cell_images = Signal(list)  # the image paths behind a clicked confusion-matrix cell
    use_thresholds = Signal(str, float, dict)  # weights, global threshold, {class: threshold}
    evaluated = Signal()  # results are on display

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        root = Path(self.settings.q.fileName()).resolve().parent / "evaluations"
        self.session = s = EvaluationSession(
            root, Jobs(start=context.pool.start, deliver=_on_gui_thread),
            device="" if context.gpus else "cpu",
        )  # fmt: skip
        self._build()
        c = self.controls
        c.add_requested.connect(self.add_model)
        c.remove_requested.connect(s.remove_model)
        c.dataset_chosen.connect(self.set_dataset)
        c.evaluate_requested.connect(self.evaluate)
        c.reference.currentIndexChanged.connect(s.set_reference)
        s.models_changed.connect(c.show_models)
        s.dataset_changed.connect(c.show_dataset)
        s.progress.connect(c.show_progress)
        s.running_changed.connect(lambda on: c.evaluate_button.setEnabled(not on))
        s.results_changed.connect(self._show_results)
        s.calibrated.connect(lambda doc: self.pages.show_calibration(doc))
        s.thresholds_written.connect(lambda p: context.status(f"Thresholds written to {p}"))
        s.reported.connect(lambda r: c.status.setText(f"Report written to {r['out']}"))
        c.report_button.clicked.connect(self._ask_report)
        s.failed.connect(self._failed)
        s.refused.connect(lambda line: context.notifications.warning(self.title, line))

    def _build(self) -> None:
        self.controls = EvalControls()
        self.pages = p = EvalPages(self.session)
        self.metrics, self.confusion, self.calibration = p.metrics, p.confusion, p.calibration
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setToolTip("Save the page shown as a picture")
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Save the numbers of the page shown as a spreadsheet file")
        self.png_button.clicked.connect(lambda: self._ask_export("png"))
        self.csv_button.clicked.connect(lambda: self._ask_export("csv"))
        buttons = QHBoxLayout()
        for b in (self.png_button, self.csv_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(p, 1)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addLayout(right, 1)
        self.confusion.cell_chosen.connect(self.choose_cell)
        cal = self.calibration
        cal.calibrate_requested.connect(self.session.calibrate)
        cal.write_requested.connect(self._ask_write)
        cal.use_requested.connect(self.use_in_inference)

    # requests ---------------------------------------------------------------------------------
    def add_model(self, path: str) -> str:
        return self.session.add_model(str(path))

    def set_dataset(self, data_yaml: str) -> None:
        """The dataset to score on (the Dataset tab's by default)."""
        self.session.set_dataset(str(data_yaml))

    def evaluate(self) -> bool:
        self.session.set_imgsz(self.controls.imgsz.value() or None)
        return self.session.evaluate()

    def choose_cell(self, row: int, col: int) -> list[str]:
        """List (and announce) the images behind a cell of the confusion matrix shown."""
        model = self.pages.cm_model.currentIndex()
        paths = self.session.cell_images(model, row, col)
        labels = self.session.results[model].metrics["confusion_matrix"]["labels"]
        names = ", ".join(Path(p).name for p in paths[:12]) + (" …" if len(paths) > 12 else "")
        self.pages.cell_note.setText(f"true {labels[row]}, predicted {labels[col]}: {len(paths)} "
                               f"image(s){': ' + names if paths else ''}")  # fmt: skip
        if paths:
            self.cell_images.emit(paths)
        return paths

    def use_in_inference(self) -> None:
        if (chosen := self.session.calibrated_thresholds()) is not None:
            self.use_thresholds.emit(*chosen)

    # rendering ----------------------------------------------------------------------------------
    def _show_results(self) -> None:
        s = self.session
        self.controls.show_reference(s.labels, s.reference)
        self.pages.show_all()
        self.evaluated.emit()

    def _failed(self, line: str, details: str) -> None:
        self.controls.status.setText(line)
        self.context.notifications.error(self.title, line, details)

    # exports ----------------------------------------------------------------------------------
    def export_csv(self, page: str, path: str) -> Path:
        """The numbers of ``page`` (:data:`~grace_gui.widgets.eval_pages.PAGES`) as CSV."""
        return self.session.export_csv(path, self.pages.table_of(page))

    def export_png(self, page: str, path: str) -> Path:
        """``page``'s plot or table as shown, as a PNG."""
        with atomic_path(path) as tmp:
            if not self.pages.widget_of(page).grab().save(str(tmp), "PNG"):
                raise OSError(f"{path}: could not write the PNG")
        return Path(path)

    def _ask_export(self, kind: str) -> None:
        page = self.pages.page
        start = Path(self.settings.get("evaluate/export_dir", "") or Path.home()) / f"{page}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", str(start),
                                              f"{kind.upper()} (*.{kind})")  # fmt: skip
        if path:
            self.settings.set("evaluate/export_dir", str(Path(path).parent))
            try:
                (self.export_png if kind == "png" else self.export_csv)(page, path)
                self.context.status(f"Written {path}")
            except Exception as e:  # a failed export is one line, the old file kept
                self._failed(str(e).splitlines()[0] if str(e) else type(e).__name__, "")

    def _ask_report(self) -> None:
        model = max(self.controls.models.currentRow(), 0)
        if model >= len(self.session.results):
            return self._failed("Report: evaluate the models first", "")
        start = Path(self.settings.get("evaluate/export_dir", "") or Path.home()) / "report.html"
        path, _ = QFileDialog.getSaveFileName(self, "Write the report", str(start),
                                              "HTML (*.html)")  # fmt: skip
        if path:
            self.session.report(model, path)

    def _ask_write(self) -> None:
        s = self.session
        weights = s.results[s.calibrated_model].model.weights
        start = Path(weights).with_name(Path(weights).stem + ".thresholds.json")
        path, _ = QFileDialog.getSaveFileName(self, "Write the thresholds file", str(start),
                                              "Thresholds (*.json)")  # fmt: skip
        if path:
            s.write_thresholds(path)

    # the Tab protocol ---------------------------------------------------------------------------
    def load_demo(self, demo: Demo) -> None:
        for m in demo.models:
            self.session.add_model(str(m))
        self.session.set_dataset(str(demo.data_yaml))
        self.controls.imgsz.setValue(256)
        self.evaluate()

    def restore(self) -> bool:
        """The last models, dataset and image size, chosen again without running."""
        models = [m for m in self.settings.get("evaluate/models", []) or [] if Path(m).exists()]
        data = self.settings.get("evaluate/data", "")
        if not models or not data or not Path(data).is_file():
            return False
        for m in models:
            self.session.add_model(m)
        self.session.set_dataset(data)
        self.controls.imgsz.setValue(int(self.settings.get("evaluate/imgsz", 0) or 0))
        self.controls.status.setText("Press Evaluate (evaluations still up to date are reused)")
        return True

    def save_state(self) -> None:
        self.settings.set("evaluate/models", [m.chosen for m in self.session.models])
        self.settings.set("evaluate/data", self.session.data_yaml)
        self.settings.set("evaluate/imgsz", self.controls.imgsz.value())

    def shutdown(self) -> None:
        self.session.shutdown()
