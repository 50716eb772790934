"""Training and validation as plain functions: the CLI, the GUI's training process and the tests
all call these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.config import MODEL_SCALES, VARIANTS, GraceConfig, TrainDefaults
from grace.errors import GraceError

_DEFAULTS = TrainDefaults()


@dataclass
class TrainRequest:
    """One training run; defaults are the paper's protocol (:class:`grace.config.TrainDefaults`)."""

    data: str | None = None
    model: str = _DEFAULTS.model
    variant: str = "grace"
    weights: str | None = None
    epochs: int = _DEFAULTS.epochs
    batch: int = _DEFAULTS.batch
    imgsz: int = _DEFAULTS.imgsz
    lr0: float = _DEFAULTS.lr0
    optimizer: str = _DEFAULTS.optimizer
    device: str = ""
    project: str = "runs/grace"
    name: str = "train"
    exist_ok: bool = False
    workers: int = 8
    seed: int = 0
    cls_pw: float = 0.0
    plots: bool = False
    resume: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # any other Ultralytics train argument


def resolve_model(model: str) -> str:
    """``yolo11s`` / ``yolo11s.yaml`` / a path to a YAML → what Ultralytics builds from scratch."""
    m = re.fullmatch(r"yolo11([nsmlx])(\.yaml)?", model)
    if m:
        return f"yolo11{m.group(1)}.yaml"
    p = Path(model)
    if p.suffix in {".yaml", ".yml"} and p.is_file():
        return str(p)
    if p.suffix == ".pt":
        raise GraceError(f"{model}: a checkpoint is not a model name; pass it as --weights")
    valid = ", ".join(f"yolo11{s}" for s in MODEL_SCALES)
    raise GraceError(f"unknown model {model!r}: expected one of {valid} or a model .yaml file")


def _resolve_resume(resume: str) -> Path:
    from grace.train.checkpoints import check_resume_checkpoint

    p = Path(resume)
    last = p / "weights" / "last.pt" if p.is_dir() else p
    if not last.exists():
        raise GraceError(f"{resume}: no last.pt to resume from")
    return check_resume_checkpoint(last)  # one line if truncated, not a checkpoint or finished


OPTIMIZERS = ("SGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop", "MuSGD", "auto")


def check_before_run(overrides: dict[str, Any]) -> None:
    """What Ultralytics would only find out once the run folder exists (the optimizer name, the
    ``--weights`` file's content), checked before: a bad value is one line and no folder."""
    from grace.train.checkpoints import check_weights_checkpoint

    name = overrides.get("optimizer")
    if name is not None and str(name).lower() not in {o.lower() for o in OPTIMIZERS}:
        raise GraceError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")
    if isinstance(overrides.get("pretrained"), str):
        check_weights_checkpoint(overrides["pretrained"])


def build_overrides(req: TrainRequest) -> tuple[dict[str, Any], GraceConfig]:
    """Validate ``req`` and turn it into Ultralytics overrides plus the GRACE config.

    Raises :class:`GraceError` with one line for every bad input, before anything is created.
    """
    if req.variant not in VARIANTS:
        raise GraceError(f"unknown variant {req.variant!r}: expected one of {', '.join(VARIANTS)}")
    grace = GraceConfig(variant=req.variant)
    if req.resume:
        last = _resolve_resume(req.resume)
        over: dict[str, Any] = {"resume": str(last)}
        if last.parent.name == "weights":  # the run folder where it is now, not where it was
            over["save_dir"] = str(last.parent.parent.resolve())
        if req.device:
            over["device"] = req.device
        return over, grace
    from grace.data.check import check_data_yaml

    if not req.data:
        raise GraceError("no dataset: pass --data path/to/data.yaml")
    check_data_yaml(req.data)
    model = resolve_model(req.model)
    if req.weights and not Path(req.weights).is_file():
        raise GraceError(f"{req.weights}: weights file not found")
    for name, value in (("epochs", req.epochs), ("batch", req.batch), ("imgsz", req.imgsz)):
        if value < 1:
            raise GraceError(f"--{name} must be at least 1 (got {value})")
    over = {
        "data": str(req.data),
        "model": model,
        "pretrained": str(req.weights) if req.weights else False,
        "epochs": req.epochs,
        "batch": req.batch,
        "imgsz": req.imgsz,
        "lr0": req.lr0,
        "optimizer": req.optimizer,
        "device": req.device,
        "project": str(Path(req.project).resolve()),
        "name": req.name,
        "exist_ok": req.exist_ok,
        "workers": req.workers,
        "seed": req.seed,
        "cls_pw": req.cls_pw,
        "plots": req.plots,
        "amp": True,
        **req.extra,
    }
    return over, grace


def train(req: TrainRequest) -> Path:
    """Run one training to the end (or to its ``STOP`` file); returns the run directory."""
    overrides, grace = build_overrides(req)
    check_before_run(overrides)
    from grace.train.trainer import GraceTrainer

    trainer = GraceTrainer(overrides=overrides, grace=grace)
    trainer.train()
    return Path(trainer.save_dir)
