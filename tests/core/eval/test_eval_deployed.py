"""``grace val`` as deployed: the same figures as pycocotools on ``grace predict``'s own output,
and a dirty val split whose problems are reported while the rest is evaluated."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "resources" / "demo" / "neu-det"
MODEL = REPO / "resources" / "models" / "neu-det_yolo11n_grace.pt"
NAMES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO)  # fmt: skip


def _coco_on_predict_json(predictions: list[dict], image_dir: Path, label_dir: Path):
    """pycocotools' COCOeval on predict's own records and the YOLO label files read here
    (not through grace): mAP@0.5:0.95 and mAP@0.5 over classes with ground truth."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations = [], []
    ids = {}
    for i, img in enumerate(sorted(image_dir.glob("*.jpg")), 1):
        w, h = Image.open(img).size
        ids[str(img.name)] = i
        images.append({"id": i, "width": w, "height": h})
        for line in (label_dir / f"{img.stem}.txt").read_text().split("\n"):
            if not line.strip():
                continue
            c, cx, cy, bw, bh = (float(v) for v in line.split())
            x0, y0 = (cx - bw / 2) * w, (cy - bh / 2) * h
            annotations.append({"id": len(annotations) + 1, "image_id": i,
                                "category_id": int(c) + 1, "bbox": [x0, y0, bw * w, bh * h],
                                "area": bw * w * bh * h, "iscrowd": 0})  # fmt: skip
    dets = [
        {"image_id": ids[Path(p["source"]).name], "category_id": p["class_id"] + 1,
         "bbox": [p["x1"], p["y1"], p["x2"] - p["x1"], p["y2"] - p["y1"]],
         "score": p["confidence"]}
        for p in predictions
    ]  # fmt: skip
    cats = [{"id": k + 1, "name": n} for k, n in enumerate(NAMES)]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations, "categories": cats}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), iouType="bbox")
        ev.params.maxDets = [1, 10, 300]
        ev.evaluate()
        ev.accumulate()
    p = ev.eval["precision"][:, :, :, 0, -1]  # (T, R, K)
    present = sorted({a["category_id"] - 1 for a in annotations})
    return p[:, :, present].mean(), p[0, :, present].mean()


def test_val_equals_pycocotools_on_grace_predicts_own_outputs(tmp_path):
    """The demo model on the demo val split (12 NEU-DET images, 200x200) at 256: ``grace
    predict --conf 0.001 --save-json`` scored by pycocotools gives ``grace val``'s mAP."""
    val_dir = DEMO / "images" / "val"
    pred = _grace("predict", "--weights", str(MODEL), str(val_dir), "--conf", "0.001",
                  "--imgsz", "256", "--batch", "4", "--device", "cpu", "--max-det", "300",
                  "--save-json", "--out", str(tmp_path / "pred"), "--json")  # fmt: skip
    assert pred.returncode == 0, pred.stderr[-2000:]
    predictions = json.loads((tmp_path / "pred" / "predictions.json").read_text())
    assert len(predictions) > 12 * 50  # a low confidence: the whole PR curve
    want50_95, want50 = _coco_on_predict_json(predictions, val_dir, DEMO / "labels" / "val")

    val = _grace("val", "--weights", str(MODEL), "--data", str(DEMO / "data.yaml"),
                 "--imgsz", "256", "--batch", "4", "--device", "cpu", "--max-det", "300",
                 "--out", str(tmp_path / "val"), "--json")  # fmt: skip
    assert val.returncode == 0, val.stderr[-2000:]
    got = json.loads(val.stdout)
    assert got["protocol"] == "deployed"
    assert got["input_shapes"] == [{"shape": [256, 256], "images": 12}]  # 200 * 1.28, no pad
    assert abs(got["metrics"]["mAP50-95"] - want50_95) <= 1e-6
    assert abs(got["metrics"]["mAP50"] - want50) <= 1e-6

    # Ultralytics' rectangular batches pad the same images to 288x288: other figures
    ult = _grace("val", "--weights", str(MODEL), "--data", str(DEMO / "data.yaml"),
                 "--imgsz", "256", "--batch", "4", "--device", "cpu", "--protocol",
                 "ultralytics", "--out", str(tmp_path / "ult"), "--json")  # fmt: skip
    assert ult.returncode == 0, ult.stderr[-2000:]
    other = json.loads(ult.stdout)
    assert other["protocol"] == "ultralytics"
    assert other["input_shapes"] == [{"shape": [288, 288], "images": 12}]  # ceil(8 + 0.5) * 32
    assert abs(other["metrics"]["mAP50-95"] - want50_95) > 1e-3


