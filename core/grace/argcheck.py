"""Ranges of the numeric arguments of every command, the ``--device`` check and the ``--weights``
check, in one place: a value out of range is one :class:`~grace.errors.GraceError` line naming the
argument and the value, before anything is loaded or written.

``grace.cli`` applies :func:`check_args` to the parsed arguments of every command; engine entry
points that take the same values from other callers (the GUI) call :func:`check_values` and
:func:`check_device` themselves.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from grace.errors import GraceError

#: Ultralytics rounds a smaller input size up to the model's largest stride (a warning only).
MIN_IMGSZ = 32


@dataclass(frozen=True)
class Limit:
    """The accepted range of one argument: ``low``/``high`` (``None``: unbounded), each bound
    included unless ``*_open``; non-finite values (NaN, inf) are always refused."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    why: str = ""

    def accepts(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        lo = None if self.low is None else _fmt(self.low)
        hi = None if self.high is None else _fmt(self.high)
        if lo is not None and hi is not None:
            excluded = [b for b, o in ((lo, self.low_open), (hi, self.high_open)) if o]
            text = f"must be between {lo} and {hi}"
            text += f", {' and '.join(excluded)} excluded" if excluded else ""
        elif lo is not None:
            text = f"must be {'above' if self.low_open else 'at least'} {lo}"
        else:
            text = f"must be {'below' if self.high_open else 'at most'} {hi}"
        return f"{text} ({self.why})" if self.why else text


#: Every numeric argument of ``grace``, by its argparse ``dest``; one meaning per name across
#: commands.
LIMITS: dict[str, Limit] = {
    "conf": Limit(0, 1, why="a confidence"),
    "iou": Limit(0, 1, why="an IoU"),
    "opacity": Limit(0, 1),
    "cls_pw": Limit(0, 1, why="the power of Ultralytics' inverse-frequency class weights"),
    "val_fraction": Limit(0, 1, low_open=True, high_open=True),
    "fraction": Limit(0, 1, low_open=True),
    "imgsz": Limit(MIN_IMGSZ, why="the model's largest stride"),
    "batch": Limit(1),
    "epochs": Limit(1),
    "max_det": Limit(1),
    "repeats": Limit(1),
    "nc": Limit(1, why="number of classes"),
    "workers": Limit(0),
    "seed": Limit(0, 2**32 - 1),
    "lr0": Limit(0, low_open=True),
    "max_frames": Limit(1),
    "duration": Limit(0, low_open=True, why="seconds"),
    "timeout": Limit(0, low_open=True, why="seconds"),
    "poll": Limit(0, low_open=True, why="seconds between looks at the folder"),
    "review_band": Limit(0, 1, why="a confidence band around each class threshold"),
    "max_images": Limit(1),
    "connect_attempts": Limit(1),
    "reconnect_attempts": Limit(0),
    "reconnect_delay": Limit(0, why="seconds"),
    "reconnect_max_delay": Limit(0, why="seconds"),
}


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def flag(name: str) -> str:
    """``max_det`` -> ``--max-det``."""
    return "--" + name.replace("_", "-")


def check_value(name: str, value: Any) -> None:
    """Raise :class:`GraceError` when ``value`` is outside ``LIMITS[name]`` (``None``: unset)."""
    limit = LIMITS.get(name)
    if limit is None or value is None or isinstance(value, bool):
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GraceError(f"{flag(name)} {value}: not a number") from None
    if not limit.accepts(number):
        raise GraceError(f"{flag(name)} {_fmt(value)}: {limit.describe()}")


def check_values(**values: Any) -> None:
    """:func:`check_value` on each keyword (``check_values(conf=0.25, imgsz=None)``)."""
    for name, value in values.items():
        check_value(name, value)


def _cuda_ids(text: str) -> list[str] | None:
    """``0`` / ``0,1`` / ``cuda`` / ``cuda:1`` / ``-1`` (an idle GPU) → the ids; else ``None``."""
    d = text.replace("cuda:", "").replace(" ", "")
    if d == "cuda":
        return ["0"]
    ids = [x for x in d.split(",") if x]
    if ids and all(x.isdigit() or x == "-1" for x in ids):
        return ids
    return None


def check_device(device: str | int | None) -> str:
    """The ``--device`` string, checked against what torch sees; one line if it cannot work.

    ``""`` (auto) and ``cpu`` pass without importing torch; ``mps`` needs Apple's backend;
    GPU ids (``0``, ``0,1``, ``cuda:1``, ``-1``) need that many CUDA devices. Ids listed in
    ``CUDA_VISIBLE_DEVICES`` are accepted as Ultralytics translates them; ``npu``/``xpu`` are
    left to Ultralytics.
    """
    text = "" if device is None else str(device).strip().lower()
    if text in ("", "cpu") or text.startswith(("npu", "xpu")):
        return text
    if text in ("mps", "mps:0"):
        import torch

        if not torch.backends.mps.is_available():
            raise GraceError(f"--device {device}: Apple MPS not available here; use --device cpu")
        return text
    ids = _cuda_ids(text)
    if ids is None:
        raise GraceError(f"--device {device}: not a device (use cpu, 0, 0,1 or cuda:0)")
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        raise GraceError(f"--device {device}: no CUDA GPU found (torch sees 0); use --device cpu")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").replace(" ", "").split(",")
    for x in ids:
        if x != "-1" and int(x) >= n and x not in visible:
            raise GraceError(
                f"--device {device}: no GPU {x} (torch sees {n}: use 0..{n - 1} or cpu)"
            )
    return text


#: Commands whose ``--weights`` must be a PyTorch checkpoint (they train or look inside it).
PYTORCH_ONLY = ("train", "cam", "export", "package")


def check_weights(weights: str | os.PathLike | Iterable | None, pytorch: bool = False) -> None:
    """Each ``--weights`` value names a model (a checkpoint, an exported model or a package;
    only a checkpoint when ``pytorch``), not a folder of something else or a missing file."""
    if weights is None:
        return
    from grace.deploy.runtime import resolve_model
    from grace.nn.checkpoint import check_checkpoint_path

    items = [weights] if isinstance(weights, (str, os.PathLike)) else list(weights)
    for w in items:
        if pytorch:
            check_checkpoint_path(w)
        else:
            resolve_model(w)


def check_args(args: argparse.Namespace) -> None:
    """Check every parsed argument that has a rule here: numbers, then ``device``, then
    ``weights``."""
    values = vars(args)
    for name, value in values.items():
        check_value(name, value)
    if "device" in values:
        check_device(values["device"])
    if "weights" in values:
        check_weights(values["weights"], pytorch=values.get("command") in PYTORCH_ONLY)
