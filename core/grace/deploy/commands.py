"""``grace export``, ``grace package`` and ``grace inspect``, registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_export(a: argparse.Namespace) -> dict:
    from grace.deploy.export import export_model

    e = export_model(a.weights, a.format, int8=a.int8, data=a.data, imgsz=a.imgsz, out=a.out,
                     fraction=a.fraction, precision=a.precision)  # fmt: skip
    result = e.as_dict()
    if a.data and not a.no_eval:
        from grace.deploy.evaluate import compare_to_pytorch

        out = Path(e.path).parent / f"{Path(e.path).name.removesuffix('.onnx')}_eval"
        c = compare_to_pytorch(e.source, e.path, a.data, e.imgsz, out)
        result["evaluation"] = c
        if not a.json:
            t = c.get("throughput") or {}
            pt, ex = c["pytorch"], c["exported"]
            print(
                f"mAP@0.5:0.95  PyTorch {100 * (pt['mAP50-95'] or 0):.2f}%  "
                f"{e.format}{' INT8' if e.int8 else ''}"
                f"{f' ({p})' if (p := ex.get('precision')) else ''} "
                f"{100 * (ex['mAP50-95'] or 0):.2f}%  "
                f"(delta {c['delta_mAP50-95_points']} points)\n"
                f"throughput (batch 1, CPU, paired)  PyTorch {t.get('images_per_s_pytorch')}"
                f" img/s  exported {t.get('images_per_s')} img/s  ratio {t.get('ratio')}",
                file=sys.stdout,
            )
    elif not a.json:
        print("not evaluated (give --data D.yaml to compare with the PyTorch model)",
              file=sys.stderr)  # fmt: skip
    return result


def _cmd_package(a: argparse.Namespace) -> dict:
    from grace.deploy.build import build_package

    m = build_package(a.weights, a.out, thresholds=a.thresholds, formats=a.formats,
                      zip_output=a.zip, data=a.data, imgsz=a.imgsz,
                      precision=a.precision)  # fmt: skip
    for w in m.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    if a.json:
        return m
    return {"package": m["path"], "formats": m["formats"], "files": len(m["files"])}


def _cmd_inspect(a: argparse.Namespace) -> None:
    """Lines (or JSON lines) on stdout as images are inspected; the summary on stderr; Ctrl-C
    or SIGTERM ends after the current image (exit 130)."""
    import json
    import signal
    import threading

    from grace.deploy.inspect import InspectRequest, run_inspect

    out = getattr(a, "stdout", None) or sys.stdout
    stop = threading.Event()

    def show(row) -> None:
        out.write((json.dumps(row.as_dict()) if a.json else row.line()) + "\n")
        out.flush()

    def on_signal(_sig, _frame) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = run_inspect(
            InspectRequest(model=a.model, watch=a.watch, results=a.results, ng_dir=a.ng_dir,
                           review_band=a.review_band, thresholds=a.thresholds, conf=a.conf,
                           class_conf=a.class_conf or [], imgsz=a.imgsz,
                           device=a.device, poll=a.poll, max_images=a.max_images,
                           timeout=a.timeout),
            on_result=show, stop=stop,
        )  # fmt: skip
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    print(summary.line(), file=sys.stderr, flush=True)
    if summary.stop_reason == "stopped":
        raise KeyboardInterrupt  # the CLI's exit 130 ("grace: interrupted")


def add_deploy_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``grace export``, ``grace package`` and ``grace inspect``."""
    e = sub.add_parser(
        "export",
        help="export a checkpoint to OpenVINO (FP32/INT8) or ONNX for CPU inspection stations",
    )
    e.add_argument("--weights", required=True, help="the PyTorch checkpoint (.pt)")
    e.add_argument("--format", required=True, choices=("openvino", "onnx"))
    e.add_argument("--int8", action="store_true", help="OpenVINO INT8, calibrated on --data")
    e.add_argument(
        "--data",
        help="your data.yaml: INT8 calibrates on its train split (else val); the exported "
        "model is then evaluated on its val split next to the PyTorch one",
    )
    e.add_argument("--imgsz", type=int, help="input size (default: the checkpoint's)")
    e.add_argument("--out", metavar="DIR", help="output folder (default: beside the weights)")
    e.add_argument(
        "--fraction", type=float, default=1.0, help="share of the calibration split to use"
    )
    e.add_argument(
        "--precision",
        choices=("auto", "f32"),
        default="auto",
        help="OpenVINO's precision on the CPU: auto (OpenVINO's own: bfloat16 on CPUs with AMX "
        "or AVX512-BF16, 3-4x faster there, FP32 elsewhere) or f32 (FP32 everywhere, boxes as "
        "PyTorch's). Default: %(default)s; the evaluation with --data prints the one computed in",
    )
    e.add_argument("--no-eval", action="store_true", help="skip the evaluation with --data")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_cmd_export)

    p = sub.add_parser("package", help="one folder (or zip) for the line: model, thresholds, ...")
    p.add_argument("--weights", required=True, help="the PyTorch checkpoint (.pt)")
    p.add_argument(
        "--thresholds",
        help='thresholds file: grace calibrate\'s, or {"conf": 0.25, "per_class": {"name": t}}',
    )
    p.add_argument("--formats", default="pt,openvino", help="among pt,openvino,onnx (%(default)s)")
    p.add_argument("--out", required=True, metavar="PKG", help="package folder (or .zip)")
    p.add_argument("--zip", action="store_true", help="write PKG.zip instead of a folder")
    p.add_argument("--data", help="dataset whose content hash is recorded (default: the run's)")
    p.add_argument("--imgsz", type=int, help="input size (default: the checkpoint's)")
    p.add_argument(
        "--precision",
        choices=("auto", "f32"),
        default="auto",
        help="the OpenVINO model's precision on the CPU (see grace export; %(default)s)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_package)

    i = sub.add_parser(
        "inspect",
        help="watch a folder the line drops images into: verdict OK/NG per image, NG copies, "
        "uncertain detections to review",
        description="Inspect each new image of a folder once it is fully written (a growing file "
        "or a temporary name such as .tmp/.part is waited for). Verdict NG when any detection "
        "reaches its class threshold. Results, NG copies and the review queue survive a kill: "
        "a restart neither repeats nor misses an image. One line per image on stdout.",
    )
    i.add_argument(
        "--model", required=True, help="package, checkpoint (.pt), OpenVINO folder or .onnx"
    )
    i.add_argument("--watch", required=True, metavar="DIR", help="the folder to watch")
    i.add_argument(
        "--results",
        metavar="STORE",
        help="results store (SQLite; default DIR.inspect.sqlite beside DIR); a review store "
        "works too",
    )
    i.add_argument("--ng-dir", metavar="DIR", help="copy NG images here")
    i.add_argument(
        "--review-band",
        type=float,
        default=0.1,
        help="detections within this of their threshold go to the review queue (%(default)s)",
    )
    i.add_argument(
        "--thresholds",
        metavar="FILE|auto",
        help="per-class thresholds from grace calibrate (auto: <weights stem>.thresholds.json "
        "beside the model); used instead of a package's own (default: the package's, else 0.25)",
    )
    i.add_argument(
        "--conf", type=float, help="global threshold over the --thresholds file's or package's"
    )
    i.add_argument(
        "--class-conf",
        nargs="+",
        metavar="NAME=VALUE",
        action="extend",
        help="per-class thresholds over the others: scratches=0.4 pits=0.3",
    )
    i.add_argument("--imgsz", type=int, help="input size (default: the model's)")
    i.add_argument("--device", default="", help="cpu, 0, ... (default: auto)")
    i.add_argument(
        "--poll", type=float, default=0.2, help="seconds between looks at the folder (%(default)s)"
    )
    i.add_argument("--max-images", type=int, help="stop after this many files")
    i.add_argument("--timeout", type=float, help="stop after this many seconds with nothing new")
    i.add_argument("--json", action="store_true", help="JSON lines, one per image")
    i.set_defaults(func=_cmd_inspect, stream_stdout=True)
