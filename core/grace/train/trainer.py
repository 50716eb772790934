"""GRACE trainer: Ultralytics' ``DetectionTrainer`` with DS-CBSM++, Lite-FEN and a run directory.

Extension points used (nothing of Ultralytics' loop is copied):

* ``get_model``: builds the YOLO11 model and attaches Lite-FEN (variants ``fen``, ``grace``).
* ``build_dataset``: the validation images (whose fitness picks ``best.pt``) are fed as ``grace
  predict`` feeds them (:mod:`grace.train.valdata`), not in Ultralytics' rectangular batches.
* ``get_dataloader``: the training loader draws from :class:`grace.sampling.DynamicClassSampler`
  (variants ``ds``, ``grace``).
* ``_setup_train``: installs the loss tap that feeds the per-class statistics.
* ``save_model`` / ``final_eval`` / ``save_metrics``: every checkpoint and ``results.csv`` is
  written atomically; each checkpoint carries the sampler state and whether its epoch was complete
  (:mod:`grace.train.checkpoints`).
* ``resume_training``: a checkpoint saved in the middle of an epoch (``STOP``, Ctrl-C, crash)
  resumes at the start of that epoch, which runs again in full; an interrupted epoch is not counted
  as completed (no ``results.csv`` row, no ``epoch`` event).
* callbacks: ŝ_e and γ_e at each epoch start, sampler updates and events per batch, the ``STOP``
  file, epoch/end events. They are registered in ``__init__`` so that they also exist in the
  processes Ultralytics launches for DDP (it rebuilds this class there).
* A failure once the run folder exists leaves an ``error`` event in it.
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from ultralytics.data.build import build_dataloader
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.utils import DEFAULT_CFG, LOCAL_RANK, LOGGER, RANK
from ultralytics.utils.torch_utils import torch_distributed_zero_first, unwrap_model

from grace.config import GraceConfig
from grace.errors import GraceError
from grace.fileio import atomic_path, atomic_write_json
from grace.nn.build import build_model
from grace.nn.fen import fen_strength, set_fen_strength
from grace.sampling import DSCBSM
from grace.sampling.loader import with_sampler
from grace.train.amp import offline_amp_check
from grace.train.checkpoints import (
    RESUME_ATTR,
    AtomicWritePath,
    atomic_strip_optimizer,
    read_legacy_sampler_state,
    resume_record,
    resume_state,
)
from grace.train.events import STOP_FILE, EventWriter
from grace.train.loss import install_statistics_tap

GRACE_CONFIG_ENV = "GRACE_TRAIN_CONFIG"  # carries the GraceConfig into DDP worker processes
GRACE_CONFIG_FILE = "grace.json"


def _floats(d: dict | None) -> dict[str, float]:
    return {str(k): float(v) for k, v in (d or {}).items()}


def clean_metrics(d: dict | None) -> dict[str, float]:
    """Ultralytics' keys without decoration: ``metrics/mAP50(B)`` -> ``mAP50``, ``val/box_loss``
    -> ``val_box_loss``."""
    out = {}
    for k, v in (d or {}).items():
        k = str(k).removeprefix("metrics/").removesuffix("(B)").replace("/", "_")
        out[k] = float(v)
    return out


class GraceTrainer(DetectionTrainer):
    """Train a YOLO11 detector with the GRACE modules selected by ``grace.variant``."""

    def __init__(
        self,
        cfg: Any = DEFAULT_CFG,
        overrides: dict | None = None,
        _callbacks: dict | None = None,
        grace: GraceConfig | None = None,
    ) -> None:
        try:
            self._init(cfg, overrides, _callbacks, grace)
        except BaseException as e:
            if RANK in {-1, 0} and getattr(self, "save_dir", None) is not None:
                EventWriter(self.save_dir).write(  # the folder exists: say why it has no run
                    "error", message=_one_line(e), traceback=traceback.format_exc(), epoch=None,
                    last=None,
                )  # fmt: skip
            raise

    def _init(self, cfg: Any, overrides: dict | None, _callbacks: dict | None,
              grace: GraceConfig | None) -> None:  # fmt: skip
        if grace is None and os.environ.get(GRACE_CONFIG_ENV):
            grace = GraceConfig.from_dict(json.loads(os.environ[GRACE_CONFIG_ENV]))
        super().__init__(cfg, overrides, _callbacks)
        # Ultralytics writes checkpoints with Path.write_bytes: make those writes atomic
        self.wdir = AtomicWritePath(self.wdir)
        self.last, self.best = self.wdir / "last.pt", self.wdir / "best.pt"
        if self.resume:
            saved = Path(self.args.resume).parent.parent / GRACE_CONFIG_FILE
            if saved.exists():
                grace = _read_grace_config(saved)
            (self.save_dir / STOP_FILE).unlink(missing_ok=True)
        self.grace = grace or GraceConfig()
        self.balancer: DSCBSM | None = None
        self.transfer: dict | None = None  # what --weights transferred into the model
        self.stopped_by_user = False
        self.dataset_check = None  # grace.data.check.TrainingCheck, when the caller made one
        self._batch_in_epoch = 0
        self._batches_run = 0  # in this process: a crash before the first one saves nothing
        self._in_final_eval = False
        self.events = EventWriter(self.save_dir, enabled=RANK in {-1, 0})
        if RANK in {-1, 0}:
            atomic_write_json(self.save_dir / GRACE_CONFIG_FILE, self.grace.to_dict(), indent=2)
        for event, fn in (
            ("on_train_start", GraceTrainer._on_train_start),
            ("on_train_epoch_start", GraceTrainer._on_epoch_start),
            ("on_train_batch_end", GraceTrainer._on_batch_end),
            ("on_fit_epoch_end", GraceTrainer._on_fit_epoch_end),
            ("on_train_end", GraceTrainer._on_train_end),
        ):
            if fn not in self.callbacks[event]:  # DDP workers receive them already registered
                self.add_callback(event, fn)

    # ---- Ultralytics extension points -------------------------------------------------------
    def get_dataset(self) -> dict:
        """The dataset as our one data.yaml reader resolves it (the folders ``grace data
        stats`` reports on), instead of Ultralytics' own resolution of the same file."""
        from grace.data.yolo_layout import read_yolo_dataset

        check = getattr(self, "dataset_check", None)
        ds = check.dataset if check is not None else read_yolo_dataset(self.args.data)
        data = ds.trainer_data()
        self.args.data = data["yaml_file"]
        if self.args.single_cls:
            data["names"], data["nc"] = {0: "item"}, 1
        return data

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        model = build_model(
            cfg,
            nc=self.data["nc"],
            use_fen=self.grace.use_fen,
            fen_cfg=self.grace.fen,
            weights=weights,  # by name and shape: every original layer, Lite-FEN if present
            # as Ultralytics: the dataset's names before the load, so class convs remap by name
            names=self.data["names"] if getattr(self.args, "cls_remap", True) else None,
            verbose=verbose and RANK == -1,
            channels=self.data.get("channels", 3),
        )
        if weights is not None and not self.resume:
            self.transfer = model.transfer_report
        return model

    def build_dataset(self, img_path: str, mode: str = "train", batch: int | None = None):
        """Ultralytics' training dataset; for ``val``, the images letterboxed as ``grace
        predict`` does (:class:`grace.train.valdata.DeployedValDataset`), so that the fitness
        that picks ``best.pt`` is measured on what the deployed model is fed."""
        if mode != "val":
            return super().build_dataset(img_path, mode, batch)
        from grace.train.valdata import build_deployed_val_dataset

        stride = max(int(unwrap_model(self.model).stride.max()), 32)
        return build_deployed_val_dataset(self.args, img_path, batch, self.data, stride)

    def get_dataloader(
        self, dataset_path: str, batch_size: int = 16, rank: int = 0, mode: str = "train"
    ):
        if mode != "train" or not self.grace.use_ds:
            return super().get_dataloader(dataset_path, batch_size, rank, mode)
        with torch_distributed_zero_first(rank):
            dataset = self.build_dataset(dataset_path, mode, batch_size)
        distributed = rank != -1
        world = max(self.world_size, 1) if distributed else 1
        if self.balancer is None:  # kept across OOM rebuilds so the statistics survive
            image_classes = [lb["cls"].astype(int).ravel() for lb in dataset.labels]
            counts = np.bincount(
                np.concatenate(image_classes or [np.zeros(0, int)]), minlength=self.data["nc"]
            )
            self.balancer = DSCBSM(
                counts,
                image_classes,
                self.grace.sampler,
                device=self.device,
                rank=max(rank, 0),
                world_size=world,
                seed=self.args.seed,
                chunk=batch_size,
            )
        # Ultralytics' builder (workers per device, seeds, pinning) with our sampler under it;
        # rank -1 and no shuffle: the sampler shards and randomises itself
        loader = build_dataloader(
            dataset,
            batch=batch_size,
            workers=self.args.workers,
            shuffle=False,
            rank=-1,
            drop_last=self.args.compile,
            device=self.device,
        )
        return with_sampler(loader, self.balancer.sampler)

    def _setup_train(self) -> None:
        with offline_amp_check():
            super()._setup_train()
        if self.balancer is not None:
            model = unwrap_model(self.model)
            install_statistics_tap(model, self.balancer.stats)

    def resume_training(self, ckpt: dict | None) -> None:
        if ckpt is None or not self.resume:
            return
        state = resume_state(ckpt)
        if state is None or state["epoch_complete"]:
            super().resume_training(ckpt)  # the epoch after the checkpoint's
        else:  # saved in the middle of an epoch: that epoch runs again in full
            epoch = int(state["epoch"])
            LOGGER.info(f"Resuming {self.args.model}: redoing interrupted epoch {epoch + 1}")
            self._load_checkpoint_state(ckpt)  # (YOLO11 has no one-to-one head to re-arm)
            self.start_epoch = epoch
        if self.balancer is not None:
            self._restore_sampler(state)

    def _restore_sampler(self, state: dict | None) -> None:
        source = Path(self.args.resume)
        sampler = (state or {}).get("sampler")
        if state is None:  # a checkpoint from before the state moved inside it
            sampler, source = read_legacy_sampler_state(source.parent)
        if sampler is None:
            return
        try:
            self.balancer.load_state_dict(sampler)
        except (KeyError, TypeError, ValueError) as e:
            raise GraceError(f"{source}: sampler state does not fit this run ({e})") from None

    def save_model(self) -> bool:
        """Ultralytics' checkpoints (atomic through :class:`AtomicWritePath`), each carrying the
        sampler state and whether the epoch it was saved in had finished."""
        ema = self.ema.ema
        complete = not self._epoch_interrupted()
        sampler = self.balancer.state_dict() if self.balancer is not None else None
        setattr(ema, RESUME_ATTR, resume_record(self.epoch, complete, sampler))  # deep-copied in
        period = self.save_period
        if not complete:
            self.save_period = -1  # epochN.pt means "after epoch N"
        try:
            return super().save_model()
        finally:
            self.save_period = period
            delattr(ema, RESUME_ATTR)

    def save_metrics(self, metrics: dict) -> None:
        if self._epoch_interrupted():
            return  # results.csv has one row per completed epoch; this one runs again on resume
        csv = self.csv
        with atomic_path(csv) as tmp:  # Ultralytics appends to self.csv: let it append to a copy
            if csv.exists():
                tmp.write_bytes(csv.read_bytes())
            else:
                tmp.unlink()  # so that Ultralytics writes the header
            self.csv = tmp
            try:
                super().save_metrics(metrics)
            finally:
                self.csv = csv

    def train(self) -> None:
        if self.ddp:
            os.environ[GRACE_CONFIG_ENV] = json.dumps(self.grace.to_dict())
        super().train()

    def _do_train(self) -> None:
        try:
            super()._do_train()
        except BaseException as e:
            self._on_crash(e)
            raise
        finally:
            self.events.close()

    def final_eval(self) -> None:
        import ultralytics.engine.trainer as engine

        keep_last = self.stopped_by_user  # a stopped run keeps its optimizer state to be resumed

        def strip(f: str | Path, s: str = "", updates: dict | None = None) -> dict:
            if keep_last and Path(f) == self.last and not s:
                from ultralytics.utils.patches import torch_load

                return torch_load(f, map_location="cpu")
            return atomic_strip_optimizer(f, s, updates)

        original = engine.strip_optimizer
        engine.strip_optimizer = strip
        self._in_final_eval = True
        try:
            super().final_eval()
        finally:
            engine.strip_optimizer = original
            self._in_final_eval = False

    # ---- callbacks --------------------------------------------------------------------------
    def _on_train_start(self) -> None:
        model = unwrap_model(self.model)
        check = self.dataset_check
        if check is None and RANK in {-1, 0}:  # resumed, or rebuilt in a DDP process
            from grace.data.check import check_for_training

            check = check_for_training(self.args.data, background_only=True)
        self.events.write(
            "start",
            config={k: v for k, v in vars(self.args).items()},
            grace=self.grace.to_dict(),
            variant=self.grace.variant,
            classes=list(self.data["names"].values()),
            dataset={"train": len(self.train_loader.dataset), "val": len(self.test_loader.dataset)},
            val_protocol="deployed",  # best.pt is picked on images fed as grace predict feeds them
            data=str(self.args.data),
            dropped=[] if check is None else check.to_dict()["dropped"],
            epochs=self.epochs,
            start_epoch=self.start_epoch,
            batches_per_epoch=len(self.train_loader),
            resumed=bool(self.resume),
            device=str(self.device),
            world_size=max(self.world_size, 1),
            parameters=sum(p.numel() for p in model.parameters()),
            run_dir=str(self.save_dir),
            weights=self.args.pretrained if isinstance(self.args.pretrained, str) else None,
            transfer=self.transfer and {k: self.transfer[k] for k in ("counts", "new", "skipped")},
        )

    def _on_epoch_start(self) -> None:
        self._batch_in_epoch = 0
        if self.grace.use_fen:
            s = fen_strength(self.epoch, self.grace.fen)
            set_fen_strength(self.model, s)
            if self.ema is not None:
                set_fen_strength(self.ema.ema, s)
        if self.balancer is not None:
            self.balancer.set_epoch(self.epoch)
            self._write_sampler_event()

    def _on_batch_end(self) -> None:
        i = self._batch_in_epoch
        self._batch_in_epoch += 1
        self._batches_run += 1
        if self.balancer is not None and self.balancer.after_batch():
            self._write_sampler_event()
        if RANK in {-1, 0} and (
            i % self.grace.batch_event_every == 0 or i + 1 == len(self.train_loader)
        ):
            self.events.write(
                "batch",
                epoch=self.epoch,
                batch=i,
                batches=len(self.train_loader),
                losses=_floats(self.tloss),
                lr=float(self.optimizer.param_groups[0]["lr"]),
            )
        if self._stop_requested():
            self.stop = self.stopped_by_user = True

    def _on_fit_epoch_end(self) -> None:
        if self._in_final_eval:
            return  # Ultralytics re-runs this callback for best.pt; the `end` event carries it
        if self._epoch_interrupted():
            return  # not a completed epoch: it runs again on resume
        self.events.write(
            "epoch",
            epoch=self.epoch,
            epochs=self.epochs,
            metrics=clean_metrics(self.metrics),
            losses=_floats(self.tloss),
            fitness=None if self.fitness is None else float(self.fitness),
            s_e=fen_strength(self.epoch, self.grace.fen) if self.grace.use_fen else None,
            gamma=self.balancer.snapshot()["gamma"] if self.balancer is not None else None,
            epoch_time=self.epoch_time,
        )

    def _on_train_end(self) -> None:
        self.events.write(
            "end",
            stopped=self.stopped_by_user,
            epochs_completed=self.epoch + (0 if self._epoch_interrupted() else 1),
            epoch_batches_done=self._batch_in_epoch,  # of the last epoch: "stopped after 1 of 24"
            batches=len(self.train_loader) if getattr(self, "train_loader", None) else None,
            best=str(self.best) if self.best.exists() else None,
            last=str(self.last) if self.last.exists() else None,
            metrics=clean_metrics(self.metrics),
        )

    # ---- helpers ----------------------------------------------------------------------------
    def _write_sampler_event(self) -> None:
        if RANK in {-1, 0}:
            self.events.write("sampler", batch=self._batch_in_epoch, **self.balancer.snapshot())

    def _stop_requested(self) -> bool:
        requested = RANK in {-1, 0} and (self.save_dir / STOP_FILE).exists()
        if RANK != -1 and dist.is_initialized():  # every rank must leave the loop at the same batch
            flag = torch.tensor([float(requested)], device=self.device)
            dist.broadcast(flag, src=0)
            requested = bool(flag.item())
        return requested

    def _epoch_interrupted(self) -> bool:
        """True when the current epoch's batch loop ended before its last batch."""
        loader = getattr(self, "train_loader", None)
        return loader is None or self._batch_in_epoch < len(loader)

    def _on_crash(self, error: BaseException) -> None:
        if RANK not in {-1, 0}:
            return
        saved = None
        if self._batches_run and self.ema is not None and self.optimizer is not None:
            try:
                self.save_model()  # a crash mid-epoch resumes at the start of that epoch
                saved = str(self.last)
            except Exception:  # the error event below matters more than the checkpoint
                saved = None
        try:
            self.events.write(
                "error",
                message=_one_line(error),
                traceback=traceback.format_exc(),
                epoch=getattr(self, "epoch", None),
                last=saved,
            )
        except GraceError:  # the disk that failed the run may refuse the event too
            pass


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()


def _read_grace_config(path: Path) -> GraceConfig:
    try:
        return GraceConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as e:
        raise GraceError(f"{path}: unreadable GRACE config ({type(e).__name__}: {e})") from None


__all__ = ["GraceTrainer", "GRACE_CONFIG_FILE", "LOCAL_RANK"]
