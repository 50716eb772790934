"""Bad input ends with one clear line on stderr and a non-zero exit, before any training starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grace.cli", *args], capture_output=True, text=True, timeout=120
    )


def _one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def _dataset(root: Path, label: str = "0 0.5 0.5 0.2 0.2\n", with_images: bool = True) -> Path:
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        if with_images:
            from PIL import Image

            Image.new("RGB", (32, 32)).save(root / "images" / split / "a.jpg")
            (root / "labels" / split / "a.txt").write_text(label)
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames: {{0: crack, 1: pit}}\n"
    )
    return root / "data.yaml"


@pytest.mark.parametrize(
    ("make_args", "needles"),
    [
        (lambda d: ["--data", str(d / "missing.yaml")], ["missing.yaml", "not found"]),
        (
            lambda d: ["--data", str(_dataset(d)), "--model", "yolo99z"],
            ["unknown model", "yolo11s"],
        ),
        (lambda d: ["--data", str(_dataset(d)), "--variant", "best"], ["unknown variant", "grace"]),
        (lambda d: ["--data", str(_dataset(d, with_images=False))], ["train split has no images"]),
        (
            lambda d: ["--data", str(_dataset(d, label="7 0.5 0.5 0.2 0.2\n"))],
            ["no instances to train on", "a.jpg", "a.txt", "class id 7 outside 0..1"],
        ),
        (
            lambda d: ["--data", str(_dataset(d)), "--weights", str(d / "nope.pt")],
            ["nope.pt", "not found"],
        ),
        (lambda d: ["--resume", str(d / "no_such_run")], ["no_such_run", "no last.pt"]),
    ],
    ids=[
        "missing-data",
        "unknown-model",
        "unknown-variant",
        "empty-dataset",
        "bad-class-id",
        "missing-weights",
        "missing-resume",
    ],
)
def test_train_rejects_bad_input_in_one_line(tmp_path, make_args, needles):
    project = tmp_path / "runs"
    r = _grace("train", *make_args(tmp_path), "--project", str(project), "--epochs", "1")
    _one_line_error(r, *needles)
    assert not project.exists(), "no run directory is created for rejected input"


def test_malformed_yaml_is_named(tmp_path):
    bad = tmp_path / "data.yaml"
    bad.write_text("names: [a, b\ntrain: x\n")
    _one_line_error(_grace("train", "--data", str(bad)), "data.yaml", "not valid YAML")


def test_val_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    fake = tmp_path / "model.pt"
    fake.write_text("not a checkpoint")
    data = _dataset(tmp_path / "d")
    _one_line_error(_grace("val", "--weights", str(fake), "--data", str(data)), "model.pt")
