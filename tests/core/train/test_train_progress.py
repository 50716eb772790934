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
