"""The bundled demo in ``resources/``: a 36-image NEU-DET subset, two demo checkpoints and the
run directories they came from, so that every tab shows something real on first launch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SAMPLE_IMAGE = "patches_292.jpg"  # both demo models detect patches on it at conf 0.25


@dataclass(frozen=True)
class Demo:
    data_yaml: Path  # resources/demo/neu-det/data.yaml
    images: Path  # a folder of sample images (the demo's val split)
    models: tuple[Path, ...]  # baseline, GRACE
    runs: tuple[Path, ...]  # their run directories (events.jsonl, results.csv, val/metrics.json)

    @property
    def first_image(self) -> Path:
        """The sample image the tabs open with: one on which both demo models find defects."""
        sample = self.images / SAMPLE_IMAGE
        return sample if sample.is_file() else sorted(self.images.glob("*.jpg"))[0]


def find_demo(resources: Path = RESOURCES) -> Demo | None:
    """The demo if ``resources`` holds it (a source checkout), else ``None``."""
    root = resources / "demo"
    models = tuple(resources / "models" / f"neu-det_yolo11n_{v}.pt" for v in ("baseline", "grace"))
    demo = Demo(
        data_yaml=root / "neu-det" / "data.yaml",
        images=root / "neu-det" / "images" / "val",
        models=models,
        runs=tuple(root / "runs" / v for v in ("baseline", "grace")),
    )
    parts = [demo.data_yaml, demo.images, *demo.models, *demo.runs]
    return demo if all(p.exists() for p in parts) else None
