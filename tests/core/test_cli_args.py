"""Nonsense arguments end with one line naming the argument and its value (exit 2), before
anything is loaded or written: ranges, ``--device`` without a GPU, ``--weights`` naming a folder,
and ``grace compare`` on files that are not UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grace.argcheck import LIMITS, Limit, check_device, check_value
from grace.cli import main
from grace.errors import GraceError


def _run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


def _image(path: Path) -> Path:
    import cv2
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((16, 16, 3), np.uint8))
    return path


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["predict", "--weights", "w.pt", "x.jpg", "--conf", "2"],
         "--conf 2: must be between 0 and 1 (a confidence)"),
        (["predict", "--weights", "w.pt", "x.jpg", "--conf", "nan"],
         "--conf nan: must be between 0 and 1 (a confidence)"),
        (["predict", "--weights", "w.pt", "x.jpg", "--imgsz", "0"],
         "--imgsz 0: must be at least 32 (the model's largest stride)"),
        (["predict", "--weights", "w.pt", "x.jpg", "--max-frames", "0"],
         "--max-frames 0: must be at least 1"),
        (["predict", "--weights", "w.pt", "x.jpg", "--timeout", "-1"],
         "--timeout -1: must be above 0 (seconds)"),
        (["val", "--weights", "w.pt", "--data", "d.yaml", "--max-det", "0"],
         "--max-det 0: must be at least 1"),
        (["val", "--weights", "w.pt", "--data", "d.yaml", "--iou", "1.5"],
         "--iou 1.5: must be between 0 and 1 (an IoU)"),
        (["train", "--data", "d.yaml", "--cls-pw", "5"],
         "--cls-pw 5: must be between 0 and 1 (the power of Ultralytics' inverse-frequency "
         "class weights)"),
        (["train", "--data", "d.yaml", "--lr0", "0"], "--lr0 0: must be above 0"),
        (["train", "--data", "d.yaml", "--workers", "-2"], "--workers -2: must be at least 0"),
        (["bench", "--repeats", "0"], "--repeats 0: must be at least 1"),
        (["bench", "--imgsz", "0"], "--imgsz 0: must be at least 32 (the model's largest stride)"),
        (["bench", "--nc", "0"], "--nc 0: must be at least 1 (number of classes)"),
        (["cam", "x.jpg", "--weights", "w.pt", "--out", "f.png", "--opacity", "3"],
         "--opacity 3: must be between 0 and 1"),
        (["data", "import", "neu-det", "src", "out", "--val-fraction", "1"],
         "--val-fraction 1: must be between 0 and 1, 0 and 1 excluded"),
    ],
)  # fmt: skip
def test_out_of_range_value_is_one_line_and_exit_2(capsys, argv, line):
    code, err, out = _run(capsys, *argv)
    assert (code, err, out) == (2, [f"grace: error: {line}"], "")


def test_a_refused_value_creates_nothing(capsys, tmp_path):
    """The check runs before the run folder or the output folder exists."""
    project, out = tmp_path / "project", tmp_path / "out"
    code, _, _ = _run(
        capsys, "train", "--data", "d.yaml", "--project", str(project), "--cls-pw", "5"
    )
    assert code == 2 and not project.exists()
    img = _image(tmp_path / "img" / "a.png")
    code, _, _ = _run(
        capsys, "predict", "--weights", "w.pt", str(img), "--out", str(out), "--imgsz", "0"
    )
    assert code == 2 and not out.exists()


def test_limit_bounds_are_inclusive_unless_open():
    assert Limit(0, 1).accepts(0) and Limit(0, 1).accepts(1)
    assert not Limit(0, 1, low_open=True).accepts(0)
    assert not Limit(0, 1, high_open=True).accepts(1)
    assert not Limit(1).accepts(float("inf")) and not Limit(0, 1).accepts(float("nan"))
    for name, ok in (("conf", 0.0), ("conf", 1.0), ("imgsz", 32), ("max_det", 1), ("seed", 0)):
        check_value(name, ok)
    check_value("imgsz", None)  # unset: the checkpoint's own size
    with pytest.raises(GraceError, match=r"^--imgsz 31: must be at least 32"):
        check_value("imgsz", 31)
    assert set(LIMITS) >= {"conf", "iou", "imgsz", "batch", "max_det", "repeats", "cls_pw"}


def _gpus(monkeypatch, n: int) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.mark.parametrize("command", [
    ["train", "--data", "d.yaml"],
    ["val", "--weights", "w.pt", "--data", "d.yaml"],
    ["predict", "--weights", "w.pt", "x.jpg"],
    ["cam", "x.jpg", "--weights", "w.pt", "--out", "f.png"],
    ["bench"],
])  # fmt: skip
def test_device_0_without_a_gpu_names_it_on_every_command(capsys, monkeypatch, command):
    _gpus(monkeypatch, 0)
    code, err, _ = _run(capsys, *command, "--device", "0")
    assert (code, err) == (
        2,
        ["grace: error: --device 0: no CUDA GPU found (torch sees 0); use --device cpu"],
    )


def test_device_ids_are_checked_against_the_gpu_count(monkeypatch):
    _gpus(monkeypatch, 2)
    assert [check_device(d) for d in ("0", "1", "0,1", "cuda:1", "cuda", "", "cpu", "CPU")] == [
        "0", "1", "0,1", "cuda:1", "cuda", "", "cpu", "cpu"
    ]  # fmt: skip
    with pytest.raises(GraceError, match=r"^--device 0,2: no GPU 2 \(torch sees 2: use 0\.\.1 or"):
        check_device("0,2")
    with pytest.raises(GraceError, match=r"^--device gpu: not a device \(use cpu, 0, 0,1"):
        check_device("gpu")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")  # Ultralytics maps physical id 5 to 0
    assert check_device("5") == "5"


@pytest.fixture
def run_folder(tmp_path) -> Path:
    run = tmp_path / "run"
    (run / "weights").mkdir(parents=True)
    (run / "weights" / "best.pt").write_bytes(b"not used")
    return run


@pytest.mark.parametrize("command", [
    lambda w, img: ["train", "--data", "d.yaml", "--weights", w],
    lambda w, img: ["val", "--weights", w, "--data", "d.yaml"],
    lambda w, img: ["predict", "--weights", w, img],
    lambda w, img: ["cam", img, "--weights", w, "--out", "f.png"],
])  # fmt: skip
def test_weights_naming_a_folder_says_so_on_every_command(capsys, tmp_path, run_folder, command):
    img = str(_image(tmp_path / "a.png"))
    code, err, _ = _run(capsys, *command(str(run_folder), img))
    hint = run_folder / "weights" / "best.pt"
    assert (code, err) == (2, [f"grace: error: {run_folder}: a run folder, not a checkpoint; "
                               f"pass {hint}"])  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err, _ = _run(capsys, *command(str(empty), img))
    assert (code, err) == (2, [f"grace: error: {empty}: a folder, not a checkpoint "
                               "(expected a PyTorch .pt file)"])  # fmt: skip


def test_engine_entry_points_check_the_same_ranges(tmp_path):
    """The GUI calls these directly, without the CLI."""
    from grace.bench import run_bench
    from grace.infer.run import PredictRequest, run_predict

    with pytest.raises(GraceError, match=r"^--repeats 0: must be at least 1$"):
        run_bench(scale="n", imgsz=64, repeats=0)
    with pytest.raises(GraceError, match=r"^--imgsz 0: must be at least 32"):
        run_bench(scale="n", imgsz=0)
    img = _image(tmp_path / "a.png")
    with pytest.raises(GraceError, match=r"^--imgsz 0: must be at least 32"):
        run_predict(PredictRequest(weights="w.pt", source=str(img), imgsz=0))
    with pytest.raises(GraceError, match=r"^--max-det 0: must be at least 1$"):
        run_predict(PredictRequest(weights="w.pt", source=str(img), max_det=0))


def _events_run(root: Path, lines: list[bytes]) -> Path:
    root.mkdir(parents=True)
    (root / "events.jsonl").write_bytes(b"".join(lines))
    return root


def test_compare_skips_and_names_an_events_line_that_is_not_utf8(capfd, tmp_path):
    end = {"type": "end", "time": 3, "metrics": {"precision": 0.5, "recall": 0.5,
                                                "mAP50": 0.6, "mAP50-95": 0.25}}  # fmt: skip
    bad = b'{"type": "batch", "note": "caf\xe9"}\n'  # Latin-1, not UTF-8
    run = _events_run(tmp_path / "r", [
        b'{"type": "start", "time": 0}\n', bad, json.dumps(end).encode() + b"\n",
    ])  # fmt: skip
    code, err, out = _run(capfd, "compare", str(run), "--json")  # --json writes to fd 1
    result = json.loads(out)
    column = bad.index(b"\xe9") + 1
    expected = (
        f"{run / 'events.jsonl'}: line 2 skipped: not UTF-8 text (byte 0xe9 at column {column})"
    )
    assert code == 0
    assert result["problems"] == [expected] and result["runs"][0]["problems"] == [expected]
    assert err == [f"grace: warning: {expected}"]
    # the valid lines still count: the end event's figures (a training log has no F1 of
    # either reading: 2PR/(P+R) of Ultralytics' mean P and R is neither)
    assert result["runs"][0]["metrics"] == {
        "mAP50-95": 0.25, "mAP50": 0.6, "precision": 0.5, "recall": 0.5,
        "f1_dataset": None, "f1_mean_over_classes": None,
    }  # fmt: skip


def test_compare_on_a_metrics_json_that_is_not_utf8_is_one_line(capsys, tmp_path):
    run = tmp_path / "v"
    run.mkdir()
    data = b'{"metrics": {"mAP50": 0.5}, "note": "\xff"}'
    (run / "metrics.json").write_bytes(data)
    code, err, _ = _run(capsys, "compare", str(run))
    offset = data.index(b"\xff")
    assert (code, err) == (
        2,
        [f"grace: error: {run / 'metrics.json'}: not UTF-8 text (byte 0xff at offset {offset})"],
    )
