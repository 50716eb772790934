"""NEU-DET import on the real data gives the paper's split (Methods, "Dataset and splits")."""

from __future__ import annotations

import pytest

from grace.data.neu_det import import_neu_det


def test_real_neu_det_split_matches_the_paper(neu_det, tmp_path):
    report = import_neu_det(neu_det, tmp_path / "neu", seed=0)
    assert report.images == {"train": 1439, "val": 360}
    assert sum(report.instances.values()) == 4186  # 4,189 boxes less patches_105's three
    assert [d["dropped"] for d in report.duplicates_dropped] == ["patches_105.jpg"]
    assert report.duplicates_dropped[0]["kept"] == "patches_101.jpg"
    # written files agree with the report
    labels = list((tmp_path / "neu" / "labels" / "train").glob("*.txt"))
    assert len(labels) == 1439
    assert sum(len(f.read_text().split("\n")) - 1 for f in labels) == report.instances["train"]


def test_missing_folders_are_named(tmp_path):
    from grace.errors import GraceError

    with pytest.raises(GraceError, match="IMAGES"):
        import_neu_det(tmp_path / "nowhere", tmp_path / "out")
