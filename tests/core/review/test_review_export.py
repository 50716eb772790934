"""Export: labels equal to what was decided, the source untouched, the manifest's hashes right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _review_helpers import decide_all, hand_store, png, sha, tree_hash

from grace.errors import GraceError
from grace.review.export import export_store
from grace.review.store import ReviewStore

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}

# by hand: A 100x80: crack (11,11,41,31) -> cx 26/100, cy 21/80, w 30/100, h 20/80;
# dent (60,5,80,20) -> 70/100, 12.5/80, 20/100, 15/80. B 64x64: dent (30,30,60,60) -> 45/64,
# 45/64, 30/64, 30/64. C 50x50: crack (2,2,12,12) -> 7/50, 7/50, 10/50, 10/50.
EXPECTED = {
    "A": "0 0.260000 0.262500 0.300000 0.250000\n1 0.700000 0.156250 0.200000 0.187500\n",
    "B": "1 0.703125 0.703125 0.468750 0.468750\n",
    "C": "0 0.140000 0.140000 0.200000 0.200000\n",
}


def test_export_writes_the_decided_labels_and_leaves_the_source(tmp_path):
    store, files = hand_store(tmp_path)
    with ReviewStore(store) as st:
        decide_all(st)
    before = tree_hash(tmp_path / "src")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "grace", "review", "export", str(store), str(out),
                        "--json"], capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert tree_hash(tmp_path / "src") == before
    assert sorted(p.name for p in (out / "images/train").iterdir()) == ["A.png", "B.png", "C.png"]
    for k, text in EXPECTED.items():
        assert (out / "labels/train" / f"{k}.txt").read_text() == text
        assert (out / "images/train" / f"{k}.png").read_bytes() == files[k].read_bytes()
    assert m["images_exported"] == 3 and m["images_not_reviewed"] == 1  # D was only skipped
    assert m["decisions"] == {"accept": 2, "reject": 2, "box": 1, "ok": 1, "add": 1, "skip": 1}
    listed = {f["path"]: f["sha256"] for f in m["files"]}
    assert len(listed) == 6
    for rel, digest in listed.items():
        assert sha(out / rel) == digest
    assert json.loads((out / "manifest.json").read_text()) == m
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["train"] == data["val"] == "images/train"
    assert data["names"] == {0: "crack", 1: "dent"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_export_refuses_an_existing_folder_and_an_empty_review(tmp_path):
    store, _ = hand_store(tmp_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(GraceError, match="exists"):
        export_store(store, tmp_path / "taken")
    with pytest.raises(GraceError, match="no reviewed image"):
        export_store(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_missing_image_is_reported_and_the_rest_exported(tmp_path):
    store, files = hand_store(tmp_path)
    with ReviewStore(store) as st:
        decide_all(st)
    files["A"].unlink()
    files["B"].write_bytes(files["B"].read_bytes() + b"changed")
    m = export_store(store, tmp_path / "out")
    assert [(p["file"], p["kind"]) for p in m["problems"]] == [
        (str(files["A"]), "missing_image"), (str(files["B"]), "image_changed")]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out/labels/train").iterdir()) == ["C.txt"]
    assert (tmp_path / "out/labels/train/C.txt").read_text() == EXPECTED["C"]


def _dataset(root: Path, a_bytes: bytes) -> Path:
    """A YOLO dataset: train t1 (+ A's bytes as t2.png), val v1."""
    png(root / "images/train/t1.png", 30, 30, 5)
    (root / "images/train/t2.png").write_bytes(a_bytes)
    png(root / "images/val/v1.png", 30, 30, 90)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/val").mkdir(parents=True)
    (root / "labels/train/t1.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    (root / "labels/train/t2.txt").write_text("0 0.5 0.5 0.9 0.9\n")
    (root / "labels/val/v1.txt").write_text("0 0.4 0.4 0.2 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\n"
                                    "names: [crack, dent]\n")  # fmt: skip
    return root / "data.yaml"


def test_merge_adds_the_reviewed_images_to_a_copy_of_the_train_split(tmp_path):
    store, files = hand_store(tmp_path)
    with ReviewStore(store) as st:
        decide_all(st)
    data = _dataset(tmp_path / "ds", files["A"].read_bytes())
    before = tree_hash(tmp_path / "ds")
    out = tmp_path / "merged"
    m = export_store(store, out, merge=str(data))
    assert tree_hash(tmp_path / "ds") == before
    train = sorted(p.name for p in (out / "images/train").iterdir())
    # t2 has A's bytes: the reviewed copy replaces it (with the reviewed labels)
    assert train == ["A.png", "B.png", "C.png", "t1.png"]
    assert m["replaced_in_train"] == ["images/train/t2.png", "labels/train/t2.txt"]
    assert (out / "labels/train/t1.txt").read_text() == "1 0.5 0.5 0.2 0.2\n"
    assert (out / "labels/train/A.txt").read_text() == EXPECTED["A"]
    assert (out / "labels/val/v1.txt").read_text() == "0 0.4 0.4 0.2 0.2\n"
    y = yaml.safe_load((out / "data.yaml").read_text())
    assert (y["train"], y["val"]) == ("images/train", "images/val")
    for f in m["files"]:
        assert sha(out / f["path"]) == f["sha256"]
    assert len(m["files"]) == 2 * 5  # t1, v1, A, B, C with their labels