@pytest.fixture
def dirty_val(tiny_data, tmp_path) -> Path:
    """The tiny dataset with, in val: an image that is not an image, an image without a label
    file, and a label file with a class out of range and a line that is not numbers."""
    root = tmp_path / "dirty"
    shutil.copytree(tiny_data.parent, root)
    data = root / "data.yaml"
    data.write_text(data.read_text().replace(str(tiny_data.parent.resolve()), str(root)))
    (root / "images" / "val" / "val_900.jpg").write_bytes(b"not a jpeg at all")
    (root / "labels" / "val" / "val_900.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    shutil.copy(root / "images" / "val" / "val_000.jpg", root / "images" / "val" / "val_901.jpg")
    label = root / "labels" / "val" / "val_001.txt"
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\nabc def\n")
    return data


def test_a_dirty_val_split_is_evaluated_with_every_problem_reported(dirty_val, tiny_run, tmp_path):
    root = dirty_val.parent
    r = _grace("val", "--weights", str(tiny_run("grace") / "weights" / "best.pt"), "--data",
               str(dirty_val), "--imgsz", "64", "--batch", "4", "--device", "cpu",
               "--out", str(tmp_path / "val"), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    label = root / "labels" / "val" / "val_001.txt"
    n_lines = len(label.read_text().splitlines())  # the two bad lines are the last two
    assert sorted((Path(p["file"]).name, p["kind"]) for p in result["problems"]) == [
        ("val_001.txt", "class_out_of_range"),
        ("val_001.txt", "malformed_label"),
        ("val_900.jpg", "unreadable_image"),
        ("val_901.jpg", "image_without_label"),
    ]
    details = {p["kind"]: p["detail"] for p in result["problems"]}
    assert details["class_out_of_range"] == f"line {n_lines - 1}: class 7 not in 0..2"
    # 4 clean images + the unlabelled one (a background image); the broken one is not scored
    assert result["images"] == 5 and result["images_in_split"] == 6
    good = [root / "labels" / "val" / f"val_{i:03d}.txt" for i in range(4)]
    boxes = sum(len(p.read_text().splitlines()) for p in good) - 2  # less the two bad lines
    assert result["instances"] == boxes
    # each problem is also one warning line on stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("grace: warning: ")]
    assert len(warnings) == 4


def test_a_val_split_of_unreadable_images_is_one_line(tiny_data, tiny_run, tmp_path):
    root = tmp_path / "broken"
    (root / "images" / "val").mkdir(parents=True)
    (root / "images" / "train").mkdir(parents=True)
    for split in ("train", "val"):
        (root / "images" / split / "a.jpg").write_bytes(b"\x00" * 10)
    data = root / "data.yaml"
    data.write_text("train: images/train\nval: images/val\nnames: [scratch, patch, pit]\n")
    weights = str(tiny_run("grace") / "weights" / "best.pt")
    r = _grace("val", "--weights", weights, "--data", str(data), "--imgsz", "64",
               "--device", "cpu", "--out", str(tmp_path / "v"))  # fmt: skip
    assert r.returncode == 2
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("grace: error: ")]
    assert errors == [
        f"grace: error: {root / 'images' / 'val'}: no image of the val split could be read"
    ]
    assert not (tmp_path / "v" / "metrics.json").exists()


def test_errors_json_matches_the_confusion_matrix_rows(tmp_path):
    """On the demo model: each GT row of the confusion matrix sums to that class's instances
    (counted from the label files here), and the column sums to the predictions kept."""
    data = str(DEMO / "data.yaml")
    r = _grace("val", "--weights", str(MODEL), "--data", data, "--imgsz", "256", "--batch", "4",
               "--device", "cpu", "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    errors = json.loads((tmp_path / "errors.json").read_text())
    cm = np.array(errors["confusion_matrix"]["counts"])
    counts = np.zeros(len(NAMES), int)
    for p in (DEMO / "labels" / "val").glob("*.txt"):
        for line in p.read_text().splitlines():
            counts[int(line.split()[0])] += 1
    assert cm[:-1].sum(axis=1).tolist() == counts.tolist()
    kept = sum(e["tp"] + e["fp"] for e in errors["images"])
    assert cm[:, :-1].sum() == kept
    assert errors["confusion_matrix"]["labels"] == [*NAMES, "background"]
