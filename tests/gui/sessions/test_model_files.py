"""The one definition of what a model dialog offers and what the engine is given from the pick
(Qt-free): its doctests, and each picked path against what the engine then resolves on disk."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import grace_gui.sessions.model_files as model_files
from grace.deploy.runtime import model_kind
from grace_gui.sessions.model_files import MODEL_FILTER, PT_FILTER, picked_model

REPO = Path(__file__).resolve().parents[3]


def test_it_imports_no_qt():
    code = (
        "import sys, grace_gui.sessions.model_files;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_doctests():
    result = doctest.testmod(model_files)
    assert result.attempted >= 6 and result.failed == 0


def test_the_filters():
    first = MODEL_FILTER.split(";;")[0]
    assert first == "Models (*.pt *.onnx *.xml *.zip package.json)"
    assert MODEL_FILTER.endswith(";;All files (*)") and PT_FILTER.startswith("PyTorch")


def test_a_picked_file_becomes_the_model_the_engine_knows(tmp_path):
    """What a file dialog returns for each kind, mapped, is what model_kind names on disk."""
    ov = tmp_path / "best_openvino_model"
    ov.mkdir()
    for name in ("best.xml", "best.bin", "metadata.yaml"):
        (ov / name).write_text("x")
    pkg = tmp_path / "line-3"
    pkg.mkdir()
    (pkg / "package.json").write_text(json.dumps({"schema": 1}))
    onnx, pt, zipped = tmp_path / "best.onnx", tmp_path / "best.pt", tmp_path / "line-3.zip"
    for f in (onnx, pt, zipped):
        f.write_bytes(b"x")
    cases = {
        str(ov / "best.xml"): (str(ov), "openvino"),
        str(ov / "best.bin"): (str(ov), "openvino"),
        str(pkg / "package.json"): (str(pkg), "package"),
        str(onnx): (str(onnx), "onnx"),
        str(pt): (str(pt), "pt"),
        str(zipped): (str(zipped), "package"),
    }
    for picked, (path, kind) in cases.items():
        assert picked_model(picked) == path
        assert model_kind(path) == kind
    assert picked_model("") == ""  # the dialog cancelled
