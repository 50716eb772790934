"""Pure pieces: box checks, size buckets, the seeded split, de-duplication, label lines."""

from __future__ import annotations

import numpy as np
import pytest

from grace.data.boxes import check_box, check_normalised, pixel_area, size_bucket, yolo_line
from grace.data.dedupe import dedupe
from grace.data.images import channels_equal
from grace.data.split import seeded_split
from grace.data.yolo_layout import label_path, parse_label_text


def test_check_box_statuses():
    assert check_box(10, 10, 20, 20, 100, 80).status == "ok"
    assert check_box(-5, 10, 20, 90, 100, 80) == check_box(-5, 10, 20, 90, 100, 80)
    c = check_box(-5, 10, 20, 90, 100, 80)
    assert (c.status, c.box) == ("clipped", (0.0, 10, 20, 80.0))
    assert check_box(100, 10, 120, 20, 100, 80).status == "outside"  # touches the edge only
    assert check_box(10, 10, 10, 20, 100, 80).status == "zero_area"
    assert check_box(20, 10, 10, 20, 100, 80).status == "zero_area"  # inverted
    assert yolo_line(3, (0, 0, 50, 40), 100, 80) == "3 0.250000 0.250000 0.500000 0.500000"


def test_check_normalised_tolerates_rounding_only():
    assert check_normalised(0.5, 0.5, 1.0000004, 0.2).status == "ok"
    c = check_normalised(0.9, 0.5, 0.4, 0.2)
    assert c.status == "clipped" and c.box == pytest.approx((0.7, 0.4, 1.0, 0.6))
    assert check_normalised(1.5, 0.5, 0.4, 0.2).status == "outside"
    assert check_normalised(0.5, 0.5, 0.0, 0.2).status == "zero_area"


@pytest.mark.parametrize(
    "w,h,bucket",
    [(32, 32, "small"), (16, 64, "small"), (33, 32, "medium"), (96, 96, "medium"),
     (48, 192, "medium"), (97, 96, "large")],
)  # fmt: skip
def test_size_buckets_put_a_box_on_the_boundary_in_the_lower_bucket(w, h, bucket):
    width, height = 200, 200
    nw, nh = float(f"{w / width:.6f}"), float(f"{h / height:.6f}")  # as read from a label file
    assert size_bucket(pixel_area(nw, nh, width, height)) == bucket


def test_pixel_area_undoes_six_decimal_rounding():
    nw = float(f"{96 / 1999:.6f}")  # 0.048024 -> 95.999976 px
    assert pixel_area(nw, 96 / 1000, 1999, 1000) == 96 * 96


def test_seeded_split_is_the_papers_rule():
    for n, seed, frac in [(1799, 0, 0.2), (10, 3, 0.25), (7, 1, 0.5)]:
        order = np.random.default_rng(seed).permutation(n)
        val = set(order[: int(round(n * frac))].tolist())
        expected = ["val" if i in val else "train" for i in range(n)]
        assert seeded_split(n, seed, frac) == expected
    assert seeded_split(1799).count("val") == 360


def test_dedupe_keeps_first_or_preferred():
    items = [("a", "h1"), ("b", "h2"), ("c", "h1"), ("d", "h1")]
    kept, groups = dedupe(items)
    assert kept == ["a", "b"]
    assert [(g.kept, g.dropped) for g in groups] == [("a", ("c", "d"))]
    kept, groups = dedupe(items, prefer=lambda k: k != "a")
    assert kept == ["b", "c"] and groups[0].dropped == ("a", "d")


def test_channels_equal():
    g = np.random.default_rng(0).integers(0, 256, (8, 8, 1), dtype=np.uint8)
    assert channels_equal(np.repeat(g, 3, axis=2))
    c = np.repeat(g, 3, axis=2).copy()
    c[0, 0, 1] ^= 0x40
    assert not channels_equal(c)


def test_parse_label_text():
    text = "\n".join(
        [
            "0 0.5 0.5 0.2 0.2",  # fine, kept verbatim
            "1 0.9 0.5 0.4 0.2",  # clipped
            "x 0.5 0.5 0.2 0.2",  # malformed
            "0 0.5 0.5 0.2",  # malformed: 4 fields
            "7 0.5 0.5 0.2 0.2",  # class out of range
            "1.5 0.5 0.5 0.2 0.2",  # malformed class id
            "0 0.5 0.5 0 0.2",  # zero area
            "0 1.5 1.5 0.2 0.2",  # outside
            "2 0.1 0.1 0.3 0.1 0.3 0.5 0.1 0.5",  # polygon -> box
            "",
        ]
    )
    boxes, issues = parse_label_text(text, nc=3)
    assert [b.text for b in boxes] == [
        "0 0.5 0.5 0.2 0.2",
        "1 0.850000 0.500000 0.300000 0.200000",
        "2 0.200000 0.300000 0.200000 0.400000",
    ]
    assert [(n, k) for n, k, _ in issues] == [
        (2, "box_clipped"),
        (3, "malformed_label"),
        (4, "malformed_label"),
        (5, "class_out_of_range"),
        (6, "malformed_label"),
        (7, "zero_area_box"),
        (8, "box_outside"),
        (9, "polygon_label"),
    ]


