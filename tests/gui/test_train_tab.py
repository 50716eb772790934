"""Train tab: the demo run's plots equal its events, bad input is one clear line, and a real
training started from the tab shows sampler points live, keeps the GUI responsive and stops
through its STOP file (then resumes)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from grace.colors import class_rgb
from grace.train.events import read_events

SHOTS = Path("/tmp/shots")


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def _curve_y(curve) -> list[float]:
    _x, y = curve.getData()
    return [] if y is None else [float(v) for v in y]


def _curve_x(curve) -> list[float]:
    x, _y = curve.getData()
    return [] if x is None else [float(v) for v in x]


def test_demo_run_plots_equal_its_events_and_both_runs_are_compared(qtbot, make_window):
    window = make_window()
    tab = window.train_tab
    demo = window.context.demo
    grace_run = demo.runs[-1]
    events = _events(grace_run)
    start = next(e for e in events if e["type"] == "start")
    sampler = [e for e in events if e["type"] == "sampler"]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(sampler) == 66 and len(epochs) == 12  # the demo as committed

    qtbot.waitUntil(lambda: tab.session.series.finished, timeout=10_000)
    qtbot.waitUntil(lambda: not tab._dirty and not tab.plots.pending(), timeout=5000)
    plots = tab.plots
    assert len(plots.sampler_curves) == 6
    bpe = start["batches_per_epoch"]
    want_x = [e["epoch"] + e["batch"] / bpe for e in sampler]
    for c, curve in enumerate(plots.sampler_curves):
        assert _curve_y(curve) == pytest.approx([e["w_final"][c] for e in sampler])
        assert _curve_x(curve) == pytest.approx(want_x)
        assert curve.name() == start["classes"][c]
        assert curve.opts["pen"].color().getRgb()[:3] == class_rgb(c)
    # the selector shows the other per-class series of the same events
    plots.sampler_key.setCurrentIndex(plots.sampler_key.findData("g_ema"))
    for c, curve in enumerate(plots.sampler_curves):
        assert _curve_y(curve) == pytest.approx([e["g_ema"][c] for e in sampler])
    plots.sampler_key.setCurrentIndex(plots.sampler_key.findData("w_final"))

    for key, curve in plots.map_curves.items():
        assert _curve_y(curve) == pytest.approx([e["metrics"][key] for e in epochs])
        assert _curve_x(curve) == pytest.approx([e["epoch"] + 1 for e in epochs])
    assert _curve_y(plots.gamma_curve) == pytest.approx([e["gamma"] for e in epochs])
    assert _curve_y(plots.s_curve) == pytest.approx([e["s_e"] for e in epochs])
    # losses: one point per epoch, the mean Ultralytics printed at its end
    assert _curve_y(plots.loss_curves["cls_loss"]) == pytest.approx(
        [e["losses"]["cls_loss"] for e in epochs]
    )
    assert _curve_x(plots.loss_curves["cls_loss"]) == pytest.approx(list(range(1, 13)))
    assert _curve_y(plots.live_loss_curves["cls_loss"]) == []  # no epoch in progress
    box = tab.run_box
    assert box.progress.value() == 1000 and "finished" in box.status_label.text()
    # the opened run's settings, from its start event
    for line in ("model: yolo11n.yaml", "variant: grace", "epochs: 12", "image size: 256",
                 "batch: 16", "device: cpu", "images: 1439 train, 360 val"):  # fmt: skip
        assert line in box.settings_label.text().splitlines()

    # both demo runs in the comparison table, figures from their val/metrics.json
    qtbot.waitUntil(lambda: tab.compare.table.rowCount() == 2, timeout=20_000)
    for row, run in enumerate(demo.runs):
        m = json.loads((run / "val" / "metrics.json").read_text())["metrics"]
        assert tab.compare.table.item(row, 0).text() == run.name
        assert tab.compare.table.item(row, 3).text() == f"{100 * m['mAP50-95']:.2f}"

    window.resize(1280, 820)
    window.tabs.setCurrentWidget(tab)
    qtbot.wait(400)
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "train.png"))

    # the baseline run has no sampler: the plot says so
    tab.open_run(demo.runs[0])
    qtbot.waitUntil(lambda: tab.session.series.finished, timeout=10_000)
    qtbot.waitUntil(lambda: "baseline" in plots.sampler_note.textItem.toPlainText(), timeout=5000)
    assert plots.sampler_curves == []
    qtbot.waitUntil(lambda: len(_curve_y(plots.map_curves["mAP50"])) == 12, timeout=5000)

    # relaunch: the last run shown comes back
    window.close()
    again = make_window()
    assert again.train_tab.session.run_dir == demo.runs[0].resolve()


def test_bad_dataset_is_one_line_and_leaves_no_process(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.train_tab
    bar = window.context.notifications
    tab.form.project.setText(str(tmp_path / "runs"))

    missing = tmp_path / "nope" / "data.yaml"
    tab.form.data.setText(str(missing))
    assert tab.start_training() is None
    assert tab.session.proc is None
    assert bar.current.message == f"{missing}: dataset file not found"

    bad = tmp_path / "bad.yaml"  # exists, but its image folders do not: the form says so
    bad.write_text(f"path: {tmp_path / 'gone'}\ntrain: images/train\nval: images/val\nnames: [a]\n")
    tab.form.data.setText(str(bad))
    assert tab.start_training() is None
    assert bar.current.message == (
        f"{bad}: train folder 'images/train' not found (root {tmp_path / 'gone'})"
    )
    assert tab.session.proc is None and not (tmp_path / "runs").exists()
    assert tab.start_button.isEnabled() and not tab.busy()


def test_non_checkpoint_weights_are_refused_in_the_form(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.train_tab
    tab.form.data.setText(str(window.context.demo.data_yaml))
    tab.form.project.setText(str(tmp_path / "runs"))
    notes = tmp_path / "notes.pt"
    notes.write_bytes(b"model notes, not a model\n")
    tab.form.weights.setText(str(notes))
    assert tab.start_training() is None
    assert window.context.notifications.current.message == f"{notes}: not a PyTorch checkpoint"
    assert tab.session.proc is None and not (tmp_path / "runs").exists()


def test_paper_defaults_on_cpu_say_the_estimate_and_ask(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = make_window()  # gpus=[]: automatic device is the CPU
    tab = window.train_tab
    demo = window.context.demo
    tab.form.data.setText(str(demo.data_yaml))
    tab.form.project.setText(str(tmp_path / "runs"))
    tab.form.paper_defaults()  # yolo11s, 200 epochs, 640 px
    n_train = len(list((demo.data_yaml.parent / "images" / "train").iterdir()))
    asked: list[str] = []

    def answer(_parent, _title, text, *args):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert tab.start_training() is None  # declined: nothing started
    assert tab.session.proc is None and not (tmp_path / "runs").exists()
    # n x 200 epochs x 0.0754 s x 21.5/6.5 x (640/256)^2 = n x 311.75 s
    hours = n_train * 200 * 0.0754 * 21.5 / 6.5 * 6.25 / 3600
    assert f"about {hours:.1f} h on the CPU (estimate: {n_train} images × 200 epochs" in asked[0]
    assert "Start anyway?" in asked[0]


def _write_events(run: Path, events: list[dict]) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return run


def test_loss_plot_has_no_epoch_start_drop_and_stop_says_where(qtbot, make_window, tmp_path):
    start = {"type": "start", "time": 1.0, "epochs": 3, "start_epoch": 0,
             "batches_per_epoch": 24, "variant": "baseline", "classes": ["a"],
             "config": {"model": "yolo11n.yaml"}}  # fmt: skip

    def batch(epoch, i, box):
        return {"type": "batch", "time": 2.0, "epoch": epoch, "batch": i, "batches": 24,
                "losses": {"box_loss": box, "cls_loss": 2.0, "dfl_loss": 1.0}}  # fmt: skip

    events = [start, batch(0, 0, 1.9), batch(0, 23, 1.546),
              {"type": "epoch", "time": 3.0, "epoch": 0, "losses": {"box_loss": 1.546}},
              batch(1, 0, 0.152),  # the new epoch's first batch alone: 10x below the mean
              {"type": "end", "time": 4.0, "stopped": True, "epochs_completed": 1,
               "epoch_batches_done": 1, "batches": 24}]  # fmt: skip
    run = _write_events(tmp_path / "stopped", events)
    window = make_window()
    tab = window.train_tab
    tab.open_run(run)
    qtbot.waitUntil(lambda: "stopped in epoch 2" in tab.run_box.status_label.text(), timeout=10_000)
    assert tab.run_box.status_label.text().startswith("stopped in epoch 2 after 1 of 24 batches")
    qtbot.waitUntil(lambda: not tab.plots.pending(), timeout=5000)
    assert _curve_x(tab.plots.loss_curves["box_loss"]) == [1.0]
    assert _curve_y(tab.plots.loss_curves["box_loss"]) == [1.546]  # not 0.152
    assert _curve_y(tab.plots.live_loss_curves["box_loss"]) == [0.152]  # dashed, apart
    assert tab.start_button.isEnabled() and not tab.stop_button.isEnabled()


def test_compare_protocols_reference_sorting_and_all_rows(qtbot, make_window, tmp_path):
    def val_run(name, m5095, protocol):
        run = _write_events(tmp_path / name, [{"type": "start", "time": 0}])
        (run / "val").mkdir()
        doc = {"metrics": {"mAP50-95": m5095, "mAP50": 0.5}}
        (run / "val" / "metrics.json").write_text(json.dumps({**doc, **protocol}))
        return str(run)

    def trained_run(name, m5095):  # Ultralytics' figures at the end of training
        end = {"type": "end", "time": 1, "metrics": {"mAP50-95": m5095}}
        return str(_write_events(tmp_path / name, [end]))

    # grace val runs of one protocol (another would be refused: see the end) and training logs
    paths = [val_run("old", 0.40, {}), trained_run("early", 0.30),
             val_run("new", 0.4325, {"protocol": "ultralytics"}),
             trained_run("trained", 0.47)]  # fmt: skip
    window = make_window()
    window.resize(1280, 820)
    compare = window.train_tab.compare
    compare.set_runs(paths)
    table = compare.table
    qtbot.waitUntil(lambda: table.rowCount() == 4 and table.item(3, 0).text() == "trained",
                    timeout=20_000)  # fmt: skip
    col = {table.horizontalHeaderItem(j).text(): j for j in range(table.columnCount())}
    dcol = col["Δ mAP@0.5:0.95 (pp)"]

    def column(name):
        return [table.item(i, col[name]).text() for i in range(table.rowCount())]

    assert column("Protocol") == ["ultralytics", "ultralytics (training)", "ultralytics",
                                  "ultralytics (training)"]  # fmt: skip
    assert column("Δ mAP@0.5:0.95 (pp)") == ["ref", "—", "+3.25", "—"]  # 43.25 - 40.00
    assert "not comparable" in table.item(1, dcol).toolTip()
    assert column("Source")[3] == "events.jsonl end (Ultralytics)"
    assert table.minimumHeight() >= 4 * table.verticalHeader().defaultSectionSize()
    # the reference from the combo: Δ only among the training logs now (47.00 - 30.00)
    compare.reference.setCurrentIndex(1)
    compare.reference.activated.emit(1)
    qtbot.waitUntil(lambda: column("Δ mAP@0.5:0.95 (pp)") == ["—", "ref", "—", "+17.00"],
                    timeout=20_000)  # fmt: skip
    compare.use_as_reference(paths[2])  # what the right-click menu does
    qtbot.waitUntil(lambda: column("Δ mAP@0.5:0.95 (pp)") == ["-3.25", "—", "ref", "—"],
                    timeout=20_000)  # fmt: skip
    table.sortItems(col["mAP@0.5:0.95 (%)"])  # a click on the header: numbers, not text
    assert column("Run") == ["early", "old", "new", "trained"]
    table.sortItems(col["mAP@0.5:0.95 (%)"], Qt.SortOrder.DescendingOrder)
    assert column("Run")[0] == "trained"
    assert compare.note.text().startswith("Δ: percentage points")

    # a grace val run of another protocol: the engine refuses; the tab says why, keeps the rows
    compare.add_run(val_run("dep", 0.30, {"protocol": "deployed"}))
    qtbot.waitUntil(lambda: "different grace val protocols" in compare.note.text(),
                    timeout=20_000)  # fmt: skip
    assert "dep: deployed" in compare.note.text() and table.rowCount() == 5
    assert set(column("mAP@0.5:0.95 (%)")) == {"—"}
    table.sortItems(col["Run"])
    dep_row = column("Run").index("dep")
    table.selectRow(dep_row)
    compare.remove_selected()  # the run at fault out: compared again
    qtbot.waitUntil(lambda: table.rowCount() == 4 and "ref" in column("Δ mAP@0.5:0.95 (pp)"),
                    timeout=20_000)  # fmt: skip
    assert compare.note.text().startswith("Δ: percentage points")


def test_refused_start_leaves_no_folder_and_no_started_message(qtbot, make_window, tmp_path):
    import numpy as np
    from PIL import Image

    root = tmp_path / "ds"  # images but no labels: the engine refuses before the folder
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(root / "images" / split / "a.jpg")
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/val\n"
                                    "names: [scratch]\n")  # fmt: skip
    window = make_window()
    tab = window.train_tab
    status: list[str] = []
    window.context.status = status.append
    f = tab.form
    f.data.setText(str(root / "data.yaml"))
    f.model.setCurrentIndex(f.model.findData("yolo11n"))
    f.epochs.setValue(1)
    f.imgsz.setValue(64)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    f.project.setText(str(tmp_path / "runs"))
    run = tab.start_training()
    assert run is not None and status[-1].startswith(f"Starting training: {run}")
    bar = window.context.notifications
    qtbot.waitUntil(lambda: bar.current is not None and "grace: error:" in bar.current.message,
                    timeout=120_000)  # fmt: skip
    assert "no instances to train on" in bar.current.message
    assert not any(s.startswith("Training started") for s in status)
    assert not run.exists() and list((tmp_path / "runs").iterdir()) == []
    qtbot.waitUntil(lambda: tab.run_box.status_label.text().startswith("not started: grace:"))
    assert tab.start_button.isEnabled() and not tab.resume_button.isEnabled()


@pytest.fixture
def train_tab(make_window):
    """The Train tab of a fresh window; its training process is killed if a test fails (else
    the window's close asks whether to quit while a run goes on)."""
    window = make_window()
    yield window.train_tab
    proc = window.train_tab.session.proc
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(30)


@pytest.mark.slow
def test_real_training_live_sampler_stop_and_resume(qtbot, train_tab, tiny_data, tmp_path):
    tab = train_tab
    window = tab.window()
    window.resize(1280, 820)
    window.tabs.setCurrentWidget(tab)  # the plots are painted while it trains
    f = tab.form
    f.data.setText(str(tiny_data))
    f.model.setCurrentIndex(f.model.findData("yolo11n"))
    f.variant.setCurrentIndex(f.variant.findData("grace"))
    f.epochs.setValue(500)  # ends only through Stop (an epoch takes ~0.5 s)
    f.imgsz.setValue(64)
    f.batch.setValue(4)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    f.workers.setValue(0)
    f.project.setText(str(tmp_path / "runs"))
    ready: list[str] = []
    tab.checkpoint_ready.connect(ready.append)
    chosen = window.inference_tab.session.model  # the Inference tab's model: never switched

    qtbot.wait(3000)  # the other tabs open the demo at start (model loading): let them settle
    run = tab.start_training()
    assert run == (tmp_path / "runs" / "grace-yolo11n").resolve()
    assert "keeps running in the background" in tab.busy()
    session = tab.session

    # sampler points arrive in the plot while training: at least two updates (two epochs)
    def sampler_points_shown() -> bool:  # of the new run (the demo run was shown before)
        curves = tab.plots.sampler_curves
        n = len(session.series.sampler_x)
        shown = len(curves) == 3 and len(_curve_y(curves[0])) == n
        return session.run_dir == run and n >= 2 and shown

    qtbot.waitUntil(sampler_points_shown, timeout=180_000)
    assert tab.log.toPlainText().strip()  # train.log shown as it grows
    # more epochs stream in (losses, mAP, sampler, schedules: every plot redraws), then Stop
    qtbot.waitUntil(lambda: session.series.epochs_done >= 6, timeout=180_000)
    box = tab.run_box
    qtbot.waitUntil(lambda: 0 < box.progress.value() < 1000 and "ETA" in box.status_label.text())
    # how long the GUI thread stalls meanwhile is a benchmark figure, not asserted here:
    # python -m grace_gui.bench --stall train
    assert tab.stop_button.isEnabled()
    tab.stop_training()
    qtbot.waitUntil(lambda: session.series.finished, timeout=120_000)
    qtbot.waitUntil(tab.resume_button.isEnabled, timeout=5000)  # at the end event, not the exit
    qtbot.waitUntil(lambda: session.proc.poll() is not None, timeout=120_000)
    qtbot.wait(1000)  # what the end of a run sets off (checkpoint_ready in the other tabs)
    events = read_events(run)
    end = events[-1]
    assert end["type"] == "end" and end["stopped"] is True
    assert (run / "weights" / "last.pt").is_file()
    assert session.proc.returncode == 0
    assert box.status_label.text().startswith(("stopped in epoch", "stopped after epoch"))
    sampler = [e for e in events if e["type"] == "sampler"]
    qtbot.waitUntil(
        lambda: len(_curve_y(tab.plots.sampler_curves[0])) == len(sampler), timeout=5000
    )
    for c, curve in enumerate(tab.plots.sampler_curves):
        assert _curve_y(curve) == pytest.approx([e["w_final"][c] for e in sampler])
    if end["best"] and os.path.isfile(end["best"]):
        assert ready == [end["best"]]
        cam_recent = window.context.settings.get("cam/models", [])
        assert cam_recent[0] == end["best"]  # offered to Eigen-CAM, no panel recomputed
        # offered to Inference (its session; the settings are written when the window closes)
        assert end["best"] in [m.path for m in window.inference_tab.session.models]
        assert chosen is None or window.inference_tab.session.model == chosen
    assert not tab.busy() and tab.start_button.isEnabled()

    # resume continues the same run directory and the log follows; stop it at its first sampler
    n_before = len(events)
    tab.bottom.setCurrentWidget(tab.compare)
    tab.resume_training()
    assert tab.bottom.currentWidget() is tab.log
    marker = f"$ grace train --resume {run}"
    qtbot.waitUntil(lambda: marker in tab.log.toPlainText(), timeout=60_000)
    qtbot.waitUntil(
        lambda: any(e["type"] == "sampler" for e in read_events(run)[n_before:]), timeout=180_000
    )
    qtbot.waitUntil(tab.stop_button.isEnabled, timeout=10_000)  # the resumed start event read
    tab.stop_training()
    qtbot.waitUntil(lambda: session.proc.poll() is not None and session.series.finished,
                    timeout=120_000)  # fmt: skip
    # the resumed process' own output is in the log after its command line
    qtbot.waitUntil(lambda: "Resuming" in tab.log.toPlainText().split(marker)[-1], timeout=10_000)
    resumed = read_events(run)[n_before:]
    assert next(e for e in resumed if e["type"] == "start")["resumed"] is True
    assert resumed[-1]["type"] == "end" and resumed[-1]["stopped"] is True
    # the plots show the whole run: before and after the resume
    all_sampler = [e for e in read_events(run) if e["type"] == "sampler"]
    qtbot.waitUntil(
        lambda: len(_curve_y(tab.plots.sampler_curves[0])) == len(all_sampler), timeout=5000
    )
    assert not math.isnan(_curve_y(tab.plots.loss_curves["box_loss"])[-1])
