"""``grace bench`` figures of the line: OpenVINO (FP32, and INT8 with ``--int8``) throughput over
PyTorch at batch 1 on the CPU, paired and alternated in one run, and INT8's mAP change."""

from __future__ import annotations

import tempfile
from pathlib import Path

DEMO = Path(__file__).resolve().parents[3] / "resources"
DEMO_DATA = DEMO / "demo" / "neu-det" / "data.yaml"
DEMO_MODEL = DEMO / "models" / "neu-det_yolo11n_grace.pt"
DEMO_IMGSZ = 256


def _predictor(weights, imgsz: int):
    from grace.infer.predictor import Predictor
    from grace.infer.thresholds import ClassThresholds

    p = Predictor(weights, ClassThresholds(0.25), imgsz=imgsz, device="cpu")
    p.warmup()
    return p


def _ratio_fields(prefix: str, r: dict) -> dict:
    """``{prefix}_throughput_ratio`` with its quartiles and pairs, and ``{prefix}_images_per_s``
    from :func:`grace.deploy.evaluate.throughput_ratio`'s ``r``."""
    key = f"{prefix}_throughput_ratio"
    return {key: r["ratio"], f"{key}_q1": r["q1"], f"{key}_q3": r["q3"], f"{key}_n": r["n"],
            f"{prefix}_images_per_s": r["images_per_s"]}  # fmt: skip


def openvino_figures(
    scale: str = "s",
    imgsz: int = 640,
    nc: int = 6,
    repeats: int = 20,
    int8: bool = False,
    images: int = 2,
    data: str | Path = DEMO_DATA,
    demo_model: str | Path = DEMO_MODEL,
) -> dict:
    """``openvino_throughput_ratio`` (OpenVINO / PyTorch images per second, a fresh
    ``yolo11{scale}`` with random weights at ``imgsz`` exported in FP32, run at OpenVINO's own
    precision for this CPU, reported as ``openvino_precision``: ``bf16`` on CPUs with AMX or
    AVX512-BF16, else ``f32``; batch 1, CPU; each timed call predicts ``images`` generated
    images one by one), ``openvino_f32_throughput_ratio`` (the same export pinned to FP32,
    ``grace export --precision f32``: what a line PC without bfloat16 gets) and, with ``int8``,
    ``openvino_int8_throughput_ratio`` (the same model quantised, calibrated on ``data``) and
    ``openvino_int8_delta_mAP50-95`` (the demo model at 256 on ``data``'s val split, INT8 minus
    PyTorch, in points)."""
    from grace.deploy.evaluate import compare_to_pytorch, load_frames, throughput_ratio
    from grace.deploy.export import export_model
    from grace.infer.bench import make_bench_checkpoint, make_bench_folder

    out: dict = {"openvino_model": f"yolo11{scale}", "openvino_imgsz": imgsz}
    with tempfile.TemporaryDirectory(prefix="grace-bench-ov-") as tmp:
        t = Path(tmp)
        pt = make_bench_checkpoint(t / "bench.pt", scale, nc, imgsz)
        folder = make_bench_folder(t / "images", n=images, size=imgsz)
        frames = load_frames(sorted(folder.glob("*.jpg")), images)
        ov = export_model(pt, "openvino", imgsz=imgsz, out=t)
        ov32 = export_model(pt, "openvino", imgsz=imgsz, out=t / "f32", precision="f32")
        torch_p, ov_p = _predictor(pt, imgsz), _predictor(ov.path, imgsz)
        r = throughput_ratio(ov_p, torch_p, frames, repeats)
        out |= _ratio_fields("openvino", r)
        out |= {"pytorch_images_per_s": r["images_per_s_pytorch"],
                "openvino_precision": ov_p.precision}  # fmt: skip
        r32 = throughput_ratio(_predictor(ov32.path, imgsz), torch_p, frames, repeats)
        out |= _ratio_fields("openvino_f32", r32)
        if int8:
            q = export_model(pt, "openvino", int8=True, data=data, imgsz=imgsz, out=t)
            r8 = throughput_ratio(_predictor(q.path, imgsz), torch_p, frames, repeats)
            out |= _ratio_fields("openvino_int8", r8)
            dq = export_model(demo_model, "openvino", int8=True, data=data, imgsz=DEMO_IMGSZ,
                              out=t / "demo")  # fmt: skip
            c = compare_to_pytorch(demo_model, dq.path, data, DEMO_IMGSZ, t / "demo_eval",
                                   repeats=max(3, repeats // 3))  # fmt: skip
            out |= {
                "openvino_int8_delta_mAP50-95": c["delta_mAP50-95_points"],
                "openvino_int8_mAP_model": Path(demo_model).name,
                "openvino_int8_mAP_data": str(data),
                "pytorch_demo_mAP50-95": c["pytorch"]["mAP50-95"],
                "openvino_int8_demo_mAP50-95": c["exported"]["mAP50-95"],
            }
    return out
