"""Shared fixtures for the Eigen-CAM tests: small untrained models and checkpoints."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Small models on one thread: on a busy 2-core machine OpenMP spinning is slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def save_plain_checkpoint(model, path: Path, imgsz: int = 64) -> Path:
    """Save ``model`` as Ultralytics' trainer leaves ``best.pt`` (FP16 under ``"model"``)."""
    import torch
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg

    args = dict(vars(get_cfg(overrides={"model": "yolo11n.yaml", "imgsz": imgsz})))
    m = copy.deepcopy(model)
    m.nc = len(m.names)
    m.args = args
    m = m.half().eval()
    for p in m.parameters():
        p.requires_grad = False
    ckpt = {
        "epoch": -1,
        "best_fitness": None,
        "model": m,
        "ema": None,
        "updates": None,
        "optimizer": None,
        "train_args": args,
        "train_metrics": {},
        "date": datetime.now().isoformat(),
        "version": __version__,
    }
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def baseline_model():
    """An untrained YOLO11n baseline (nc=3), in eval mode."""
    import torch

    from grace.nn import build_model

    torch.manual_seed(0)
    return build_model("yolo11n", nc=3, use_fen=False, names={0: "a", 1: "b", 2: "c"}).eval()


@pytest.fixture(scope="session")
def grace_model():
    """An untrained YOLO11n with Lite-FEN (nc=3), in eval mode."""
    import torch

    from grace.nn import build_model

    torch.manual_seed(1)
    return build_model("yolo11n", nc=3, use_fen=True, names={0: "a", 1: "b", 2: "c"}).eval()


@pytest.fixture(scope="session")
def plain_ckpt(baseline_model, tmp_path_factory) -> Path:
    """A plain Ultralytics checkpoint (no grace classes in it)."""
    return save_plain_checkpoint(baseline_model, tmp_path_factory.mktemp("plain") / "plain.pt")


@pytest.fixture
def test_image():
    """A 72x100 grey image with a dark rectangle (BGR uint8)."""
    import cv2
    import numpy as np

    img = np.random.default_rng(0).normal(128, 15, (72, 100, 3)).clip(0, 255).astype(np.uint8)
    cv2.rectangle(img, (20, 20), (50, 40), (30, 30, 30), -1)
    return img
