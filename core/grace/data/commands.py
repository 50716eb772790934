"""``grace data ...`` sub-commands (registered by :mod:`grace.cli`).

Each returns a JSON-able dict. With ``--json`` it is the full report (every problem with its
file); without, a short summary for a terminal (problem counts, the first few problems, and
where the full report was written).
"""

from __future__ import annotations

import argparse

SHOWN_PROBLEMS = 10


def _summary_of_problems(problems: list[dict], counts: dict[str, int]) -> dict:
    from grace.data.problems import NOTE_KINDS

    ordered = sorted(problems, key=lambda p: p["kind"] in NOTE_KINDS)  # stable
    lines = [
        f"{p['file']}: {p['kind']}" + (f": {p['detail']}" if p["detail"] else "")
        for p in ordered[:SHOWN_PROBLEMS]
    ]
    out: dict = {"problems": counts or "none"}
    if lines:
        more = len(problems) - len(lines)
        out["first_problems"] = lines + ([f"... {more} more (--json lists all)"] if more else [])
    return out


def _differ(dup: dict) -> bool:
    """Whether the copies' annotations differ (or one of them is malformed or empty)."""
    had = dup.get("dropped_xml") or dup.get("dropped_label")
    return bool(dup["labels_differ"] or (dup["labels_differ"] is None and had))


def _import_result(report, as_json: bool) -> dict:
    d = report.to_dict()
    if as_json:
        return d
    keep = ("out", "data_yaml", "format", "names", "images", "instances", "instances_per_class")
    short = {k: d[k] for k in keep}
    dups = d["duplicates_dropped"]
    short["duplicates_dropped"] = [
        f"{x['dropped']} (copy of {x['kept']}"
        + ("; annotations differ, see warnings)" if _differ(x) else ")")
        for x in dups
    ]
    if d["warnings"]:  # shown in full, however many problems there are
        short["warnings"] = d["warnings"]
    short.update(_summary_of_problems(d["problems"], d["problem_counts"]))
    short["report_file"] = d["report_file"]
    return short


def _cmd_import_neu_det(a: argparse.Namespace) -> dict:
    from grace.data.neu_det import import_neu_det

    report = import_neu_det(a.src, a.out, seed=a.seed, val_fraction=a.val_fraction)
    return _import_result(report, a.json)


def _cmd_import_voc(a: argparse.Namespace) -> dict:
    from grace.data.classes import parse_aliases, parse_class_list
    from grace.data.voc_import import import_voc

    report = import_voc(
        a.src,
        a.out,
        seed=a.seed,
        val_fraction=a.val_fraction,
        classes=parse_class_list(a.classes),
        aliases=parse_aliases(a.alias),
    )
    return _import_result(report, a.json)


def _cmd_import_yolo(a: argparse.Namespace) -> dict:
    from grace.data.yolo_import import import_yolo

    return _import_result(import_yolo(a.src, a.out), a.json)


def _cmd_stats(a: argparse.Namespace) -> dict:
    from grace.data.stats import dataset_stats

    st = dataset_stats(a.data)
    if a.json:
        return st
    out: dict = {"data": st["data"], "names": st["names"]}
    for split, s in list(st["splits"].items()) + [("total", st["total"])]:
        sizes = ", ".join(f"{k} {v}" for k, v in s["sizes"].items())
        out[split] = (
            f"{s['images']} images ({s['background_images']} background), "
            f"{s['instances']} instances; sizes: {sizes}"
        )
    out["instances_per_class"] = st["total"]["instances_per_class"]
    out["size_rule"] = st["size_rule"]
    out["duplicate_groups"] = len(st["duplicates"])
    out.update(_summary_of_problems(st["problems"], st["problem_counts"]))
    return out


def _split_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of val (default 0.2)")


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="dataset import and statistics")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=type(data))
    imp = dsub.add_parser("import", help="convert a dataset to YOLO format")
    isub = imp.add_subparsers(dest="format", required=True, parser_class=type(data))

    neu = isub.add_parser("neu-det", help="NEU-DET (IMAGES/, ANNOTATIONS/ VOC XML)")
    neu.add_argument("src")
    neu.add_argument("out")
    _split_args(neu)
    neu.add_argument("--json", action="store_true")
    neu.set_defaults(func=_cmd_import_neu_det)

    voc = isub.add_parser(
        "voc", help="any Pascal VOC folder (GC10-DET...); images and XMLs found recursively"
    )
    voc.add_argument("src")
    voc.add_argument("out")
    _split_args(voc)
    voc.add_argument(
        "--classes", help="comma-separated class list; fixes the names and their order"
    )
    voc.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a class spelling before matching (repeatable)",
    )
    voc.add_argument("--json", action="store_true")
    voc.set_defaults(func=_cmd_import_voc)

    yolo = isub.add_parser("yolo", help="Roboflow-style YOLO export (data.yaml, train/valid/test)")
    yolo.add_argument("src", help="the export folder or its data.yaml")
    yolo.add_argument("out")
    yolo.add_argument("--json", action="store_true")
    yolo.set_defaults(func=_cmd_import_yolo)

    st = dsub.add_parser("stats", help="images, instances, size buckets, duplicates, problems")
    st.add_argument("data", help="a YOLO data.yaml or the folder holding it")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_cmd_stats)
