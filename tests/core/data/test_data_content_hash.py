"""The content hash of a split: the documented manifest, recomputed here from the file bytes."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from grace.data.content_hash import split_content_hash
from grace.data.yolo_layout import read_yolo_dataset


def _dataset(root: Path) -> Path:
    for split in ("train", "val"):
        (root / "images" / split / "sub").mkdir(parents=True)
        (root / "labels" / split / "sub").mkdir(parents=True)
    (root / "images/train/t.jpg").write_bytes(b"train image")
    (root / "images/val/a.jpg").write_bytes(b"image a")
    (root / "labels/val/a.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\n")
    (root / "images/val/sub/b.png").write_bytes(b"image b")  # no label: a background image
    (root / "images/val/c.jpg").write_bytes(b"image c")
    (root / "labels/val/c.txt").write_bytes(b"")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [defect]\n")
    return root / "data.yaml"


def _expected(pairs: dict[str, bytes]) -> str:
    text = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(pairs.items()))
    return hashlib.sha256(text.encode()).hexdigest()


VAL = {
    "images/a.jpg": b"image a",
    "labels/a.txt": b"0 0.5 0.5 0.2 0.2\n",
    "images/sub/b.png": b"image b",
    "images/c.jpg": b"image c",
    "labels/c.txt": b"",
}


def test_hash_is_the_documented_manifest(tmp_path):
    h = split_content_hash(read_yolo_dataset(_dataset(tmp_path / "d")), "val")
    assert h.sha256 == _expected(VAL)
    assert (h.images, h.labels, h.problems) == (3, 2, [])


def test_moving_keeps_and_any_byte_changes_the_hash(tmp_path):
    data = _dataset(tmp_path / "d")
    before = split_content_hash(read_yolo_dataset(data)).sha256
    moved = Path(shutil.move(str(tmp_path / "d"), str(tmp_path / "elsewhere")))
    assert split_content_hash(read_yolo_dataset(moved / "data.yaml")).sha256 == before
    (moved / "labels/val/c.txt").write_bytes(b"0 0.5 0.5 0.1 0.1\n")
    changed = split_content_hash(read_yolo_dataset(moved / "data.yaml")).sha256
    assert changed == _expected({**VAL, "labels/c.txt": b"0 0.5 0.5 0.1 0.1\n"}) != before
    (moved / "labels/val/c.txt").unlink()  # a label removed
    gone = {k: v for k, v in VAL.items() if k != "labels/c.txt"}
    assert split_content_hash(read_yolo_dataset(moved / "data.yaml")).sha256 == _expected(gone)


def test_unreadable_file_is_a_problem_and_left_out(tmp_path):
    data = _dataset(tmp_path / "d")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "d/images/val/z.jpg")  # dangling
    h = split_content_hash(read_yolo_dataset(data), "val")
    assert h.sha256 == _expected(VAL) and h.images == 3
    assert [(p.file, p.kind) for p in h.problems] == [
        (str(tmp_path / "d/images/val/z.jpg"), "unreadable_image")
    ]
    assert "left out of the val content hash" in h.problems[0].detail
