"""Shared test set-up: nothing downloads, Qt runs offscreen, small data is made here."""

from __future__ import annotations

import copy
import os
from datetime import datetime
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ["QT_QPA_PLATFORM"] == "offscreen":  # a 1920x1080 screen instead of 800x600
    import tempfile

    from grace_gui.screenshots import OFFSCREEN_SCREEN

    _screen = Path(tempfile.mkdtemp(prefix="grace-qpa-")) / "offscreen.json"
    _screen.write_text(OFFSCREEN_SCREEN)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_screen}"

REPO = Path(__file__).resolve().parents[1]
NEU_DET = REPO.parent / "shared" / "data" / "NEU-DET"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """16 train / 4 val synthetic 64x64 images, 3 imbalanced classes; returns data.yaml."""
    from synthetic_data import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("tiny") / "data", n_train=16, n_val=4)


@pytest.fixture(scope="session")
def tiny_request(tiny_data):
    """``tiny_request(project, name, **changes)``: the suite's smallest real training (yolo11n,
    GRACE, 1 epoch, 64 px, batch 4, CPU, no dataloader workers) on ``tiny_data``."""
    from grace.train.api import TrainRequest

    def make(project, name: str, **changes):
        fields = dict(data=str(tiny_data), model="yolo11n", variant="grace", epochs=1,
                      imgsz=64, batch=4, device="cpu", workers=0)  # fmt: skip
        return TrainRequest(**{**fields, "project": str(project), "name": name, **changes})

    return make


@pytest.fixture(scope="session")
def tiny_run(tiny_request, tmp_path_factory):
    """``tiny_run(variant)``: the run directory of a 1-epoch ``tiny_request`` of ``variant``,
    trained once per session and shared by every test that only reads it."""
    from grace.train.api import train

    project = tmp_path_factory.mktemp("tiny_runs")
    runs: dict[str, Path] = {}

    def get(variant: str = "grace") -> Path:
        if variant not in runs:
            runs[variant] = Path(train(tiny_request(project, variant, variant=variant)))
        return runs[variant]

    return get


@pytest.fixture(scope="session")
def neu_det() -> Path:
    """The real NEU-DET beside the repository (skips the test where it is absent)."""
    if not (NEU_DET / "IMAGES").is_dir():
        pytest.skip(f"real NEU-DET not found at {NEU_DET}")
    return NEU_DET


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


@pytest.fixture(scope="session")
def ckpt_saver():
    """Return :func:`save_checkpoint`."""
    return save_checkpoint


def _single_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    return n


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small models on one thread: on a busy 2-core machine OpenMP spinning is slower."""
    import torch

    n = _single_thread()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def one_torch_thread_session():
    """:func:`one_torch_thread` for session-scoped fixtures."""
    import torch

    n = _single_thread()
    yield
    torch.set_num_threads(n)
