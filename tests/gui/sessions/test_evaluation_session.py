"""The Evaluation session without Qt, on the two demo checkpoints (copied into tmp_path) and the
demo's 12 val images at imgsz 256: the metrics table against each metrics.json, Δ and intervals
against grace compare and the reference flipped, reuse of an up-to-date evaluation, the
confusion-matrix cells' images counted image by image, calibration against the rule recomputed
from predictions.npz, the thresholds file, and one-line refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grace_gui.sessions.evaluation import EvaluationSession

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "resources" / "demo" / "neu-det" / "data.yaml"
MODELS = [REPO / "resources" / "models" / f"neu-det_yolo11n_{v}.pt" for v in ("baseline", "grace")]


class Record:
    NAMES = (
        "models_changed", "dataset_changed", "running_changed", "progress", "results_changed",
        "calibrated", "thresholds_written", "reported", "failed", "refused",
    )  # fmt: skip

    def __init__(self, session: EvaluationSession) -> None:
        self.events: list[tuple] = []
        for name in self.NAMES:
            getattr(session, name).connect(lambda *a, n=name: self.events.append((n, *a)))

    def of(self, name: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == name]


def _session(tmp: Path) -> EvaluationSession:
    models = tmp / "models"
    models.mkdir(exist_ok=True)
    s = EvaluationSession(tmp / "evaluations", device="cpu")
    for m in MODELS:
        copy = models / m.name
        if not copy.exists():
            shutil.copy2(m, copy)
        assert s.add_model(copy) == ""
    s.set_dataset(DATA)
    s.set_imgsz(256)
    return s


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluation")
    s = _session(tmp)
    rec = Record(s)
    assert s.evaluate()
    assert rec.of("failed") == []
    return s, rec


def _pct(x):
    return f"{100 * x:.2f}"


def test_the_session_imports_no_qt():
    code = (
        "import sys, grace_gui.sessions.evaluation;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'qtpy', 'PyQt5', 'PyQt6')))"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_metrics_table_is_each_models_metrics_json(evaluated):
    s, rec = evaluated
    assert [r.reused for r in s.results] == [False, False]
    headers, rows = s.metrics_table()
    for r, row in zip(s.results, rows, strict=True):
        m = json.loads((Path(r.val_dir) / "metrics.json").read_text())
        assert m["protocol"] == "deployed" and m["settings"]["imgsz"] == 256 and m["images"] == 12
        cell = dict(zip(headers, row, strict=True))
        assert cell["mAP@0.5:0.95 (%)"] == _pct(m["metrics"]["mAP50-95"])
        assert cell["mAP@0.5 (%)"] == _pct(m["metrics"]["mAP50"])
        assert cell["F1 dataset, pooled (%)"] == _pct(m["metrics"]["f1_dataset"])
        assert cell["F1 mean over classes (%)"] == _pct(m["metrics"]["f1_mean_over_classes"])
        assert cell["AP small (%)"] == _pct(m["size"]["small"]["AP"])
        assert cell["Protocol"] == "deployed"
    # progress: one step per model and one for the comparison, ending at 3 of 3
    assert rec.of("progress")[-1][:2] == (3, 3)
    assert rec.of("running_changed") == [(True,), (False,)]


def test_delta_and_interval_against_grace_compare_and_flipped(evaluated):
    from grace.eval.compare import compare

    s, rec = evaluated
    base, grace = (json.loads((Path(r.val_dir) / "metrics.json").read_text()) for r in s.results)
    headers, rows = s.metrics_table()
    col = headers.index("Δ mAP@0.5:0.95 (pp) [95 % CI]")
    assert rows[0][col] == "reference"
    ref = compare([s.results[0].val_dir, s.results[1].val_dir])["runs"][1]["intervals"]
    iv = ref["mAP50-95"]
    delta = 100 * (grace["metrics"]["mAP50-95"] - base["metrics"]["mAP50-95"])
    assert iv["delta"] == pytest.approx(delta, abs=1e-9)
    text = f"{iv['delta']:+.2f} [{iv['low']:+.2f}, {iv['high']:+.2f}]"
    assert rows[1][col].startswith(text)
    assert rows[1][col].endswith("not distinguishable") == (iv["low"] <= 0 <= iv["high"])

    s.set_reference(1)  # the same resamples: every Δ and its interval change sign
    assert rec.of("progress")[-1] == (1, 1, f"Δ against {s.labels[1]}")  # not "Comparing …"
    headers, rows = s.metrics_table()
    assert rows[1][col] == "reference"
    flipped = s.intervals[0]["mAP50-95"]
    assert flipped["delta"] == pytest.approx(-iv["delta"], abs=1e-9)
    assert (flipped["low"], flipped["high"]) == pytest.approx((-iv["high"], -iv["low"]), abs=1e-9)
    s.set_reference(0)


def test_confusion_cells_list_the_images_counted_there(evaluated):
    from grace.eval.errors import confusion_matrix

    s, _ = evaluated
    errors = json.loads((Path(s.results[1].val_dir) / "errors.json").read_text())
    nc = len(errors["classes"])
    counts = np.array(errors["confusion_matrix"]["counts"])
    per_image = [confusion_matrix([e], nc) for e in errors["images"]]
    nonempty = 0
    for row in range(nc + 1):
        for col in range(nc + 1):
            expected = [e["file"] for e, cm in zip(errors["images"], per_image, strict=True)
                        if cm[row, col] > 0]  # fmt: skip
            assert s.cell_images(1, row, col) == expected
            assert sum(cm[row, col] for cm in per_image) == counts[row, col]
            nonempty += bool(expected)
    assert nonempty >= 3  # the demo model has hits, misses and false alarms
    headers, rows = s.confusion_table(1)
    assert headers[1:] == errors["confusion_matrix"]["labels"]
    assert [[int(v) for v in r[1:]] for r in rows] == counts.tolist()


def _class_points(val_dir: str, c: int, threshold: float):
    """TP, detections and GT of class c at ``threshold``, matched by the engine's matcher."""
    from grace.eval.matching import match_image
    from grace.eval.records import load_records

    records, _, _ = load_records(Path(val_dir) / "predictions.npz")
    tp = n = gt = 0
    for r in records:
        gt += int((r.gt_classes == c).sum())
        keep = (r.classes == c) & (r.scores >= threshold)
        flags = match_image(r.gt_boxes, r.gt_classes, r.boxes[keep], r.scores[keep],
                            r.classes[keep], np.array([0.5]))[:, 0]  # fmt: skip
        tp, n = tp + int(flags.sum()), n + int(keep.sum())
    scores = np.concatenate([r.scores[r.classes == c] for r in records])
    return tp, n, gt, np.unique(scores)


