"""Constants of the deployment tests, imported by name (``from conftest import`` finds whichever
conftest.py pytest loaded last when several test folders run together)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEMO_MODEL = REPO / "resources" / "models" / "neu-det_yolo11n_grace.pt"
DEMO_DATA = REPO / "resources" / "demo" / "neu-det" / "data.yaml"
IMGSZ = 128

