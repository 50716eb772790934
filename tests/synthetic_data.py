"""A tiny synthetic defect dataset in YOLO layout, made by the tests (never shipped in the engine).

Gray textured "steel" with rectangles and streaks of a few classes; class frequencies are
deliberately imbalanced so DS-CBSM++ has something to re-balance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image

DEFAULT_NAMES = ("scratch", "patch", "pit")


def make_synthetic_dataset(
    root: str | Path,
    n_train: int = 8,
    n_val: int = 4,
    size: int = 64,
    names: tuple[str, ...] = DEFAULT_NAMES,
    class_probs: tuple[float, ...] | None = (0.6, 0.3, 0.1),
    seed: int = 0,
) -> Path:
    """Write ``root/images/{train,val}``, ``root/labels/{train,val}`` and ``root/data.yaml``.

    Returns the path of ``data.yaml``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    probs = np.asarray(class_probs if class_probs else [1 / len(names)] * len(names), float)
    probs = probs / probs.sum()
    for split, n in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = rng.normal(128, 12, (size, size)).clip(0, 255)
            lines = []
            for _ in range(int(rng.integers(1, 4))):
                c = int(rng.choice(len(names), p=probs))
                w, h = rng.integers(size // 8, size // 3, 2)
                if c == 0:  # scratches are long and thin
                    w, h = max(2, size // 16), int(rng.integers(size // 3, size // 2))
                x0 = int(rng.integers(0, size - w))
                y0 = int(rng.integers(0, size - h))
                img[y0 : y0 + h, x0 : x0 + w] = (40, 220, 80)[c % 3]
                cx, cy = (x0 + w / 2) / size, (y0 + h / 2) / size
                lines.append(f"{c} {cx:.6f} {cy:.6f} {w / size:.6f} {h / size:.6f}")
            rgb = np.repeat(img.astype(np.uint8)[..., None], 3, axis=2)
            Image.fromarray(rgb).save(root / "images" / split / f"{split}_{i:03d}.jpg", quality=95)
            (root / "labels" / split / f"{split}_{i:03d}.txt").write_text("\n".join(lines) + "\n")
    data_yaml = root / "data.yaml"
    data_yaml.write_text(
        yaml.safe_dump(
            {
                "path": str(root.resolve()),
                "train": "images/train",
                "val": "images/val",
                "names": dict(enumerate(names)),
            },
            sort_keys=False,
        )
    )
    return data_yaml
