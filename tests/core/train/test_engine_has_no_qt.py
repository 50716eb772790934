"""The engine never imports Qt (DESIGN.md, Conventions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "core"
QT = ("PySide6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "superqt")


def test_no_qt_import_statement_in_core():
    pattern = re.compile(rf"^\s*(from|import)\s+({'|'.join(QT)})\b", re.M)
    offenders = [str(p) for p in CORE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_importing_the_engine_loads_no_qt_module():
    code = (
        "import sys, grace.cli, grace.train.trainer, grace.bench, grace.data.neu_det, grace.nn, "
        f"grace.sampling; print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
