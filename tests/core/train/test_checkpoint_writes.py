"""Checkpoints are written atomically (a failed write keeps the previous file and names the
file), and --resume says in one line what is wrong with a checkpoint that exists but is no good."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grace.errors import GraceError
from grace.train.api import TrainRequest, train
from grace.train.events import read_events

pytestmark = pytest.mark.slow


def _refusal(req: TrainRequest) -> str:
    with pytest.raises(GraceError) as e:
        train(req)
    return str(e.value)


def test_disk_full_while_saving_keeps_the_previous_last_pt(tiny_request, tmp_path, monkeypatch):
    """From the second save of last.pt on (end of epoch 1), renaming it fails with ENOSPC."""
    run = tmp_path / "runs" / "full"
    last = run / "weights" / "last.pt"
    real_replace, seen = os.replace, {"last.pt": 0}
    before: dict[str, bytes] = {}

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "last.pt":
            seen["last.pt"] += 1
            if seen["last.pt"] >= 2:
                before.setdefault("last.pt", Path(dst).read_bytes())
                raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    message = _refusal(tiny_request(tmp_path / "runs", "full", epochs=3))
    monkeypatch.undo()

    assert message == f"{last}: could not write (No space left on device)"
    assert last.read_bytes() == before["last.pt"]  # the epoch-0 checkpoint, byte for byte
    assert sorted(p.name for p in last.parent.iterdir()) == ["best.pt", "last.pt"]  # no temp file
    error = read_events(run)[-1]
    assert error["type"] == "error" and str(last) in error["message"] and error["epoch"] == 1

    # that checkpoint still resumes: epoch 0 was complete, so at epoch 1
    assert train(TrainRequest(resume=str(run))) == run
    start = [e for e in read_events(run) if e["type"] == "start"][-1]
    assert start["resumed"] is True and start["start_epoch"] == 1


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _legacy(path: Path) -> None:
    """A checkpoint from before the sampler state moved into it, beside a corrupt state file."""
    import grace.nn  # noqa: F401

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    del ckpt["ema"].grace_resume
    torch.save(ckpt, path)
    (path.parent / "sampler_state.json").write_bytes(b'{"epoch": 1, "stats": {"g_ema": [0.1,')


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_truncate, "truncated or damaged checkpoint"),
        (lambda p: p.write_text("this is not a checkpoint\n"), "not a PyTorch checkpoint"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (_legacy, "unreadable sampler state"),
    ],
    ids=["truncated", "text-file", "empty", "corrupt-sampler-state"],
)
def test_resume_names_what_is_wrong_with_the_checkpoint(stopped_run, tmp_path, damage, needle):
    run = stopped_run(tmp_path)
    last = run / "weights" / "last.pt"
    damage(last)
    n_events = len(read_events(run))
    message = _refusal(TrainRequest(resume=str(run)))
    named = run / "weights" / ("sampler_state.json" if "sampler" in needle else "last.pt")
    assert message.startswith(f"{named}: ") and needle in message
    assert "not found" not in message
    assert len(read_events(run)) == n_events  # refused before the run was touched


def test_resume_of_a_finished_run_is_refused(tiny_run):
    last = tiny_run("grace") / "weights" / "last.pt"
    before = last.read_bytes()
    message = _refusal(TrainRequest(resume=str(last)))
    assert message.startswith(f"{last}: checkpoint of a finished run")
    assert last.read_bytes() == before


def test_cli_resume_of_a_truncated_checkpoint_is_one_line(stopped_run, tmp_path):
    run = stopped_run(tmp_path)
    last = run / "weights" / "last.pt"
    _truncate(last)
    r = subprocess.run([sys.executable, "-m", "grace.cli", "train", "--resume", str(run)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"grace: error: {last}: truncated")
