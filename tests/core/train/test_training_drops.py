"""Before training, every image the trainer would drop is named (stderr and the start event),
and a dataset left with no instances is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from grace.data.check import check_for_training, trainer_view
from grace.errors import GraceError

LABELS = [
    "0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n",  # fine
    "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n",  # a repeated row: kept once
    "0 0.5 0.5 0.2 0.2\n1 1.2 0.5 0.1 0.1\n",  # one coordinate above 1: whole image dropped
    "0 0.5 0.5 0.2 0.2\n1 nan 0.5 0.1 0.1\n",  # NaN
    "0 1.005 0.5 0.2 0.2\n",  # within Ultralytics' 1 % tolerance
    "0 -0.005 0.5 0.2 0.2\n",  # slightly negative x, positive size: tolerated
    "0 0.5 0.5 -0.2 0.2\n",  # negative width
    "2 0.5 0.5 0.2 0.2\n",  # class outside 0..1
    "0.5 0.5 0.5 0.2 0.2\n",  # class not a whole number
    "0 0.5 0.5 0.2\n",  # 4 columns
    "0 0.1 0.1 0.9 0.1 0.9 0.9 0.1 0.9\n",  # a polygon
    "0 0.1 0.1 0.9 0.1 0.9 0.9\n0 0.5 0.5 0.2 0.2\n",  # polygon mixed with a box
    "0 x 0.5 0.2 0.2\n",  # not a number
    "",  # background
]


@pytest.mark.parametrize("text", LABELS)
def test_trainer_rule_matches_ultralytics_verify_image_label(tmp_path, text):
    """Our mirror against Ultralytics' own check on the same files (the reference)."""
    from ultralytics.data.utils import verify_image_label

    image, label = tmp_path / "a.png", tmp_path / "a.txt"
    Image.new("RGB", (32, 32)).save(image)
    label.write_text(text)
    out = verify_image_label((str(image), str(label), "", False, 2, 0, 0, False))
    kept, reason = trainer_view(text, nc=2)
    corrupt = out[8]
    assert (reason is not None) == bool(corrupt), (reason, out[9])
    assert kept == (0 if corrupt else len(out[1]))


@pytest.fixture
def dirty_data(tiny_data, tmp_path):
    """``tiny_data`` with two training label files the trainer would drop whole."""
    root = tmp_path / "dirty"
    shutil.copytree(tiny_data.parent, root)
    data = root / "data.yaml"
    data.write_text(tiny_data.read_text().replace(str(tiny_data.parent.resolve()), str(root)))
    labels = sorted((root / "labels" / "train").glob("*.txt"))
    above, nan = labels[0], labels[1]
    above.write_text(above.read_text() + "1 1.2 0.5 0.1 0.1\n")
    nan.write_text("0 nan 0.5 0.1 0.1\n" + nan.read_text())
    return data, [above, nan]


def test_check_names_the_dropped_images_and_counts_what_is_kept(dirty_data):
    data, bad = dirty_data
    check = check_for_training(data)
    assert [d.label for d in check.dropped] == [str(p) for p in bad]
    assert "coordinates above 1 or not a number: 1.2" in check.dropped[0].reason
    assert "coordinates above 1 or not a number: nan" in check.dropped[1].reason
    root = data.parent
    expected = 0
    for lb in sorted((root / "labels" / "train").glob("*.txt")):
        if lb not in bad:  # every row of the others (tiny_data has no repeated rows)
            expected += len([x for x in lb.read_text().splitlines() if x.strip()])
    assert check.instances["train"] == expected
    assert check.images == {"train": 16, "val": 4}


def test_zero_instances_refused_unless_background_only(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "images" / split).mkdir(parents=True)
        (tmp_path / "labels" / split).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (32, 32)).save(tmp_path / "images" / split / f"{i}.jpg")
            (tmp_path / "labels" / split / f"{i}.txt").write_text("0 0.5 0.5 1.5 0.2\n")
    data = tmp_path / "data.yaml"
    data.write_text("train: images/train\nval: images/val\nnames: [crack]\n")
    with pytest.raises(GraceError, match=r"no instances to train on: 3 of 3 training images"):
        check_for_training(data)
    assert len(check_for_training(data, background_only=True).dropped) == 6


@pytest.mark.slow
def test_training_names_dropped_files_on_stderr_and_in_the_start_event(dirty_data, tmp_path):
    data, bad = dirty_data
    project = tmp_path / "runs"
    r = subprocess.run(
        [sys.executable, "-m", "grace", "train", "--data", str(data), "--model", "yolo11n",
         "--variant", "baseline", "--epochs", "1", "--imgsz", "64", "--batch", "4",
         "--device", "cpu", "--workers", "0", "--project", str(project), "--name", "dirty"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    images = [str(data.parent / "images" / "train" / (p.stem + ".jpg")) for p in bad]
    warned = [ln for ln in r.stderr.splitlines() if ln.startswith("grace: warning: training")]
    assert [ln.split(" leaves out ")[1].split(": ")[0] for ln in warned] == images
    assert "2 images left out (train 2 of 16, val 0 of 4)" in r.stderr
    events = [json.loads(x) for x in (project / "dirty" / "events.jsonl").read_text().splitlines()]
    start = next(e for e in events if e["type"] == "start")
    assert [d["image"] for d in start["dropped"]] == images
    assert start["dataset"]["train"] == 16 - 2  # what Ultralytics' loader really holds
    assert np.isfinite(start["parameters"])


def test_relative_demo_yaml_trains_on_the_folders_stats_reads(tmp_path, monkeypatch):
    """``grace train --data resources/demo/neu-det/data.yaml`` from the repository root: the
    trainer's dataset is our reader's (the old reader doubled the relative folder)."""
    from pathlib import Path

    from grace.train.api import TrainRequest, build_overrides
    from grace.train.trainer import GraceTrainer

    repo = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(repo)
    req = TrainRequest(data="resources/demo/neu-det/data.yaml", model="yolo11n", device="cpu",
                       project=str(tmp_path), name="demo", epochs=1, imgsz=64)  # fmt: skip
    overrides, grace = build_overrides(req)
    demo = repo / "resources" / "demo" / "neu-det"
    assert overrides["data"] == str(demo / "data.yaml")
    trainer = GraceTrainer(overrides=overrides, grace=grace)
    assert trainer.data["train"] == str((demo / "images" / "train").resolve())
    assert trainer.data["val"] == str((demo / "images" / "val").resolve())
    names = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]
    assert trainer.data["names"] == dict(enumerate(names))
