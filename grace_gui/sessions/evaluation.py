"""The Evaluate tab's state and jobs, free of Qt: :class:`EvaluationSession`.

It holds what is chosen (checkpoints or run folders, exported models or packages, a dataset, an
image size, the reference model), runs the evaluation (``grace val``'s deployed protocol, one
model after the other, reusing an evaluation on disk that is still up to date:
:mod:`.evaluation_files`), compares the models (``grace compare``'s paired-bootstrap intervals
against the reference), and calibrates per-class thresholds (``grace calibrate``'s rules; the
file written by the engine). Changes are announced with psygnal signals; jobs run through
:class:`~grace_gui.sessions.jobs.Jobs` (the GUI's pool, or inline in a test) and their outcomes
arrive on the session's thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from psygnal import Signal

from grace.errors import GraceError
from grace_gui.sessions import evaluation_tables as tables
from grace_gui.sessions.evaluation_files import (
    ModelChoice,
    ModelResult,
    dataset_mtime,
    evaluation_dir,
    model_choice,
    read_result,
    reusable_dirs,
    stale_reason,
)
from grace_gui.sessions.jobs import Jobs

RESAMPLES = 1000  # grace compare's default (and minimum) number of bootstrap resamples
SEED = 0


class EvaluationSession:
    """What the Evaluate tab chooses, runs and shows (see the module docstring)."""

    models_changed = Signal(list)  # the chosen ModelChoice list
    dataset_changed = Signal(str)  # the data.yaml evaluated on
    running_changed = Signal(bool)  # an evaluation, comparison or calibration job runs
    progress = Signal(int, int, str)  # steps done, steps in all, what runs now
    results_changed = Signal()  # results, reference or comparison changed
    calibrated = Signal(object)  # the calibration document (None: cleared)
    thresholds_written = Signal(str)  # the thresholds file written
    reported = Signal(object)  # grace report's result (``out``, ``sections``, ``problems``)
    failed = Signal(str, str)  # one line naming the file or value, details
    refused = Signal(str)  # a choice not taken, and why

    def __init__(self, out_root: str | Path, jobs: Jobs | None = None, device: str = "") -> None:
        self.out_root = Path(out_root)
        self.jobs = jobs or Jobs.inline()
        self.device = device
        self.models: list[ModelChoice] = []
        self.data_yaml = ""
        self.imgsz: int | None = None  # None: each checkpoint's training size, an export's own
        self.batch = 16
        self.results: list[ModelResult] = []
        self.reference = 0
        self.intervals: list[dict[str, Any] | None] = []  # per result, by metric key
        self.comparison: dict[str, Any] | None = None  # grace compare's result
        self.calibration: dict[str, Any] | None = None
        self.calibrated_model: int | None = None
        self.problems: list[str] = []
        self.running = False
        self._gen = 0
        self._closed = False

    # choices ---------------------------------------------------------------------------------
    def add_model(self, path: str | Path) -> str:
        """Add a checkpoint, run folder, exported model or package; ``""`` when added, else why
        not (also :attr:`refused`)."""
        try:
            choice = model_choice(path)
        except GraceError as e:
            self.refused.emit(str(e))
            return str(e)
        if any(m.weights == choice.weights for m in self.models):
            reason = f"{choice.label} is already chosen"
            self.refused.emit(reason)
            return reason
        self.models.append(choice)
        self.models_changed.emit(list(self.models))
        return ""

    def remove_model(self, index: int) -> None:
        if 0 <= index < len(self.models):
            del self.models[index]
            self.models_changed.emit(list(self.models))

    def set_dataset(self, data_yaml: str | Path) -> None:
        if str(data_yaml) != self.data_yaml:
            self.data_yaml = str(data_yaml)
            self.dataset_changed.emit(self.data_yaml)

    def set_imgsz(self, imgsz: int | None) -> None:
        self.imgsz = int(imgsz) if imgsz else None

    # running ---------------------------------------------------------------------------------
    def _run(self, fn, *args, on_result) -> None:
        self._gen += 1
        gen = self._gen
        self._set_running(True)

        def done(value) -> None:
            if self._closed or gen != self._gen:
                return  # the window closes, or a newer job replaced this one
            self._set_running(False)
            on_result(value)

        def error(line: str, details: str) -> None:
            if self._closed or gen != self._gen:
                return
            self._set_running(False)
            self.failed.emit(line, details)

        self.jobs.run(fn, *args, on_result=done, on_error=error)

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)

    def _say(self, done: int, total: int, what: str) -> None:
        self.jobs.deliver(lambda: None if self._closed else self.progress.emit(done, total, what))

    def evaluate(self) -> bool:
        """Evaluate every chosen model on the dataset (in a job), then compare them; ``False``
        (and :attr:`failed`) when a model or the dataset is missing."""
        if not self.models or not self.data_yaml:
            what = "a model or run (Add…)" if not self.models else "a dataset (data.yaml)"
            self.failed.emit(f"Evaluate: choose {what} first", "")
            return False
        if self.imgsz is not None:
            fixed = next((m for m in self.models
                          if m.exported and m.imgsz and m.imgsz != self.imgsz), None)  # fmt: skip
            if fixed is not None:  # an export runs at the one size it was exported for
                self.failed.emit(f"Evaluate: {fixed.label} was exported for a {fixed.imgsz}x"
                                 f"{fixed.imgsz} input, not {self.imgsz}: set the image size to "
                                 f"{fixed.imgsz} or 'as trained'", "")  # fmt: skip
                return False
        models, data, imgsz = list(self.models), self.data_yaml, self.imgsz
        self._run(self._evaluate_all, models, data, imgsz, on_result=self._evaluated)
        return True

    def _evaluate_all(self, models: list[ModelChoice], data: str, imgsz: int | None):
        from grace.eval.validate import validate

        total = len(models) + (len(models) > 1)
        changed = dataset_mtime(data)
        results = []
        for i, m in enumerate(models):
            own = evaluation_dir(self.out_root, data, m.weights, imgsz)
            dirs = reusable_dirs(m.weights, own)
            fresh = next((d for d in dirs if not stale_reason(d, m.weights, data, imgsz, changed)),
                         None)  # fmt: skip
            if fresh is not None:
                self._say(i, total, f"{m.label}: up-to-date evaluation reused ({fresh})")
                results.append(read_result(m, fresh, reused=True))
                continue
            self._say(i, total, f"Evaluating {m.label} ({i + 1} of {len(models)}) …")
            size = imgsz or m.imgsz or _trained_size(m)
            validate(m.weights, data, imgsz=size, batch=self.batch, device=self.device, out=own)
            results.append(read_result(m, own, reused=False))
        comparison = None
        if len(results) > 1:
            self._say(len(models), total, f"Comparing: {RESAMPLES} bootstrap resamples …")
            comparison = _compare(results, 0)
        return results, comparison

    def _evaluated(self, outcome) -> None:
        self.results, self.comparison = outcome
        self.reference = 0
        self._take_comparison()
        self.problems = [p for r in self.results for p in r.problems]
        self.problems += (self.comparison or {}).get("problems", [])
        self.clear_calibration()
        n = len(self.results)
        self.progress.emit(n + (n > 1), n + (n > 1), f"{n} model(s) evaluated")
        self.results_changed.emit()

    def _take_comparison(self) -> None:
        """Intervals per result in the results' order (compare lists the reference first)."""
        n = len(self.results)
        self.intervals = [None] * n
        if self.comparison is None:
            return
        order = [self.reference] + [i for i in range(n) if i != self.reference]
        for i, run in zip(order, self.comparison["runs"], strict=True):
            self.intervals[i] = run.get("intervals")

    def set_reference(self, index: int) -> None:
        """Compare every model against ``index`` (the bootstrap runs again, in a job)."""
        if not 0 <= index < len(self.results) or index == self.reference:
            return
        results = list(self.results)

        def done(comparison) -> None:
            self.reference, self.comparison = index, comparison
            self._take_comparison()
            self.progress.emit(1, 1, f"Δ against {results[index].model.label}")
            self.results_changed.emit()

        self._say(0, 1, f"Comparing against {results[index].model.label} …")
        self._run(_compare, results, index, on_result=done)

    # what the view shows ----------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return [r.model.label for r in self.results]

    def metrics_table(self) -> tables.Table:
        return tables.metrics_table(self.labels, [r.metrics for r in self.results],
                                    self.intervals, self.reference)  # fmt: skip

    def per_class_table(self, key: str = "AP50") -> tables.Table:
        return tables.per_class_table(self.labels, [r.metrics for r in self.results], key)

    def size_table(self) -> tables.Table:
        return tables.size_table(self.labels, [r.metrics for r in self.results])

    def confusion_table(self, model: int) -> tables.Table:
        return tables.confusion_table(self.results[model].metrics["confusion_matrix"])

    def cell_images(self, model: int, row: int, col: int) -> list[str]:
        """The images behind cell (row, col) of ``model``'s confusion matrix."""
        return tables.cell_images(self.results[model].errors, row, col)

    # calibration -------------------------------------------------------------------------------
    def calibrate(
        self, model: int, target: str = "f1", class_targets: Mapping[str, str] | None = None
    ) -> None:
        """Per-class thresholds for ``model`` on its evaluation (a job): ``target`` for every
        class (``f1``, ``recall=R``, ``precision=P``), ``class_targets`` by class name."""
        if not 0 <= model < len(self.results):
            self.failed.emit("Calibrate: evaluate the model first", "")
            return
        r = self.results[model]
        specs = [f"{n}={t.replace('=', ':')}" for n, t in (class_targets or {}).items()]

        def done(doc) -> None:
            self.calibration, self.calibrated_model = doc, model
            self.calibrated.emit(doc)

        self._run(_calibrate, r.val_dir, target, specs, on_result=done)

    def clear_calibration(self) -> None:
        self.calibration, self.calibrated_model = None, None
        self.calibrated.emit(None)

    def calibration_table(self) -> tables.Table:
        return tables.calibration_table(self.calibration or {})

    def write_thresholds(self, path: str | Path | None = None) -> None:
        """Write the calibrated thresholds (the engine's ``grace calibrate`` on the same
        evaluation and targets) to ``path``, default ``<weights stem>.thresholds.json`` beside
        the model (the checkpoint, the OpenVINO folder, the ``.onnx``, the package)."""
        if self.calibration is None or self.calibrated_model is None:
            self.failed.emit("Thresholds: calibrate first", "")
            return
        r, doc = self.results[self.calibrated_model], self.calibration
        targets = doc["target"]
        specs = [f"{n}={t.replace('=', ':')}" for n, t in targets["per_class"].items()]

        def write() -> str:
            from grace.eval.calibrate import calibrate

            out = calibrate(r.model.weights, r.metrics.get("data"), targets["default"], specs,
                            val_dir=r.val_dir, out=path)  # fmt: skip
            return out["file"]

        self._run(write, on_result=self.thresholds_written.emit)

    def calibrated_thresholds(self) -> tuple[str, float, dict[str, float]] | None:
        """``(weights, global threshold, {class: threshold})`` of the calibration shown."""
        if self.calibration is None or self.calibrated_model is None:
            return None
        doc = self.calibration
        weights = self.results[self.calibrated_model].model.weights
        return weights, float(doc["conf"]), {k: float(v) for k, v in doc["per_class"].items()}

    # exports -----------------------------------------------------------------------------------
    def report(self, model: int, out: str | Path) -> None:
        """``grace report`` of ``model`` on the dataset (one self-contained HTML file at
        ``out``; the engine evaluates again, at the size of this evaluation), in a job."""
        if not 0 <= model < len(self.results):
            self.failed.emit("Report: evaluate the model first", "")
            return
        r = self.results[model]
        size = (r.metrics.get("settings") or {}).get("imgsz")

        def build() -> dict[str, Any]:
            from grace.eval.report import build_report

            return build_report(out, weights=r.model.weights, data=str(r.metrics.get("data")),
                                imgsz=size, device=self.device)  # fmt: skip

        def done(written: dict[str, Any]) -> None:
            self.progress.emit(1, 1, f"Report written to {written['out']}")
            self.reported.emit(written)

        self._say(0, 1, f"Writing the report of {r.model.label} …")
        self._run(build, on_result=done)

    def export_csv(self, path: str | Path, table: tables.Table) -> Path:
        """Write ``table`` as CSV to ``path`` (atomically)."""
        from grace.fileio import atomic_write_text

        atomic_write_text(path, tables.csv_text(table))
        return Path(path)

    def shutdown(self) -> None:
        """Drop every outcome still to come (the window is closing)."""
        self._closed = True