def test_calibration_follows_the_recall_rule_and_writes_the_file(evaluated, tmp_path):
    from grace.data.images import sha256_file
    from grace.infer.threshold_file import read_document

    s, rec = evaluated
    s.calibrate(1, "f1", {"patches": "recall=0.8"})
    doc = s.calibration
    assert rec.of("calibrated")[-1][0] is doc
    names = s.results[1].names
    c = names.index("patches")
    t = doc["per_class"]["patches"]
    tp, n, gt, scores = _class_points(s.results[1].val_dir, c, t)
    assert tp / gt >= 0.8  # the target is met at the threshold written (just below a score)
    chosen = scores[scores >= t].min()
    assert _class_points(s.results[1].val_dir, c, chosen)[:2] == (tp, n)
    higher = scores[scores > chosen]  # one score up it is not: the highest such threshold
    if len(higher):
        assert _class_points(s.results[1].val_dir, c, higher.min())[0] / gt < 0.8
    m = doc["per_class_metrics"]["patches"]
    assert (m["tp"], m["fp"], m["fn"]) == (tp, n - tp, gt - tp)
    headers, rows = s.calibration_table()
    row = dict(zip(headers, rows[c], strict=True))
    assert row["Target"] == "recall=0.8" and row["R (%)"] == _pct(tp / gt)

    out = tmp_path / "chosen.thresholds.json"
    s.write_thresholds(out)
    assert rec.of("thresholds_written")[-1] == (str(out),)
    written = read_document(out)
    assert written["per_class"] == doc["per_class"] and written["conf"] == doc["conf"]
    assert written["model_sha256"] == sha256_file(s.results[1].model.weights)  # its bytes
    weights, conf, by_name = s.calibrated_thresholds()
    assert weights == s.results[1].model.weights
    assert (conf, by_name) == (doc["conf"], doc["per_class"])


