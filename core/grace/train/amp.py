"""An AMP check that needs no download.

Ultralytics' ``check_amp`` downloads ``yolo26n.pt`` to compare FP32 and AMP outputs. We compare
the model being trained with itself instead: one random batch in FP32 and under autocast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


def amp_is_safe(model: nn.Module, imgsz: int = 256, atol: float = 0.5) -> bool:
    """True if ``model`` gives close outputs in FP32 and under CUDA autocast (False on CPU/MPS)."""
    device = next(model.parameters()).device
    if device.type != "cuda":
        return False
    was_training = model.training
    model.eval()
    try:
        x = torch.rand(2, 3, imgsz, imgsz, device=device)
        with torch.no_grad():
            a = model(x)
            a = a[0] if isinstance(a, (tuple, list)) else a
            with torch.autocast("cuda"):
                b = model(x)
                b = b[0] if isinstance(b, (tuple, list)) else b
        return bool(torch.isfinite(b).all() and torch.allclose(a, b.float(), atol=atol, rtol=0.05))
    except Exception:  # any failure under autocast means: do not use AMP
        return False
    finally:
        model.train(was_training)


@contextlib.contextmanager
def offline_amp_check() -> Iterator[None]:
    """Within the block, Ultralytics' trainer uses :func:`amp_is_safe` instead of its own check."""
    import ultralytics.engine.trainer as ul_trainer

    original = ul_trainer.check_amp
    ul_trainer.check_amp = amp_is_safe
    try:
        yield
    finally:
        ul_trainer.check_amp = original
