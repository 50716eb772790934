"""``grace data import yolo``: a Roboflow-style YOLO export (``data.yaml`` with train, valid,
test) to our layout, keeping its official split.

Each image stays in its split. Label files are found under ``labels/`` (Ultralytics' rule) or
beside the images. Labels are checked line by line (malformed lines and class ids out of range
dropped, boxes outside the image clipped or dropped, polygons turned into boxes); an image
without a label file is kept as a background image; byte-identical images keep one copy (the
one with boxes, then with a label file; among equals in val, else test, else train), so no
training image leaks into evaluation. Everything is reported as
:class:`~grace.data.problems.Problem` records; an export that gives no instance at all fails.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from grace.data.dedupe import dedupe
from grace.data.images import probe_image, sha256_file
from grace.data.output import REPORT_NAME, OutputItem, check_out, fail_import, write_yolo
from grace.data.problems import Problem, counts_text
from grace.data.report import ImportReport
from grace.data.voc_layout import name_order
from grace.data.yolo_layout import find_label, load_labels, orphan_labels, read_yolo_dataset
from grace.errors import GraceError

KEEP_ORDER = ("val", "test", "train")  # which copy of a duplicate is kept, among equals


def _label_rank(boxes) -> int:
    """Which copy of a duplicate to keep: 2 with boxes, 1 with a label file, 0 without."""
    return 0 if boxes is None else 2 if boxes else 1


def _key(boxes) -> set | None:
    return None if boxes is None else {(b.cls, b.cx, b.cy, b.w, b.h) for b in boxes}


def import_yolo(src: str | Path, out: str | Path) -> ImportReport:
    """Convert the YOLO export at ``src`` (its ``data.yaml`` or the folder holding it) into a
    YOLO dataset at ``out`` with ``images/{train,val[,test]}``; returns the report (also written
    to ``out/import_report.json``). Label files are found under ``labels/`` (Ultralytics' rule)
    or beside the images. An export with no readable image or no instance at all fails with one
    line and writes only its report."""
    src, out = Path(src).absolute(), Path(out)
    if not src.exists():
        raise GraceError(f"{src}: not found")
    ds = read_yolo_dataset(src)
    root = ds.yaml_path.parent
    check_out(out, root)
    splits = tuple(ds.splits)
    report = ImportReport(
        out=str(out), data_yaml="", names=list(ds.names), images={}, instances={},
        instances_per_class={}, source=str(ds.yaml_path), format="yolo",
        split_rule="the export's own train/valid/test split, kept as it is",
        report_file=str(out / REPORT_NAME),
    )  # fmt: skip
    problems, warnings = report.problems, report.warnings

    def failed(message: str) -> GraceError:
        return fail_import(out, root, report.to_dict(), message)

    entries: list[tuple[str, Path]] = []
    for split, (folder, images) in ds.splits.items():
        problems += [
            Problem(str(p), "label_without_image", _orphan_detail(p))
            for p in orphan_labels(folder, images)
        ]
        entries += [(split, p) for p in images]
    if not entries:
        raise failed(f"{ds.yaml_path}: no images in its split folders")
    probes = {p: probe_image(p) for _, p in entries}
    for _, p in entries:
        if not probes[p].ok:
            kind = "lfs_pointer" if probes[p].lfs_pointer else "unreadable_image"
            problems.append(Problem(str(p), kind, f"{probes[p].error}; skipped"))
    readable = sorted(
        ((s, p) for s, p in entries if probes[p].ok),
        key=lambda e: (KEEP_ORDER.index(e[0]), name_order(e[1])),
    )
    labels = {p: load_labels(p, len(ds.names)) for _, p in readable}
    kept, groups = dedupe(
        [(e, sha256_file(e[1])) for e in readable], prefer=lambda e: _label_rank(labels[e[1]][0])
    )
    kept_set = set(kept)

    duplicates = []
    for g in groups:
        ks, kp = g.kept
        kbox = _key(labels[kp][0])
        for dsplit, dp in g.dropped:
            dbox = _key(labels[dp][0])
            differ = None if kbox is None or dbox is None else kbox != dbox
            k_file, d_file = find_label(kp), find_label(dp)
            duplicates.append(
                {"dropped": dp.name, "kept": kp.name, "sha256": g.sha256, "labels_differ": differ,
                 "dropped_split": dsplit, "kept_split": ks, "dropped_file": str(dp),
                 "kept_file": str(kp), "dropped_label": str(d_file or ""),
                 "kept_label": str(k_file or "")}
            )  # fmt: skip
            note = {True: "differ", False: "agree", None: "not comparable"}[differ]
            problems.append(
                Problem(str(dp), "duplicate_image", f"same bytes as {kp} ({ks}); dropped from "
                        f"{dsplit} with its labels; labels {note}")
            )  # fmt: skip
            if d_file is not None and differ is not False:
                warnings.append(
                    f"duplicate images with different labels: kept {kp} ({ks}; "
                    f"{_state(k_file, labels[kp][0])}), dropped {dp} ({dsplit}; "
                    f"{_state(d_file, labels[dp][0])})"
                )
    report.duplicates_dropped = duplicates

    items, per_class, n_img, n_inst = [], Counter(), Counter(), Counter()
    for split, p in entries:
        if (split, p) not in kept_set:
            continue
        boxes, probs = labels[p]
        problems += probs
        if probes[p].grayscale_as_rgb:
            problems.append(Problem(str(p), "grayscale_as_rgb", "kept as it is"))
        boxes = boxes or []
        rel = p.relative_to(ds.splits[split][0]).as_posix()
        items.append(OutputItem(p, split, rel, tuple(b.text for b in boxes)))
        per_class.update(ds.names[b.cls] for b in boxes)
        n_img[split] += 1
        n_inst[split] += len(boxes)

    report.images = {s: n_img[s] for s in splits}
    report.instances = {s: n_inst[s] for s in splits}
    report.instances_per_class = {n: per_class[n] for n in ds.names}
    if not items:
        raise failed(f"{ds.yaml_path}: no usable image ({counts_text(problems)})")
    if not sum(n_inst.values()):
        found = [find_label(p) for _, p in kept]
        n_files = sum(f is not None for f in found)
        n_full = sum(f is not None and _has_text(f) for f in found)
        raise failed(
            f"{ds.yaml_path}: 0 instances in {len(items)} images ({n_files} label files found, "
            f"{n_full} not empty, under labels/ or beside the images; {counts_text(problems)})"
        )
    report.data_yaml = str(out / "data.yaml")
    write_yolo(out, root, items, ds.names, splits, report.to_dict())
    return report


def _orphan_detail(path: Path) -> str:
    if path.name == "classes.txt":
        return "class list file, ignored (the names come from data.yaml)"
    return "no image of that name in the split; ignored"


def _has_text(path: Path) -> bool:
    try:
        return bool(path.read_bytes().strip())
    except OSError:
        return False


def _state(label: Path | None, boxes) -> str:
    if label is None:
        return "no label file"
    n = len(boxes or [])
    return f"{label}: {n} box{'es' if n != 1 else ''}" if n else f"{label}: no boxes"