def test_report_of_a_model_is_one_html_file(evaluated, tmp_path):
    s, rec = evaluated
    out = tmp_path / "report.html"
    s.report(1, out)
    result = rec.of("reported")[-1][0]
    html = out.read_text(encoding="utf-8")
    assert result["out"] == str(out) and html.lstrip().lower().startswith("<!doctype html")
    assert rec.of("progress")[-1] == (1, 1, f"Report written to {out}")  # the bar ends full
    assert s.results[1].model.weights in html and "data:image/png;base64," in html


def test_an_up_to_date_evaluation_is_reused_and_a_changed_model_is_not(evaluated, tmp_path):
    s, _ = evaluated
    fresh = _session(Path(s.out_root).parent)  # the same folders: both are up to date
    fresh.evaluate()
    assert [r.reused for r in fresh.results] == [True, True]
    metrics = Path(fresh.results[0].val_dir) / "metrics.json"
    before = metrics.stat().st_mtime_ns
    weights = Path(fresh.models[0].weights)
    later = metrics.stat().st_mtime + 10
    os.utime(weights, (later, later))  # the checkpoint changed after its evaluation
    fresh.models = fresh.models[:1]
    fresh.evaluate()
    assert [r.reused for r in fresh.results] == [False]
    assert metrics.stat().st_mtime_ns != before
    assert fresh.comparison is None and fresh.intervals == [None]


def test_bad_choices_are_refused_in_one_line(tmp_path):
    s = EvaluationSession(tmp_path / "evaluations")
    rec = Record(s)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert s.add_model(text) == (f"{text}: not a model (a .pt, an OpenVINO folder, an .onnx, a "
                                 "package) or a run folder")
    assert s.add_model(tmp_path) == f"{tmp_path}: no weights/best.pt or weights/last.pt (not a finished run?)"  # noqa: E501
    assert s.evaluate() is False
    assert rec.of("failed")[-1][0] == "Evaluate: choose a model or run (Add…) first"
    shutil.copy2(MODELS[0], tmp_path / "m.pt")
    assert s.add_model(tmp_path / "m.pt") == ""
    assert s.add_model(tmp_path / "m.pt") == "m is already chosen"
    bad = tmp_path / "data.yaml"
    bad.write_bytes(b"train: [unclosed\n")
    s.set_dataset(bad)
    assert s.evaluate() is True
    line = rec.of("failed")[-1][0]
    assert line.startswith(f"{bad}: not valid YAML") and "\n" not in line
    assert s.results == [] and s.running is False


