"""Shared fixtures for the Eigen-CAM tests: small untrained models and checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module", autouse=True)
def _threads(one_torch_thread):
    yield


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
def plain_ckpt(baseline_model, tmp_path_factory, ckpt_saver) -> Path:
    """A plain Ultralytics checkpoint (no grace classes in it)."""
    return ckpt_saver(baseline_model, tmp_path_factory.mktemp("plain") / "plain.pt")


@pytest.fixture
def test_image():
    """A 72x100 grey image with a dark rectangle (BGR uint8)."""
    import cv2
    import numpy as np

    img = np.random.default_rng(0).normal(128, 15, (72, 100, 3)).clip(0, 255).astype(np.uint8)
    cv2.rectangle(img, (20, 20), (50, 40), (30, 30, 30), -1)
    return img
