"""Model cost: parameters and GFLOPs at the validation image size (nothing is downloaded)."""

from __future__ import annotations

import copy
from dataclasses import dataclass


@dataclass
class ModelCost:
    """Parameters as stored (``parameters``) and after Conv+BN fusion, as the model runs for
    inference and latency (``parameters_fused``); GFLOPs of the fused model for one
    ``imgsz`` x ``imgsz`` image (None where it cannot be counted)."""

    parameters: int
    parameters_fused: int
    gflops: float | None
    imgsz: int


def model_cost(model, imgsz: int) -> ModelCost:
    """Count the parameters and GFLOPs of a detection model.

    Parameters
    ----------
    model
        The ``torch.nn.Module`` (``YOLO(...).model``); it is copied, never changed.
    imgsz
        Square input size for the GFLOPs count (Ultralytics' ``get_flops``, THOP).

    Returns
    -------
    ModelCost
    """
    from ultralytics.utils.torch_utils import get_flops

    m = copy.deepcopy(model).float().eval()
    parameters = sum(p.numel() for p in m.parameters())
    if hasattr(m, "fuse"):
        m = m.fuse(verbose=False)
    fused = sum(p.numel() for p in m.parameters())
    gflops = float(get_flops(m, imgsz))
    return ModelCost(parameters, fused, gflops if gflops > 0 else None, int(imgsz))
