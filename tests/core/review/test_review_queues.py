"""Queues from hand-made records: kinds, outcomes and ranks computed by hand; the thresholds
file; ``grace review new`` from a grace val output folder."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _review_helpers import png

from grace.errors import GraceError
from grace.eval.errors import errors_report
from grace.eval.records import ImageRecord, save_records
from grace.infer.threshold_file import read_thresholds
from grace.infer.thresholds import ClassThresholds
from grace.review import queues
from grace.review.store import ReviewStore

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}
NAMES = ["crack", "dent"]


def _record(file: str = "a.png") -> ImageRecord:
    # GT 0 crack (0,0,40,40); GT 1 dent (50,50,90,90); GT 2 crack (0,60,20,100)
    # det 0 crack (0,0,40,50) 0.8: IoU 1600/2000 = 0.8 -> a good match
    # det 1 dent (50,50,90,70) 0.6: IoU 800/1600 = 0.5 -> poor localisation
    # det 2 dent (0,60,20,100) 0.7: on GT 2 of another class -> class confusion
    # det 3 crack (60,0,80,20) 0.9: nothing there -> false positive
    # det 4 crack (60,0,80,20) 0.1: under the threshold -> ignored
    return ImageRecord(file, 100, 100,
                       [[0, 0, 40, 40], [50, 50, 90, 90], [0, 60, 20, 100]], [0, 1, 0],
                       [[0, 0, 40, 50], [50, 50, 90, 70], [0, 60, 20, 100], [60, 0, 80, 20],
                        [60, 0, 80, 20]], [0.8, 0.6, 0.7, 0.9, 0.1], [0, 1, 1, 0, 0])  # fmt: skip


def test_errors_queue_kinds_outcomes_and_ranks():
    miss = ImageRecord("b.png", 100, 100, [[0, 0, 50, 20]], [1])  # a 1000 px miss
    images, items = queues.errors_queue([_record(), miss], NAMES, ClassThresholds(0.25))
    got = {(it.image, it.kind): it for it in items}
    assert sorted(got) == [(0, "class_confusion"), (0, "false_positive"),
                           (0, "poor_localisation"), (1, "miss")]  # fmt: skip
    fp, cc = got[0, "false_positive"], got[0, "class_confusion"]
    assert (fp.rank, fp.label_index, fp.on_reject) == (0.9, None, None)
    assert fp.on_accept == {"class": "crack", "box": [60.0, 0.0, 80.0, 20.0]}
    assert cc.label_index == 2 and cc.rank == 0.7
    assert cc.on_accept == {"class": "dent", "box": [0.0, 60.0, 20.0, 100.0]}
    assert cc.on_reject == {"class": "crack", "box": [0.0, 60.0, 20.0, 100.0]}
    pl = got[0, "poor_localisation"]
    assert pl.rank == pytest.approx(0.6 * (0.75 - 0.5) / 0.25)
    assert pl.on_accept == {"class": "dent", "box": [50.0, 50.0, 90.0, 70.0]}
    assert pl.on_reject == {"class": "dent", "box": [50.0, 50.0, 90.0, 90.0]}
    assert got[1, "miss"].rank == pytest.approx(math.sqrt(1000 / 10000), abs=1e-6)
    assert [len(im.detections) for im in images] == [4, 0]  # det 4 is under the threshold
    assert images[0].labels_source == "ground_truth" and len(images[0].labels) == 3


def test_uncertain_queue_takes_the_band_around_each_class_threshold(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"conf": 0.5, "per_class": {"dent": 0.3}}))
    th = read_thresholds(f, NAMES)
    rec = ImageRecord("u.png", 50, 50, boxes=[[0, 0, 9, 9]] * 5,
                      scores=[0.45, 0.62, 0.25, 0.38, 0.55], classes=[0, 0, 1, 1, 0])  # fmt: skip
    images, items = queues.uncertain_queue([rec], NAMES, th, band=0.1)
    # crack 0.45 (gap 0.05), dent 0.25 (0.05), dent 0.38 (0.08), crack 0.55 (0.05); 0.62 out
    assert [it.confidence for it in items] == [0.45, 0.25, 0.38, 0.55]
    assert [it.rank for it in items] == pytest.approx([0.5, 0.5, 0.2, 0.5])
    # starting labels: dets at or above their threshold (0.62 crack, 0.38 dent, 0.55 crack)
    assert [lab["class"] for lab in images[0].labels] == ["crack", "dent", "crack"]
    assert [it.label_index for it in items] == [None, None, 1, 2]


def test_spot_queue_draws_the_stated_fraction_seeded():
    recs = [ImageRecord(f"{i}.png", 50, 50, boxes=[[0, 0, 9, 9]] * 4,
                        scores=[0.9, 0.8, 0.3, 0.7], classes=[0, 1, 0, 1])
            for i in range(5)]  # fmt: skip
    th = ClassThresholds(0.5)
    _, a = queues.spot_queue(recs, NAMES, th, fraction=0.25, band=0.1, seed=3)
    _, b = queues.spot_queue(recs, NAMES, th, fraction=0.25, band=0.1, seed=3)
    assert len(a) == math.ceil(0.25 * 15)  # 15 confident detections (>= 0.6)
    assert [(it.image, it.box, it.confidence) for it in a] == [
        (it.image, it.box, it.confidence) for it in b]  # fmt: skip
    assert all(it.confidence >= 0.6 and it.label_index is not None for it in a)


def test_disagreement_queue_lists_what_one_model_alone_keeps():
    a = ImageRecord("d.png", 50, 50, boxes=[[0, 0, 10, 10], [20, 20, 30, 30]],
                    scores=[0.9, 0.8], classes=[0, 1])  # fmt: skip
    b = ImageRecord("d.png", 50, 50, boxes=[[0, 0, 10, 11], [40, 40, 50, 50]],
                    scores=[0.7, 0.6], classes=[0, 0])  # fmt: skip
    _, items = queues.disagreement_queue([a], [b], NAMES, ClassThresholds(0.5), ("/b.pt", "f" * 64))
    assert [(it.detail["only_in"], it.box, it.label_index) for it in items] == [
        ("a", [20.0, 20.0, 30.0, 30.0], 1), ("b", [40.0, 40.0, 50.0, 50.0], None)]  # fmt: skip
    assert items[1].model_path == "/b.pt"


@pytest.mark.parametrize(
    "text, message",
    [("{", "not readable JSON"), ('{"conf": "x"}', "'conf' must be a number, got 'x'"),
     ('{"per_class": {"rust": 0.3}}', "no class 'rust'"), ("[1]", "expected")],
)  # fmt: skip
def test_thresholds_file_faults_name_the_file(tmp_path, text, message):
    f = tmp_path / "th.json"
    f.write_text(text)
    with pytest.raises(GraceError, match=message) as e:
        read_thresholds(f, NAMES)
    assert str(e.value).startswith(str(f))


def test_review_new_from_a_grace_val_output(tmp_path):
    ds = tmp_path / "ds"
    for name in ("a", "b"):
        png(ds / "images/val" / f"{name}.png", 100, 100, 40)
        png(ds / "images/train" / f"{name}.png", 100, 100, 40)
    (ds / "labels/val").mkdir(parents=True)
    (ds / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\n"
                                  "names: [crack, dent]\n")  # fmt: skip
    recs = [_record(str(ds / "images/val/a.png")),
            ImageRecord(str(ds / "images/val/b.png"), 100, 100, [[0, 0, 50, 20]], [1])]  # fmt: skip
    val = tmp_path / "val"
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"weights")
    save_records(val / "predictions.npz", recs, NAMES)
    (val / "errors.json").write_text(json.dumps(errors_report(recs, NAMES, 0.25)))
    (val / "metrics.json").write_text(json.dumps({"weights": str(weights),
                                                  "data": str(ds / "data.yaml")}))  # fmt: skip
    store = tmp_path / "r.db"
    cli = [sys.executable, "-m", "grace", "review"]
    r = subprocess.run([*cli, "new", str(store), "--weights", str(weights), "--data",
                        str(ds / "data.yaml"), "--val-dir", str(val), "--json"],
                       capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["by_kind"] == {"false_positive": 1, "class_confusion": 1, "poor_localisation": 1,
                              "miss": 1}  # fmt: skip
    with ReviewStore(store) as st:
        items = st.items()
        assert [it.rank for it in items] == sorted((it.rank for it in items), reverse=True)
        import hashlib

        assert {it.model_sha256 for it in items} == {hashlib.sha256(b"weights").hexdigest()}
        assert items[0].thresholds == {"conf": 0.25, "per_class": {}}
    again = subprocess.run([*cli, "new", str(store), "--weights", str(weights), "--data",
                            str(ds / "data.yaml"), "--val-dir", str(val)],
                           capture_output=True, text=True, env=ENV)  # fmt: skip
    assert again.returncode == 2 and "exists" in again.stderr and again.stderr.count("\n") == 1
    other = tmp_path / "other.pt"
    other.write_bytes(b"x")
    wrong = subprocess.run([*cli, "new", str(tmp_path / "s.db"), "--weights", str(other),
                            "--data", str(ds / "data.yaml"), "--val-dir", str(val)],
                           capture_output=True, text=True, env=ENV)  # fmt: skip
    assert wrong.returncode == 2 and "grace val of" in wrong.stderr
    assert not (tmp_path / "s.db").exists()


def test_review_new_from_a_grace_predict_output(tmp_path, ckpt_saver):
    from grace.nn import build_model

    weights = ckpt_saver(build_model("yolo11n", 2, use_fen=False, names={0: "crack", 1: "dent"}),
                         tmp_path / "m.pt")  # fmt: skip
    img = png(tmp_path / "imgs" / "a.png", 60, 40, 20)
    rec = {"source": str(img), "frame": 0, "width": 60, "height": 40, "model": "m"}
    rows = [{**rec, "class": "crack", "class_id": 0, "confidence": 0.3, "x1": 1, "y1": 2,
             "x2": 10, "y2": 12},
            {**rec, "class": "dent", "class_id": 1, "confidence": 0.9, "x1": 5, "y1": 5,
             "x2": 20, "y2": 20},
            {**rec, "source": "clip.mp4", "class": "dent", "class_id": 1, "confidence": 0.3,
             "x1": 0, "y1": 0, "x2": 5, "y2": 5}]  # fmt: skip
    out = tmp_path / "pred"
    out.mkdir()
    (out / "predictions.json").write_text(json.dumps(rows))
    (out / "summary.json").write_text(json.dumps({"weights": str(weights),
                                                  "settings": {"conf": 0.25}}))  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "grace", "review", "new", str(tmp_path / "r.db"),
                        "--weights", str(weights), "--predictions", str(out), "--json"],
                       capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    # thresholds 0.25 +- 0.1: only the 0.3 crack is near; the band under 0.25 was never saved
    assert res["items"] == 1 and res["by_kind"] == {"near_threshold": 1}
    assert [p["file"] for p in res["problems"]] == ["clip.mp4"]
    assert len(res["warnings"]) == 2 and "--conf 0.15" in res["warnings"][0]
    with ReviewStore(tmp_path / "r.db") as st:
        (it,) = st.items()
        assert (it.cls, it.confidence, it.label_index, it.rank) == ("crack", 0.3, 0, 0.5)
        assert st.image(it.image_id)["labels"] == [
            {"class": "crack", "box": [1.0, 2.0, 10.0, 12.0]},
            {"class": "dent", "box": [5.0, 5.0, 20.0, 20.0]}]  # fmt: skip
