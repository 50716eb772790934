"""RunSeries: plot series, progress and ETA from events (pure; the demo run as real input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grace.train.progress import RunSeries, batch_x, eta_seconds, format_duration

DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo" / "runs" / "grace"


def _start(epochs: int = 4, bpe: int = 10, t: float = 100.0, start_epoch: int = 0) -> dict:
    return {
        "type": "start", "time": t, "classes": ["a", "b"], "variant": "grace", "epochs": epochs,
        "start_epoch": start_epoch, "batches_per_epoch": bpe,
    }  # fmt: skip


def test_progress_and_eta_follow_the_batches():
    s = RunSeries()
    s.add([_start(), {"type": "batch", "time": 110.0, "epoch": 0, "batch": 4, "batches": 10}])
    assert s.progress() == (0.5, 4.0)  # 5 of 10 batches of the first of 4 epochs
    assert s.eta() == pytest.approx(3.5 * 10 / 0.5)  # 10 s per half epoch
    assert "epoch 1/4, batch 5/10" in s.status()
    s.add([{"type": "end", "time": 120.0, "stopped": True, "best": None}])
    assert s.finished and s.stopped and s.eta() is None and "stopped" in s.status()


def test_resume_continues_the_series_and_restarts_the_eta():
    s = RunSeries()
    s.add([_start(), {"type": "epoch", "time": 150.0, "epoch": 0, "metrics": {"mAP50": 0.1}}])
    s.add([{"type": "end", "time": 151.0, "stopped": True}])
    s.add([_start(t=200.0, start_epoch=1)])
    assert not s.finished and s.start_time == 200.0 and s.progress() == (0.0, 3.0)
    assert s.maps["mAP50"] == [0.1] and s.epoch_x == [1.0]


def test_demo_run_series_equal_its_events():
    events = [json.loads(line) for line in (DEMO / "events.jsonl").read_text().splitlines()]
    s = RunSeries()
    s.add(events)
    start = events[0]
    sampler = [e for e in events if e["type"] == "sampler"]
    bpe = start["batches_per_epoch"]
    assert s.sampler_x == pytest.approx([e["epoch"] + e["batch"] / bpe for e in sampler])
    for c in range(len(start["classes"])):
        assert s.class_series("c_ema")[c] == pytest.approx([e["c_ema"][c] for e in sampler])
    epochs = [e for e in events if e["type"] == "epoch"]
    assert s.maps["mAP50-95"] == pytest.approx([e["metrics"]["mAP50-95"] for e in epochs])
    assert s.finished and not s.stopped and s.progress() == (12.0, 12.0)


def test_small_helpers():
    assert batch_x(2, 5, 10) == 2.5
    assert eta_seconds(0, 10, 5) is None and eta_seconds(2, 10, 4) == 16
    assert [format_duration(x) for x in (None, 42, 185, 3720)] == ["—", "42s", "3m 05s", "1h 02m"]


def _batch(epoch: int, batch: int, box: float, batches: int = 4) -> dict:
    return {"type": "batch", "time": 101.0, "epoch": epoch, "batch": batch, "batches": batches,
            "losses": {"box_loss": box, "cls_loss": 1.0, "dfl_loss": 1.0}}  # fmt: skip


def test_loss_plot_is_ultralytics_end_of_epoch_mean_without_the_epoch_start_drop():
    # Ultralytics' tloss restarts each epoch: epoch 1's single first batch (0.152) is 10x below
    # epoch 0's printed mean (1.546). Running means of epoch 1, by hand, from its raw batch
    # losses 0.152, 2.0, 1.5, 1.0: 0.152, 2.152/2 = 1.076, 3.652/3 = 1.21733.., 4.652/4 = 1.163
    epoch0 = [_batch(0, b, v) for b, v in enumerate((1.9, 1.7, 1.6, 1.546))]
    epoch1 = [_batch(1, b, v) for b, v in enumerate((0.152, 1.076, 3.652 / 3, 1.163))]
    end0 = {"type": "epoch", "time": 102.0, "epoch": 0, "losses": {"box_loss": 1.546}}
    s = RunSeries()
    s.add([_start(epochs=3, bpe=4), *epoch0, end0, *epoch1[:2]])
    assert s.loss_x == [1.0] and s.losses["box_loss"] == [1.546]  # one point per finished epoch
    assert s.live_loss_x == [1.25, 1.5]  # the epoch in progress, a separate series
    assert s.live_losses["box_loss"] == [0.152, 1.076]
    # an epoch event without losses (older runs): the epoch's last batch event is its mean
    s.add([*epoch1[2:], {"type": "epoch", "time": 103.0, "epoch": 1}])
    assert s.loss_x == [1.0, 2.0] and s.losses["box_loss"] == pytest.approx([1.546, 1.163])
    assert s.live_loss_x == [] and s.live_losses["box_loss"] == []
    assert 0.152 not in s.losses["box_loss"]


def test_stop_in_an_epoch_says_where_and_resume_drops_its_batches():
    s = RunSeries()
    s.add([_start(epochs=2, bpe=24), _batch(0, 0, 1.5, batches=24)])
    s.add([{"type": "end", "time": 105.0, "stopped": True, "epochs_completed": 0,
            "epoch_batches_done": 1, "batches": 24}])  # fmt: skip
    assert s.status().startswith("stopped in epoch 1 after 1 of 24 batches")
    assert "0/2 epochs complete" in s.status()
    s.add([_start(epochs=2, bpe=24, t=200.0)])  # the resume runs epoch 1 again
    assert s.live_loss_x == [] and not s.finished
    s.add([{"type": "end", "time": 300.0, "stopped": True, "epochs_completed": 1,
            "epoch_batches_done": 24, "batches": 24}])  # fmt: skip
    assert s.status() == "stopped after epoch 1/2"


def test_opened_run_settings_come_from_its_first_start_event():
    start = json.loads((DEMO / "events.jsonl").read_text().splitlines()[0])
    s = RunSeries()
    s.add([start])
    c = start["config"]
    assert s.config["model"] == c["model"] == "yolo11n.yaml"
    assert (s.config["epochs"], s.config["image size"], s.config["batch"]) == (12, 256, 16)
    assert s.config["variant"] == "grace"
    assert s.config["dataset"] == c["data"] == "/tmp/neu/data.yaml"
    assert s.config["images"] == "1439 train, 360 val"
    s.add([{**start, "config": {**c, "epochs": 99}}])  # a resume keeps the first settings
    assert s.config["epochs"] == 12
