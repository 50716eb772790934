"""Which device the engine will use, in words for the status bar and the device choosers."""

from __future__ import annotations


def cuda_devices() -> list[str]:
    """``["0: NVIDIA H100 …", ...]`` for every CUDA GPU, empty without one."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [f"{i}: {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]


def device_label() -> str:
    """'CPU' or the GPUs found (the status bar's text)."""
    return device_label_from(cuda_devices())


def device_label_from(gpus: list[str]) -> str:
    if not gpus:
        return "CPU"
    return "GPU " + gpus[0] if len(gpus) == 1 else f"{len(gpus)} GPUs ({gpus[0]}, …)"
