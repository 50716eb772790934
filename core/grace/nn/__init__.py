"""Lite-FEN and model building for GRACE (YOLO11 + Lite-FEN at P3).

Importing this package has no side effects beyond importing torch and ultralytics' head module.
"""

from __future__ import annotations

from grace.nn.build import VALID_MODELS, build_model, count_parameters, transfer_report
from grace.nn.fen import (
    FEN_YAML_KEY,
    FenDetect,
    LiteFEN,
    attach_fen,
    fen_param_count,
    fen_strength,
    has_fen,
    set_fen_strength,
)

__all__ = [
    "FEN_YAML_KEY",
    "VALID_MODELS",
    "FenDetect",
    "LiteFEN",
    "attach_fen",
    "build_model",
    "count_parameters",
    "fen_param_count",
    "fen_strength",
    "has_fen",
    "set_fen_strength",
    "transfer_report",
]
