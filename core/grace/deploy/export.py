"""``grace export``: a checkpoint to OpenVINO (FP32 or INT8) or ONNX through Ultralytics' own
exporter, offline, then the exported model evaluated next to the original.

The exporter runs on a copy of the checkpoint in a staging folder inside ``--out`` (Ultralytics
writes beside the weights), at batch 1, a fixed input size, FP32 (``quantize=32``), without
graph simplification (which would need ``onnxslim``). An OpenVINO export records the inference
precision chosen (``--precision``: ``auto``, OpenVINO's own for the CPU, or ``f32``) in its folder
(:data:`grace.deploy.runtime.PRECISION_FILE`), which every loader honours. INT8 is OpenVINO
post-training quantisation by nncf calibrated on the user's own dataset (its train split, else
val; the data.yaml is ours, resolved to absolute folders, so Ultralytics never looks for a
download). The result is moved into place whole (:mod:`grace.deploy.files`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from grace.errors import GraceError, cause_line

FORMATS = ("openvino", "onnx")


@dataclass
class Exported:
    """What :func:`export_model` wrote."""

    path: str
    format: str
    int8: bool
    imgsz: int
    source: str
    seconds: float
    calibration: dict | None = None
    precision: str = "auto"

    def as_dict(self) -> dict:
        return asdict(self)


def default_imgsz(model, fallback: int = 640) -> int:
    """The size a checkpoint was trained at (its ``args.imgsz``), else ``fallback``."""
    args = getattr(getattr(model, "model", None), "args", None) or {}
    v = args.get("imgsz") if isinstance(args, dict) else getattr(args, "imgsz", None)
    if isinstance(v, (list, tuple)) and v:
        v = max(v)
    return int(v) if isinstance(v, (int, float)) and v else fallback


def exported_name(stem: str, fmt: str, int8: bool) -> str:
    """Ultralytics' name of an export of ``stem``.pt."""
    if fmt == "onnx":
        return f"{stem}.onnx"
    return f"{stem}_{'int8_' if int8 else ''}openvino_model"


def _calibration(data: str | Path, staging: Path) -> tuple[Path, dict]:
    from grace.data.yolo_layout import read_yolo_dataset

    ds = read_yolo_dataset(data)
    split = "train" if ds.splits.get("train", (None, []))[1] else "val"
    if not ds.splits.get(split, (None, []))[1]:
        raise GraceError(f"{data}: no images in the train or val split to calibrate INT8 on")
    resolved = ds.write_resolved_yaml(staging / "calibration.yaml")
    info = {"data": str(data), "split": split, "images": len(ds.splits[split][1])}
    return resolved, info


def export_model(
    weights: str | Path,
    fmt: str = "openvino",
    int8: bool = False,
    data: str | Path | None = None,
    imgsz: int | None = None,
    out: str | Path | None = None,
    fraction: float = 1.0,
    precision: str = "auto",
) -> Exported:
    """Export a PyTorch checkpoint.

    Parameters
    ----------
    weights
        A ``.pt`` (or a package holding one); an exported model is a :class:`GraceError`.
    fmt
        ``openvino`` or ``onnx``.
    int8
        OpenVINO INT8, calibrated on ``data`` (required).
    data
        YOLO data.yaml whose images calibrate INT8.
    imgsz
        Input size (default: the checkpoint's training size).
    out
        Folder for the export (default: beside the checkpoint).
    fraction
        Share of the calibration split used (Ultralytics' ``fraction``; nncf takes every image
        given).
    precision
        OpenVINO's inference precision on the CPU: ``auto`` (OpenVINO's default: bfloat16 on
        CPUs with AMX or AVX512-BF16, FP32 on the others) or ``f32`` (FP32 everywhere).

    Returns
    -------
    Exported
    """
    from grace.argcheck import check_values
    from grace.deploy.files import replace_path, staging_dir
    from grace.deploy.runtime import PRECISION_FILE, PRECISIONS, load_model, require_pytorch

    if precision not in PRECISIONS:
        raise GraceError(f"--precision {precision}: must be one of {', '.join(PRECISIONS)}")
    if precision != "auto" and fmt != "openvino":
        raise GraceError(f"--precision {precision}: chooses OpenVINO's precision (ONNX Runtime "
                         "computes in FP32 on the CPU)")  # fmt: skip
    if fmt not in FORMATS:
        raise GraceError(f"--format {fmt}: must be one of {', '.join(FORMATS)}")
    if int8 and fmt != "openvino":
        raise GraceError("--int8: INT8 export is offered for --format openvino only")
    if int8 and not data:
        raise GraceError("--int8 needs --data D.yaml: INT8 calibrates on your own images")
    check_values(imgsz=imgsz)
    pt = require_pytorch(weights)
    out_dir = Path(out) if out else pt.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise GraceError(f"{out_dir}: --out exists and is not a folder")
    model, _ = load_model(pt)
    size = int(imgsz or default_imgsz(model))
    name = exported_name(pt.stem, fmt, int8)
    t0 = time.perf_counter()
    with staging_dir(out_dir, name) as staging:
        copy = staging / pt.name
        shutil.copy2(pt, copy)
        # quantize=32 is FP32 (Ultralytics' replacement of half=False), 8 is INT8 (of int8=True)
        kwargs = dict(format=fmt, imgsz=size, quantize=8 if int8 else 32, dynamic=False, batch=1,
                      device="cpu")  # fmt: skip
        calibration = None
        if fmt == "onnx":
            kwargs["simplify"] = False
        if int8:
            yaml_path, calibration = _calibration(data, staging)
            kwargs.update(data=str(yaml_path), split=calibration["split"], fraction=fraction)
        try:
            from ultralytics import YOLO

            produced = YOLO(str(copy)).export(**kwargs)
        except GraceError:
            raise
        except Exception as e:
            raise GraceError(
                f"{weights}: export to {fmt}{' INT8' if int8 else ''} failed ({cause_line(e)})"
            ) from None
        produced = Path(str(produced))
        if not produced.exists():
            raise GraceError(f"{weights}: the exporter reported {produced} but wrote nothing")
        if precision != "auto":
            import json

            choice = json.dumps({"inference_precision": precision}) + "\n"
            (produced / PRECISION_FILE).write_text(choice, encoding="utf-8")
        target = replace_path(produced, out_dir / name)
    return Exported(str(target), fmt, int8, size, str(pt), round(time.perf_counter() - t0, 2),
                    calibration, precision)  # fmt: skip
