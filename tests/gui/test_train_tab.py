"""Train tab: the demo run's plots equal its events, bad input is one clear line, and a real
training started from the tab shows sampler points live, keeps the GUI responsive and stops
through its STOP file (then resumes)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

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

    qtbot.waitUntil(lambda: tab.series.finished, timeout=10_000)
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
    n_batch = sum(e["type"] == "batch" for e in events)
    assert len(_curve_y(plots.loss_curves["cls_loss"])) == n_batch
    assert tab.progress.value() == 1000 and "finished" in tab.status_label.text()

    # both demo runs in the comparison table, figures from their val/metrics.json
    qtbot.waitUntil(lambda: tab.compare.table.rowCount() == 2, timeout=20_000)
    for row, run in enumerate(demo.runs):
        m = json.loads((run / "val" / "metrics.json").read_text())["metrics"]
        assert tab.compare.table.item(row, 0).text() == run.name
        assert tab.compare.table.item(row, 2).text() == f"{100 * m['mAP50-95']:.2f}"

    window.resize(1280, 820)
    window.tabs.setCurrentWidget(tab)
    qtbot.wait(400)
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "train.png"))

    # the baseline run has no sampler: the plot says so
    tab.open_run(demo.runs[0])
    qtbot.waitUntil(lambda: tab.series.finished, timeout=10_000)
    qtbot.waitUntil(lambda: "baseline" in plots.sampler_note.textItem.toPlainText(), timeout=5000)
    assert plots.sampler_curves == []
    qtbot.waitUntil(lambda: len(_curve_y(plots.map_curves["mAP50"])) == 12, timeout=5000)

    # relaunch: the last run shown comes back
    window.close()
    again = make_window()
    assert again.train_tab.run_dir == demo.runs[0].resolve()


def test_bad_dataset_is_one_line_and_leaves_no_process(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.train_tab
    bar = window.context.notifications
    tab.form.project.setText(str(tmp_path / "runs"))

    missing = tmp_path / "nope" / "data.yaml"
    tab.form.data.setText(str(missing))
    assert tab.start_training() is None
    assert tab.proc is None
    assert bar.current.message == f"{missing}: dataset file not found"

    bad = tmp_path / "bad.yaml"  # exists, but its image folders do not: the engine says so
    bad.write_text(f"path: {tmp_path / 'gone'}\ntrain: images/train\nval: images/val\nnames: [a]\n")
    tab.form.data.setText(str(bad))
    run = tab.start_training()
    assert run is not None and tab.proc is not None
    qtbot.waitUntil(lambda: bar.current.message.startswith("grace: error:"), timeout=60_000)
    assert tab.proc.poll() == 2  # the process is gone, with the CLI's bad-input code
    assert "\n" not in bar.current.message and "gone" in bar.current.message
    assert "grace: error:" in bar.current.details  # the log tail
    assert tab.start_button.isEnabled()
    assert not tab.busy()


@pytest.fixture
def train_tab(make_window):
    """The Train tab of a fresh window; its training process is killed if a test fails (else
    the window's close asks whether to quit while a run goes on)."""
    window = make_window()
    yield window.train_tab
    proc = window.train_tab.proc
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

    qtbot.wait(3000)  # the other tabs open the demo at start (model loading): let them settle
    run = tab.start_training()
    assert run == (tmp_path / "runs" / "grace-yolo11n").resolve()
    assert "keeps running in the background" in tab.busy()

    # sampler points arrive in the plot while training: at least two updates (two epochs)
    def sampler_points_shown() -> bool:  # of the new run (the demo run was shown before)
        curves = tab.plots.sampler_curves
        n = len(tab.series.sampler_x)
        return tab.run_dir == run and n >= 2 and len(curves) == 3 and len(_curve_y(curves[0])) == n

    qtbot.waitUntil(sampler_points_shown, timeout=180_000)
    assert tab.log.toPlainText().strip()  # train.log shown as it grows
    # more epochs stream in (losses, mAP, sampler, schedules: every plot redraws), then Stop
    qtbot.waitUntil(lambda: tab.series.epochs_done >= 6, timeout=180_000)
    qtbot.waitUntil(lambda: 0 < tab.progress.value() < 1000 and "ETA" in tab.status_label.text())
    # how long the GUI thread stalls meanwhile is a benchmark figure, not asserted here:
    # python -m grace_gui.bench --stall train
    tab.stop_training()
    qtbot.waitUntil(lambda: tab.proc.poll() is not None and tab.series.finished, timeout=120_000)
    qtbot.wait(1000)  # what the end of a run sets off (checkpoint_ready in the other tabs)
    events = read_events(run)
    end = events[-1]
    assert end["type"] == "end" and end["stopped"] is True
    assert (run / "weights" / "last.pt").is_file()
    assert tab.proc.returncode == 0
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
        inference = window.inference_tab.session  # offered, never chosen for the user
        assert end["best"] in [m.path for m in inference.models]
        assert inference.model is None or inference.model.path != end["best"]
    qtbot.waitUntil(tab.resume_button.isEnabled, timeout=10_000)  # once the watcher saw the exit
    assert not tab.busy() and tab.start_button.isEnabled()

    # resume continues the same run directory; stop it again at its first sampler event
    n_before = len(events)
    tab.resume_training()
    qtbot.waitUntil(
        lambda: any(e["type"] == "sampler" for e in read_events(run)[n_before:]), timeout=180_000
    )
    tab.stop_training()
    qtbot.waitUntil(lambda: tab.proc.poll() is not None and tab.series.finished, timeout=120_000)
    resumed = read_events(run)[n_before:]
    assert next(e for e in resumed if e["type"] == "start")["resumed"] is True
    assert resumed[-1]["type"] == "end" and resumed[-1]["stopped"] is True
    # the plots show the whole run: before and after the resume
    all_sampler = [e for e in read_events(run) if e["type"] == "sampler"]
    qtbot.waitUntil(
        lambda: len(_curve_y(tab.plots.sampler_curves[0])) == len(all_sampler), timeout=5000
    )
    assert not math.isnan(_curve_y(tab.plots.loss_curves["box_loss"])[-1])
