"""Measure how many batches still follow the old DS-CBSM++ weights after an update, with the
real training loader and 8 worker processes: ``python _lag_probe.py DATA_YAML PROJECT``.

Run in a fresh interpreter by ``test_sampler_lag``: forking 8 loader workers from the test
process, after other tests loaded OpenVINO's and ONNX Runtime's thread pools, crashed it.
Prints ``{"lag": N, "workers": W}``.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

WORKERS, BATCH, UPDATE_AFTER = 8, 4, 20


def main(data: str, project: str) -> dict:
    os.cpu_count = lambda: WORKERS  # Ultralytics caps the workers at the cores
    from grace.train.api import TrainRequest, build_overrides
    from grace.train.trainer import GraceTrainer

    req = TrainRequest(data=data, model="yolo11n", variant="ds", imgsz=32, batch=BATCH,
                       device="cpu", workers=WORKERS, epochs=1, project=project,
                       name="lag")  # fmt: skip
    overrides, grace = build_overrides(req)
    trainer = GraceTrainer(overrides=overrides, grace=grace)
    trainer.model = trainer.get_model(cfg="yolo11n.yaml", verbose=False)  # its stride sizes images
    trainer.args.workers = WORKERS  # Ultralytics sets 0 on a CPU; a GPU run keeps them
    loader = trainer.get_dataloader(trainer.data["train"], BATCH, rank=-1, mode="train")
    sampler = trainer.balancer.sampler
    stale = []
    try:
        for k, batch in enumerate(loader):
            if k == UPDATE_AFTER - 1:
                sampler.set_class_weights(np.array([1.0, 0.0]))  # class 1: never again
            elif k >= UPDATE_AFTER and any("/c1_" in f for f in batch["im_file"]):
                stale.append(k - UPDATE_AFTER + 1)
    finally:
        loader.close()
    return {"lag": max(stale) if stale else 0, "workers": loader.num_workers}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
