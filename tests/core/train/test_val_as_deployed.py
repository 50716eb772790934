"""The trainer validates (and so picks ``best.pt``) on the very tensor ``grace predict`` feeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from grace.images import read_image


def _dataset(root: Path, h: int, w: int, n: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(img).save(root / "images" / split / f"{i}.png")
            (root / "labels" / split / f"{i}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    data = root / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(root), "train": "images/train",
                                    "val": "images/val", "names": {0: "defect"}}))  # fmt: skip
    return data


# (h, w, imgsz) -> the predictor's input: r = min(imgsz / h, imgsz / w), the image resized to
# round(w r) x round(h r) and padded to the next multiple of 32 (one shape in the split);
# Ultralytics' own rectangular validation pads to ceil(side / 32 + 0.5) * 32 instead
CASES = [
    (100, 200, 128, (64, 128), (96, 160)),  # scaled down by 0.64
    (50, 50, 64, (64, 64), (96, 96)),  # scaled up by 1.28, as NEU-DET 200 -> 256
]


@pytest.mark.slow
@pytest.mark.parametrize(("h", "w", "imgsz", "ours", "theirs"), CASES)
def test_trainer_val_input_equals_the_predictor_input(
    tmp_path, ckpt_saver, one_torch_thread, h, w, imgsz, ours, theirs
):
    from ultralytics.models.yolo.detect import DetectionTrainer

    from grace.infer.predictor import Predictor
    from grace.train.trainer import GraceTrainer

    data = _dataset(tmp_path / "data", h, w)
    trainer = GraceTrainer(overrides=dict(model="yolo11n.yaml", data=str(data), imgsz=imgsz,
                                          epochs=1, batch=2, device="cpu", workers=0,
                                          project=str(tmp_path / "runs"), name="t",
                                          plots=False, verbose=False))  # fmt: skip
    trainer.model = trainer.get_model(cfg="yolo11n.yaml", verbose=False)
    val_dir = trainer.data["val"]
    dataset = trainer.build_dataset(val_dir, "val", 2)
    plain = DetectionTrainer.build_dataset(trainer, val_dir, "val", 2)  # Ultralytics' own
    weights = ckpt_saver(trainer.model, tmp_path / "w.pt", imgsz=imgsz)
    predictor = Predictor(weights, imgsz=imgsz, device="cpu")
    predictor.warmup()
    engine = predictor.model.predictor
    for i in range(len(dataset)):
        item = dataset[i]
        fed = item["img"].float().unsqueeze(0) / 255  # what the validator feeds (CPU: float32)
        image = read_image(item["im_file"])
        with torch.inference_mode():
            expected = engine.preprocess([image])
        assert tuple(fed.shape[2:]) == ours and tuple(expected.shape[2:]) == ours
        assert torch.equal(fed, expected), item["im_file"]
        assert tuple(plain[i]["img"].shape[1:]) == theirs  # what the fitness used to see
