"""Fixtures of the deployment tests: the real demo GRACE model exported once per module at a
small input size (128), and a handful of demo images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _deploy_helpers import DEMO_DATA, DEMO_MODEL, IMGSZ


@pytest.fixture(scope="session", autouse=True)
def _threads(one_torch_thread_session):
    yield


@pytest.fixture(scope="session")
def demo_pt(tmp_path_factory) -> Path:
    """A copy of the demo checkpoint with its metrics.json beside it (as in resources/)."""
    folder = tmp_path_factory.mktemp("model")
    pt = folder / DEMO_MODEL.name
    shutil.copy2(DEMO_MODEL, pt)
    metrics = DEMO_MODEL.with_name(f"{DEMO_MODEL.stem}.metrics.json")
    shutil.copy2(metrics, folder / metrics.name)
    return pt


@pytest.fixture(scope="session")
def exports(demo_pt, tmp_path_factory) -> dict[str, Path]:
    """``{"openvino": folder, "onnx": file}``: the demo model exported at 128 by grace export,
    OpenVINO pinned to FP32 (``--precision f32``) so that its figures can be compared with
    PyTorch's to the last digit."""
    from grace.deploy.export import export_model

    out = tmp_path_factory.mktemp("exports")
    return {
        f: Path(export_model(demo_pt, f, imgsz=IMGSZ, out=out,
                             precision="f32" if f == "openvino" else "auto").path)
        for f in ("openvino", "onnx")
    }  # fmt: skip


@pytest.fixture(scope="session")
def demo_val_images() -> list[Path]:
    return sorted((DEMO_DATA.parent / "images" / "val").glob("*.jpg"))