def test_label_path_follows_ultralytics():
    from pathlib import Path

    assert label_path(Path("/d/images/train/a.jpg")) == Path("/d/labels/train/a.txt")
    assert label_path(Path("/images/x/train/images/a.png")) == Path("/images/x/train/labels/a.txt")


def test_an_unidentifiable_image_is_reported_as_such_with_ultralytics_loaded(tmp_path, capfd):
    """Ultralytics' PIL.Image.open wrapper would try to install pi-heif and report "No module
    named 'pi_heif'"; the engine reports PIL's own reason and prints nothing."""
    import ultralytics  # noqa: F401 (installs the wrapper)

    from grace.data.images import probe_image

    bad = tmp_path / "scratches_1.jpg"
    bad.write_bytes(b"not a jpeg")
    probe = probe_image(bad)
    assert probe.error == f"cannot identify image file '{bad}'"
    assert "pi-heif" not in capfd.readouterr().err


def test_box_to_shown_by_hand_for_every_orientation():
    from grace.data.orientation import annotated_frame, box_to_shown, shown_size

    # a 7x4 stored image, box (1, 0, 4, 2); each mapping worked out on paper
    expected = {1: (1, 0, 4, 2), 2: (3, 0, 6, 2), 3: (3, 2, 6, 4), 4: (1, 2, 4, 4),
                5: (0, 1, 2, 4), 6: (2, 1, 4, 4), 7: (2, 3, 4, 6), 8: (0, 3, 2, 6)}  # fmt: skip
    for o, box in expected.items():
        assert box_to_shown((1, 0, 4, 2), 7, 4, o) == box, o
    assert shown_size(7, 4, 6) == (4, 7) and shown_size(7, 4, 3) == (7, 4)
    assert annotated_frame((4, 7), (7, 4), 6) == "shown"
    assert annotated_frame((7, 4), (7, 4), 6) == "stored"
    assert annotated_frame((7, 4), (7, 4), 3) == "stored"  # cannot tell
    assert annotated_frame((None, None), (7, 4), 8) == "stored"


def test_lfs_pointer_detection(tmp_path):
    from grace.data.images import is_lfs_pointer, probe_image

    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 3\n"
    (tmp_path / "p.jpg").write_bytes(pointer)
    (tmp_path / "t.jpg").write_bytes(b"version 2 of my notes")
    assert is_lfs_pointer(tmp_path / "p.jpg") and is_lfs_pointer(pointer)
    assert not is_lfs_pointer(tmp_path / "t.jpg")
    assert not is_lfs_pointer(pointer + b" " * 1024)  # a pointer is small
    pr = probe_image(tmp_path / "p.jpg")
    assert pr.lfs_pointer and not pr.ok and "git lfs pull" in (pr.error or "")
    assert not probe_image(tmp_path / "t.jpg").lfs_pointer


def test_dedupe_keeps_the_best_ranked_copy_first_among_equals():
    from grace.data.dedupe import dedupe

    items = [("a", "h1"), ("b", "h1"), ("c", "h1"), ("d", "h2"), ("e", "h2")]
    rank = {"a": 1, "b": 3, "c": 3, "d": 0, "e": 0}
    kept, groups = dedupe(items, prefer=rank.get)
    assert kept == ["b", "d"]
    assert [(g.kept, g.dropped) for g in groups] == [("b", ("a", "c")), ("d", ("e",))]


def test_problem_levels_put_lost_or_doubtful_data_first():
    from grace.data.problems import HANDLING, LEVELS, kind_order, level_of

    # written out by hand from HANDLING's rules: what is dropped or may be mislabelled is serious
    serious = {
        "duplicate_image", "image_without_xml", "ambiguous_stem", "unreadable_image",
        "lfs_pointer", "bad_xml", "bad_box", "zero_area_box", "box_outside", "unknown_class",
        "suspect_class", "malformed_label", "class_out_of_range",
    }  # fmt: skip
    notes = {"grayscale_as_rgb", "duplicate_box", "not_an_image"}
    assert {k for k in HANDLING if level_of(k) == "serious"} == serious
    assert {k for k in HANDLING if level_of(k) == "note"} == notes
    assert len({k for k in HANDLING if level_of(k) == "fixed"}) == len(HANDLING) - 16
    shuffled = ["grayscale_as_rgb", "box_clipped", "duplicate_image", "bad_box"]
    ordered = sorted(shuffled, key=kind_order)
    assert ordered == ["duplicate_image", "bad_box", "box_clipped", "grayscale_as_rgb"]
    assert LEVELS == ("serious", "fixed", "note")
    with pytest.raises(ValueError, match="nonsense"):
        level_of("nonsense")
