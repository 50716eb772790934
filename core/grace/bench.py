"""``grace bench``: the performance figures of DESIGN.md "Performance", as ratios from one run.

Every ratio is measured by :func:`grace.benchmark.paired_ratio` (A and B alternated in ABBA
order, the median of the per-pair ratios ``t_B / t_A``) and reported with its quartiles and the
number of pairs: ``<name>``, ``<name>_q1``, ``<name>_q3``, ``<name>_n``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from grace.argcheck import check_device, check_values
from grace.benchmark import paired_ratio
from grace.config import FenConfig, SamplerConfig
from grace.errors import GraceError

WARMUP = 3  # untimed pairs before the timed ones (model and allocator warm-up)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_batch(nc: int, batch: int, imgsz: int, device: torch.device) -> dict:
    g = torch.Generator().manual_seed(0)
    n = 4 * batch
    xy = torch.rand(n, 2, generator=g) * 0.6 + 0.2
    wh = torch.rand(n, 2, generator=g) * 0.2 + 0.05
    return {
        "img": torch.rand(batch, 3, imgsz, imgsz, generator=g).to(device),
        "batch_idx": (torch.arange(n) // 4).float().to(device),  # sorted, as the collate gives
        "cls": torch.randint(0, nc, (n, 1), generator=g).float().to(device),
        "bboxes": torch.cat([xy, wh], 1).to(device),
    }


def fen_latency_ratio(scale: str, nc: int, imgsz: int, repeats: int, device: torch.device) -> dict:
    """GRACE forward / baseline forward at batch 1, both fused and in eval mode."""
    from grace.nn import build_model

    base = build_model(f"yolo11{scale}", nc, use_fen=False).to(device).fuse().eval()
    grace = build_model(f"yolo11{scale}", nc, use_fen=True).to(device).fuse().eval()
    grace.load_state_dict(base.state_dict(), strict=False)  # same weights apart from Lite-FEN
    x = torch.rand(1, 3, imgsz, imgsz, device=device)

    def run(m):
        def f():
            with torch.inference_mode():
                m(x)
            _sync(device)

        return f

    r = paired_ratio(run(base), run(grace), repeats, warmup=WARMUP)
    return r.figures("fen_latency_ratio") | {
        "baseline_latency_ms": r.median_a * 1e3,
        "grace_latency_ms": r.median_b * 1e3,
    }


@dataclass
class TrainSteps:
    """One training step without and with DS-CBSM++, on one model and one batch.

    Attributes
    ----------
    model
        The model, built by :func:`grace.nn.build.build_model` as ``GraceTrainer.get_model``
        builds it (the DS-CBSM++ variant: no Lite-FEN).
    balancer : DSCBSM
        The DS-CBSM++ controller, as the trainer makes it for the batch's labels.
    plain, ds : callable
        ``plain``: forward and loss through ``model(batch)`` with Ultralytics' own loss
        (``model.init_criterion()``, what a baseline run trains with), backward. ``ds``: the
        same with the statistics tap the trainer installs
        (:func:`grace.train.loss.install_statistics_tap` on ``balancer.stats``), then
        ``balancer.after_batch()`` as the trainer's batch-end callback calls it.
    batch : dict
        The training batch both steps use (``img``, ``batch_idx``, ``cls``, ``bboxes``).
    """

    model: Any
    balancer: Any
    plain: Callable[[], None]
    ds: Callable[[], None]
    batch: dict


def train_steps(
    scale: str,
    nc: int,
    imgsz: int,
    device: torch.device,
    batch: int = 4,
    sampler: SamplerConfig | None = None,
) -> TrainSteps:
    """The two training steps that :func:`ds_train_step_ratio` times (see :class:`TrainSteps`),
    DS-CBSM++ with the constants ``sampler`` (default: the paper's).

    Not timed: the optimiser step (Ultralytics takes it every ``64 // batch`` batches, alike for
    both) and data loading (the sampler only changes which images are loaded).
    """
    from ultralytics.cfg import get_cfg

    from grace.nn import build_model
    from grace.sampling import DSCBSM
    from grace.train.loss import install_statistics_tap

    model = build_model(f"yolo11{scale}", nc, use_fen=False).to(device).train()
    model.args = get_cfg()  # the loss gains, as the trainer's model.args
    data = _train_batch(nc, batch, imgsz, device)
    labels = data["cls"].long().view(-1).cpu().numpy()
    image = data["batch_idx"].long().cpu().numpy()
    image_classes = [labels[image == i] for i in range(batch)]
    balancer = DSCBSM(np.bincount(labels, minlength=nc), image_classes, sampler or SamplerConfig(),
                      device=device, chunk=batch)  # fmt: skip
    plain_loss = model.init_criterion()
    ds_loss = install_statistics_tap(model, balancer.stats)

    def step(criterion, after_batch: Callable[[], object] | None) -> Callable[[], None]:
        def f() -> None:
            model.criterion = criterion  # the one the trainer's model(batch) would use
            model.zero_grad(set_to_none=True)
            loss, _ = model(data)
            loss.sum().backward()
            if after_batch is not None:
                after_batch()
            _sync(device)

        return f

    return TrainSteps(
        model, balancer, step(plain_loss, None), step(ds_loss, balancer.after_batch), data
    )


def ds_train_step_ratio(
    scale: str, nc: int, imgsz: int, repeats: int, device: torch.device, batch: int = 4
) -> dict:
    """Training step with DS-CBSM++ / without (see :func:`train_steps`)."""
    steps = train_steps(scale, nc, imgsz, device, batch)
    r = paired_ratio(steps.plain, steps.ds, repeats, warmup=WARMUP)
    return r.figures("ds_train_step_ratio") | {
        "train_step_ms": r.median_a * 1e3,
        "train_step_ds_ms": r.median_b * 1e3,
        "train_batch": batch,
        "train_imgsz": imgsz,
    }


def predict_ratio(
    scale: str, nc: int, imgsz: int, repeats: int, device: torch.device, batch: int, images: int
) -> dict:
    """Folder throughput of ``grace predict`` / plain Ultralytics ``predict``, same model,
    ``imgsz`` and batch (see :mod:`grace.infer.bench`)."""
    from grace.infer.bench import predict_throughput_ratio

    rounds = max(3, min(7, repeats // 3))
    dev = "cpu" if device.type == "cpu" else str(device.index or 0)
    return predict_throughput_ratio(scale, nc, imgsz, dev, batch, images, rounds)


def _openvino(scale: str, nc: int, imgsz: int, repeats: int, int8: bool) -> dict:
    """OpenVINO FP32 (and INT8) over PyTorch on the CPU (:mod:`grace.deploy.bench`)."""
    from grace.deploy.bench import openvino_figures

    return openvino_figures(scale, imgsz, nc, repeats, int8=int8)


def parameters(scale: str, nc: int) -> dict:
    from grace.nn import build_model, count_parameters

    base_model = build_model(f"yolo11{scale}", nc, use_fen=False)
    grace_model = build_model(f"yolo11{scale}", nc, use_fen=True, fen_cfg=FenConfig())
    base, grace = count_parameters(base_model), count_parameters(grace_model)
    out = {"params_baseline": base, "params_grace": grace, "params_added": grace - base}
    # the paper's 9.44 M for yolo11s is Ultralytics' count after fusing Conv+BN
    out["params_baseline_fused"] = count_parameters(base_model.fuse())
    out["params_grace_fused"] = count_parameters(grace_model.fuse())
    return out


def run_bench(
    scale: str = "s",
    imgsz: int = 640,
    nc: int = 6,
    repeats: int = 20,
    device: str = "cpu",
    train_imgsz: int | None = None,
    predict_batch: int = 8,
    predict_images: int = 32,
    openvino: bool = True,
    int8: bool = False,
) -> dict:
    """All figures from one run. ``train_imgsz`` defaults to ``imgsz`` on GPU and 320 on CPU.

    ``predict_throughput_ratio`` runs ``grace predict`` and plain Ultralytics ``predict`` over
    the same generated folder of ``predict_images`` images at ``imgsz`` and ``predict_batch``
    (:func:`grace.infer.bench.predict_throughput_ratio`), ``repeats // 3`` rounds (3 to 7).
    """
    check_values(imgsz=imgsz, nc=nc, repeats=repeats, batch=predict_batch)
    check_device(device)
    if train_imgsz is not None:
        check_values(imgsz=train_imgsz)
    if predict_images < 1:
        raise GraceError(f"predict_images {predict_images}: must be at least 1")
    dev = torch.device(
        "cuda:0" if device not in ("cpu", "") and device.isdigit() else device or "cpu"
    )
    if dev.type == "cuda":
        dev = torch.device(f"cuda:{device}") if device.isdigit() else dev
    train_imgsz = train_imgsz or (imgsz if dev.type == "cuda" else min(imgsz, 320))
    torch.manual_seed(0)
    result = {
        "model": f"yolo11{scale}",
        "nc": nc,
        "imgsz": imgsz,
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "repeats": repeats,
    }
    threads = torch.get_num_threads()  # Ultralytics' CPU device set-up lowers it for the process
    result.update(parameters(scale, nc))
    for part in (
        lambda: fen_latency_ratio(scale, nc, imgsz, repeats, dev),
        lambda: ds_train_step_ratio(scale, nc, train_imgsz, repeats, dev),
        lambda: predict_ratio(scale, nc, imgsz, repeats, dev, predict_batch, predict_images),
        *([lambda: _openvino(scale, nc, imgsz, repeats, int8)] if openvino else []),
    ):
        torch.set_num_threads(threads)  # every part runs with the same thread count
        result.update(part())
    torch.set_num_threads(threads)
    from grace.review.bench import review_store_figures

    result.update(review_store_figures())  # opening a 10,000-item review store (no model)
    return result
