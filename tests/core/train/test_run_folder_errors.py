"""Bad input is refused before the run folder exists; a failure after it exists leaves an
`error` event in it (not a stray folder with args.yaml and an empty weights/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grace.train.api import train
from grace.train.events import read_events

pytestmark = pytest.mark.slow


def _grace_train(tiny_data: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grace.cli", "train", "--data", str(tiny_data), "--model",
           "yolo11n", "--epochs", "1", "--imgsz", "64", "--device", "cpu",
           "--project", str(project), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("make_args", "needle"),
    [
        (lambda d: ["--weights", str(_text_file(d / "w.pt"))], "w.pt: not a PyTorch checkpoint"),
        (lambda d: ["--weights", str(_zip_file(d / "z.pt"))], "z.pt: truncated or damaged"),
        (lambda d: ["--optimizer", "Adamm"], "unknown optimizer 'Adamm'"),
    ],
    ids=["weights-text-file", "weights-broken-zip", "unknown-optimizer"],
)
def test_refused_before_the_run_folder_exists(tiny_data, tmp_path, make_args, needle):
    project = tmp_path / "runs"
    r = _grace_train(tiny_data, project, *make_args(tmp_path))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("grace: error: "), r.stderr
    assert needle in r.stderr
    assert not project.exists()


def _text_file(path: Path) -> Path:
    path.write_text("weights\n")
    return path


def _zip_file(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + bytes(100))  # the start of a zip, as torch.save writes
    return path


@pytest.mark.parametrize("where", ["get_dataset", "get_model"])
def test_a_failure_after_the_folder_exists_leaves_an_error_event(
    tiny_request, tmp_path, monkeypatch, where
):
    """``get_dataset`` fails inside the trainer's construction, ``get_model`` inside its set-up."""
    from grace.train.trainer import GraceTrainer

    def fail(self, *args, **kwargs):
        raise RuntimeError(f"{where} failed")

    monkeypatch.setattr(GraceTrainer, where, fail)
    with pytest.raises(RuntimeError, match=f"{where} failed"):
        train(tiny_request(tmp_path / "runs", "r"))
    run = tmp_path / "runs" / "r"
    events = read_events(run)
    assert [e["type"] for e in events] == ["error"]
    assert events[0]["message"] == f"RuntimeError: {where} failed"
    assert "Traceback" in events[0]["traceback"]
    assert list((run / "weights").iterdir()) == []  # nothing was saved over anything
