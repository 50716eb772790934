"""``grace review new|list|decide|stats|export``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from grace.errors import GraceError


def _cmd_new(a: argparse.Namespace) -> dict:
    from grace.review.new import NewStore, make_store

    result = make_store(NewStore(
        store=a.store, weights=a.weights, data=a.data, split=a.split, images=a.images,
        predictions=a.predictions, queue=a.queue, thresholds=a.thresholds, band=a.band,
        fraction=a.fraction, seed=a.seed, val_dir=a.val_dir, imgsz=a.imgsz, device=a.device,
        second_weights=a.second_weights))  # fmt: skip
    for p in result["problems"]:
        print(f"grace: warning: {p['file']}: {p['kind']}: {p['detail']}", file=sys.stderr)
    for w in result["warnings"]:
        print(f"grace: warning: {w}", file=sys.stderr)
    return result


def _row(it: Any) -> str:
    conf = "" if it.confidence is None else f" {it.confidence:.3f}"
    flag = "  [IMAGE MISSING]" if it.missing else ""
    last = f" ({it.last_action})" if it.last_action else ""
    return (f"{it.id:>6} {it.status + last:<18} {it.queue}/{it.kind:<18} {it.cls}{conf}  "
            f"{it.image}{flag}")  # fmt: skip


def _cmd_list(a: argparse.Namespace) -> dict:
    from grace.review.store import ReviewStore

    with ReviewStore(a.store) as st:
        items = st.items(status=a.status, queue=a.queue, kind=a.kind, cls=a.cls)
        if a.json:
            return {"store": str(st.path), "read_only": st.read_only, "count": len(items),
                    "items": [it.as_dict() for it in items]}  # fmt: skip
        for it in items:
            print(_row(it))
        missing = sum(it.missing for it in items)
        out = {"count": len(items)}
        if missing:
            out["images_missing"] = missing
        if st.read_only:
            out["read_only"] = True
        return out


def parse_action(words: list[str]) -> tuple[str, str | None, list[str] | None]:
    """``accept`` / ``class NAME`` / ``box X1 Y1 X2 Y2`` / ``add CLASS X1 Y1 X2 Y2`` ... ->
    ``(action, class, box)``; a wrong shape is a one-line :class:`GraceError`."""
    shapes = {"accept": 0, "reject": 0, "ok": 0, "skip": 0, "undo": 0, "class": 1, "box": 4,
              "add": 5}  # fmt: skip
    if not words or words[0] not in shapes:
        raise GraceError("action: one of accept, reject, ok, skip, undo, class NAME, "
                         "box X1 Y1 X2 Y2, add CLASS X1 Y1 X2 Y2")  # fmt: skip
    action, rest = words[0], words[1:]
    if len(rest) != shapes[action]:
        usage = {"class": "class NAME", "box": "box X1 Y1 X2 Y2",
                 "add": "add CLASS X1 Y1 X2 Y2"}.get(action, action)  # fmt: skip
        raise GraceError(f"{' '.join(words)!r}: expected {usage}")
    if action == "class":
        return action, rest[0], None
    if action == "box":
        return action, None, rest
    if action == "add":
        return action, rest[0], rest[1:]
    return action, None, None


def _cmd_decide(a: argparse.Namespace) -> dict:
    from grace.review.store import ReviewStore

    action, cls, box = parse_action(a.action)
    with ReviewStore(a.store) as st:
        d = st.decide(a.item, action, cls=cls, box=box)
        nxt = st.next_open(after=a.item)
        return {**d.as_dict(), "status": st.item(a.item).status,
                "next_open": nxt.id if nxt else None}  # fmt: skip


def _cmd_stats(a: argparse.Namespace) -> dict:
    from grace.review.store import ReviewStore

    with ReviewStore(a.store) as st:
        return st.stats()


def _cmd_export(a: argparse.Namespace) -> dict:
    from grace.review.export import export_store

    m = export_store(a.store, a.out, merge=a.merge)
    for p in m["problems"]:
        print(f"grace: warning: {p['file']}: {p['kind']}: {p['detail']}", file=sys.stderr)
    if m["reviewed_also_held_out"]:
        print(f"grace: warning: {len(m['reviewed_also_held_out'])} reviewed images are also in "
              "the merged dataset's val/test split (manifest: reviewed_also_held_out)",
              file=sys.stderr)  # fmt: skip
    if a.json:
        return m
    return {k: m[k] for k in ("images_exported", "images_reviewed", "images_not_reviewed",
                              "decisions", "problems")} | {"out": a.out}  # fmt: skip


def add_review_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``grace review ...``."""
    r = sub.add_parser("review", help="review detections: a queue in a SQLite store, decisions, "
                       "export of the reviewed images as a dataset")  # fmt: skip
    rs = r.add_subparsers(dest="review_command", required=True, parser_class=type(r))

    n = rs.add_parser("new", help="make a review store (a queue) from a model's results")
    n.add_argument("store", help="the new store file (e.g. review.db)")
    n.add_argument(
        "--weights", required=True, help="the model reviewed: .pt, OpenVINO folder, .onnx, package"
    )
    src = n.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="labelled dataset: the errors of grace val on --split")
    src.add_argument("--images", help="folder of unlabelled images (the model runs on it)")
    src.add_argument("--predictions", help="a grace predict --out DIR --save-json folder")
    n.add_argument("--split", default="val")
    n.add_argument("--val-dir", help="grace val --out folder to read (default: grace val's "
                   "default for --weights; grace val runs when it holds no output)")  # fmt: skip
    n.add_argument("--queue", choices=("errors", "uncertain", "spot"),
                   help="default: errors with --data, else uncertain")  # fmt: skip
    n.add_argument("--thresholds", help='JSON {"conf": 0.25, "per_class": {"NAME": 0.4}} '
                   "(default: a package's own, else conf 0.25)")  # fmt: skip
    n.add_argument(
        "--band",
        type=float,
        default=0.1,
        help="uncertain: scores within this of their threshold (default %(default)s)",
    )
    n.add_argument(
        "--fraction",
        type=float,
        default=0.05,
        help="spot: share of confident detections drawn (default %(default)s)",
    )
    n.add_argument("--seed", type=int, default=0, help="spot: the draw's seed")
    n.add_argument("--second-weights", help="uncertain: a second model; its disagreements")
    n.add_argument("--imgsz", type=int, help="inference size (default: the model's)")
    n.add_argument("--device", default="")
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=_cmd_new)

    ls = rs.add_parser("list", help="the items, worst first, with their status")
    ls.add_argument("store")
    ls.add_argument("--status", choices=("open", "done", "skipped"))
    ls.add_argument("--queue", choices=("errors", "uncertain", "spot"))
    ls.add_argument("--kind", help="false_positive, miss, class_confusion, poor_localisation, ...")
    ls.add_argument("--class", dest="cls", help="only items of this class")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_cmd_list)

    d = rs.add_parser("decide", help="record one decision on an item (committed at once)")
    d.add_argument("store")
    d.add_argument("item", type=int)
    d.add_argument("action", nargs="+", help="accept | reject | ok | skip | undo | class NAME | "
                   "box X1 Y1 X2 Y2 | add CLASS X1 Y1 X2 Y2 (pixels)")  # fmt: skip
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_cmd_decide)

    s = rs.add_parser("stats", help="done/open, per action, class, kind and reviewer")
    s.add_argument("store")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_stats)

    e = rs.add_parser("export", help="the reviewed images as a new YOLO dataset + manifest")
    e.add_argument("store")
    e.add_argument("out", help="a new folder")
    e.add_argument("--merge", help="add them to a copy of this dataset's train split")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_cmd_export)