# exported models --------------------------------------------------------------------------------
EXPORT_SIZE = 128  # the demo checkpoint was trained at 256: the export's own size differs


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The demo baseline checkpoint (copied) and what grace export and grace package make of it at
    EXPORT_SIZE: an OpenVINO folder, an .onnx and a package folder (model.pt and OpenVINO)."""
    from grace.deploy.build import build_package
    from grace.deploy.export import export_model

    tmp = tmp_path_factory.mktemp("exported")
    pt = tmp / MODELS[0].name
    shutil.copy2(MODELS[0], pt)
    out = {"pt": pt}
    for fmt in ("openvino", "onnx"):
        out[fmt] = Path(export_model(pt, fmt, imgsz=EXPORT_SIZE, out=tmp).path)
    out["package"] = Path(build_package(pt, tmp / "line-3", formats="pt,openvino",
                                        imgsz=EXPORT_SIZE)["path"])  # fmt: skip
    return out


@pytest.mark.slow
def test_exports_are_chosen_labelled_and_run_at_their_own_size(exported, tmp_path):
    pt, ov, onnx, pkg = (exported[k] for k in ("pt", "openvino", "onnx", "package"))
    s = EvaluationSession(tmp_path / "evaluations", device="cpu")
    rec = Record(s)
    assert s.add_model(pt) == ""
    assert s.add_model(ov / f"{pt.stem}.xml") == ""  # the file a dialog picks: its folder
    assert s.add_model(onnx) == "" and s.add_model(pkg) == ""
    assert [m.weights for m in s.models] == [str(p.resolve()) for p in (pt, ov, onnx, pkg)]
    stem = pt.stem
    assert [m.label for m in s.models] == [
        stem, f"{stem}_openvino_model", f"{stem}.onnx", "line-3 (package)"
    ]  # fmt: skip
    assert [(m.kind, m.imgsz, m.package) for m in s.models] == [
        ("pt", None, False), ("openvino", EXPORT_SIZE, False), ("onnx", EXPORT_SIZE, False),
        ("openvino", EXPORT_SIZE, True),
    ]  # fmt: skip
    assert s.add_model(ov) == f"{stem}_openvino_model is already chosen"
    # a size other than the export's: one line before anything runs
    s.set_dataset(DATA)
    s.set_imgsz(256)
    assert s.evaluate() is False and s.running is False
    assert rec.of("failed")[-1][0] == (
        f"Evaluate: {stem}_openvino_model was exported for a {EXPORT_SIZE}x{EXPORT_SIZE} input, "
        f"not 256: set the image size to {EXPORT_SIZE} or 'as trained'"
    )
    s.remove_model(1)
    s.remove_model(1)
    s.set_imgsz(None)  # 'as trained': the checkpoint at 256, the package at its own size
    failures = len(rec.of("failed"))
    assert s.evaluate() and len(rec.of("failed")) == failures
    assert [r.metrics["settings"]["imgsz"] for r in s.results] == [256, EXPORT_SIZE]
    assert [r.metrics["format"] for r in s.results] == ["pt", "openvino"]
    assert s.results[1].metrics["package"] == str(pkg.resolve())


@pytest.mark.slow
def test_an_export_evaluates_compares_calibrates_and_reports_as_the_engine(exported, tmp_path):
    """The Evaluate flow on an OpenVINO export next to the .pt it came from: its figures are
    grace val's on the same export, its Δ grace compare's, its thresholds grace calibrate's; the
    file is written beside the folder with the folder's hash; Use in Inference runs it there;
    the report says its Eigen-CAM needs the .pt."""
    from grace.cli import main
    from grace.deploy.runtime import model_sha256
    from grace.eval.compare import compare
    from grace.infer.threshold_file import read_document
    from grace_gui.sessions.inference import InferenceSession
    from grace_gui.sessions.inference_job import PredictorCache

    pt, ov = exported["pt"], exported["openvino"]
    s = EvaluationSession(tmp_path / "evaluations", device="cpu")
    rec = Record(s)
    assert s.add_model(pt) == "" and s.add_model(ov) == ""
    s.set_dataset(DATA)
    assert s.evaluate() and rec.of("failed") == []
    ours = s.results[1].metrics
    assert ours["format"] == "openvino" and ours["settings"]["imgsz"] == EXPORT_SIZE

    cli = tmp_path / "cli-val"  # grace val on the same export, at its default (own) size
    assert main(["val", "--weights", str(ov), "--data", str(DATA), "--device", "cpu",
                 "--batch", str(s.batch), "--out", str(cli)]) == 0  # fmt: skip
    theirs = json.loads((cli / "metrics.json").read_text())
    assert theirs["settings"]["imgsz"] == EXPORT_SIZE and theirs["images"] == 12
    assert ours["metrics"] == theirs["metrics"] and ours["per_class"] == theirs["per_class"]
    assert theirs["metrics"]["mAP50"] > 0.1  # a real model, not an empty evaluation
    headers, rows = s.metrics_table()
    cell = dict(zip(headers, rows[1], strict=True))
    assert cell["mAP@0.5:0.95 (%)"] == _pct(theirs["metrics"]["mAP50-95"])
    # Δ against the checkpoint: grace compare on grace val's outputs, the same resamples
    ref = compare([s.results[0].val_dir, str(cli)])["runs"][1]["intervals"]["mAP50-95"]
    assert s.intervals[1]["mAP50-95"] == ref

    s.calibrate(1, "f1", {"patches": "recall=0.8"})
    doc = s.calibration
    out = tmp_path / "cli.thresholds.json"
    assert main(["calibrate", "--weights", str(ov), "--val-dir", str(cli), "--target", "f1",
                 "--class-target", "patches=recall:0.8", "--out", str(out)]) == 0  # fmt: skip
    engine = read_document(out)
    assert (doc["conf"], doc["per_class"]) == (engine["conf"], engine["per_class"])
    s.write_thresholds()
    beside = ov.with_name(ov.name + ".thresholds.json")  # <folder>.thresholds.json
    assert rec.of("thresholds_written")[-1] == (str(beside.resolve()),)
    written = read_document(beside)
    assert written["per_class"] == doc["per_class"] and written["imgsz"] == EXPORT_SIZE
    assert written["model_sha256"] == model_sha256(ov)

    # Use in Inference: the export chosen there, its classes read, the thresholds applied
    weights, conf, by_name = s.calibrated_thresholds()
    assert weights == str(ov.resolve())
    inference = InferenceSession(cache=PredictorCache(size=1))
    inference.set_source(str(DATA.parent / "images" / "val"), "Folder")
    inference.use_calibrated(weights, conf, by_name)
    assert inference.wait(60) and inference.model.path == weights
    assert inference.names == s.results[1].names
    assert inference.class_conf_by_name() == by_name and inference.thresholds.conf == conf
    done: list = []
    inference.finished.connect(done.append)
    assert inference.start() and inference.wait(120)
    assert done[0].images == 12 and done[0].settings["imgsz"] == EXPORT_SIZE

    s.report(1, tmp_path / "report.html")
    result = rec.of("reported")[-1][0]
    line = f"{weights}: an exported openvino model; Eigen-CAM needs the PyTorch checkpoint (.pt)"
    assert f"{line} it was exported from" in result["problems"]
    assert result["metrics"]["mAP50-95"]["value"] == pytest.approx(
        theirs["metrics"]["mAP50-95"], abs=1e-9
    )
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No Eigen-CAM: " in html and model_sha256(ov) in html


@pytest.mark.slow
def test_an_up_to_date_export_evaluation_is_reused_until_a_file_in_it_changes(exported, tmp_path):
    ov = exported["openvino"]

    def evaluated() -> EvaluationSession:
        s = EvaluationSession(tmp_path / "evaluations", device="cpu")
        assert s.add_model(ov) == ""
        s.set_dataset(DATA)
        assert s.evaluate()
        return s

    first = evaluated()
    assert [r.reused for r in first.results] == [False]
    assert [r.reused for r in evaluated().results] == [True]
    later = (Path(first.results[0].val_dir) / "metrics.json").stat().st_mtime + 10
    os.utime(ov / "metadata.yaml", (later, later))  # a file inside changed, not the folder
    again = evaluated()
    assert [r.reused for r in again.results] == [False]
    assert again.results[0].metrics["metrics"] == first.results[0].metrics["metrics"]
