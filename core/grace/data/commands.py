"""``grace data ...`` sub-commands (registered by :mod:`grace.cli`)."""

from __future__ import annotations

import argparse


def _cmd_import_neu_det(a: argparse.Namespace) -> dict:
    from grace.data.neu_det import import_neu_det

    return import_neu_det(a.src, a.out, seed=a.seed, val_fraction=a.val_fraction).to_dict()


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="dataset import and statistics")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=type(data))
    imp = dsub.add_parser("import", help="convert a dataset to YOLO format")
    isub = imp.add_subparsers(dest="format", required=True, parser_class=type(data))
    neu = isub.add_parser("neu-det", help="NEU-DET (IMAGES/, ANNOTATIONS/ VOC XML)")
    neu.add_argument("src")
    neu.add_argument("out")
    neu.add_argument("--seed", type=int, default=0)
    neu.add_argument("--val-fraction", type=float, default=0.2)
    neu.add_argument("--json", action="store_true")
    neu.set_defaults(func=_cmd_import_neu_det)
