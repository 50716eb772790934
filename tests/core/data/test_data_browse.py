"""``grace.data.browse``: folder kinds, the dataset index (splits, boxes, filters, problem files)
and boxes in pixels, checked against the label files themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from _data_builders import write_image, write_xml

from grace.data.browse import (
    folder_kind,
    image_size,
    index_dataset,
    index_images,
    index_yolo,
    natural_key,
    pixel_boxes,
)
from grace.data.yolo_layout import LabelBox
from grace.errors import GraceError


def _label_lines(data_yaml: Path) -> dict[Path, list[list[str]]]:
    """image path -> its label lines split into fields, read directly from the files."""
    out = {}
    for split in ("train", "val"):
        for img in (data_yaml.parent / "images" / split).glob("*"):
            label = data_yaml.parent / "labels" / split / f"{img.stem}.txt"
            lines = label.read_text().split("\n") if label.is_file() else []
            out[img] = [ln.split() for ln in lines if ln.strip()]
    return out


def test_folder_kinds(tmp_path, tiny_data):
    assert folder_kind(tiny_data) == "yolo"
    assert folder_kind(tiny_data.parent) == "yolo"
    neu = tmp_path / "neu"
    write_image(neu / "IMAGES" / "a.jpg")
    write_xml(neu / "ANNOTATIONS" / "a.xml", "a.jpg", [("x", 1, 1, 9, 9)])
    assert folder_kind(neu) == "neu-det"
    voc = tmp_path / "voc"
    write_image(voc / "JPEGImages" / "b.jpg")
    write_xml(voc / "Annotations" / "b.xml", "b.jpg", [("x", 1, 1, 9, 9)])
    assert folder_kind(voc) == "voc"
    plain = tmp_path / "plain"
    write_image(plain / "sub" / "c.png")
    assert folder_kind(plain) == "images"
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraceError, match="empty: no data.yaml"):
        folder_kind(tmp_path / "empty")
    with pytest.raises(GraceError, match="nowhere: not found"):
        folder_kind(tmp_path / "nowhere")
    with pytest.raises(GraceError, match="a voc folder; import it"):
        index_dataset(voc)


def test_index_of_a_yolo_dataset_matches_its_label_files(tiny_data):
    index = index_yolo(tiny_data)
    truth = _label_lines(tiny_data)
    assert index.data_yaml == tiny_data and index.kind == "yolo"
    assert index.names == ["scratch", "patch", "pit"]
    assert index.splits == ["train", "val"]
    assert len(index.images) == len(truth) == 20
    assert len(index.select("train")) == 16 and len(index.select("val")) == 4
    for im in index.images:
        assert im.split == im.path.parent.name
        assert [b.cls for b in im.boxes] == [int(f[0]) for f in truth[im.path]]
    for c in range(3):
        expected = {p for p, lines in truth.items() if any(int(f[0]) == c for f in lines)}
        assert {index.images[i].path for i in index.select("", c)} == expected
        in_val = {p for p in expected if p.parent.name == "val"}
        assert {index.images[i].path for i in index.select("val", c)} == in_val
    first = index.images[0]
    label = tiny_data.parent / "labels" / first.split / f"{first.path.stem}.txt"
    assert index.image_of(label) == 0 and index.image_of(first.path) == 0
    assert index.image_of("/elsewhere/x.txt") is None


def test_boxes_in_pixels_and_image_sizes(tmp_path):
    img = write_image(tmp_path / "a.jpg", w=200, h=100)
    assert image_size(img) == (200, 100)
    boxes = (LabelBox(2, 0.5, 0.5, 0.2, 0.4, ""), LabelBox(0, 0.1, 0.9, 0.2, 0.2, ""))
    got = pixel_boxes(boxes, 200, 100)
    expected = [(80, 30, 120, 70, 2), (0, 80, 40, 100, 0)]
    assert [b[4] for b in got] == [2, 0]
    assert [v for b in got for v in b[:4]] == pytest.approx([v for b in expected for v in b[:4]])
    assert pixel_boxes(None, 200, 100) == []


def test_index_of_a_plain_folder_has_no_labels(tmp_path):
    for i, name in enumerate(["b.jpg", "a.png", "sub/c.jpg"]):
        write_image(tmp_path / name, seed=i)
    (tmp_path / "notes.txt").write_text("x")
    index = index_images(tmp_path)
    assert [im.path.name for im in index.images] == ["a.png", "b.jpg", "c.jpg"]
    assert all(im.split == "" and im.boxes is None for im in index.images)
    assert index.splits == [] and index.names == [] and index.data_yaml is None
    assert index.select() == [0, 1, 2]


def test_names_are_in_natural_order_in_the_index(tmp_path):
    # written in shuffled order; a person reads crazing_2 before crazing_10 before crazing_100
    for i, n in enumerate([100, 2, 10, 1, 11]):
        write_image(tmp_path / "imgs" / f"crazing_{n}.jpg", seed=i)
    write_image(tmp_path / "imgs" / "Crazing_3.jpg", seed=9)
    index = index_images(tmp_path / "imgs")
    assert [im.path.stem for im in index.images] == [
        "crazing_1", "crazing_2", "Crazing_3", "crazing_10", "crazing_11", "crazing_100",
    ]  # fmt: skip
    root = tmp_path / "yolo"
    for split in ("train", "val"):
        for i, n in enumerate([20, 3, 100]):
            write_image(root / "images" / split / f"{split}_{n}.jpg", seed=i)
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [a]\n")
    index = index_yolo(root / "data.yaml")
    assert [im.path.stem for im in index.images] == [
        "train_3", "train_20", "train_100", "val_3", "val_20", "val_100",
    ]  # fmt: skip
    assert natural_key("a_007.jpg") < natural_key("a_7.jpg") < natural_key("a_8.jpg")
