"""``grace data stats``: what is in a YOLO dataset (ours or a Roboflow export), and what is wrong.

Per split: images, background images (no boxes), instances per class, COCO size buckets at the
original image resolution (rule in :mod:`grace.data.boxes`), images with grayscale content
stored as RGB; over the whole dataset: groups of byte-identical images (flagged when they span
splits) and every problem with its file. Nothing is changed on disk.
"""

from __future__ import annotations

from pathlib import Path

from grace.data.boxes import SIZE_BUCKETS, SIZE_RULE, pixel_area, size_bucket
from grace.data.images import probe_image, sha256_file
from grace.data.problems import Problem, count_kinds
from grace.data.yolo_layout import load_labels, orphan_labels, read_yolo_dataset
from grace.errors import GraceError


def _empty(names: list[str]) -> dict:
    return {
        "images": 0,
        "background_images": 0,
        "instances": 0,
        "instances_per_class": dict.fromkeys(names, 0),
        "sizes": dict.fromkeys(SIZE_BUCKETS, 0),
        "sizes_per_class": {n: dict.fromkeys(SIZE_BUCKETS, 0) for n in names},
        "grayscale_as_rgb": 0,
    }


def _add(total: dict, part: dict) -> None:
    for k, v in part.items():
        if isinstance(v, dict):
            _add(total[k], v)
        else:
            total[k] += v


def dataset_stats(data: str | Path) -> dict:
    """Statistics and problems of the YOLO dataset ``data`` (a ``data.yaml`` or its folder).

    Returns a JSON-able dict: ``data``, ``names``, ``size_rule``, ``splits`` (per split counts),
    ``total``, ``duplicates`` (groups of byte-identical images with their splits), ``problems``
    (each with its file) and ``problem_counts``.
    """
    ds = read_yolo_dataset(data, required=())
    if not ds.splits:
        raise GraceError(f"{ds.yaml_path}: no train, val or test entry")
    names = ds.names
    problems: list[Problem] = []
    splits: dict[str, dict] = {}
    by_hash: dict[str, list[tuple[str, Path]]] = {}
    for split, (folder, images) in ds.splits.items():
        st = splits[split] = _empty(names)
        problems += [
            Problem(str(p), "label_without_image", "") for p in orphan_labels(folder, images)
        ]
        for p in images:
            st["images"] += 1
            probe = probe_image(p)
            by_hash.setdefault(sha256_file(p), []).append((split, p))
            boxes, probs = load_labels(p, len(names))
            problems += probs
            if not probe.ok:
                kind = "lfs_pointer" if probe.lfs_pointer else "unreadable_image"
                problems.append(Problem(str(p), kind, probe.error or ""))
            st["grayscale_as_rgb"] += probe.grayscale_as_rgb
            st["background_images"] += not boxes
            for b in boxes or []:
                name = names[b.cls]
                st["instances"] += 1
                st["instances_per_class"][name] += 1
                if probe.ok:
                    bucket = size_bucket(pixel_area(b.w, b.h, probe.width, probe.height))
                    st["sizes"][bucket] += 1
                    st["sizes_per_class"][name][bucket] += 1
    total = _empty(names)
    for st in splits.values():
        _add(total, st)
    duplicates = []
    for h, files in by_hash.items():
        if len(files) < 2:
            continue
        in_splits = sorted({s for s, _ in files})
        duplicates.append(
            {"sha256": h, "files": [str(p) for _, p in files], "splits": [s for s, _ in files],
             "cross_split": len(in_splits) > 1}
        )  # fmt: skip
        first_split, first = files[0]
        for s, p in files[1:]:
            where = f"{first_split}, this one in {s}" if s != first_split else s
            problems.append(Problem(str(p), "duplicate_image", f"same bytes as {first} ({where})"))
    return {
        "data": str(ds.yaml_path),
        "names": names,
        "size_rule": SIZE_RULE,
        "splits": splits,
        "total": total,
        "duplicates": duplicates,
        "problems": [p.to_dict() for p in problems],
        "problem_counts": count_kinds(problems),
    }
