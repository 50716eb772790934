"""The Evaluate tab in the main window, on the demo (its two checkpoints on its 12 val images at
imgsz 256, evaluated from the tab): the metrics table against each metrics.json, Δ with
intervals against grace compare, a confusion-matrix cell clicked against errors.json counted
image by image (and the Dataset tab showing those images), calibration writing the file, "Use in
Inference" setting the Inference tab's model and sliders, and the PNG/CSV exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

EVAL_MS = 240_000


def _pct(x):
    return f"{100 * x:.2f}"


@pytest.fixture
def window(make_window, qtbot):
    w = make_window(demo=True)  # the Evaluate tab evaluates the demo on launch
    tab = w.evaluate_tab
    if len(tab.session.results) < 2:
        qtbot.waitUntil(lambda: len(tab.session.results) == 2 and not tab.session.running,
                        timeout=EVAL_MS)  # fmt: skip
    w.tabs.setCurrentWidget(tab)
    return w


def test_evaluate_compare_confusion_calibrate_and_use_in_inference(window, qtbot, tmp_path,
                                                                   monkeypatch):  # fmt: skip
    from grace.eval.compare import compare
    from grace.eval.errors import confusion_matrix
    from grace.infer.threshold_file import read_document
    from grace_gui.sessions.evaluation_tables import delta_text

    tab = window.evaluate_tab
    s = tab.session
    assert [Path(m.weights).name for m in s.models] == [
        "neu-det_yolo11n_baseline.pt", "neu-det_yolo11n_grace.pt"]  # fmt: skip
    files = [json.loads((Path(r.val_dir) / "metrics.json").read_text()) for r in s.results]

    # the metrics table shows each metrics.json (deployed protocol, 256, 12 images)
    shown = tab.metrics.cell_texts()
    headers = [tab.metrics.horizontalHeaderItem(c).text() for c in range(tab.metrics.columnCount())]
    for row, m in zip(shown, files, strict=True):
        cell = dict(zip(headers, row, strict=True))
        assert (m["protocol"], m["settings"]["imgsz"], m["images"]) == ("deployed", 256, 12)
        assert cell["mAP@0.5:0.95 (%)"] == _pct(m["metrics"]["mAP50-95"])
        assert cell["mAP@0.5 (%)"] == _pct(m["metrics"]["mAP50"])
        assert cell["F1 dataset, pooled (%)"] == _pct(m["metrics"]["f1_dataset"])
        assert cell["AP large (%)"] == _pct(m["size"]["large"]["AP"])
        assert (cell["Protocol"], cell["Image size"], cell["Images"]) == ("deployed", "256", "12")

    # Δ and intervals for two models, as grace compare gives them
    runs = compare([r.val_dir for r in s.results])["runs"]
    for key, header in (("mAP50-95", "Δ mAP@0.5:0.95 (pp) [95 % CI]"),
                        ("f1_dataset", "Δ F1 dataset, pooled (pp) [95 % CI]")):  # fmt: skip
        col = headers.index(header)
        assert shown[0][col] == "reference"
        iv = runs[1]["intervals"][key]
        assert iv["delta"] == pytest.approx(
            100 * (files[1]["metrics"][key] - files[0]["metrics"][key]), abs=1e-9)
        assert shown[1][col] == delta_text(iv)
    assert "not distinguishable" in tab.pages.verdict.text()

    # a confusion-matrix cell clicked: its images, counted image by image from errors.json
    tab.pages.setCurrentWidget(tab.pages.widget(4))
    tab.pages.cm_model.setCurrentIndex(1)
    errors = json.loads((Path(s.results[1].val_dir) / "errors.json").read_text())
    nc = len(errors["classes"])
    per_image = [confusion_matrix([e], nc) for e in errors["images"]]
    counts = np.array(errors["confusion_matrix"]["counts"])
    row, col = nc, int(np.argmax(counts[nc, :nc]))  # the class with the most false alarms
    expected = [e["file"] for e, cm in zip(errors["images"], per_image, strict=True)
                if cm[row, col] > 0]  # fmt: skip
    assert expected and tab.confusion.item(row, col).text() == str(counts[row, col])
    view = tab.confusion
    qtbot.waitExposed(view)
    at = view.visualRect(view.model().index(row, col)).center()
    with qtbot.waitSignal(tab.cell_images, timeout=5000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert blocker.args[0] == expected
    ds = window.dataset_tab
    assert window.tabs.currentWidget() is ds
    shown_paths = [str(ds.session.index.images[i].path.resolve()) for i in ds.session.rows]
    assert shown_paths == [str(Path(p).resolve()) for p in expected]
    window.tabs.setCurrentWidget(tab)

    # calibration: a recall target for one class, the file written, then Use in Inference
    cal = tab.calibration
    tab.pages.setCurrentWidget(cal)
    cal.model.setCurrentIndex(1)
    cal.set_class_target("patches", "recall", 0.8)
    with qtbot.waitSignal(s.calibrated, timeout=30_000):
        qtbot.mouseClick(cal.calibrate_button, Qt.MouseButton.LeftButton)
    doc = s.calibration
    assert doc["target"] == {"default": "f1", "per_class": {"patches": "recall=0.8"}}
    table = cal.table.cell_texts()
    names = s.results[1].names
    for name, t in doc["per_class"].items():
        assert table[names.index(name)][3] == f"{t:.4f}"
    out = tmp_path / "grace.thresholds.json"
    monkeypatch.setattr("grace_gui.tabs.evaluate_tab.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(out), ""))  # fmt: skip
    with qtbot.waitSignal(s.thresholds_written, timeout=30_000):
        qtbot.mouseClick(cal.write_button, Qt.MouseButton.LeftButton)
    written = read_document(out)
    assert (written["conf"], written["per_class"]) == (doc["conf"], doc["per_class"])

    inference = window.inference_tab
    qtbot.waitUntil(lambda: not inference.running, timeout=EVAL_MS)
    qtbot.mouseClick(cal.use_button, Qt.MouseButton.LeftButton)
    assert inference.session.model.path == s.results[1].model.weights
    assert window.tabs.currentWidget() is inference  # the user sees where it went
    qtbot.waitUntil(lambda: inference.session.names == names, timeout=30_000)
    th = inference.session.thresholds
    assert th.conf == doc["conf"]
    assert {names[c]: v for c, v in th.per_class.items()} == doc["per_class"]
    sliders = inference.thresholds  # at the calibrated values (shown to 2 decimals; >= 0.01)
    assert sliders.global_slider.value() == pytest.approx(max(doc["conf"], 0.01), abs=1e-4)
    for name, t in doc["per_class"].items():
        value = sliders.class_sliders[names.index(name)].value()
        assert value == pytest.approx(max(t, 0.01), abs=1e-4)


def test_exports_write_the_numbers_and_pictures_shown(window, tmp_path):
    tab = window.evaluate_tab
    s = tab.session
    tab.pages.ap_key.setCurrentIndex(0)  # AP@0.5
    path = tab.export_csv("per_class", str(tmp_path / "ap.csv"))
    rows = list(csv.reader(path.open(encoding="utf-8")))
    files = [json.loads((Path(r.val_dir) / "metrics.json").read_text()) for r in s.results]
    names = list(files[0]["per_class"])
    assert [r[0] for r in rows[1:]] == names
    for r in rows[1:]:
        ap = [files[m]["per_class"][r[0]]["AP50"] for m in range(2)]
        assert r[2:] == [_pct(a) for a in ap]
    tab.pages.setCurrentIndex(1)
    png = tab.export_png("pr", str(tmp_path / "pr.png"))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    grabbed = tab.pages.pr.widget.grab()
    assert (width, height) == (grabbed.width(), grabbed.height())
    cm = tab.export_csv("confusion", str(tmp_path / "cm.csv"))
    counts = [[int(v) for v in r[1:]] for r in list(csv.reader(cm.open()))[1:]]
    assert counts == files[tab.pages.cm_model.currentIndex()]["confusion_matrix"]["counts"]
