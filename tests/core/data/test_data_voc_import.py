"""``import_voc`` on a dirty VOC folder: every defect is reported with its file and handled."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from _data_builders import read_labels, write_image, write_xml

from grace.data.voc_import import import_voc
from grace.errors import GraceError


def _dirty_voc(root: Path) -> Path:
    """A 100x80 VOC folder with one of each defect (see the expectations in the test)."""
    img, ann = root / "JPEGImages", root / "Annotations"

    def pair(stem, seed, boxes, gray=False, **kw):
        write_image(img / f"{stem}.jpg", seed=seed, gray=gray)
        write_xml(ann / f"{stem}.xml", f"{stem}.jpg", boxes, **kw)

    pair("good_a", 1, [("scratch", 10, 10, 50, 40)])
    pair("dup_a", 2, [("pit", 20, 20, 40, 40)])
    shutil.copy(img / "dup_a.jpg", img / "dup_b.jpg")  # same bytes, different labels
    write_xml(ann / "dup_b.xml", "dup_b.jpg", [("pit", 22, 20, 42, 40)])
    write_image(img / "noxml.jpg", seed=3)
    write_xml(ann / "orphan.xml", "orphan.jpg", [("pit", 1, 1, 5, 5)])
    pair("empty", 4, [])
    pair(
        "boxes",
        5,
        [
            ("scratch", -10, 20, 30, 100),  # partly outside: clipped to (0, 20, 30, 80)
            ("scratch", 120, 10, 150, 30),  # wholly outside
            ("pit", 40, 40, 40, 60),  # zero width
            ("pit", 60, 10, 90, 70),  # fine
        ],
    )
    pair("names", 6, [("Scratch", 5, 5, 25, 25)])  # another spelling of scratch
    pair("gray", 7, [("pit", 10, 10, 30, 30)], gray=True)
    (img / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10)
    write_xml(ann / "broken.xml", "broken.jpg", [("pit", 1, 1, 5, 5)])
    write_image(img / "badxml.jpg", seed=8)
    (ann / "badxml.xml").write_text("<annotation><object><name>pit</name>")
    pair("badbox", 9, [("pit",), ("scratch", 1, 1, 11, 11)])
    write_image(img / "amb.jpg", seed=10)
    write_image(img / "amb.png", seed=11)
    write_xml(ann / "amb.xml", "amb.jpg", [("pit", 1, 1, 5, 5)])
    pair("sizebad", 12, [("pit", 50, 40, 100, 80)], w=50, h=50)  # the image is 100x80
    (img / "notes.txt").write_text("not an image")
    (img / "Thumbs.db").write_bytes(b"\0\1")
    (root / "README.md").write_text("a readme at the root is not data")
    (ann / "README.txt").write_text("outside the image folders, still reported")
    return root


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    root = _dirty_voc(tmp_path_factory.mktemp("dirty") / "src")
    out = root.parent / "out"
    return root, out, import_voc(root, out, seed=0)


EXPECTED_KINDS = {
    "not_an_image": {"notes.txt", "Thumbs.db", "README.md", "README.txt"},
    "unreadable_image": {"broken.jpg"},
    "duplicate_image": {"dup_b.jpg"},
    "ambiguous_stem": {"amb.jpg", "amb.png", "amb.xml"},
    "image_without_xml": {"noxml.jpg"},
    "xml_without_image": {"orphan.xml"},
    "bad_xml": {"badxml.xml"},
    "empty_xml": {"empty.xml"},
    "bad_box": {"badbox.xml"},
    "size_mismatch": {"sizebad.xml"},
    "class_alias": {"names.xml"},
    "box_clipped": {"boxes.xml"},
    "box_outside": {"boxes.xml"},
    "zero_area_box": {"boxes.xml"},
    "grayscale_as_rgb": {"gray.jpg"},
}


def test_every_defect_is_reported_once_with_its_file(dirty):
    _, _, report = dirty
    found: dict[str, list[str]] = {}
    for p in report.problems:
        assert Path(p.file).is_absolute(), p
        found.setdefault(p.kind, []).append(Path(p.file).name)
    assert {k: set(v) for k, v in found.items()} == EXPECTED_KINDS
    assert Counter(p.kind for p in report.problems) == {
        k: len(v) for k, v in EXPECTED_KINDS.items()
    }
    assert set(report.to_dict()["handling"]) == set(EXPECTED_KINDS)


def test_only_usable_images_are_written_with_the_right_labels(dirty):
    _, out, report = dirty
    labels = read_labels(out)
    kept = {"good_a", "dup_a", "empty", "boxes", "names", "gray", "badbox", "sizebad"}
    assert set(labels) == kept
    assert {p.stem for p in (out / "images").rglob("*.jpg")} == kept
    assert report.names == ["pit", "scratch"]  # "Scratch" merged into the commoner "scratch"
    lines = {stem: ls for stem, (_, ls) in labels.items()}
    # by hand: W=100, H=80; cx=(x0+x1)/2/W, cy=(y0+y1)/2/H, w=(x1-x0)/W, h=(y1-y0)/H
    assert lines["good_a"] == ["1 0.300000 0.312500 0.400000 0.375000"]
    assert lines["boxes"] == [
        "1 0.150000 0.625000 0.300000 0.750000",  # clipped to (0, 20, 30, 80)
        "0 0.750000 0.500000 0.300000 0.750000",
    ]
    assert lines["empty"] == []  # kept as background
    assert lines["names"] == ["1 0.150000 0.187500 0.200000 0.250000"]
    assert lines["badbox"] == ["1 0.060000 0.075000 0.100000 0.125000"]
    assert lines["sizebad"] == ["0 0.750000 0.750000 0.500000 0.500000"]  # real size, not 50x50
    assert lines["dup_a"] == ["0 0.300000 0.375000 0.200000 0.250000"]
    assert report.images == {"train": 6, "val": 2}  # round(8 * 0.2) = 2
    assert sum(report.instances.values()) == 8
    assert report.instances_per_class == {"pit": 4, "scratch": 4}
    assert report.duplicates_dropped[0]["dropped"] == "dup_b.jpg"
    assert report.duplicates_dropped[0]["kept"] == "dup_a.jpg"
    assert report.duplicates_dropped[0]["labels_differ"] is True


def test_data_yaml_and_report_file(dirty):
    _, out, report = dirty
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data == {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": {0: "pit", 1: "scratch"},
    }
    saved = json.loads((out / "import_report.json").read_text())
    assert saved == json.loads(json.dumps(report.to_dict()))
    assert saved["problem_counts"]["box_clipped"] == 1


def test_reimport_replaces_a_previous_import_but_never_a_foreign_folder(tmp_path):
    root = tmp_path / "src"
    for i in range(5):
        write_image(root / f"im{i}.jpg", seed=i)
        write_xml(root / f"im{i}.xml", f"im{i}.jpg", [("a", 1, 1, 20, 20)])
    out = tmp_path / "out"
    import_voc(root, out, seed=0)
    (out / "images" / "train" / "stale.jpg").write_bytes(b"old")
    import_voc(root, out, seed=1)
    assert not (out / "images" / "train" / "stale.jpg").exists()
    assert len(list((out / "images").rglob("*.jpg"))) == 5
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("keep me")
    with pytest.raises(GraceError, match="not empty"):
        import_voc(root, foreign)
    assert (foreign / "thesis.docx").exists()
    with pytest.raises(GraceError, match="must not"):
        import_voc(root, tmp_path)  # the output would contain the source


def test_gc10_layout_class_subfolders_and_separate_label_folder(tmp_path):
    root = tmp_path / "GC10"
    for k, cls in enumerate(("1_chongkong", "2_hanfeng")):
        for i in range(3):
            stem = f"img_{k}_{i}"
            write_image(root / "images" / cls / f"{stem}.jpg", seed=10 * k + i)
            write_xml(root / "lable" / f"{stem}.xml", f"{stem}.jpg", [(cls[2:], 5, 5, 50, 50)])
    report = import_voc(root, tmp_path / "out")
    assert report.names == ["chongkong", "hanfeng"]
    assert sum(report.images.values()) == 6
    assert report.problems == []


def test_missing_source_and_bad_fraction_are_one_line_errors(tmp_path):
    with pytest.raises(GraceError, match="nowhere: folder not found"):
        import_voc(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "src").mkdir()
    write_image(tmp_path / "src" / "a.jpg")
    with pytest.raises(GraceError, match="val-fraction"):
        import_voc(tmp_path / "src", tmp_path / "out", val_fraction=1.5)
    with pytest.raises(GraceError, match="no usable annotated image"):
        import_voc(tmp_path / "src", tmp_path / "out")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("seed", range(6))
def test_duplicates_with_different_labels_never_straddle_train_and_val(tmp_path, seed):
    root = tmp_path / "src"
    for i in range(10):
        write_image(root / f"im{i:02d}.jpg", w=16, h=16, seed=i)
        write_xml(root / f"im{i:02d}.xml", "", [("a", 1, 1, 8 + i % 5, 9)], w=16, h=16)
    # copies with other names and other labels; one copy without any XML (c_im05)
    copies = [(1, "a_copy"), (1, "z_copy"), (3, "b_copy"), (5, "c_im05"), (7, "d_copy")]
    for k, (i, name) in enumerate(copies):
        shutil.copy(root / f"im{i:02d}.jpg", root / f"{name}.jpg")
        if name != "c_im05":
            write_xml(root / f"{name}.xml", "", [("a", 2, 2, 12, 10 + k)], w=16, h=16)
    out = tmp_path / "out"
    report = import_voc(root, out, seed=seed)
    hashes = {}
    for f in (out / "images").rglob("*.jpg"):
        assert _sha(f) not in hashes, f"{f} and {hashes.get(_sha(f))} are the same image"
        hashes[_sha(f)] = f
    assert len(hashes) == 10
    kept = {d["kept"] for d in report.duplicates_dropped}
    dropped = {d["dropped"] for d in report.duplicates_dropped}
    # first by name, except that a copy with an XML beats an earlier one without
    assert kept == {"a_copy.jpg", "b_copy.jpg", "d_copy.jpg", "im05.jpg"}
    assert dropped == {"im01.jpg", "z_copy.jpg", "im03.jpg", "c_im05.jpg", "im07.jpg"}
    assert {p.stem + ".jpg" for p in (out / "images").rglob("*.jpg")}.isdisjoint(dropped)
    differ = {d["dropped"]: d["labels_differ"] for d in report.duplicates_dropped}
    assert differ == {
        "im01.jpg": True,
        "z_copy.jpg": True,
        "im03.jpg": True,
        "c_im05.jpg": None,  # no XML to compare
        "im07.jpg": True,
    }
    assert not [p for p in report.problems if p.kind == "xml_without_image"]
