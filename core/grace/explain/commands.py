"""``grace cam``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse


def add_explain_commands(sub: argparse._SubParsersAction) -> None:
    """Register the Eigen-CAM sub-commands (filled in by the Eigen-CAM work)."""
