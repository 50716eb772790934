"""``grace val`` (and later ``grace compare``), registered by :mod:`grace.cli`."""

from __future__ import annotations

import argparse


def _cmd_val(a: argparse.Namespace) -> dict:
    from grace.eval.validate import validate

    return validate(a.weights, a.data, imgsz=a.imgsz, batch=a.batch, device=a.device)


def add_eval_commands(sub: argparse._SubParsersAction, defaults) -> None:
    v = sub.add_parser("val", help="validate a checkpoint")
    v.add_argument("--weights", required=True)
    v.add_argument("--data", required=True)
    v.add_argument("--imgsz", type=int, default=defaults.imgsz)
    v.add_argument("--batch", type=int, default=defaults.batch)
    v.add_argument("--device", default="")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_cmd_val)
