"""What Ultralytics' DDP launcher does to our trainer: it cloudpickles the trainer class, its args
and its callbacks, and rebuilds the trainer in each worker. Our callbacks must not double and the
GRACE config must survive (it travels in an environment variable)."""

from __future__ import annotations

import json

import cloudpickle

from grace.config import GraceConfig
from grace.train.api import build_overrides
from grace.train.trainer import GRACE_CONFIG_ENV, GraceTrainer


def test_rebuilt_worker_trainer_has_each_callback_once_and_the_same_config(
    tiny_request, tmp_path, monkeypatch
):
    overrides, grace = build_overrides(tiny_request(tmp_path, "ddp", variant="ds"))
    parent = GraceTrainer(overrides=overrides, grace=grace)
    state = cloudpickle.loads(
        cloudpickle.dumps(
            {"trainer": type(parent), "args": vars(parent.args), "callbacks": parent.callbacks}
        )
    )
    monkeypatch.setenv(GRACE_CONFIG_ENV, json.dumps(parent.grace.to_dict()))
    worker = state["trainer"](overrides=state["args"], _callbacks=state["callbacks"])
    assert worker.grace == GraceConfig(variant="ds")
    for event in (
        "on_train_start",
        "on_train_epoch_start",
        "on_train_batch_end",
        "on_fit_epoch_end",
        "on_train_end",
    ):  # (no on_model_save any more: the sampler state is saved inside last.pt)
        ours = [f for f in worker.callbacks[event] if f.__module__ == "grace.train.trainer"]
        assert len(ours) == 1, (event, ours)
