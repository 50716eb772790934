"""DS-CBSM++ reacts at once: with the real training loader (Ultralytics' builder, our sampler,
8 worker processes) new weights govern every batch drawn after the update; at most one batch per
worker was drawn before it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

WORKERS, PER_CLASS = 8, 160


@pytest.fixture(scope="module")
def two_class_data(tmp_path_factory):
    """Images holding one class each: 160 of class 0, 160 of class 1."""
    root = tmp_path_factory.mktemp("two_class")
    for split, n in (("train", PER_CLASS), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for c in (0, 1):
            for i in range(n):
                stem = f"c{c}_{i:03d}"
                Image.new("RGB", (32, 32), (40 + 100 * c,) * 3).save(
                    root / "images" / split / f"{stem}.png"
                )
                (root / "labels" / split / f"{stem}.txt").write_text(f"{c} 0.5 0.5 0.4 0.4\n")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames: [a, b]\n"
    )
    return root / "data.yaml"


def test_new_weights_govern_every_batch_drawn_after_the_update(two_class_data, tmp_path):
    probe = Path(__file__).with_name("_lag_probe.py")
    r = subprocess.run([sys.executable, str(probe), str(two_class_data), str(tmp_path)],
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["workers"] == WORKERS
    # before: prefetch_factor 4 x 8 workers = 32 stale batches after each update
    assert 1 <= result["lag"] <= WORKERS, result
