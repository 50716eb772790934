"""DS-CBSM++ reacts at once: with the real training loader (Ultralytics' builder, our sampler,
8 worker processes) new weights govern every batch drawn after the update; at most one batch per
worker was drawn before it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from grace.train.api import TrainRequest, build_overrides

pytestmark = pytest.mark.slow

WORKERS, BATCH, PER_CLASS = 8, 4, 160


@pytest.fixture(scope="module")
def two_class_data(tmp_path_factory):
    """Images holding one class each: 160 of class 0, 160 of class 1."""
    root = tmp_path_factory.mktemp("two_class")
    for split, n in (("train", PER_CLASS), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for c in (0, 1):
            for i in range(n):
                stem = f"c{c}_{i:03d}"
                Image.new("RGB", (32, 32), (40 + 100 * c,) * 3).save(
                    root / "images" / split / f"{stem}.png"
                )
                (root / "labels" / split / f"{stem}.txt").write_text(f"{c} 0.5 0.5 0.4 0.4\n")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames: [a, b]\n"
    )
    return root / "data.yaml"


def _lag_after_update(trainer, update_after: int) -> tuple[int, int]:
    """Consume ``update_after`` batches, then give class 1 weight 0; return the number of later
    batches that still hold a class-1 image, and the loader's worker count."""
    loader = trainer.get_dataloader(trainer.data["train"], BATCH, rank=-1, mode="train")
    sampler = trainer.balancer.sampler
    stale = []
    try:
        for k, batch in enumerate(loader):
            if k == update_after - 1:
                sampler.set_class_weights(np.array([1.0, 0.0]))
            elif k >= update_after and any("/c1_" in f for f in batch["im_file"]):
                stale.append(k - update_after + 1)
    finally:
        loader.close()
    return (max(stale) if stale else 0), loader.num_workers


def test_new_weights_govern_every_batch_drawn_after_the_update(
    two_class_data, tmp_path, monkeypatch
):
    from grace.train.trainer import GraceTrainer

    monkeypatch.setattr(os, "cpu_count", lambda: WORKERS)  # Ultralytics caps workers at cores
    req = TrainRequest(data=str(two_class_data), model="yolo11n", variant="ds", imgsz=32,
                       batch=BATCH, device="cpu", workers=WORKERS, epochs=1,
                       project=str(tmp_path), name="lag")  # fmt: skip
    overrides, grace = build_overrides(req)
    trainer = GraceTrainer(overrides=overrides, grace=grace)
    trainer.model = trainer.get_model(cfg="yolo11n.yaml", verbose=False)  # its stride sizes images
    trainer.args.workers = WORKERS  # Ultralytics sets 0 on a CPU; a GPU run keeps them
    lag, workers = _lag_after_update(trainer, update_after=20)
    assert workers == WORKERS
    # before: prefetch_factor 4 x 8 workers = 32 stale batches after each update
    assert 1 <= lag <= WORKERS, lag
