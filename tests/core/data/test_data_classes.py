"""Class names: merged spellings, a fixed list with ``--classes``, aliases, unknown names."""

from __future__ import annotations

import pytest
from _data_builders import read_labels, write_image, write_xml

from grace.data.classes import parse_aliases, parse_class_list, resolve_classes, spelling_key
from grace.data.voc_import import import_voc
from grace.errors import GraceError


def test_spelling_key_ignores_case_spaces_hyphens_underscores():
    assert spelling_key(" Rolled-in Scale ") == spelling_key("rolled_in_scale") == "rolledinscale"
    assert spelling_key("pit") != spelling_key("pits")


def test_without_a_list_spellings_merge_to_the_most_frequent():
    cmap = resolve_classes({"Crazing": 2, "crazing": 5, "rolled-in_scale": 1, "Rolled_in_scale": 1})
    # tie between the two rolled-in spellings: the first in sorted order wins
    assert cmap.names == ["Rolled_in_scale", "crazing"]
    assert cmap.renamed == {"Crazing": "crazing", "rolled-in_scale": "Rolled_in_scale"}
    assert cmap.index("Crazing") == 1
    assert resolve_classes({"": 3, "a": 1}).canonical[""] is None  # an empty name is unknown


def test_a_fixed_list_keeps_its_order_and_aliases_apply_first():
    counts = {"pitting": 3, "Scratch": 1, "scratch": 2, "dent": 4, "RUST": 1}
    cmap = resolve_classes(counts, ["scratch", "pit", "rust"], {"Pitting": "pit"})
    assert cmap.names == ["scratch", "pit", "rust"]
    assert [cmap.index(n) for n in ("scratch", "Scratch", "pitting", "RUST", "dent")] == [
        0,
        0,
        1,
        2,
        None,
    ]
    assert cmap.renamed == {"Scratch": "scratch", "pitting": "pit", "RUST": "rust"}


def test_bad_class_arguments_are_one_line_errors():
    with pytest.raises(GraceError, match="not in --classes"):
        resolve_classes({"a": 1}, ["a", "b"], {"x": "c"})
    with pytest.raises(GraceError, match="twice"):
        parse_class_list("pit,Pit")
    with pytest.raises(GraceError, match="OLD=NEW"):
        parse_aliases(["pit"])
    assert parse_class_list(" b, a ,c") == ["b", "a", "c"]
    assert parse_aliases(["a = b", "c=d"]) == {"a": "b", "c": "d"}


def test_import_with_classes_and_aliases(tmp_path):
    src = tmp_path / "src"
    boxes = {
        "one": [("pitting", 0, 0, 10, 10), ("Scratch", 0, 0, 20, 20)],
        "two": [("dent", 0, 0, 10, 10), ("rust", 10, 10, 30, 30)],
        "three": [("scratch", 0, 0, 40, 40)],
    }
    for i, (stem, bs) in enumerate(boxes.items()):
        write_image(src / "JPEGImages" / f"{stem}.jpg", seed=i)
        write_xml(src / "Annotations" / f"{stem}.xml", f"{stem}.jpg", bs)
    out = tmp_path / "out"
    report = import_voc(
        src, out, classes=["rust", "scratch", "pit"], aliases={"pitting": "pit"}, val_fraction=0.4
    )
    assert report.names == ["rust", "scratch", "pit"]
    ids = {stem: [line.split()[0] for line in ls] for stem, (_, ls) in read_labels(out).items()}
    assert ids == {"one": ["2", "1"], "two": ["0"], "three": ["1"]}
    unknown = [p for p in report.problems if p.kind == "unknown_class"]
    assert [(p.file.split("/")[-1], "'dent'" in p.detail) for p in unknown] == [("two.xml", True)]
    aliases = sorted(p.detail for p in report.problems if p.kind == "class_alias")
    assert aliases == ["'Scratch' -> 'scratch' (1 boxes)", "'pitting' -> 'pit' (1 boxes)"]
    assert report.instances_per_class == {"rust": 1, "scratch": 2, "pit": 1}


def test_edit_distance_by_hand():
    from grace.data.classes import edit_distance

    assert edit_distance("scratch", "scratch") == 0
    assert edit_distance("scrach", "scratch") == 1  # deletion
    assert edit_distance("scartch", "scratch") == 1  # adjacent swap
    assert edit_distance("sractch", "scratch") == 2
    assert edit_distance("scratxh", "scratch") == 1  # substitution
    assert edit_distance("pit", "patch") == 3
    assert edit_distance("", "ab") == 2


def test_suspect_classes_rule():
    from grace.data.classes import SuspectClass, suspect_classes

    counts = {"scratch": 40, "scrach": 2, "Scratchs": 6, "pit": 30, "pits": 5, "x": 1, "y": 50,
              "crazing": 3}  # fmt: skip
    assert suspect_classes(counts) == [
        SuspectClass("pits", 5, "pit", 30),  # 5 boxes: still "a few"
        SuspectClass("scrach", 2, "scratch", 40),
        SuspectClass("x", 1, "y", 50),  # one edit from 'y' (substitution)
    ]  # 'Scratchs' has 6 boxes (> 5); 'crazing' is near nothing; 'y' is the commoner
    assert suspect_classes({"a": 1, "bbbb": 3}) == [SuspectClass("a", 1)]  # single character
    assert suspect_classes({"a": 3, "b": 3}) == []  # neither has more boxes
