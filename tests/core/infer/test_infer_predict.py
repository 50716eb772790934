"""Prediction on files with a real checkpoint: image, folder with bad files, glob, video, and
per-class thresholds on the model's own output."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from _infer_helpers import LOW_CONF, write_video

from grace.errors import GraceError
from grace.infer.predictor import RECORD_FIELDS, Predictor
from grace.infer.run import PredictRequest, run_predict
from grace.infer.sources import FileSource, resolve_source
from grace.infer.thresholds import ClassThresholds

pytestmark = pytest.mark.slow


def _req(weights, source, **kw) -> PredictRequest:
    return PredictRequest(str(weights), str(source), conf=LOW_CONF, imgsz=64, device="cpu", **kw)


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_single_image_with_our_checkpoint_and_a_plain_one(image_folder, predictor, plain_ckpt):
    img = image_folder / "val_000.jpg"
    s = run_predict(_req(predictor.weights, img), predictor=predictor, log=None)
    assert (s.kind, s.images, s.skipped, s.stop_reason) == ("image", 1, [], "end of source")
    assert s.detections == sum(s.per_class.values()) > 0
    assert set(s.per_class) == {"scratch", "patch", "pit"}
    # a plain Ultralytics checkpoint goes through the same path (loaded from its file)
    p = run_predict(_req(plain_ckpt, img), log=None)
    assert (p.model, p.images, set(p.per_class)) == ("plain.pt", 1, {"dent", "rust"})


def test_folder_skips_and_lists_bad_files_and_csv_matches_json(image_folder, predictor, tmp_path):
    out = tmp_path / "out"
    req = _req(predictor.weights, image_folder, out=str(out), batch=3, save_csv=True,
               save_json=True, save_img=True)  # fmt: skip
    s = run_predict(req, predictor=predictor, log=None)
    assert s.images == 4  # val_000..003; the broken JPEG and the text file are skipped
    skipped = {Path(k["file"]).name: k["reason"] for k in s.skipped}
    assert set(skipped) == {"broken.jpg", "notes.txt"}
    assert "cannot decode image" in skipped["broken.jpg"]
    assert "not an image" in skipped["notes.txt"]
    rows = _read_csv(out / "predictions.csv")
    records = json.loads((out / "predictions.json").read_text())
    assert len(rows) == len(records) == s.detections > 0
    assert list(rows[0]) == list(RECORD_FIELDS) == list(records[0])
    for row, rec in zip(rows, records, strict=True):
        assert {k: "" if v is None else str(v) for k, v in rec.items()} == row
    h, w = cv2.imread(str(image_folder / "val_000.jpg")).shape[:2]
    for rec in records:
        assert rec["model"] == predictor.weights.name and rec["frame"] == 0
        assert (rec["width"], rec["height"]) == (w, h)
        assert 0 <= rec["x1"] <= rec["x2"] <= w and 0 <= rec["y1"] <= rec["y2"] <= h
        assert rec["confidence"] >= LOW_CONF
        # where each row came from: the full path, the file's hash, the threshold, the time
        assert rec["model_path"] == str(Path(predictor.weights).resolve())
        assert rec["model_sha256"] == hashlib.sha256(predictor.weights.read_bytes()).hexdigest()
        assert rec["threshold"] == LOW_CONF and rec["timestamp_s"] is None
        assert datetime.fromisoformat(rec["time"]).tzinfo is not None
    assert {Path(r["source"]).name for r in records} <= {f"val_00{i}.jpg" for i in range(4)}
    # annotated images under the same names, and the summary beside them
    assert sorted(p.name for p in out.glob("*.jpg")) == [f"val_00{i}.jpg" for i in range(4)]
    saved = json.loads((out / "summary.json").read_text())
    assert saved["images"] == 4 and saved["files"]["images"] == 4


def test_glob_source(image_folder, predictor):
    s = run_predict(_req(predictor.weights, image_folder / "val_00[12].jpg"), predictor=predictor,
                    log=None)  # fmt: skip
    assert (s.kind, s.images, s.skipped) == ("glob", 2, [])


def test_video_frames_are_indexed_and_an_annotated_video_is_written(predictor, tmp_path):
    video = write_video(tmp_path / "clip.mp4", n=30)
    out = tmp_path / "vout"
    req = _req(predictor.weights, video, out=str(out), batch=4, save_csv=True, save_img=True)
    s = run_predict(req, predictor=predictor, log=None)
    assert (s.kind, s.images) == ("video", 30)
    rows = _read_csv(out / "predictions.csv")
    frames = {int(r["frame"]) for r in rows}
    assert frames == set(range(30))  # every frame has candidates at this low threshold
    # each row's position in the video: frame index / 30 fps, in seconds
    assert {(int(r["frame"]), r["timestamp_s"]) for r in rows} == {
        (i, str(round(i / 30.0, 3))) for i in range(30)
    }
    cap = cv2.VideoCapture(str(out / "clip.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 30


def test_video_played_live_stops_at_max_frames(predictor, tmp_path):
    video = write_video(tmp_path / "clip.avi", n=30)
    s = run_predict(_req(predictor.weights, video, live=True, max_frames=5), predictor=predictor,
                    log=None)  # fmt: skip
    assert (s.kind, s.images, s.stop_reason) == ("video", 5, "max frames reached")


def test_a_corrupt_single_image_is_one_line(tmp_path, predictor):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(GraceError, match="bad.png: cannot decode image"):
        run_predict(_req(predictor.weights, bad), predictor=predictor, log=None)


def test_per_class_threshold_removes_one_class_and_keeps_the_others(image_folder, grace_ckpt):
    frames = [f for b in FileSource(resolve_source(image_folder)).batches(8) for f in b]
    p = Predictor(grace_ckpt, ClassThresholds(LOW_CONF), imgsz=64, device="cpu")
    base = p.predict(frames)
    classes = sorted({int(c) for r in base for c in r.classes})
    assert classes, "the model gives candidates at a low threshold"
    hidden = classes[0]
    p.thresholds = ClassThresholds(LOW_CONF, {hidden: 1.01})
    filtered = p.predict(frames)
    for a, b in zip(base, filtered, strict=True):
        assert hidden not in b.classes.tolist()
        others = a.classes != hidden
        np.testing.assert_allclose(b.boxes, a.boxes[others])  # the rest untouched
        np.testing.assert_array_equal(b.classes, a.classes[others])
    # a per-class threshold between the scores keeps exactly that class's confident ones
    scores = np.concatenate([r.scores[r.classes == hidden] for r in base])
    cut = float(np.median(scores))
    p.thresholds = ClassThresholds(LOW_CONF, {hidden: cut})
    mid = p.predict(frames)
    kept = np.concatenate([r.scores[r.classes == hidden] for r in mid])
    assert len(kept) == int((scores >= cut).sum()) and (kept >= cut).all()


def test_class_conf_by_name_through_run_predict(image_folder, predictor):
    req = _req(predictor.weights, image_folder, class_conf=["patch=1.01", "pit=1.01"])
    s = run_predict(req, predictor=predictor, log=None)
    assert s.per_class["patch"] == s.per_class["pit"] == 0
    assert s.settings["class_conf"] == {"patch": 1.01, "pit": 1.01}
    with pytest.raises(GraceError, match=r"no class 'pits' \(scratch, patch, pit\)"):
        run_predict(_req(predictor.weights, image_folder, class_conf=["pits=0.3"]),
                    predictor=predictor, log=None)  # fmt: skip


def test_detections_are_exactly_those_of_yolo_predict(image_folder, grace_ckpt):
    frames = [f for b in FileSource(resolve_source(image_folder)).batches(8) for f in b]
    p = Predictor(grace_ckpt, ClassThresholds(LOW_CONF), imgsz=64, device="cpu")
    ours = p.predict(frames)
    theirs = p.model.predict([f.image for f in frames], conf=LOW_CONF, imgsz=64, device="cpu",
                             verbose=False)  # fmt: skip
    assert sum(len(r) for r in ours) > 0
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes.xyxy.numpy(), atol=1e-4)
        np.testing.assert_allclose(a.scores, b.boxes.conf.numpy(), atol=1e-6)
        np.testing.assert_array_equal(a.classes, b.boxes.cls.numpy().astype(int))
    # and the shared Ultralytics predictor does not keep that call's settings
    p.thresholds = ClassThresholds(0.5)
    assert all(len(r) == 0 for r in p.predict(frames))  # nothing this sure after one epoch
