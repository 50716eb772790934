"""``grace val``, ``grace compare`` and ``grace report``, registered by :mod:`grace.cli`."""

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
        thresholds=a.thresholds,
    )
    for p in result["problems"]:  # also in metrics.json; a terminal sees each one here
        print(f"grace: warning: {p['file']}: {p['kind']}: {p['detail']}", file=sys.stderr)
    if a.json:
        return result
    print(val_summary(result), file=sys.stdout)
    return {"written": result["files"]}


def _cmd_compare(a: argparse.Namespace) -> dict:
    from grace.eval.compare import compare

    result = compare(a.runs, out=a.out, resamples=a.resamples, seed=a.seed)
    for problem in result["problems"]:  # also in the JSON; a terminal sees them here
        print(f"grace: warning: {problem}", file=sys.stderr)
    if a.json:
        return result
    sys.stdout.write(result["markdown"])
    return {"written": result["files"]} if result["files"] else {}


def _cmd_report(a: argparse.Namespace) -> dict:
    from grace.eval.report import build_report

    result = build_report(
        a.out, run=a.run, weights=a.weights, data=a.data, imgsz=a.imgsz,
        thresholds=a.thresholds, device=a.device, batch=a.batch, resamples=a.resamples,
        seed=a.seed, val_out=a.val_out,
    )  # fmt: skip
    for line in result["problems"]:  # also in the report; a terminal sees each one here
        print(f"grace: warning: {line}", file=sys.stderr)
    if a.json:
        return {"out": result["out"], "sections": result["sections"]}
    return {"written": result["out"], "figures": result["evaluation"]}


def calibrate_summary(r: dict) -> str:
    """Per class: threshold and P/R/F1 at it, next to the same at the single global threshold."""
    lines = [
        f"{r['model']} on {r['images']} val images (protocol {r['protocol']}, imgsz {r['imgsz']})",
        f"target {r['target']['default']}"
        + "".join(f"; {k}: {v}" for k, v in r["target"]["per_class"].items()),
        f"{'class':>18} {'inst':>5} {'target':>14} {'thresh':>7} {'P':>6} {'R':>6} {'F1':>6}"
        f"   | global {r['conf']:.4f}: {'P':>6} {'R':>6} {'F1':>6}",
    ]
    for name, m in r["per_class_metrics"].items():
        g = m["at_global"]
        th = f"{m['threshold']:.4f}" if m["calibrated"] else "global"
        mark = "" if m["reached"] else " (not reached)"
        lines.append(
            f"{name:>18} {m['instances']:>5} {m['target'] + mark:>14} {th:>7} "
            f"{_pct(m['precision']):>6} {_pct(m['recall']):>6} {_pct(m['f1']):>6}   |"
            f"{'':>15} {_pct(g['precision']):>6} {_pct(g['recall']):>6} {_pct(g['f1']):>6}"
        )
    c, g = r["calibrated_metrics"], r["global_metrics"]
    lines.append(
        f"{'all (pooled)':>18} {sum(m['instances'] for m in r['per_class_metrics'].values()):>5} "
        f"{'':>14} {'':>7} {_pct(c['precision']):>6} {_pct(c['recall']):>6} {_pct(c['f1']):>6}"
        f"   |{'':>15} {_pct(g['precision']):>6} {_pct(g['recall']):>6} {_pct(g['f1']):>6}"
    )
    lines.append(f"written: {r['file']}")
    return "\n".join(lines)


def _cmd_calibrate(a: argparse.Namespace) -> dict:
    from grace.eval.calibrate import calibrate

    result = calibrate(a.weights, a.data, target=a.target, class_targets=a.class_target or [],
                       imgsz=a.imgsz, batch=a.batch, device=a.device, out=a.out,
                       val_dir=a.val_dir, default_imgsz=a.default_imgsz)  # fmt: skip
    for p in result["problems"]:
        print(f"grace: warning: {p['file']}: {p['kind']}: {p['detail']}", file=sys.stderr)
    for w in result["warnings"]:
        print(f"grace: warning: {w}", file=sys.stderr)
    if a.json:
        return result
    print(calibrate_summary(result), file=sys.stdout)
    return {}


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
    v.add_argument(
        "--thresholds",
        metavar="FILE",
        help="operating point for the P/R/F1 at thresholds and errors.json: a grace calibrate "
        "file ('auto': the one beside the weights)",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_cmd_val)

    k = sub.add_parser(
        "calibrate",
        help="per-class confidence thresholds on the val split (deployed protocol)",
        description="Choose each class's confidence threshold on the val split and write them "
        "beside the weights as <stem>.thresholds.json (grace predict --thresholds auto).",
    )
    k.add_argument("--weights", required=True, help=".pt, OpenVINO folder, .onnx or package")
    k.add_argument("--data", help="YOLO data.yaml (required unless --val-dir)")
    k.add_argument(
        "--imgsz",
        type=int,
        help=f"inference size (default: an exported model's or package's, else {defaults.imgsz})",
    )
    k.add_argument("--batch", type=int, default=defaults.batch)
    k.add_argument("--device", default="")
    k.add_argument(
        "--target",
        default="f1",
        help="f1 (default: maximise F1), recall=R (highest threshold with recall >= R) or "
        "precision=P (lowest threshold with precision >= P)",
    )
    k.add_argument(
        "--class-target",
        nargs="+",
        action="extend",
        metavar="NAME=KIND:V",
        help="per-class targets over --target: scratches=recall:0.98 pits=f1",
    )
    k.add_argument(
        "--val-dir", help="reuse this grace val output folder's predictions.npz (deployed)"
    )
    k.add_argument("--out", help="thresholds file (default: <weights stem>.thresholds.json)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=_cmd_calibrate, default_imgsz=defaults.imgsz)

    c = sub.add_parser("compare", help="one table across runs (paper Tables 1/2 layout)")
    c.add_argument(
        "runs", nargs="+", metavar="RUN", help="run directories; the first is the reference"
    )
    c.add_argument("--out", help="also write compare.md and compare.csv to this folder")
    c.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="paired bootstrap resamples over the val images for each Δ's 95%% interval "
        "(at least 1000; default %(default)s)",
    )
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default %(default)s)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser(
        "report",
        help="one self-contained HTML report of a run or a checkpoint (figures embedded)",
    )
    r.add_argument("run", nargs="?", metavar="RUN", help="a run directory (or --weights/--data)")
    r.add_argument(
        "--weights",
        help="a model (with --data) instead of a run: a .pt, an OpenVINO folder, an .onnx or a "
        "package (Eigen-CAM needs the .pt: a package's model.pt; an export has none)",
    )
    r.add_argument("--data", help="data.yaml to evaluate on (default: the run's)")
    r.add_argument(
        "--imgsz", type=int,
        help="evaluation size (default: an exported model's or package's own, else the training "
        "size)",
    )  # fmt: skip
    r.add_argument(
        "--thresholds",
        help="per-class thresholds.json (default: thresholds.json beside the weights, else the "
        "global operating point)",
    )
    r.add_argument("--out", required=True, help="the .html file to write")
    r.add_argument("--val-out", help="with --weights: keep the evaluation in this folder")
    r.add_argument("--device", default="")
    r.add_argument("--batch", type=int, default=defaults.batch)
    r.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples (default %(default)s)"
    )
    r.add_argument("--seed", type=int, default=0, help="bootstrap seed (default %(default)s)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_cmd_report)
