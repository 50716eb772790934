"""``grace predict`` on a folder names what it does not process (sub-folders, broken links), and
Ctrl-C keeps the outputs written so far and exits 130."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from grace.errors import GraceError
from grace.infer.sources import resolve_source

SUB_WHY = "sub-folder, not searched (include it with a glob: '{}/**/*')"


def _png(path: Path, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((64, 64, 3), value, np.uint8))
    return path


@pytest.fixture
def dirty_folder(tmp_path) -> Path:
    """Five images, a sub-folder holding one more, a hidden folder, a broken link, a text file."""
    folder = tmp_path / "imgs"
    for i in range(5):
        _png(folder / f"img{i}.png", 40 * i)
    _png(folder / "sub" / "deep.png")
    _png(folder / ".cache" / "thumb.png")
    os.symlink(folder / "gone.png", folder / "dead.png")
    (folder / "notes.txt").write_text("x\n")
    return folder


def test_folder_reports_subfolders_and_broken_links(dirty_folder):
    spec = resolve_source(dirty_folder)
    assert [p.name for p in spec.paths] == [f"img{i}.png" for i in range(5)]
    assert [(s.file, s.reason) for s in spec.skipped] == [
        (str(dirty_folder / "dead.png"),
         f"broken symbolic link (its target {dirty_folder / 'gone.png'} is missing)"),
        (str(dirty_folder / "notes.txt"), "not an image or video file (.txt)"),
        (str(dirty_folder / "sub"), SUB_WHY.format(dirty_folder)),
    ]  # fmt: skip


def test_glob_reports_broken_links_and_folders_it_does_not_descend(dirty_folder):
    flat = resolve_source(str(dirty_folder / "*"))
    assert [s.file for s in flat.skipped] == [
        str(dirty_folder / n) for n in ("dead.png", "notes.txt", "sub")
    ]
    deep = resolve_source(
        str(dirty_folder / "**" / "*.png")
    )  # '**' descends; by path: imgs/img*, imgs/sub/*
    assert [p.name for p in deep.paths] == [f"img{i}.png" for i in range(5)] + ["deep.png"]
    assert [s.file for s in deep.skipped] == [str(dirty_folder / "dead.png")]


def test_a_folder_with_only_subfolders_says_how_to_include_them(tmp_path):
    _png(tmp_path / "top" / "a" / "x.png")
    _png(tmp_path / "top" / "b" / "y.png")
    top = tmp_path / "top"
    with pytest.raises(GraceError) as e:
        resolve_source(top)
    assert str(e.value) == (
        f"{top}: no image or video files in this folder (2 sub-folder(s) not searched: "
        f"use '{top}/**/*')"
    )


def test_ctrl_c_keeps_outputs_names_skips_and_exits_130(
    dirty_folder, plain_ckpt, tmp_path, monkeypatch, capsys
):
    """Ctrl-C during the second batch of two images: the first batch's rows and summary.json
    are written, every skipped entry is on stderr, and the exit status is 130."""
    from grace.cli import main
    from grace.infer.predictor import Predictor

    real, batches = Predictor.predict, []

    def predict(self, frames):
        batches.append([Path(f.source).name for f in frames])
        if len(batches) == 2:
            raise KeyboardInterrupt
        return real(self, frames)

    monkeypatch.setattr(Predictor, "predict", predict)
    out = tmp_path / "out"
    code = main(["predict", "--weights", str(plain_ckpt), str(dirty_folder), "--batch", "2",
                 "--conf", "0", "--device", "cpu", "--out", str(out), "--save-csv"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 130
    assert batches == [["img0.png", "img1.png"], ["img2.png", "img3.png"]]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["images"], summary["stop_reason"]) == (2, "interrupted")
    skipped = [(s["file"], s["reason"]) for s in summary["skipped"]]
    assert [f for f, _ in skipped] == [
        str(dirty_folder / n) for n in ("dead.png", "notes.txt", "sub")
    ]
    with open(out / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {Path(r["source"]).name for r in rows} <= {"img0.png", "img1.png"}
    assert len(rows) == summary["detections"] > 0  # conf 0: an untrained model still boxes
    err = captured.err.strip().splitlines()
    assert [f"skipped {f}: {why}" for f, why in skipped] == [
        e for e in err if e.startswith("skipped")
    ]
    assert err[-1] == "grace: interrupted"
    assert "stop_reason: interrupted" in captured.out.splitlines()
