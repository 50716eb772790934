"""Folder throughput of ``grace predict`` against plain Ultralytics ``predict`` (``grace bench``).

Both run the same GRACE checkpoint (random weights, Lite-FEN attached, saved as Ultralytics'
trainer saves ``best.pt``), loaded once as one ``YOLO`` object, over the same generated folder of
NEU-DET-sized images, with the same ``imgsz``, ``batch``, ``conf`` and device, in one process;
loading and warm-up are outside the timing. Each round is one pass of each, timed by
:func:`grace.benchmark.paired_ratio` (ours as A, theirs as B): the figure, their time / ours, is
our throughput over theirs. On a busy machine single rounds scatter by several percent (see the
quartiles).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np

from grace.benchmark import paired_ratio
from grace.errors import GraceError


def make_bench_checkpoint(path: str | Path, scale: str = "n", nc: int = 6, imgsz: int = 640):
    """A GRACE ``yolo11{scale}`` with random weights saved as an Ultralytics checkpoint."""
    import torch
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg

    from grace.nn import build_model

    names = {i: f"class{i}" for i in range(nc)}
    model = build_model(f"yolo11{scale}", nc, use_fen=True, names=names)
    model.args = dict(vars(get_cfg(overrides={"model": f"yolo11{scale}.yaml", "imgsz": imgsz})))
    model = copy.deepcopy(model).half().eval()
    ckpt = {"epoch": -1, "model": model, "ema": None, "train_args": model.args,
            "version": __version__}  # fmt: skip
    torch.save(ckpt, path)
    return Path(path)


def make_bench_folder(folder: str | Path, n: int = 32, size: int = 200, seed: int = 0) -> Path:
    """``n`` textured gray JPEGs with a few bright and dark marks (like NEU-DET's 200x200)."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.normal(128, 14, (size, size)).clip(0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.integers(0, size - size // 4, 2)
            w, h = rng.integers(size // 16, size // 4, 2)
            img[y : y + h, x : x + w] = int(rng.choice([40, 220]))
        cv2.imwrite(str(folder / f"img_{i:04d}.jpg"), cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    return folder


def predict_throughput_ratio(
    scale: str = "n",
    nc: int = 6,
    imgsz: int = 640,
    device: str = "cpu",
    batch: int = 8,
    n_images: int = 32,
    rounds: int = 3,
) -> dict:
    """Our folder throughput / plain Ultralytics ``YOLO(w).predict(folder, stream=True)``.

    Both sides run with the torch thread count Ultralytics sets on its device set-up (on a CPU:
    ``min(8, cores - 1)``); the process's own count is restored afterwards.

    Returns
    -------
    dict
        ``predict_throughput_ratio`` (>= 0.9 is the target) with its ``_q1``, ``_q3`` and
        ``_n`` (= ``rounds``), ``predict_ips`` and ``predict_ultralytics_ips`` (images per
        second of the median pass of each; their quotient is close to, but not exactly, the
        median paired ratio), and the settings.
    """
    import torch

    from grace.infer.predictor import Predictor
    from grace.infer.run import PredictRequest, run_predict
    from grace.infer.thresholds import ClassThresholds
    from grace.nn.checkpoint import load_yolo

    threads = torch.get_num_threads()  # Ultralytics' CPU set-up changes it for the process
    with tempfile.TemporaryDirectory(prefix="grace-bench-") as tmp:
        weights = make_bench_checkpoint(Path(tmp) / "grace.pt", scale, nc, imgsz)
        folder = make_bench_folder(Path(tmp) / "images", n_images)
        plain = load_yolo(weights)
        # one model object for both sides, so that only the pipelines differ (not where in
        # memory two copies of the weights happen to lie)
        ours = Predictor(weights, ClassThresholds(0.25), imgsz=imgsz, device=device, model=plain)
        ours.warmup()
        req = PredictRequest(str(weights), str(folder), conf=0.25, imgsz=imgsz, batch=batch,
                             device=device, progress_every=0)  # fmt: skip
        settings = {"imgsz": imgsz, "batch": batch, "device": device, "conf": 0.25}

        def run_ours() -> None:
            s = run_predict(req, predictor=ours, log=None)
            if s.images != n_images:
                first = s.skipped[0] if s.skipped else {"file": folder, "reason": "not read"}
                raise GraceError(f"predict bench: grace predict read {s.images} of {n_images} "
                                 f"images ({first['file']}: {first['reason']})")  # fmt: skip

        def run_plain() -> None:
            n = sum(1 for _ in plain.predict(str(folder), stream=True, verbose=False, **settings))
            if n != n_images:
                raise GraceError(f"predict bench: Ultralytics read {n} of {n_images} images "
                                 f"in {folder}")  # fmt: skip

        try:
            r = paired_ratio(run_ours, run_plain, rounds, warmup=1)
        finally:
            torch.set_num_threads(threads)
    return r.figures("predict_throughput_ratio") | {
        "predict_ips": n_images / r.median_a,
        "predict_ultralytics_ips": n_images / r.median_b,
        "predict_images": n_images,
        "predict_batch": batch,
        "predict_imgsz": imgsz,
    }
