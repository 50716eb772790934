"""Training and validation as plain functions: the CLI, the GUI's training process and the tests
all call these."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grace.config import VARIANTS, GraceConfig, TrainDefaults
from grace.errors import GraceError

if TYPE_CHECKING:
    from grace.data.check import TrainingCheck

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
    background_only: bool = False  # train even if no image has a box the trainer keeps
    extra: dict[str, Any] = field(default_factory=dict)  # any other Ultralytics train argument


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


def check_dataset(req: TrainRequest) -> TrainingCheck:
    """The dataset of ``req`` as the trainer will see it (:mod:`grace.data.check`); a
    :class:`GraceError` when it is missing, unreadable or has nothing to train on."""
    from grace.data.check import check_for_training

    if not req.data:
        raise GraceError("no dataset: pass --data path/to/data.yaml")
    return check_for_training(req.data, background_only=req.background_only)


def build_overrides(
    req: TrainRequest, dataset: TrainingCheck | None = None
) -> tuple[dict[str, Any], GraceConfig]:
    """Validate ``req`` and turn it into Ultralytics overrides plus the GRACE config.

    ``dataset`` is :func:`check_dataset`'s result when the caller already has it. Raises
    :class:`GraceError` with one line for every bad input, before anything is created.
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
    dataset = dataset or check_dataset(req)
    from grace.nn.build import resolve_model

    model = resolve_model(req.model)
    if req.weights and not Path(req.weights).is_file():
        raise GraceError(f"{req.weights}: weights file not found")
    for name, value in (("epochs", req.epochs), ("batch", req.batch), ("imgsz", req.imgsz)):
        if value < 1:
            raise GraceError(f"--{name} must be at least 1 (got {value})")
    over = {
        "data": str(dataset.dataset.yaml_path),  # absolute: the trainer may run elsewhere
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


def report_dropped(dataset: TrainingCheck, stream: TextIO | None = None) -> None:
    """Name on ``stream`` (stderr) every image the trainer will leave out, and why."""
    stream = stream or sys.stderr
    for d in dataset.dropped:
        print(f"grace: warning: training leaves out {d.image}: {d.reason}", file=stream)
    if dataset.dropped:
        per_split = ", ".join(
            f"{split} {sum(d.split == split for d in dataset.dropped)} of {n}"
            for split, n in dataset.images.items()
        )
        print(
            f"grace: warning: {len(dataset.dropped)} images left out ({per_split}); the run's "
            "start event lists them",
            file=stream,
        )


def train(req: TrainRequest) -> Path:
    """Run one training to the end (or to its ``STOP`` file); returns the run directory."""
    dataset = None if req.resume else check_dataset(req)
    overrides, grace = build_overrides(req, dataset)
    check_before_run(overrides)
    from grace.train.trainer import GraceTrainer

    if dataset is not None:
        report_dropped(dataset)
    if grace.use_ds and overrides.get("cache") in ("ram", True):
        print(
            "grace: warning: cache=ram: Ultralytics' Mosaic then picks its 3 partner images "
            "uniformly, so 3 of every 4 mosaic tiles bypass the DS-CBSM++ sampler; use "
            "cache=disk or no cache to keep the sampling balanced",
            file=sys.stderr,
        )
    trainer = GraceTrainer(overrides=overrides, grace=grace)
    trainer.dataset_check = dataset
    trainer.train()
    return Path(trainer.save_dir)
