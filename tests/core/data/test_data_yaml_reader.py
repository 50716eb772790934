"""The one data.yaml reader: paths resolved as Ultralytics does, names and nc checked, and
every bad file one line naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from grace.data.yolo_layout import read_yolo_dataset
from grace.errors import GraceError

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "resources" / "demo" / "neu-det"


def _images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (16, 16)).save(folder / f"im{i}.jpg")


def test_relative_yaml_without_path_key_resolves_from_its_own_folder(monkeypatch):
    """The bundled demo's data.yaml has no ``path:``; read through a relative path from the
    repository root (the bug: ``resources/demo/neu-det/resources/demo/neu-det/...``)."""
    assert "path" not in (DEMO / "data.yaml").read_text().split(":")[0]
    monkeypatch.chdir(REPO)
    ds = read_yolo_dataset("resources/demo/neu-det/data.yaml")
    assert ds.yaml_path == DEMO / "data.yaml" and ds.yaml_path.is_absolute()
    train_dir, train = ds.splits["train"]
    assert train_dir == (DEMO / "images" / "train").resolve()
    on_disk = [p for p in (DEMO / "images" / "train").iterdir() if p.suffix == ".jpg"]
    assert len(train) == len(on_disk) > 0
    assert ds.trainer_data()["train"] == str(train_dir)


def test_relative_path_key_follows_ultralytics_then_the_yaml_folder(tmp_path, monkeypatch):
    root = tmp_path / "sets" / "steel"
    _images(root / "images" / "train", 2)
    _images(root / "images" / "val", 1)
    yml = tmp_path / "sets" / "steel.yaml"
    yml.write_text("path: steel\ntrain: images/train\nval: images/val\nnames: [crack]\n")
    monkeypatch.chdir(tmp_path)  # no ./steel here: the YAML's folder is used
    ds = read_yolo_dataset(yml)
    assert ds.root == root and len(ds.splits["train"][1]) == 2
    other = tmp_path / "steel"  # Ultralytics reads a relative path: from the current directory
    _images(other / "images" / "train", 3)
    _images(other / "images" / "val", 1)
    assert len(read_yolo_dataset(yml).splits["train"][1]) == 3


def test_roboflow_parent_paths_resolve(tmp_path):
    export = tmp_path / "export"
    for split, n in (("train", 3), ("valid", 2)):
        _images(export / split / "images", n)
    (export / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['a', 'b']\n"
    )
    ds = read_yolo_dataset(export)
    assert {k: len(v[1]) for k, v in ds.splits.items()} == {"train": 3, "val": 2}


def _yaml(tmp_path: Path, body: str) -> Path:
    _images(tmp_path / "images" / "train", 1)
    _images(tmp_path / "images" / "val", 1)
    p = tmp_path / "data.yaml"
    p.write_bytes(body.encode("latin-1") if isinstance(body, str) else body)
    return p


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ("{0: crack, '1': pit, 2: scratch}", ["crack", "pit", "scratch"]),  # mixed int/str keys
        ("{'1': pit, '0': crack}", ["crack", "pit"]),
        ("[crack, 7]", ["crack", "7"]),
    ],
)
def test_names_mappings_in_id_order(tmp_path, names, expected):
    p = _yaml(tmp_path, f"train: images/train\nval: images/val\nnames: {names}\n")
    assert read_yolo_dataset(p).names == expected


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("names: {0: a, x: b}\n", "'names' key 'x' is not a class id"),
        ("names: {0: a, '0': b}\n", "class id 0 twice"),
        ("names: {0: a, 2: b}\n", "ids must be 0..1 (got [0, 2])"),
        ("nc: 3\nnames: [a, b]\n", "nc is 3 but there are 2 names"),
        ("nc: three\nnames: [a, b]\n", "nc must be a whole number of classes (got 'three')"),
        ("names: [a, b\n", "not valid YAML at line 4"),
        ("- a\n", "not valid YAML at line 3"),
    ],
)
def test_bad_yaml_is_one_line_naming_the_file(tmp_path, body, needle):
    p = _yaml(tmp_path, "train: images/train\nval: images/val\n" + body)
    with pytest.raises(GraceError) as e:
        read_yolo_dataset(p)
    assert str(e.value).startswith(str(p)) and needle in str(e.value)
    assert "\n" not in str(e.value)


def test_a_yaml_that_is_not_a_mapping(tmp_path):
    p = tmp_path / "data.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(GraceError, match=r"data\.yaml: expected a mapping"):
        read_yolo_dataset(p)


def test_not_utf8_yaml_names_the_byte(tmp_path):
    body = "train: images/train\nval: images/val\nnames: [caf\xe9]\n"  # latin-1, not UTF-8
    p = _yaml(tmp_path, body)
    offset = body.index("\xe9")
    with pytest.raises(
        GraceError, match=rf"data\.yaml: not UTF-8 text \(byte 0xe9 at offset {offset}\)"
    ):
        read_yolo_dataset(p)


def test_nc_alone_names_classes_as_ultralytics(tmp_path):
    p = _yaml(tmp_path, "train: images/train\nval: images/val\nnc: 2\n")
    assert read_yolo_dataset(p).names == ["class_0", "class_1"]


def test_resolved_yaml_reads_back_to_the_same_folders(tmp_path):
    p = _yaml(tmp_path, "train: images/train\nval: images/val\nnames: [a]\n")
    ds = read_yolo_dataset(p)
    copy = ds.write_resolved_yaml(tmp_path / "elsewhere" / "data.yaml")
    back = read_yolo_dataset(copy)
    assert back.splits == ds.splits and back.names == ds.names
    assert os.path.isabs(back.raw["train"])


def test_a_label_file_that_is_not_utf8_is_one_problem_in_stats_and_training(tmp_path):
    from grace.data.check import check_for_training
    from grace.data.stats import dataset_stats

    p = _yaml(tmp_path, "train: images/train\nval: images/val\nnames: [crack]\n")
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "val").mkdir(parents=True)
    (tmp_path / "labels" / "val" / "im0.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    bad = tmp_path / "labels" / "train" / "im0.txt"
    bad.write_bytes(b"0 0.5 0.5 0.2 0.2\n\xff\xfe\n")
    problems = [x for x in dataset_stats(p)["problems"] if x["kind"] != "duplicate_image"]
    assert problems == [
        {"file": str(bad), "kind": "malformed_label",
         "detail": "not UTF-8 text (byte 0xff at offset 18); no boxes kept"}
    ]  # fmt: skip
    check = check_for_training(p, background_only=True)
    assert [d.label for d in check.dropped] == [str(bad)]
    assert "im0.txt is not UTF-8 text (byte 0xff at 18)" in check.dropped[0].reason