def _trained_size(model: ModelChoice) -> int:
    """The size a checkpoint was trained at; an export without a recorded size: 640, as
    ``grace val`` takes it."""
    if model.exported:
        return 640
    from grace.explain.figure import default_imgsz
    from grace.nn.checkpoint import load_yolo

    return default_imgsz(load_yolo(model.weights))


def _compare(results: Sequence[ModelResult], reference: int) -> dict[str, Any]:
    from grace.eval.compare import compare

    order = [reference] + [i for i in range(len(results)) if i != reference]
    return compare([results[i].val_dir for i in order], resamples=RESAMPLES, seed=SEED)


def _calibrate(val_dir: str, target: str, specs: list[str]) -> dict[str, Any]:
    from grace.eval.calibrate import calibrate_records
    from grace.eval.calibration import parse_class_targets, parse_target
    from grace.eval.pairing import read_predictions

    records, names, info = read_predictions(Path(val_dir) / "predictions.npz")
    if info.get("protocol") != "deployed":
        raise GraceError(f"{val_dir}: evaluated under protocol {info.get('protocol')}; "
                         "thresholds are chosen on what grace predict outputs")  # fmt: skip
    doc = calibrate_records(records, names, parse_target(target),
                            parse_class_targets(specs, names))  # fmt: skip
    return {**doc, "images": len(records), "imgsz": info.get("imgsz")}
