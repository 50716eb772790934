"""``grace``: the engine's command line. Every command exits non-zero with one line on bad input;
``--json`` prints one JSON object on stdout while logs go to stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from grace.argcheck import check_args
from grace.config import VARIANTS, TrainDefaults
from grace.data.commands import add_data_commands
from grace.deploy.commands import add_deploy_commands
from grace.errors import GraceError, Interrupted
from grace.eval.commands import add_eval_commands
from grace.explain.commands import add_explain_commands
from grace.infer.commands import add_infer_commands
from grace.review.commands import add_review_commands


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _offline_environment() -> None:
    """Nothing may download at run time: no weights, fonts, hub or pip auto-install."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")


def _stdout_for_json() -> Any:
    """Keep a handle on the real stdout for the JSON result and send everything else to stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return out


def _cmd_train(a: argparse.Namespace) -> dict:
    from grace.train.api import TrainRequest, train

    req = TrainRequest(
        data=a.data,
        model=a.model,
        variant=a.variant,
        weights=a.weights,
        epochs=a.epochs,
        batch=a.batch,
        imgsz=a.imgsz,
        lr0=a.lr0,
        optimizer=a.optimizer,
        device=a.device,
        project=a.project,
        name=a.name,
        exist_ok=a.exist_ok,
        workers=a.workers,
        seed=a.seed,
        cls_pw=a.cls_pw,
        plots=a.plots,
        resume=a.resume,
        background_only=a.background_only,
    )
    run_dir = train(req)
    from grace.train.events import read_events

    end = next((e for e in reversed(read_events(run_dir)) if e["type"] in ("end", "error")), {})
    if end.get("type") == "error":
        raise RuntimeError(f"training failed: {end.get('message')} (see {run_dir}/events.jsonl)")
    return {
        "run_dir": str(run_dir),
        "stopped": end.get("stopped", False),
        "best": end.get("best"),
        "metrics": end.get("metrics", {}),
    }


def _cmd_bench(a: argparse.Namespace) -> dict:
    from grace.bench import run_bench

    return run_bench(scale=a.scale, imgsz=a.imgsz, nc=a.nc, repeats=a.repeats, device=a.device,
                     openvino=not a.no_openvino, int8=a.int8)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    d = TrainDefaults()
    p = Parser(prog="grace", description="GRACE Inspector engine: YOLO11 + DS-CBSM++ + Lite-FEN.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    t = sub.add_parser("train", help="train a detector; writes a run directory")
    t.add_argument("--data", help="YOLO data.yaml")
    t.add_argument(
        "--model", default=d.model, help="yolo11n|s|m|l|x or a model .yaml (default %(default)s)"
    )
    t.add_argument(
        "--variant", default="grace", help=f"one of {', '.join(VARIANTS)} (default %(default)s)"
    )
    t.add_argument("--weights", help="start from this checkpoint (transfer); default: from scratch")
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--imgsz", type=int, default=d.imgsz)
    t.add_argument("--batch", type=int, default=d.batch)
    t.add_argument("--lr0", type=float, default=d.lr0)
    t.add_argument("--optimizer", default=d.optimizer)
    t.add_argument("--device", default="", help="cpu, 0, 0,1 (several GPUs: DDP); default: auto")
    t.add_argument("--project", default="runs/grace")
    t.add_argument("--name", default="train")
    t.add_argument(
        "--exist-ok", action="store_true", help="reuse --project/--name instead of numbering"
    )
    t.add_argument("--workers", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--cls-pw",
        type=float,
        default=0.0,
        help="Ultralytics' inverse-frequency class weights in the loss (comparator), 0..1",
    )
    t.add_argument("--plots", action="store_true", help="let Ultralytics write its plots")
    t.add_argument(
        "--background-only",
        action="store_true",
        help="train even when no training image has a box the trainer keeps",
    )
    t.add_argument(
        "--resume", metavar="RUN", help="continue a stopped run (run dir or its last.pt)"
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_cmd_train)

    add_eval_commands(sub, d)

    b = sub.add_parser("bench", help="parameters and speed ratios, measured in one run")
    b.add_argument("--scale", default="s", choices=["n", "s", "m", "l", "x"])
    b.add_argument("--imgsz", type=int, default=640)
    b.add_argument("--nc", type=int, default=6, help="number of classes (NEU-DET: 6)")
    b.add_argument("--repeats", type=int, default=20)
    b.add_argument("--device", default="cpu")
    b.add_argument("--int8", action="store_true", help="also OpenVINO INT8: speed and mAP change")
    b.add_argument("--no-openvino", action="store_true", help="skip the OpenVINO figures")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_cmd_bench)

    add_data_commands(sub)
    add_infer_commands(sub)
    add_explain_commands(sub)
    add_deploy_commands(sub)
    add_review_commands(sub)
    return p


def _print_human(result: dict) -> None:
    for key, value in result.items():  # names as written (a gbk set's class names readable)
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        print(f"{key}: {text}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _offline_environment()
    streams = getattr(args, "stream_stdout", False)  # lines as it goes (grace inspect)
    out = _stdout_for_json() if getattr(args, "json", False) or streams else sys.stdout
    args.stdout = out
    func: Callable[[argparse.Namespace], dict | None] = args.func
    try:
        check_args(args)  # every range, --device and --weights, before anything loads
        result = func(args)
    except GraceError as e:
        print(f"grace: error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:  # Ctrl-C with a partial result: shown, and the exit says so
        _print_result(e.result, out)
        print("grace: interrupted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("grace: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure still ends with one readable line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"grace: error: {type(e).__name__}: {msg}", file=sys.stderr)
        return 1
    if result is not None:  # None: the command printed as it went
        _print_result(result, out)
    return 0


def _print_result(result: dict, out: Any) -> None:
    if out is sys.stdout:
        _print_human(result)
    else:
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
