"""``grace val`` and ``grace compare``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse
import sys


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


def val_summary(r: dict) -> str:
    """A short human-readable account of a ``grace val`` result."""
    m, coco = r["metrics"], r["coco"]
    shapes = ", ".join(
        f"{s['shape'][0]}x{s['shape'][1]} ({s['images']})" for s in r.get("input_shapes") or []
    )
    d = r["f1_dataset"]
    lines = [
        f"{r['weights']} ({r.get('format', 'pt')}) on {r['images']} images, "
        f"{r['instances']} instances",
        f"protocol {r['protocol']}; network input {shapes or 'not known'}",
        f"mAP@0.5:0.95 {_pct(m['mAP50-95'])}%  mAP@0.5 {_pct(m['mAP50'])}%",
        f"F1 mean over classes {_pct(m['f1_mean_over_classes'])}% (P {_pct(m['precision'])}%  "
        f"R {_pct(m['recall'])}%, means over classes at confidence {r['f1_confidence']})",
        f"F1 dataset (pooled TP {d['tp']} FP {d['fp']} FN {d['fn']}) {_pct(d['f1'])}% "
        f"at confidence {d['confidence']}",
        f"COCO tool: mAP@0.5:0.95 {_pct(coco['mAP50-95'])}%  mAP@0.5 {_pct(coco['mAP50'])}%  "
        f"AP_S {_pct(coco['AP_small'])}%  AP_M {_pct(coco['AP_medium'])}%  "
        f"AP_L {_pct(coco['AP_large'])}%",
    ]
    cost = r.get("cost") or {}
    lines.append(
        f"params {cost.get('parameters')}  GFLOPs {cost.get('gflops')}"
        f" at {cost.get('gflops_imgsz')}  latency {r['latency_ms']} ms/img"
    )
    lines.append(f"{'class':>20} {'inst':>6} {'AP50-95':>8} {'AP50':>8} {'P':>8} {'R':>8}")
    for name, c in r["per_class"].items():
        lines.append(
            f"{name:>20} {c['instances']:>6} {_pct(c['AP50-95']):>8} {_pct(c['AP50']):>8} "
            f"{_pct(c['precision']):>8} {_pct(c['recall']):>8}"
        )
    return "\n".join(lines)


def _cmd_val(a: argparse.Namespace) -> dict:
    from grace.eval.validate import validate

    result = validate(
        a.weights,
        a.data,
        imgsz=a.imgsz,
        batch=a.batch,
        device=a.device,
        conf=a.conf,
        iou=a.iou,
        max_det=a.max_det,
        out=a.out,
        protocol=a.protocol,
    )
    for p in result["problems"]:  # also in metrics.json; a terminal sees each one here
        print(f"grace: warning: {p['file']}: {p['kind']}: {p['detail']}", file=sys.stderr)
    if a.json:
        return result
    print(val_summary(result), file=sys.stdout)
    return {"written": result["files"]}


def _cmd_compare(a: argparse.Namespace) -> dict:
    from grace.eval.compare import compare

    result = compare(a.runs, out=a.out)
    for problem in result["problems"]:  # also in the JSON; a terminal sees them here
        print(f"grace: warning: {problem}", file=sys.stderr)
    if a.json:
        return result
    sys.stdout.write(result["markdown"])
    return {"written": result["files"]} if result["files"] else {}


def add_eval_commands(sub: argparse._SubParsersAction, defaults) -> None:
    v = sub.add_parser("val", help="validate a checkpoint: COCO metrics, F1, per class, per size")
    v.add_argument("--weights", required=True, help=".pt, OpenVINO folder, .onnx or package")
    v.add_argument("--data", required=True)
    v.add_argument(
        "--imgsz",
        type=int,
        help=f"default: an exported model's or package's input size, else {defaults.imgsz}",
    )
    v.add_argument("--batch", type=int, default=defaults.batch)
    v.add_argument("--device", default="")
    v.add_argument("--conf", type=float, default=0.001, help="NMS confidence (default %(default)s)")
    v.add_argument("--iou", type=float, default=0.7, help="NMS IoU (default %(default)s)")
    v.add_argument(
        "--max-det", type=int, default=300, help="detections per image (default %(default)s)"
    )
    v.add_argument(
        "--protocol",
        choices=("deployed", "ultralytics"),
        default="deployed",
        help="deployed (default): exactly what grace predict outputs at --imgsz; ultralytics: "
        "Ultralytics' rectangular-batch validation (at imgsz 256 it feeds 200x200 images as "
        "288x288); never mix the two in one comparison",
    )
    v.add_argument(
        "--out",
        help="folder for metrics.json, pr_curves.json, errors.json and predictions.npz "
        "(default: <run>/val for <run>/weights/*.pt, else runs/val/<weights stem>)",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_cmd_val)

    c = sub.add_parser("compare", help="one table across runs (paper Tables 1/2 layout)")
    c.add_argument(
        "runs", nargs="+", metavar="RUN", help="run directories; the first is the reference"
    )
    c.add_argument("--out", help="also write compare.md and compare.csv to this folder")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_compare)
