"""Shared test set-up: nothing downloads, Qt runs offscreen, small data is made here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
NEU_DET = REPO.parent / "shared" / "data" / "NEU-DET"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """16 train / 4 val synthetic 64x64 images, 3 imbalanced classes; returns data.yaml."""
    from grace.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("tiny") / "data", n_train=16, n_val=4)


@pytest.fixture(scope="session")
def neu_det() -> Path:
    """The real NEU-DET beside the repository (skips the test where it is absent)."""
    if not (NEU_DET / "IMAGES").is_dir():
        pytest.skip(f"real NEU-DET not found at {NEU_DET}")
    return NEU_DET
