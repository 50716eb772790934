"""Fixtures of the grace.nn tests (checkpoint saver and thread setting: tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _threads(one_torch_thread):
    yield


@pytest.fixture(scope="session")
def grace_ckpt(tmp_path_factory, ckpt_saver):
    """A GRACE yolo11n (nc=3, names a/b/c, s_hat = 0.17) saved as an Ultralytics checkpoint."""
    import torch

    from grace.nn import build_model, set_fen_strength

    torch.manual_seed(0)
    m = build_model("yolo11n", nc=3, use_fen=True, names={0: "a", 1: "b", 2: "c"})
    assert set_fen_strength(m, 0.17) == 1
    return ckpt_saver(m, tmp_path_factory.mktemp("grace_ckpt") / "grace.pt")
