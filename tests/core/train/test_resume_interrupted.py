"""A run stopped in the middle of an epoch: that epoch is not counted as done, the checkpoint
carries the sampler state of the moment it was saved, and --resume runs that epoch again in full."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from _stopped_runs import BATCHES, EPOCHS, STOP_BATCH, STOP_EPOCH, train_and_stop

from grace.train.api import TrainRequest, train
from grace.train.events import read_events

pytestmark = pytest.mark.slow


def _results_epochs(run: Path) -> list[int]:
    with open(run / "results.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _checkpoint(run: Path) -> dict:
    import grace.nn  # noqa: F401

    return torch.load(run / "weights" / "last.pt", map_location="cpu", weights_only=False)


def _of(events: list[dict], type_: str, key: str = "epoch") -> list:
    return [e[key] for e in events if e["type"] == type_]


def test_stop_mid_epoch_then_resume_redoes_that_epoch(stopped_run, tmp_path):
    run = stopped_run(tmp_path)
    events = read_events(run)
    end = events[-1]
    assert end["type"] == "end" and end["stopped"] is True
    # epoch 0 ran in full, epoch 1 only its batches 0..STOP_BATCH: one epoch is done
    assert end["epochs_completed"] == STOP_EPOCH == 1
    assert (end["epoch_batches_done"], end["batches"]) == (STOP_BATCH + 1, BATCHES)  # 2 of 4
    assert _of(events, "epoch") == [0]
    assert _results_epochs(run) == [1]  # Ultralytics numbers results.csv rows from 1

    ckpt = _checkpoint(run)
    assert ckpt["optimizer"] is not None  # still resumable after the final evaluation
    state = ckpt["ema"].grace_resume
    assert state["epoch"] == STOP_EPOCH and state["epoch_complete"] is False
    stats = state["sampler"]["stats"]
    assert stats["batches"] == BATCHES + STOP_BATCH + 1  # 4 + 2 mini-batches seen: saved at STOP
    assert stats["num_updates"] == 3  # one update every 2 mini-batches
    assert any(g > 0 for g in stats["g_ema"])

    n_before = len(events)
    assert train(TrainRequest(resume=str(run))) == run
    resumed = read_events(run)[n_before:]
    start = resumed[0]
    assert start["type"] == "start" and start["resumed"] is True
    assert start["start_epoch"] == STOP_EPOCH  # not STOP_EPOCH + 1: the epoch runs again
    batches = [(e["epoch"], e["batch"]) for e in resumed if e["type"] == "batch"]
    assert batches == [(e, b) for e in range(STOP_EPOCH, EPOCHS) for b in range(BATCHES)]
    first_sampler = next(e for e in resumed if e["type"] == "sampler")
    assert first_sampler["g_ema"] == pytest.approx(stats["g_ema"])
    assert first_sampler["c_ema"] == pytest.approx(stats["c_ema"])
    assert _of(resumed, "epoch") == [1, 2]
    assert resumed[-1]["type"] == "end" and resumed[-1]["stopped"] is False
    assert resumed[-1]["epochs_completed"] == EPOCHS
    assert _results_epochs(run) == [1, 2, 3]  # each epoch once


def test_stop_at_the_last_batch_counts_the_epoch(tiny_request, tmp_path):
    run = train_and_stop(tiny_request, tmp_path, "last", epoch=0, batch=BATCHES - 1)
    events = read_events(run)
    assert events[-1]["epochs_completed"] == 1
    assert _of(events, "epoch") == [0]
    assert _results_epochs(run) == [1]
    state = _checkpoint(run)["ema"].grace_resume
    assert state["epoch"] == 0 and state["epoch_complete"] is True

    n_before = len(events)
    train(TrainRequest(resume=str(run)))
    resumed = read_events(run)[n_before:]
    assert resumed[0]["start_epoch"] == 1
    assert _of(resumed, "epoch") == [1, 2]
    assert _results_epochs(run) == [1, 2, 3]
