"""Runs stopped by their STOP file at a chosen batch (the resume and checkpoint tests)."""

from __future__ import annotations

from pathlib import Path

# 16 train images at batch 4: 4 batches per epoch; the STOP file appears during batch 1 of epoch 1
STOP_EPOCH, STOP_BATCH, BATCHES, EPOCHS = 1, 1, 4, 3


def stop_during(trainer, epoch: int, batch: int) -> None:
    """Make ``trainer`` find its STOP file at the end of ``batch`` (from 0) of ``epoch``."""
    from grace.train.events import request_stop

    def create_stop(tr) -> None:  # runs before the batch; the trainer looks after it
        if tr.epoch == epoch and tr._batch_in_epoch == batch:
            request_stop(tr.save_dir)

    trainer.add_callback("on_train_batch_start", create_stop)


def train_and_stop(tiny_request, project: Path, name: str, epoch: int, batch: int) -> Path:
    """A 3-epoch GRACE run (sampler updated every 2 batches) stopped by its STOP file."""
    from grace.config import GraceConfig, SamplerConfig
    from grace.train.api import build_overrides
    from grace.train.trainer import GraceTrainer

    overrides, _ = build_overrides(tiny_request(project, name, epochs=EPOCHS))
    grace = GraceConfig(variant="grace", sampler=SamplerConfig(update_every=2), batch_event_every=1)
    trainer = GraceTrainer(overrides=overrides, grace=grace)
    stop_during(trainer, epoch, batch)
    trainer.train()
    return Path(trainer.save_dir)
