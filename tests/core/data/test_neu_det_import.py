"""NEU-DET import on the real data gives the paper's split (Methods, "Dataset and splits")."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _data_builders import write_image, write_xml

from grace.data.neu_det import import_neu_det
from grace.errors import GraceError

# Digests of the split made by the original importer (real trainings were run on it): the
# sorted "split/file" names of the images, and the label files with their contents.
IMAGES_DIGEST = "ac44634be8852ff179d6aa2f7eb235e4847a4123b03b414cfcec76d19f1f5cc3"
LABELS_DIGEST = "8185020346122b7d435ff993a799b54e887fb40b7605aa2e70a02db481f1c311"


def _digest(files: list[Path], with_content: bool) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda p: (p.parent.name, p.name)):
        h.update(f"{f.parent.name}/{f.name}\n".encode())
        if with_content:
            h.update(f.read_bytes())
    return h.hexdigest()


def test_real_neu_det_split_matches_the_paper(neu_import):
    report, out = neu_import
    assert report.images == {"train": 1439, "val": 360}
    assert sum(report.instances.values()) == 4186  # 4,189 boxes less patches_105's three
    assert [d["dropped"] for d in report.duplicates_dropped] == ["patches_105.jpg"]
    assert report.duplicates_dropped[0]["kept"] == "patches_101.jpg"
    assert report.duplicates_dropped[0]["labels_differ"] is True
    assert report.names == [
        "crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"
    ]  # fmt: skip
    assert report.problem_counts() == {
        "duplicate_image": 1,
        "grayscale_as_rgb": 1799,
        "duplicate_box": 3,
    }
    # written files agree with the report
    labels = list((out / "labels" / "train").glob("*.txt"))
    assert len(labels) == 1439
    assert sum(len(f.read_text().split("\n")) - 1 for f in labels) == report.instances["train"]


def test_real_neu_det_split_and_labels_are_unchanged(neu_import):
    _, out = neu_import
    assert _digest(list(out.glob("images/*/*")), with_content=False) == IMAGES_DIGEST
    assert _digest(list(out.glob("labels/*/*.txt")), with_content=True) == LABELS_DIGEST


def test_missing_folders_are_named(tmp_path):
    with pytest.raises(GraceError, match="IMAGES"):
        import_neu_det(tmp_path / "nowhere", tmp_path / "out")


def test_only_the_two_neu_folders_are_read_and_dirt_is_reported(tmp_path):
    src = tmp_path / "NEU"
    for i in range(1, 6):
        write_image(src / "IMAGES" / f"crazing_{i}.jpg", w=200, h=200, seed=i, gray=True)
        if i != 5:
            write_xml(src / "ANNOTATIONS" / f"crazing_{i}.xml", "", [("crazing", 2, 2, 90, 90)],
                      w=200, h=200)  # fmt: skip
    write_image(src / "Validation_Images" / "crazing_9.jpg", seed=9)  # not part of the layout
    report = import_neu_det(src, tmp_path / "out")
    assert report.images == {"train": 3, "val": 1}
    kinds = {(Path(p.file).name, p.kind) for p in report.problems}
    assert ("crazing_5.jpg", "image_without_xml") in kinds
    assert ("crazing_1.jpg", "grayscale_as_rgb") in kinds
    assert not any("crazing_9" in p.file for p in report.problems)
