"""``import_yolo`` on a Roboflow-style export: the official split is kept, test included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from _data_builders import read_labels, write_image

from grace.data.yolo_import import import_yolo
from grace.errors import GraceError

ROBOFLOW_YAML = """\
train: ../train/images
val: ../valid/images
test: ../test/images

nc: 2
names: ['crack', 'hole']

roboflow:
  workspace: someone
  project: steel
  version: 3
"""


def _export(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "data.yaml").write_text(ROBOFLOW_YAML)
    (root / "README.roboflow.txt").write_text("exported by Roboflow")
    labels = {
        ("train", "t0"): "0 0.5 0.5 0.2 0.2\n",
        ("train", "t2"): "1 0.1 0.1 0.3 0.1 0.3 0.5 0.1 0.5\n"  # polygon
        "0 0.9 0.5 0.4 0.2\n"  # partly outside
        "oops\n"  # malformed
        "5 0.5 0.5 0.1 0.1\n",  # class out of range
        ("train", "t3"): "1 0.4 0.4 0.2 0.2\n",  # t3 is a copy of v0, with other labels
        ("valid", "v0"): "1 0.5 0.5 0.2 0.2\n",
        ("valid", "v1"): "0 0.3 0.3 0.1 0.1\n1 0.6 0.6 0.2 0.2\n",
        ("test", "s0"): "1 0.5 0.5 0.5 0.5\n",
        ("test", "s1"): "0 0.5 0.5 0.5 0.5\n",
    }
    for seed, (split, stem) in enumerate([*labels, ("train", "t1")]):
        if stem != "t3":
            write_image(root / split / "images" / f"{stem}.jpg", seed=seed)
    shutil.copy(root / "valid/images/v0.jpg", root / "train/images/t3.jpg")
    (root / "test/images/s1.jpg").write_bytes(b"\xff\xd8 broken")
    for (split, stem), text in labels.items():
        (root / split / "labels").mkdir(parents=True, exist_ok=True)
        (root / split / "labels" / f"{stem}.txt").write_text(text)
    (root / "train/labels/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # t1 has no label file
    return root


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    src = _export(tmp_path_factory.mktemp("rf") / "export")
    out = src.parent / "out"
    return src, out, import_yolo(src, out)


def test_official_split_is_kept_with_test(imported):
    src, out, report = imported
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data == {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": {0: "crack", 1: "hole"},
    }
    split_of = {stem: split for stem, (split, _) in read_labels(out).items()}
    assert split_of == {"t0": "train", "t1": "train", "t2": "train", "v0": "val", "v1": "val",
                        "s0": "test"}  # fmt: skip
    assert report.images == {"train": 3, "val": 2, "test": 1}
    assert report.instances == {"train": 3, "val": 3, "test": 1}
    assert report.instances_per_class == {"crack": 3, "hole": 4}


def test_labels_are_cleaned_and_every_problem_reported(imported):
    src, out, report = imported
    labels = read_labels(out)
    assert labels["t2"][1] == [
        "1 0.200000 0.300000 0.200000 0.400000",  # polygon's bounding box
        "0 0.850000 0.500000 0.300000 0.200000",  # clipped at x = 1
    ]
    assert labels["t0"][1] == ["0 0.5 0.5 0.2 0.2"]  # good lines are kept as written
    assert labels["t1"][1] == []  # background
    found = {(Path(p.file).name, p.kind) for p in report.problems}
    assert found == {
        ("t3.jpg", "duplicate_image"),
        ("t1.jpg", "image_without_label"),
        ("ghost.txt", "label_without_image"),
        ("t2.txt", "polygon_label"),
        ("t2.txt", "box_clipped"),
        ("t2.txt", "malformed_label"),
        ("t2.txt", "class_out_of_range"),
        ("s1.jpg", "unreadable_image"),
    }
    dup = report.duplicates_dropped[0]
    assert (dup["dropped"], dup["dropped_split"], dup["kept"], dup["kept_split"]) == (
        "t3.jpg", "train", "v0.jpg", "val")  # fmt: skip
    assert dup["labels_differ"] is True


def test_the_yaml_path_itself_and_errors(tmp_path):
    src = _export(tmp_path / "export")
    report = import_yolo(src / "data.yaml", tmp_path / "out")
    assert report.images["test"] == 1
    (src / "data.yaml").write_text(ROBOFLOW_YAML.replace("../valid/images", "../nope/images"))
    with pytest.raises(GraceError, match="val folder '../nope/images' not found"):
        import_yolo(src, tmp_path / "out2")
    with pytest.raises(GraceError, match="not found"):
        import_yolo(tmp_path / "missing", tmp_path / "out3")


def test_stats_reads_the_roboflow_export_directly(imported):
    from grace.data.stats import dataset_stats

    src, _, _ = imported
    st = dataset_stats(src)
    assert list(st["splits"]) == ["train", "val", "test"]
    assert [st["splits"][s]["images"] for s in st["splits"]] == [4, 2, 2]
    (group,) = st["duplicates"]
    assert sorted(Path(f).name for f in group["files"]) == ["t3.jpg", "v0.jpg"]
    assert group["cross_split"] is True
    assert st["problem_counts"]["unreadable_image"] == 1
