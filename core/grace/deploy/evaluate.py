"""An exported model next to its PyTorch original: ``grace val`` on both (protocol "deployed")
and their throughput, paired and alternated in one run (:func:`grace.benchmark.paired_ratio`)."""

from __future__ import annotations

from pathlib import Path

from grace.benchmark import paired_ratio


def load_frames(folder_images: list[Path], n: int) -> list:
    """The first ``n`` readable images as :class:`grace.infer.frames.Frame` objects."""
    from grace.images import try_read_image
    from grace.infer.frames import Frame

    frames = []
    for p in folder_images:
        image, _ = try_read_image(p)
        if image is not None:
            frames.append(Frame(image, str(p)))
        if len(frames) >= n:
            break
    return frames


def throughput_ratio(fast, slow, frames: list, repeats: int, warmup: int = 1) -> dict:
    """Images per second of predictor ``fast`` over predictor ``slow`` at batch 1 (each timed call
    predicts every frame, one at a time): the median of the paired ratios ``t_slow / t_fast``,
    with quartiles and ``n``; plus each one's images per second."""

    def run(p):
        def f() -> None:
            for fr in frames:
                p.predict([fr])

        return f

    r = paired_ratio(run(fast), run(slow), repeats, warmup=warmup)
    return {
        "ratio": round(r.ratio, 3),
        "q1": round(r.q1, 3),
        "q3": round(r.q3, 3),
        "n": r.n,
        "images_per_s": round(len(frames) / r.median_a, 2),
        "images_per_s_pytorch": round(len(frames) / r.median_b, 2),
    }


def compare_to_pytorch(
    pt: str | Path,
    exported: str | Path,
    data: str | Path,
    imgsz: int,
    out: str | Path,
    repeats: int = 6,
    images: int = 8,
) -> dict:
    """``grace val`` of ``pt`` and ``exported`` at ``imgsz`` on CPU, batch 1, then their paired
    throughput on ``images`` val images; metrics.json of each under ``out``.

    Returns
    -------
    dict
        ``pytorch`` and ``exported``: mAP50-95, mAP50 and the val folder; ``delta_mAP50-95``
        in points (exported minus PyTorch); ``throughput``: see :func:`throughput_ratio`.
    """
    from grace.data.yolo_layout import read_yolo_dataset
    from grace.eval.validate import validate
    from grace.infer.predictor import Predictor
    from grace.infer.thresholds import ClassThresholds

    out = Path(out)
    res = {}
    for key, w in (("pytorch", pt), ("exported", exported)):
        r = validate(str(w), str(data), imgsz=imgsz, batch=1, device="cpu",
                     out=out / f"val_{key}")  # fmt: skip
        res[key] = {
            "weights": str(w),
            "format": r["format"],
            "precision": r.get("precision"),
            "mAP50-95": r["metrics"]["mAP50-95"],
            "mAP50": r["metrics"]["mAP50"],
            "latency_ms": r["latency_ms"],
            "metrics": r["files"]["metrics"],
        }
    a, b = res["exported"]["mAP50-95"], res["pytorch"]["mAP50-95"]
    res["delta_mAP50-95_points"] = None if a is None or b is None else round(100 * (a - b), 3)
    ds = read_yolo_dataset(data)
    frames = load_frames(ds.splits["val"][1], images)
    if frames:
        fast = Predictor(exported, ClassThresholds(0.25), imgsz=imgsz, device="cpu")
        slow = Predictor(pt, ClassThresholds(0.25), imgsz=imgsz, device="cpu")
        fast.warmup()
        slow.warmup()
        res["throughput"] = {"images": len(frames), **throughput_ratio(fast, slow, frames, repeats)}
    return res
