"""``grace bench``: the performance figures of DESIGN.md "Performance", as ratios from one run.

Ratios are measured by alternating the two contestants (A, B, A, B, ...) and taking the ratio of
medians, so that drift of the machine (other load, clock changes) affects both alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from grace.argcheck import check_device, check_values
from grace.config import FenConfig, SamplerConfig
from grace.errors import GraceError


def _alternating_medians(
    a: Callable[[], None], b: Callable[[], None], repeats: int, warmup: int = 3
) -> tuple[float, float]:
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, acc in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


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

    tb, tg = _alternating_medians(run(base), run(grace), repeats)
    return {
        "fen_latency_ratio": tg / tb,
        "baseline_latency_ms": tb * 1e3,
        "grace_latency_ms": tg * 1e3,
    }


def ds_train_step_ratio(
    scale: str, nc: int, imgsz: int, repeats: int, device: torch.device, batch: int = 4
) -> dict:
    """Training step (forward, loss, backward) with DS-CBSM++ statistics / without."""
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.loss import v8DetectionLoss

    from grace.nn import build_model
    from grace.sampling import ClassStatistics
    from grace.train.loss import StatsDetectionLoss

    model = build_model(f"yolo11{scale}", nc, use_fen=False).to(device).train()
    model.args = get_cfg()
    stats = ClassStatistics(nc, SamplerConfig(), device)
    plain, tapped = v8DetectionLoss(model), StatsDetectionLoss(model, stats)
    batch_data = _train_batch(nc, batch, imgsz, device)

    def step(criterion, with_stats: bool):
        def f():
            model.zero_grad(set_to_none=True)
            loss, _ = criterion(model(batch_data["img"]), batch_data)
            loss.sum().backward()
            if with_stats:
                stats.step()
            _sync(device)

        return f

    t_plain, t_ds = _alternating_medians(step(plain, False), step(tapped, True), repeats)
    return {
        "ds_train_step_ratio": t_ds / t_plain,
        "train_step_ms": t_plain * 1e3,
        "train_step_ds_ms": t_ds * 1e3,
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
    ):
        torch.set_num_threads(threads)  # every part runs with the same thread count
        result.update(part())
    torch.set_num_threads(threads)
    return result
