"""Fixtures of the inference tests: one real 1-epoch GRACE checkpoint and one plain Ultralytics
checkpoint per session, small images, a corrupt file and a generated video."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from _infer_helpers import LOW_CONF, write_video  # noqa: F401  (re-exported for fixtures)


@pytest.fixture(scope="session", autouse=True)
def _threads(one_torch_thread_session):
    yield


@pytest.fixture(scope="session")
def grace_ckpt(tiny_run) -> Path:
    """``best.pt`` of a real 1-epoch GRACE run (Lite-FEN) on the tiny synthetic set."""
    return tiny_run("grace") / "weights" / "best.pt"


@pytest.fixture(scope="session")
def plain_ckpt(tmp_path_factory) -> Path:
    """A plain Ultralytics YOLO11n checkpoint (no Lite-FEN), saved as its trainer saves one."""
    import torch
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg

    from grace.nn import build_model

    model = build_model("yolo11n", 2, use_fen=False, names={0: "dent", 1: "rust"})
    model.args = dict(vars(get_cfg(overrides={"model": "yolo11n.yaml", "imgsz": 64})))
    model = copy.deepcopy(model).half().eval()
    path = tmp_path_factory.mktemp("plain") / "plain.pt"
    torch.save({"epoch": -1, "model": model, "ema": None, "train_args": model.args,
                "version": __version__}, path)  # fmt: skip
    return path


@pytest.fixture(scope="session")
def predictor(grace_ckpt):
    """A loaded predictor on the GRACE checkpoint (reused: loading costs a second)."""
    from grace.infer.predictor import Predictor
    from grace.infer.thresholds import ClassThresholds

    p = Predictor(grace_ckpt, ClassThresholds(LOW_CONF), imgsz=64, device="cpu")
    p.warmup()
    return p


@pytest.fixture
def image_folder(tiny_data, tmp_path) -> Path:
    """Four good JPEGs, a corrupt JPEG and a text file."""
    folder = tmp_path / "imgs"
    shutil.copytree(Path(tiny_data).parent / "images" / "val", folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    (folder / "notes.txt").write_text("inspection notes\n")
    return folder
