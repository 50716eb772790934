"""``dataset_stats`` on a hand-made dataset whose numbers are known, and on the real NEU-DET."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from _data_builders import write_image

from grace.data.stats import dataset_stats


def _dataset(root: Path) -> Path:
    """200x100 images; box sizes in pixels are in the comments."""
    labels = {
        ("train", "i0"): "0 0.5 0.5 0.16 0.32\n"  # 32x32 = 32^2: small (boundary)
        "0 0.5 0.5 0.05 0.1\n"  # 10x10: small
        "1 0.5 0.5 0.165 0.32\n",  # 33x32: medium
        ("train", "i1"): "1 0.5 0.5 0.48 0.96\n"  # 96x96 = 96^2: medium (boundary)
        "0 0.5 0.5 0.96 0.48\n",  # 192x48 = 96^2: medium (boundary)
        ("train", "i3"): "",  # background
        ("val", "v0"): "0 0.5 0.5 0.5 1.0\n"  # 100x100: large
        "1 0.5 0.5 0.485 0.96\n"  # 97x96: large
        "9 0.5 0.5 0.1 0.1\n"  # class out of range
        "0 0.5 0.5 0 0.1\n"  # zero area
        "0 2 2 0.1 0.1\n"  # outside
        "bad line\n",  # malformed
        ("val", "v1"): "1 0.5 0.5 0.6 0.6\n",  # 120x60: medium; v1 is a copy of i0
        ("val", "v2"): "0 0.5 0.5 0.1 0.1\n",  # v2 cannot be decoded: counted, no size
    }
    for seed, stem in enumerate(("i0", "i1", "i2", "i3", "v0")):
        split = "train" if stem[0] == "i" else "val"
        write_image(root / "images" / split / f"{stem}.png", w=200, h=100, seed=seed)
    shutil.copy(root / "images/train/i0.png", root / "images/val/v1.png")
    (root / "images/val/v2.png").write_bytes(b"\x89PNG broken")
    for (split, stem), text in labels.items():
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{stem}.txt").write_text(text)
    (root / "labels/train/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    data = {"path": str(root), "train": "images/train", "val": "images/val", "names": ["a", "b"]}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def test_stats_on_a_hand_made_dataset(tmp_path):
    st = dataset_stats(_dataset(tmp_path / "ds"))
    tr, va, tot = st["splits"]["train"], st["splits"]["val"], st["total"]
    assert (tr["images"], tr["background_images"], tr["instances"]) == (4, 2, 5)
    assert tr["instances_per_class"] == {"a": 3, "b": 2}
    assert tr["sizes"] == {"small": 2, "medium": 3, "large": 0}
    assert tr["sizes_per_class"] == {
        "a": {"small": 2, "medium": 1, "large": 0},
        "b": {"small": 0, "medium": 2, "large": 0},
    }
    assert (va["images"], va["background_images"], va["instances"]) == (3, 0, 4)
    assert va["instances_per_class"] == {"a": 2, "b": 2}
    assert va["sizes"] == {"small": 0, "medium": 1, "large": 2}
    assert tot["sizes"] == {"small": 2, "medium": 4, "large": 2}
    assert tot["images"] == 7 and tot["grayscale_as_rgb"] == 0
    assert len(st["duplicates"]) == 1
    group = st["duplicates"][0]
    assert [Path(f).name for f in group["files"]] == ["i0.png", "v1.png"]
    assert group["splits"] == ["train", "val"] and group["cross_split"] is True
    found = sorted((Path(p["file"]).name, p["kind"]) for p in st["problems"])
    assert found == sorted(
        [
            ("ghost.txt", "label_without_image"),
            ("i2.png", "image_without_label"),
            ("v0.txt", "class_out_of_range"),
            ("v0.txt", "zero_area_box"),
            ("v0.txt", "box_outside"),
            ("v0.txt", "malformed_label"),
            ("v2.png", "unreadable_image"),
            ("v1.png", "duplicate_image"),
        ]
    )
    assert all(p["detail"].startswith("line ") for p in st["problems"] if p["file"].endswith(".txt")
               and p["kind"] != "label_without_image")  # fmt: skip


def test_stats_on_real_neu_det_gives_the_papers_size_buckets(neu_import):
    report, out = neu_import
    st = dataset_stats(out / "data.yaml")
    tot = st["total"]
    assert (st["splits"]["train"]["images"], st["splits"]["val"]["images"]) == (1439, 360)
    assert tot["instances"] == 4186
    # exact with the rule "a box on a boundary goes to the lower bucket" (module grace.data.boxes);
    # the one box on a boundary is pitted_surface_100's 48 x 192 = 96^2
    assert tot["sizes"] == {"small": 447, "medium": 2772, "large": 967}
    assert tot["instances_per_class"] == report.instances_per_class
    assert tot["grayscale_as_rgb"] == 1799
    assert st["duplicates"] == []  # patches_105 was dropped by the import
    assert st["problem_counts"] == {"duplicate_box": 3}  # crazing_120, inclusion_62, patches_198


def test_val_counts_neu_det_sizes_by_the_same_rule(neu_import):
    """``grace val``'s size counts (from pixel xyxy records, as the validator builds them) equal
    ``grace data stats``' and the paper's; they differed by the boundary box before."""
    from PIL import Image

    from grace.eval.coco import size_bucket_counts
    from grace.eval.records import ImageRecord, xywhn_to_xyxy

    _, out = neu_import
    records = []
    for split in ("train", "val"):
        for label in sorted((out / "labels" / split).glob("*.txt")):
            rows = [x.split() for x in label.read_text().splitlines() if x.strip()]
            if not rows:
                continue
            image = next((out / "images" / split).glob(label.stem + ".*"))
            w, h = Image.open(image).size
            boxes = xywhn_to_xyxy([[float(v) for v in r[1:]] for r in rows], w, h)
            records.append(ImageRecord(str(image), w, h, boxes, [int(r[0]) for r in rows]))
    assert size_bucket_counts(records) == {"small": 447, "medium": 2772, "large": 967}
