"""A run stopped in the middle of an epoch, shared by the resume and checkpoint tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _stopped_runs import STOP_BATCH, STOP_EPOCH, train_and_stop


@pytest.fixture(scope="session")
def stopped_run(tiny_request, tmp_path_factory):
    """``stopped_run(tmp_path)``: a copy, under ``tmp_path``, of a run stopped after batch
    ``STOP_BATCH`` of epoch ``STOP_EPOCH`` (trained once per session)."""
    run = train_and_stop(
        tiny_request, tmp_path_factory.mktemp("stopped"), "s", STOP_EPOCH, STOP_BATCH
    )

    def copy(tmp_path: Path) -> Path:
        return Path(shutil.copytree(run, tmp_path / "runs" / "s"))

    return copy
