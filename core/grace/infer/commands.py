"""``grace predict``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse


def add_infer_commands(sub: argparse._SubParsersAction) -> None:
    """Register the inference sub-commands (filled in by the inference work)."""
