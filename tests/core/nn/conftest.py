"""Shared helpers for the grace.nn tests: offline Ultralytics, Ultralytics-style checkpoints."""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path

import pytest

# Ultralytics reads these when it is first imported; nothing in these tests may download.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


def save_checkpoint(model, path: Path, imgsz: int = 64) -> Path:
    """Save ``model`` the way Ultralytics' trainer leaves ``best.pt`` (after strip_optimizer).

    The model gets the attributes a trained one has (``nc``, ``names``, ``args`` as a dict, ``yaml``
    and ``stride`` come from the build) and is stored in FP16 under ``"model"``.
    """
    import torch
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg

    args = dict(
        vars(get_cfg(overrides={"model": "yolo11n.yaml", "task": "detect", "imgsz": imgsz}))
    )
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


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Run these small models on one thread: on a busy 2-core machine OpenMP spinning is slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def ckpt_saver():
    """Return :func:`save_checkpoint`."""
    return save_checkpoint


@pytest.fixture(scope="session")
def grace_ckpt(tmp_path_factory):
    """A GRACE yolo11n (nc=3, names a/b/c, s_hat = 0.17) saved as an Ultralytics checkpoint."""
    import torch

    from grace.nn import build_model, set_fen_strength

    torch.manual_seed(0)
    m = build_model("yolo11n", nc=3, use_fen=True, names={0: "a", 1: "b", 2: "c"})
    assert set_fen_strength(m, 0.17) == 1
    return save_checkpoint(m, tmp_path_factory.mktemp("grace_ckpt") / "grace.pt")
