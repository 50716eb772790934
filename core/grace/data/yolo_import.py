"""``grace data import yolo``: a Roboflow-style YOLO export (``data.yaml`` with train, valid,
test) to our layout, keeping its official split.

Each image stays in its split. Labels are checked line by line (malformed lines and class ids
out of range dropped, boxes outside the image clipped or dropped, polygons turned into boxes);
an image without a label file is kept as a background image; byte-identical images keep one
copy (in val, else test, else train), so no training image leaks into evaluation. Everything is
reported as :class:`~grace.data.problems.Problem` records.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from grace.data.dedupe import dedupe
from grace.data.images import probe_image, sha256_file
from grace.data.output import OutputItem, prepare_out, write_report, write_yolo
from grace.data.problems import Problem
from grace.data.report import ImportReport
from grace.data.voc_layout import name_order
from grace.data.yolo_layout import load_labels, orphan_labels, read_yolo_dataset
from grace.errors import GraceError

KEEP_ORDER = ("val", "test", "train")  # which copy of a duplicate is kept


def import_yolo(src: str | Path, out: str | Path) -> ImportReport:
    """Convert the YOLO export at ``src`` (its ``data.yaml`` or the folder holding it) into a
    YOLO dataset at ``out`` with ``images/{train,val[,test]}``; returns the report (also written
    to ``out/import_report.json``)."""
    src, out = Path(src).absolute(), Path(out)
    if not src.exists():
        raise GraceError(f"{src}: not found")
    ds = read_yolo_dataset(src)
    root = ds.yaml_path.parent
    problems: list[Problem] = []
    entries: list[tuple[str, Path]] = []
    for split, (folder, images) in ds.splits.items():
        problems += [
            Problem(str(p), "label_without_image", "ignored") for p in orphan_labels(folder, images)
        ]
        entries += [(split, p) for p in images]
    probes = {p: probe_image(p) for _, p in entries}
    for _, p in entries:
        if not probes[p].ok:
            problems.append(Problem(str(p), "unreadable_image", f"{probes[p].error}; skipped"))
    readable = sorted(
        ((s, p) for s, p in entries if probes[p].ok),
        key=lambda e: (KEEP_ORDER.index(e[0]), name_order(e[1])),
    )
    kept, groups = dedupe([(e, sha256_file(e[1])) for e in readable])
    kept_set = set(kept)
    labels = {p: load_labels(p, len(ds.names)) for s, p in kept}

    duplicates = []
    for g in groups:
        ks, kp = g.kept
        kbox = {(b.cls, b.cx, b.cy, b.w, b.h) for b in labels[kp][0] or []}
        for dsplit, dp in g.dropped:
            dboxes = load_labels(dp, len(ds.names))[0] or []
            differ = kbox != {(b.cls, b.cx, b.cy, b.w, b.h) for b in dboxes}
            duplicates.append(
                {"dropped": dp.name, "kept": kp.name, "sha256": g.sha256, "labels_differ": differ,
                 "dropped_split": dsplit, "kept_split": ks, "dropped_file": str(dp),
                 "kept_file": str(kp)}
            )  # fmt: skip
            problems.append(
                Problem(str(dp), "duplicate_image", f"same bytes as {kp} ({ks}); dropped from "
                        f"{dsplit} with its labels; labels {'differ' if differ else 'agree'}")
            )  # fmt: skip

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

    splits = tuple(ds.splits)
    prepare_out(out, root)
    data_yaml = write_yolo(out, items, ds.names, splits)
    report = ImportReport(
        out=str(out),
        data_yaml=str(data_yaml),
        names=list(ds.names),
        images={s: n_img[s] for s in splits},
        instances={s: n_inst[s] for s in splits},
        instances_per_class={n: per_class[n] for n in ds.names},
        duplicates_dropped=duplicates,
        problems=problems,
        source=str(ds.yaml_path),
        format="yolo",
        split_rule="the export's own train/valid/test split, kept as it is",
        report_file=str(out / "import_report.json"),
    )
    write_report(out, report.to_dict())
    return report
