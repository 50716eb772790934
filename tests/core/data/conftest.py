"""Fixtures of the data tests: the real NEU-DET imported once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def neu_import(neu_det, tmp_path_factory):
    """The real NEU-DET imported once (seed 0, 8:2): ``(report, out folder)``."""
    from grace.data.neu_det import import_neu_det

    out = tmp_path_factory.mktemp("neu") / "neu"
    return import_neu_det(neu_det, out, seed=0), out
