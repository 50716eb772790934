"""How long a training would take on a CPU, said before it starts (an estimate, pure).

The pace is measured, not guessed: the bundled demo run (``resources/demo/runs/grace``, GRACE
yolo11n at 256 px, batch 16, 1,439 train and 360 val images, 12 epochs on a CPU) took 108.5 s
per epoch on average, validation included: 0.0754 s per training image and epoch. Other settings
scale it by the model's FLOPs (Ultralytics' YOLO11 table, GFLOPs at 640 px) and the image area.
A different CPU, batch size or data loader changes the real figure, hence "estimate".
"""

from __future__ import annotations

from dataclasses import dataclass

from grace_gui.sessions.training_process import TrainForm

CPU_S_PER_IMAGE = 0.0754  # demo run: 108.5 s / 1,439 images per epoch (yolo11n, 256 px)
REF_MODEL, REF_IMGSZ = "yolo11n", 256
GFLOPS = {"yolo11n": 6.5, "yolo11s": 21.5, "yolo11m": 68.0, "yolo11l": 86.9, "yolo11x": 194.9}
CONFIRM_ABOVE_S = 600.0  # a CPU run estimated longer than this asks before it starts


@dataclass(frozen=True)
class Estimate:
    """An estimated CPU training time and how it was worked out."""

    seconds: float
    images: int
    epochs: int
    s_per_image: float  # per training image and epoch, at the form's model and image size

    @property
    def needs_confirmation(self) -> bool:
        return self.seconds > CONFIRM_ABOVE_S

    def text(self) -> str:
        """``about 5.2 days on the CPU (estimate: 1439 images × 200 epochs × 1.55 s)``."""
        return (
            f"about {human_duration(self.seconds)} on the CPU (estimate: {self.images} images × "
            f"{self.epochs} epochs × {self.s_per_image:.3g} s per image, from the demo run's CPU "
            f"pace scaled by model size and image area)"
        )


def seconds_per_image(model: str, imgsz: int) -> float:
    """The demo's CPU pace scaled to ``model`` (by FLOPs) and ``imgsz`` (by area)."""
    flops = GFLOPS.get(model, GFLOPS[REF_MODEL]) / GFLOPS[REF_MODEL]
    return CPU_S_PER_IMAGE * flops * (imgsz / REF_IMGSZ) ** 2


def cpu_estimate(form: TrainForm, train_images: int) -> Estimate:
    """The estimated CPU time of ``form``'s training on ``train_images`` images."""
    pace = seconds_per_image(form.model, form.imgsz)
    return Estimate(train_images * form.epochs * pace, train_images, form.epochs, pace)


def on_cpu(device: str, gpus: list[str]) -> bool:
    """Whether ``--device`` trains on the CPU (``cpu``, or automatic on a machine without GPU)."""
    return device.strip().lower() == "cpu" or (not device.strip() and not gpus)


def human_duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3.4 h``, ``5.2 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
