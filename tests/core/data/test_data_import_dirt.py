"""Issue 9, Import: dirt found in real public sets, each built here in a small fixture.

Multi-byte XML encodings, EXIF orientation, YOLO labels beside the images, duplicate images
with different annotations, class names that look like typos, Git LFS pointers, stray files, and
failed imports that must leave a report and no half-written dataset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from _data_builders import read_labels, voc_xml, write_image, write_xml
from PIL import Image

from grace.data.voc_import import import_voc
from grace.data.yolo_import import import_yolo
from grace.errors import GraceError

LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 12345\n"
)


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grace.cli", *args], capture_output=True, text=True, timeout=120
    )


def _kinds(report) -> set[tuple[str, str]]:
    return {(Path(p.file).name, p.kind) for p in report.problems}


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# 1. XML declaring a multi-byte encoding ------------------------------------------------------


def _xml_bytes(encoding: str, name: str, box: tuple, raw_name: bytes | None = None) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'.encode("ascii")
    body = voc_xml("x.jpg", [(name, *box)])
    if raw_name is None:
        return head + body.encode(encoding if name.isascii() is False else "ascii")
    return head + body.encode("ascii").replace(name.encode("ascii"), raw_name)


def test_gbk_xml_is_decoded_and_a_still_bad_file_is_one_bad_xml(tmp_path):
    src = tmp_path / "src"
    for i, stem in enumerate(("gbk", "gb18030", "utf8", "badbytes", "unknown")):
        write_image(src / "JPEGImages" / f"{stem}.jpg", seed=i)
    ann = src / "Annotations"
    ann.mkdir()
    (ann / "gbk.xml").write_bytes(_xml_bytes("gbk", "划痕", (10, 10, 50, 40)))
    (ann / "gb18030.xml").write_bytes(_xml_bytes("GB18030", "划痕", (0, 0, 100, 80)))
    (ann / "utf8.xml").write_bytes(_xml_bytes("utf-8", "斑块", (20, 20, 40, 40)))
    # declared gbk, but 0x80 is not a gbk byte
    (ann / "badbytes.xml").write_bytes(_xml_bytes("gbk", "zz", (1, 1, 9, 9), raw_name=b"\x80"))
    (ann / "unknown.xml").write_bytes(_xml_bytes("no-such-codec", "zz", (1, 1, 9, 9)))
    r = _grace("data", "import", "voc", str(src), str(tmp_path / "out"), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["names"] == ["划痕", "斑块"]  # sorted by code point: U+5212 < U+6591
    assert report["instances_per_class"] == {"划痕": 2, "斑块": 1}
    bad = {(Path(p["file"]).name, p["kind"]) for p in report["problems"]}
    assert bad == {("badbytes.xml", "bad_xml"), ("unknown.xml", "bad_xml")}
    details = {Path(p["file"]).name: p["detail"] for p in report["problems"]}
    assert "not valid gbk text" in details["badbytes.xml"]
    assert "unknown encoding 'no-such-codec'" in details["unknown.xml"]
    labels = {stem: ls for stem, (_, ls) in read_labels(tmp_path / "out").items()}
    # by hand, 100x80 images: (10,10,50,40) -> cx .3, cy .3125, w .4, h .375
    assert labels == {
        "gbk": ["0 0.300000 0.312500 0.400000 0.375000"],
        "gb18030": ["0 0.500000 0.500000 1.000000 1.000000"],
        "utf8": ["1 0.300000 0.375000 0.200000 0.250000"],
    }
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert data["names"] == {0: "划痕", 1: "斑块"}
    r = _grace("data", "import", "voc", str(src), str(tmp_path / "out"))  # the human summary
    assert r.returncode == 0  # and the names as written, not \u escapes:
    assert 'names: ["划痕", "斑块"]' in r.stdout.splitlines()


# 2. EXIF orientation -------------------------------------------------------------------------


def _oriented_jpeg(path: Path, orientation: int, block: tuple[int, int, int, int]) -> None:
    """A black 60x40 (stored) JPEG with a bright orange block ``x0, y0, x1, y1`` (stored
    pixels) and an EXIF orientation tag."""
    a = np.zeros((40, 60, 3), np.uint8)
    x0, y0, x1, y1 = block
    a[y0:y1, x0:x1] = (255, 160, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, quality=95, exif=exif.tobytes())


def _white_box(image: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(image.max(axis=2) > 127)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_exif_rotated_images_are_written_upright_with_boxes_where_the_trainer_sees_them(tmp_path):
    src = tmp_path / "src"
    block = (10, 5, 30, 15)  # stored pixels of a 60x40 image
    # rot6_stored: tag 6 (shown 40x60), XML size 60x40: drawn on the stored pixels (LabelImg)
    _oriented_jpeg(src / "rot6_stored.jpg", 6, block)
    write_xml(src / "rot6_stored.xml", "", [("pit", *block)], w=60, h=40)
    # rot6_shown: XML size 40x60: drawn on the shown image; the box lies below y = 40, so
    # checked against the stored 60x40 it would be dropped as outside
    _oriented_jpeg(src / "rot6_shown.jpg", 6, (45, 25, 55, 35))
    write_xml(src / "rot6_shown.xml", "", [("pit", 5, 45, 15, 55)], w=40, h=60)
    # rot3: 180 degrees, the size cannot tell: the stored pixels are assumed
    _oriented_jpeg(src / "rot3.jpg", 3, block)
    write_xml(src / "rot3.xml", "", [("pit", *block)], w=60, h=40)
    out = tmp_path / "out"
    report = import_voc(src, out, val_fraction=0.34)
    assert _kinds(report) == {
        ("rot6_stored.jpg", "exif_orientation"),
        ("rot6_shown.jpg", "exif_orientation"),
        ("rot3.jpg", "exif_orientation"),
    }
    labels = {stem: ls for stem, (_, ls) in read_labels(out).items()}
    # by hand. Tag 6 maps a stored (x, y) to (H - y, x) with H = 40: (10, 5) -> (35, 10),
    # (30, 15) -> (25, 30): box (25, 10, 35, 30) in 40x60 -> .75 .333333 .25 .333333.
    # rot6_shown: (5, 45, 15, 55) in 40x60 -> .25 .833333 .25 .166667.
    # Tag 3 maps (x, y) to (60 - x, 40 - y): box (30, 25, 50, 35) in 60x40
    # -> .666667 .75 .333333 .25.
    assert labels == {
        "rot6_stored": ["0 0.750000 0.333333 0.250000 0.333333"],
        "rot6_shown": ["0 0.250000 0.833333 0.250000 0.166667"],
        "rot3": ["0 0.666667 0.750000 0.333333 0.250000"],
    }
    for stem, line in labels.items():
        image_file = out / "images" / read_labels(out)[stem][0] / f"{stem}.jpg"
        with Image.open(image_file) as im:
            assert 0x0112 not in im.getexif()  # no tag left for any reader to apply
        seen = cv2.imread(str(image_file))  # what Ultralytics' load_image reads
        h, w = seen.shape[:2]
        _, cx, cy, bw, bh = (float(v) for v in line[0].split())
        label_box = ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
        assert np.allclose(_white_box(seen), label_box, atol=1), stem
        # the source, as the trainer would read it, shows the same pixels
        assert np.allclose(cv2.imread(str(src / f"{stem}.jpg")).shape, seen.shape)


def test_ultralytics_reads_an_exif_tagged_jpeg_rotated():
    """The premise of the EXIF handling, on the pinned Ultralytics: its label check sizes the
    image rotated, and OpenCV (its loader) decodes it rotated."""
    import tempfile

    from ultralytics.data.utils import exif_size

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.jpg"
        _oriented_jpeg(path, 6, (10, 5, 30, 15))
        with Image.open(path) as im:
            assert im.size == (60, 40) and exif_size(im) == (40, 60)
        assert cv2.imread(str(path)).shape[:2] == (60, 40)  # h, w


# 3. YOLO labels beside the images; zero instances never pass silently -------------------------

EXPORT_YAML = "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['crack', 'hole']\n"


def _beside_export(root: Path) -> Path:
    """Roboflow/LabelImg layout: train/images/x.jpg with train/images/x.txt, no labels/."""
    root.mkdir(parents=True)
    (root / "data.yaml").write_text(EXPORT_YAML)
    files = {
        ("train", "a"): "0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1\n",
        ("train", "b"): "1 0.5 0.5 0.4 0.4\n",
        ("train", "c"): "",  # background
        ("valid", "v"): "0 0.4 0.6 0.2 0.2\n",
    }
    for seed, ((split, stem), text) in enumerate(files.items()):
        write_image(root / split / "images" / f"{stem}.jpg", seed=seed)
        (root / split / "images" / f"{stem}.txt").write_text(text)
    (root / "train" / "images" / "classes.txt").write_text("crack\nhole\n")  # LabelImg's
    (root / "train" / "images" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    return root


def test_yolo_labels_beside_the_images_are_read(tmp_path):
    src = _beside_export(tmp_path / "export")
    out = tmp_path / "out"
    report = import_yolo(src, out)
    assert report.images == {"train": 3, "val": 1}
    assert report.instances == {"train": 3, "val": 1}
    assert report.instances_per_class == {"crack": 2, "hole": 2}
    assert _kinds(report) == {
        ("classes.txt", "label_without_image"),
        ("ghost.txt", "label_without_image"),
    }
    labels = read_labels(out)
    assert labels["a"] == ("train", ["0 0.5 0.5 0.2 0.2", "1 0.25 0.25 0.1 0.1"])
    assert labels["c"] == ("train", [])
    assert labels["v"] == ("val", ["0 0.4 0.6 0.2 0.2"])
    assert not list((out / "images").rglob("*.txt"))  # labels are not copied as images


def test_labels_nowhere_to_be_found_fail_with_a_report_and_no_dataset(tmp_path):
    src = _beside_export(tmp_path / "export")
    for t in src.rglob("*.txt"):  # labels moved where no YOLO reader looks
        (t.parent.parent / "annotations").mkdir(exist_ok=True)
        t.rename(t.parent.parent / "annotations" / t.name)
    out = tmp_path / "out"
    r = _grace("data", "import", "yolo", str(src), str(out))
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"grace: error: {src / 'data.yaml'}: 0 instances in 4 images ")
    assert "(0 label files found, 0 not empty" in line
    assert line.endswith(f"report: {out / 'import_report.json'}")
    assert sorted(p.name for p in out.iterdir()) == ["import_report.json"]
    saved = json.loads((out / "import_report.json").read_text())
    assert saved["ok"] is False and saved["data_yaml"] == ""
    assert saved["problem_counts"] == {"image_without_label": 4}


def test_voc_boxes_all_dropped_is_an_error_not_an_empty_dataset(tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        write_image(src / f"im{i}.jpg", seed=i)
        write_xml(src / f"im{i}.xml", "", [("scratch", 1, 1, 20, 20)])
    with pytest.raises(GraceError, match=r"0 instances in 3 images \(3 annotation files with "
                       r"boxes; unknown_class 3\)"):  # fmt: skip
        import_voc(src, tmp_path / "out", classes=["pit"])
    assert not (tmp_path / "out" / "data.yaml").exists()
    assert not (tmp_path / "out" / "images").exists()


# 4. duplicates: the copy with the valid, non-empty annotation is kept -------------------------


def test_duplicate_keeps_the_copy_with_a_valid_nonempty_xml_and_says_when_they_differ(tmp_path):
    src = tmp_path / "src"
    img, ann = src / "JPEGImages", src / "Annotations"
    write_image(img / "a_bad.jpg", seed=1)
    shutil.copy(img / "a_bad.jpg", img / "b_good.jpg")
    (ann / "a_bad.xml").parent.mkdir(parents=True)
    (ann / "a_bad.xml").write_text("<annotation><object>")  # malformed, first by name
    write_xml(ann / "b_good.xml", "", [("pit", 10, 10, 30, 30)])
    write_image(img / "c_empty.jpg", seed=2)
    shutil.copy(img / "c_empty.jpg", img / "d_boxes.jpg")
    write_xml(ann / "c_empty.xml", "", [])
    write_xml(ann / "d_boxes.xml", "", [("pit", 50, 40, 70, 60)])
    write_image(img / "e_one.jpg", seed=3)
    shutil.copy(img / "e_one.jpg", img / "f_other.jpg")
    write_xml(ann / "e_one.xml", "", [("pit", 1, 1, 11, 11)])
    write_xml(ann / "f_other.xml", "", [("pit", 2, 2, 12, 12)])
    write_image(img / "g_same.jpg", seed=4)
    shutil.copy(img / "g_same.jpg", img / "h_same.jpg")
    write_xml(ann / "g_same.xml", "", [("pit", 5, 5, 25, 25)])
    write_xml(ann / "h_same.xml", "", [("pit", 5, 5, 25, 25)])
    out = tmp_path / "out"
    r = _grace("data", "import", "voc", str(src), str(out))
    assert r.returncode == 0, r.stderr
    labels = {stem: ls for stem, (_, ls) in read_labels(out).items()}
    assert labels == {
        "b_good": ["0 0.200000 0.250000 0.200000 0.250000"],
        "d_boxes": ["0 0.600000 0.625000 0.200000 0.250000"],
        "e_one": ["0 0.060000 0.075000 0.100000 0.125000"],
        "g_same": ["0 0.150000 0.187500 0.200000 0.250000"],
    }
    report = json.loads((out / "import_report.json").read_text())
    kept = {d["dropped"]: d["kept"] for d in report["duplicates_dropped"]}
    assert kept == {"a_bad.jpg": "b_good.jpg", "c_empty.jpg": "d_boxes.jpg",
                    "f_other.jpg": "e_one.jpg", "h_same.jpg": "g_same.jpg"}  # fmt: skip
    assert report["problem_counts"] == {"duplicate_image": 4}  # a_bad.xml is not also bad_xml
    out_lines = r.stdout.splitlines()
    (warn,) = [x for x in out_lines if x.startswith("warnings: ")]
    warnings = json.loads(warn[len("warnings: ") :])
    assert warnings == [
        f"duplicate images with different annotations: kept {img / 'b_good.jpg'} "
        f"({ann / 'b_good.xml'}: 1 box), dropped {img / 'a_bad.jpg'} ({ann / 'a_bad.xml'} "
        "malformed)",
        f"duplicate images with different annotations: kept {img / 'd_boxes.jpg'} "
        f"({ann / 'd_boxes.xml'}: 1 box), dropped {img / 'c_empty.jpg'} "
        f"({ann / 'c_empty.xml'}: no objects)",
        f"duplicate images with different annotations: kept {img / 'e_one.jpg'} "
        f"({ann / 'e_one.xml'}: 1 box), dropped {img / 'f_other.jpg'} ({ann / 'f_other.xml'}: "
        "1 box)",
    ]
    (dups,) = [x for x in out_lines if x.startswith("duplicates_dropped: ")]
    assert "h_same.jpg (copy of g_same.jpg)" in dups
    assert "f_other.jpg (copy of e_one.jpg; annotations differ, see warnings)" in dups


def test_yolo_duplicate_keeps_the_labelled_copy_even_from_train(tmp_path):
    root = tmp_path / "export"
    root.mkdir()
    (root / "data.yaml").write_text(EXPORT_YAML)
    write_image(root / "valid" / "images" / "v.jpg", seed=1)
    write_image(root / "valid" / "images" / "w.jpg", seed=2)
    (root / "train" / "images").mkdir(parents=True)
    shutil.copy(root / "valid/images/v.jpg", root / "train/images/t.jpg")
    for split, stem, text in (("valid", "v", ""), ("train", "t", "1 0.5 0.5 0.2 0.2\n"),
                              ("valid", "w", "0 0.5 0.5 0.2 0.2\n")):  # fmt: skip
        (root / split / "labels").mkdir(exist_ok=True)
        (root / split / "labels" / f"{stem}.txt").write_text(text)
    report = import_yolo(root, tmp_path / "out")
    assert {k: v for k, (_, v) in read_labels(tmp_path / "out").items()} == {
        "t": ["1 0.5 0.5 0.2 0.2"], "w": ["0 0.5 0.5 0.2 0.2"]}  # fmt: skip
    (d,) = report.duplicates_dropped
    assert (d["dropped"], d["kept"], d["labels_differ"]) == ("v.jpg", "t.jpg", True)
    assert len(report.warnings) == 1 and str(root / "valid/labels/v.txt") in report.warnings[0]


# 5. class names that look like typos --------------------------------------------------------


def test_typo_classes_are_warned_with_counts_and_the_alias_that_merges_them(tmp_path):
    src = tmp_path / "src"
    names = ["scratch"] * 6 + ["pit"] * 6 + ["scrach", "p"]
    for i, name in enumerate(names):
        write_image(src / f"im{i:02d}.jpg", seed=i)
        write_xml(src / f"im{i:02d}.xml", "", [(name, 1, 1, 20, 20)])
    r = _grace("data", "import", "voc", str(src), str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    (warn,) = [x for x in r.stdout.splitlines() if x.startswith("warnings: ")]
    assert json.loads(warn[len("warnings: ") :]) == [
        "class 'p' (1 box) is a single character: kept as its own class; --alias p=CLASS merges "
        "it into CLASS, --classes without it drops it",
        "class 'scrach' (1 box) is one edit from 'scratch' (6 boxes): kept as its own class; "
        "--alias scrach=scratch merges it",
    ]
    report = json.loads((tmp_path / "out" / "import_report.json").read_text())
    assert report["names"] == ["p", "pit", "scrach", "scratch"]
    suspects = {Path(p["file"]).name for p in report["problems"] if p["kind"] == "suspect_class"}
    assert suspects == {"im13.xml", "im12.xml"}  # where 'p' and 'scrach' are used
    # the suggested aliases do merge them
    r = _grace("data", "import", "voc", str(src), str(tmp_path / "out"), "--json",
               "--alias", "scrach=scratch", "--alias", "p=pit")  # fmt: skip
    report = json.loads(r.stdout)
    assert report["instances_per_class"] == {"pit": 7, "scratch": 7}
    assert report["warnings"] == []


# 6. Git LFS pointers; a failed import never leaves a usable-looking output ---------------------


def _lfs_voc(root: Path, real: int, pointers: int) -> Path:
    for i in range(real + pointers):
        p = root / "JPEGImages" / f"im{i}.jpg"
        if i < real:
            write_image(p, seed=i)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(LFS_POINTER)
        write_xml(root / "Annotations" / f"im{i}.xml", "", [("pit", 1, 1, 20, 20)])
    return root


def test_lfs_pointers_are_named_and_the_import_fails_with_only_its_report(tmp_path):
    src = _lfs_voc(tmp_path / "src", real=0, pointers=4)
    out = tmp_path / "out"
    r = _grace("data", "import", "voc", str(src), str(out))
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"grace: error: {src}: no usable annotated image (lfs_pointer 4; the images are Git LFS "
        f"pointers: run `git lfs pull` in the source repository); "
        f"report: {out / 'import_report.json'}"
    )
    assert sorted(p.name for p in out.iterdir()) == ["import_report.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no staging left
    saved = json.loads((out / "import_report.json").read_text())
    assert saved["ok"] is False and saved["problem_counts"] == {"lfs_pointer": 4}
    assert saved["problems"][0]["detail"].startswith("Git LFS pointer, not an image (run `git")


def test_some_lfs_pointers_are_skipped_and_the_rest_imported(tmp_path):
    src = _lfs_voc(tmp_path / "src", real=5, pointers=2)
    report = import_voc(src, tmp_path / "out")
    assert sum(report.images.values()) == 5 and sum(report.instances.values()) == 5
    assert report.problem_counts() == {"lfs_pointer": 2}


def test_a_failed_reimport_keeps_the_previous_import(tmp_path):
    good = _lfs_voc(tmp_path / "good", real=5, pointers=0)
    out = tmp_path / "out"
    import_voc(good, out)
    before = _tree(out)
    with pytest.raises(GraceError, match=r"report: .*import_failed\.json"):
        import_voc(_lfs_voc(tmp_path / "lfs", real=0, pointers=3), out)
    after = _tree(out)
    assert {k: v for k, v in after.items() if k != "import_failed.json"} == before
    assert json.loads(after["import_failed.json"])["problem_counts"] == {"lfs_pointer": 3}
    import_voc(good, out, seed=1)  # a later good import replaces both
    assert "import_failed.json" not in _tree(out)


def test_a_write_that_fails_halfway_leaves_the_previous_import(tmp_path, monkeypatch):
    src = _lfs_voc(tmp_path / "src", real=5, pointers=0)
    out = tmp_path / "out"
    import_voc(src, out)
    before = _tree(out)
    calls = []
    real_copy = shutil.copy2

    def copy_then_fail(a, b, **kw):
        calls.append(b)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_copy(a, b, **kw)

    monkeypatch.setattr(shutil, "copy2", copy_then_fail)
    with pytest.raises(GraceError, match="could not write the dataset .No space left on device"):
        import_voc(src, out, seed=1)
    assert len(calls) == 3
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


# 7. stray files outside the image folders ----------------------------------------------------


def test_stray_files_anywhere_under_the_source_are_reported(tmp_path):
    src = tmp_path / "VOC"
    for i in range(3):
        write_image(src / "JPEGImages" / f"im{i}.jpg", seed=i)
        write_xml(src / "Annotations" / f"im{i}.xml", "", [("pit", 1, 1, 20, 20)])
    (src / "Annotations" / "README").write_text("annotated by ...")
    (src / "ImageSets" / "Main").mkdir(parents=True)
    (src / "ImageSets" / "Main" / "train.txt").write_text("im0\nim1\n")
    report = import_voc(src, tmp_path / "out")
    details = {Path(p.file).name: (p.kind, p.detail) for p in report.problems}
    assert details == {
        "README": ("not_an_image", "neither an image nor an annotation; ignored"),
        "train.txt": ("not_an_image", "VOC split list, ignored (the split is made by --seed)"),
    }
