"""``grace cam`` end to end on real 1-epoch baseline and GRACE checkpoints, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from grace.cli import main
from grace.explain.render import GAP, colorbar, panel_shape, title_height

pytestmark = pytest.mark.slow


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grace.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def checkpoints(tiny_run) -> dict[str, Path]:
    out = {}
    for variant in ("baseline", "grace"):
        weights = tiny_run(variant) / "weights"
        out[variant] = next(p for p in (weights / "best.pt", weights / "last.pt") if p.is_file())
    return out


@pytest.fixture(scope="module")
def val_image(tiny_data) -> Path:
    return sorted((tiny_data.parent / "images" / "val").iterdir())[0]


def test_cam_cli_writes_the_figure_raw_maps_and_one_json(checkpoints, val_image, tmp_path):
    out = tmp_path / "figs" / "cam.png"
    r = _grace(
        "cam",
        str(val_image),
        "--weights",
        str(checkpoints["baseline"]),
        str(checkpoints["grace"]),
        "--out",
        str(out),
        "--save-raw",
        "--detections",
        "--conf",
        "0.01",
        "--json",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    res = json.loads(lines[0])

    h, w = cv2.imread(str(val_image)).shape[:2]
    ph, pw = panel_shape((h, w))
    bar_w = colorbar(ph, res["global_min"], res["global_max"], label="Eigen-CAM").shape[1]
    fig = cv2.imread(str(out))
    assert fig.shape == (title_height(ph) + ph, 3 * pw + 2 * GAP + GAP + bar_w, 3)
    assert res["size"] == [fig.shape[1], fig.shape[0]] and res["out"] == str(out)

    models = res["models"]
    assert [m["weights"] for m in models] == [
        str(checkpoints["baseline"]),
        str(checkpoints["grace"]),
    ]
    assert models[0]["layer"] == "model.16 (P3 input of Detect)"
    assert models[1]["layer"] == "model.23.fen (P3 after Lite-FEN)"
    assert all(isinstance(m["time_ms"], float) and m["feature_shape"] == [64, 8, 8] for m in models)
    assert all(isinstance(m["detections"], int) for m in models)
    assert res["imgsz"] == 64 and res["device"] == "cpu" and res["method"] == "eigencam"
    assert all(m["targets"] is None for m in models)  # Eigen-CAM has no target

    raw = np.load(res["raw"])
    assert Path(res["raw"]) == out.with_name("cam_raw.npy")
    assert raw.shape == (2, h, w) and raw.dtype == np.float32
    for m, r_i in zip(models, raw, strict=True):
        assert r_i.min() == pytest.approx(m["raw_min"]) and r_i.max() == pytest.approx(m["raw_max"])
    assert res["global_min"] == pytest.approx(float(raw.min()))
    assert res["global_max"] == pytest.approx(float(raw.max()))


def test_cam_cli_bad_image_is_one_stderr_line(checkpoints, tmp_path):
    r = _grace(
        "cam", str(tmp_path / "nope.png"), "--weights", str(checkpoints["grace"]), "--out",
        str(tmp_path / "x.png"),
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"grace: error: {tmp_path / 'nope.png'}: image not found"
    ]
    assert not (tmp_path / "x.png").exists()


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_cam_errors_in_process(checkpoints, val_image, tmp_path, capsys):
    fake = tmp_path / "fake.pt"
    fake.write_text("not a checkpoint")
    out = str(tmp_path / "x.png")
    assert main(["cam", str(val_image), "--weights", str(fake), "--out", out]) == 2
    assert str(fake) in _one_error_line(capsys)

    text = tmp_path / "text.png"
    text.write_text("hello")
    assert main(["cam", str(text), "--weights", str(checkpoints["grace"]), "--out", out]) == 2
    assert _one_error_line(capsys) == (
        f"grace: error: {text}: cannot decode image (corrupt or unsupported format)"
    )

    ok = str(checkpoints["baseline"])
    assert main(["cam", str(val_image), "--weights", ok, "--out", out, "--layer", "99"]) == 2
    assert "out of range" in _one_error_line(capsys)
    assert main(["cam", str(val_image), "--weights", ok, "--out", str(tmp_path / "x.gif")]) == 2
    assert ".png" in _one_error_line(capsys)
    assert not Path(out).exists()


def test_cam_layer_option_and_human_output(checkpoints, val_image, tmp_path, capsys):
    out = tmp_path / "l.png"
    args = ["cam", str(val_image), "--weights", str(checkpoints["grace"]), "--out", str(out)]
    assert main([*args, "--layer", "16", "--no-colorbar", "--titles", "GRACE"]) == 0
    text = capsys.readouterr().out
    assert "model.16 (C3k2)" in text and " ms" in text and str(out) in text
    ph, pw = panel_shape(cv2.imread(str(val_image)).shape[:2])
    assert cv2.imread(str(out)).shape == (title_height(ph) + ph, 2 * pw + GAP, 3)
