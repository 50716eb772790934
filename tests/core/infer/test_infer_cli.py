"""``grace predict`` through the real command line: one JSON object on stdout, and every bad
input ending with one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _infer_helpers import LOW_CONF

pytestmark = pytest.mark.slow


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "grace.cli", "predict", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_good_run_and_bad_inputs(grace_ckpt, image_folder, tmp_path):
    w = str(grace_ckpt)
    text_pt = tmp_path / "notes.pt"
    text_pt.write_text("not a checkpoint\n")
    (tmp_path / "model.yaml").write_text("nc: 3\n")
    url = f"http://127.0.0.1:{_free_port()}/stream.mjpg"
    out = tmp_path / "out"
    cases = {  # all at once: each process loads torch, and the machine has two cores
        "good": _start(
            "--weights",
            w,
            "--conf",
            str(LOW_CONF),
            "--imgsz",
            "64",
            "--class-conf",
            "patch=1.01",
            str(image_folder),  # SOURCE after the list
            "--out",
            str(out),
            "--save-csv",
            "--json",
        ),  # fmt: skip
        "missing": _start("--weights", w, str(tmp_path / "nope.jpg")),
        "camera": _start("--weights", w, "97"),
        "url": _start("--weights", w, url, "--connect-attempts", "2", "--reconnect-delay", "0.05"),
        "not_ckpt": _start("--weights", str(text_pt), str(image_folder)),
        "yaml": _start("--weights", str(tmp_path / "model.yaml"), str(image_folder)),
        "no_weights_file": _start("--weights", str(tmp_path / "gone.pt"), str(image_folder)),
    }
    done = {k: (p, *p.communicate(timeout=240)) for k, p in cases.items()}

    p, stdout, stderr = done["good"]
    assert p.returncode == 0, stderr[-2000:]
    summary = json.loads(stdout)  # one JSON object; logs went to stderr
    assert summary["images"] == 4 and summary["per_class"]["patch"] == 0
    assert {Path(s["file"]).name for s in summary["skipped"]} == {"broken.jpg", "notes.txt"}
    assert Path(summary["files"]["csv"]).is_file()

    expected = {
        "missing": "nope.jpg: no such file or directory",
        "camera": "camera 97: cannot open the camera",
        "url": "cannot connect (",
        "not_ckpt": "notes.pt: not a loadable checkpoint",
        "yaml": "model.yaml: not a model (expected a PyTorch .pt, an OpenVINO folder",
        "no_weights_file": "gone.pt: weights file not found",
    }
    for key, text in expected.items():
        p, stdout, stderr = done[key]
        lines = stderr.strip().splitlines()
        assert p.returncode == 2 and stdout == "", (key, stderr)
        assert lines[-1].startswith("grace: error: ") and text in lines[-1], (key, stderr)
        if key == "url":  # the retry is reported before the final line
            assert len(lines) == 3 and "attempt 1/2 failed" in lines[0], stderr
        else:
            assert len(lines) == 1, (key, stderr)
