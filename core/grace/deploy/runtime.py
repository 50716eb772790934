"""The one decision of what a ``--weights`` value is and how it is loaded.

Every command that takes a model (``grace predict``, ``grace val``, ``grace export``,
``grace package``, the GUI) goes through :func:`resolve_model` and :func:`load_model`:

- a PyTorch checkpoint (``.pt``, ours with Lite-FEN or plain Ultralytics);
- an OpenVINO model folder (``*_openvino_model/`` with one ``.xml``, its ``.bin`` and
  Ultralytics' ``metadata.yaml``);
- an ONNX file (``.onnx``, Ultralytics' metadata inside);
- a model package (a folder with ``package.json``, or its ``.zip``; :mod:`grace.deploy.package`),
  which brings its own thresholds (its ``thresholds.json``, read by the one reader,
  :func:`grace.infer.threshold_file.read_thresholds`) and input size.

Exported models load with ``ultralytics.YOLO(path, task="detect")`` and predict through the same
Ultralytics predictor as checkpoints; class names come from their metadata. Where a PyTorch
checkpoint is required (Eigen-CAM, ``grace train --weights``) an exported model is one line,
:data:`NEEDS_PT`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError, cause_line

NEEDS_PT = "needs the PyTorch checkpoint (.pt)"
KINDS = ("pt", "openvino", "onnx")
OPENVINO_SUFFIX = "_openvino_model"


@dataclass(frozen=True)
class ModelRef:
    """What a ``--weights`` value names.

    Attributes
    ----------
    path
        The value as given.
    kind
        ``pt``, ``openvino`` or ``onnx``: the format that is loaded.
    weights
        The file or folder Ultralytics loads (inside the package for a package).
    package
        The package folder (unpacked) when ``path`` is a package, else ``None``.
    thresholds
        A package's thresholds file (its ``thresholds.json``), else ``None``; read it with
        :func:`package_thresholds`.
    imgsz
        The fixed input size of an exported model or a package, else ``None``.
    manifest
        A package's ``package.json``, else an empty dict.
    precision
        For an OpenVINO model, the inference precision chosen at export
        (:func:`openvino_precision`): ``auto`` (OpenVINO's own for the CPU) or ``f32``.
    """

    path: Path
    kind: str
    weights: Path
    package: Path | None = None
    thresholds: Path | None = None
    imgsz: int | None = None
    manifest: dict = field(default_factory=dict)
    precision: str = "auto"  # an OpenVINO model's chosen inference precision (auto or f32)

    @property
    def exported(self) -> bool:
        return self.kind != "pt"

    @property
    def name(self) -> str:
        """A short name for summaries: the package's folder or the model's file name."""
        return self.path.name


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise GraceError(f"{path}: unreadable metadata ({type(e).__name__})") from None
    return data if isinstance(data, dict) else {}


def _imgsz(value: Any) -> int | None:
    if isinstance(value, str):
        import ast

        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, (list, tuple)) and value:
        value = max(value)
    return int(value) if isinstance(value, (int, float)) else None


def check_openvino_folder(folder: Path) -> Path:
    """The ``.xml`` of an OpenVINO model folder, checked: exactly one ``.xml`` with its ``.bin``
    beside it; otherwise a :class:`GraceError` naming the folder and what is missing."""
    xmls = sorted(folder.glob("*.xml"))
    if not xmls:
        raise GraceError(f"{folder}: an OpenVINO model folder without its .xml file")
    if len(xmls) > 1:
        names = ", ".join(x.name for x in xmls)
        raise GraceError(f"{folder}: several OpenVINO models in one folder ({names})")
    if not xmls[0].with_suffix(".bin").is_file():
        raise GraceError(f"{folder}: {xmls[0].name} without its weights {xmls[0].stem}.bin")
    return xmls[0]


def openvino_imgsz(folder: Path) -> int | None:
    """The input size recorded in an OpenVINO folder's ``metadata.yaml`` (``None``: unknown)."""
    meta = folder / "metadata.yaml"
    return _imgsz(_read_yaml(meta).get("imgsz")) if meta.is_file() else None


def onnx_imgsz(path: Path) -> int | None:
    """The input size in an ``.onnx`` file's Ultralytics metadata (``None``: unknown)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # a truncated or foreign file
        raise GraceError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    return _imgsz(meta.get("imgsz"))


def _looks_openvino(folder: Path) -> bool:
    return (
        folder.name.endswith(OPENVINO_SUFFIX)
        or any(folder.glob("*.xml"))
        or any(folder.glob("*.bin"))
    )


def model_kind(path: str | Path) -> str | None:
    """``pt``, ``openvino``, ``onnx`` or ``package`` by the look of ``path`` (nothing is read
    beyond names); ``None`` when it is none of them or does not exist."""
    p = Path(path)
    if p.is_dir():
        if (p / "package.json").is_file():
            return "package"
        return "openvino" if _looks_openvino(p) else None
    if not p.is_file():
        return None
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return "package"
    if suffix in (".pt", ".onnx"):
        return suffix[1:]
    if suffix in (".xml", ".bin") and p.parent.name.endswith(OPENVINO_SUFFIX):
        return "openvino"
    return None


def resolve_model(path: str | Path, prefer: str | None = None) -> ModelRef:
    """What ``path`` names, checked on disk (no torch import); one :class:`GraceError` line when
    it is not a model.

    Parameters
    ----------
    path
        A ``--weights`` value.
    prefer
        For a package holding several formats, the one to load (default: OpenVINO, else ONNX,
        else PyTorch).
    """
    p = Path(path)
    kind = model_kind(p)
    if kind is None:
        if p.is_dir():
            from grace.nn.checkpoint import check_checkpoint_path

            check_checkpoint_path(p)  # a run folder: names its best.pt
        if not p.exists():
            raise GraceError(f"{path}: weights file not found")
        raise GraceError(
            f"{path}: not a model (expected a PyTorch .pt, an OpenVINO folder, an .onnx file or a "
            "model package)"
        )
    if kind == "package":
        from grace.deploy.package import open_package

        return open_package(p, prefer=prefer)
    if kind == "openvino":
        folder = p if p.is_dir() else p.parent
        check_openvino_folder(folder)
        return ModelRef(p, "openvino", folder, imgsz=openvino_imgsz(folder),
                        precision=openvino_precision(folder))  # fmt: skip
    if kind == "onnx":
        return ModelRef(p, "onnx", p, imgsz=onnx_imgsz(p))
    return ModelRef(p, "pt", p)


def pytorch_source(path: str | Path) -> Path | None:
    """The PyTorch checkpoint behind a model, where it can be told: a ``.pt`` itself, a package
    folder's ``model.pt``, or the checkpoint ``grace export`` wrote the export beside
    (``best_openvino_model/``, ``best_int8_openvino_model/``, ``best.onnx`` → ``best.pt``);
    ``None`` otherwise (what needs a ``.pt``, such as training, then asks for it)."""
    p = Path(path)
    kind = model_kind(p)
    if kind == "pt":
        return p
    if kind == "package" and p.is_dir():
        try:
            return require_pytorch(p)
        except GraceError:
            return None
    if kind == "openvino":
        folder = p if p.is_dir() else p.parent
        stem = folder.name.removesuffix(OPENVINO_SUFFIX).removesuffix("_int8")
        candidate = folder.parent / f"{stem}.pt"
    elif kind == "onnx":
        candidate = p.with_suffix(".pt")
    else:
        return None
    return candidate if candidate.is_file() else None


def require_pytorch(path: str | Path) -> Path:
    """The ``.pt`` behind ``path`` (a checkpoint, or a package that holds one); an exported model
    is one line ending in :data:`NEEDS_PT`."""
    ref = resolve_model(path, prefer="pt")
    if ref.kind != "pt":
        raise GraceError(f"{path}: an exported {ref.kind} model; this {NEEDS_PT}")
    return ref.weights


def load_model(path: str | Path | ModelRef, prefer: str | None = None):
    """``ultralytics.YOLO`` on whatever :func:`resolve_model` accepts.

    Returns
    -------
    tuple
        ``(yolo, ref)``: the loaded model and its :class:`ModelRef`.
    """
    ref = path if isinstance(path, ModelRef) else resolve_model(path, prefer)
    if ref.kind == "pt":
        from grace.nn.checkpoint import load_yolo

        return load_yolo(ref.weights), ref
    from ultralytics import YOLO

    try:
        model = YOLO(str(ref.weights), task="detect")
        _ = model.names  # loads the backend: a broken export fails here, not at the first image
    except GraceError:
        raise
    except Exception as e:
        raise GraceError(f"{ref.path}: not a loadable {ref.kind} model ({cause_line(e)})") from None
    return model, ref


def package_thresholds(ref: ModelRef, names: list[str]):
    """A package's thresholds as :class:`~grace.infer.thresholds.ClassThresholds` (read by
    :func:`grace.infer.threshold_file.read_thresholds`), or ``None`` when ``ref`` is no package
    or holds none."""
    if ref.thresholds is None:
        return None
    from grace.infer.threshold_file import read_thresholds

    return read_thresholds(ref.thresholds, names)


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A model file's SHA-256, remembered while its size and modification time stay the same
    (every run of the Inference tab stamps its rows with the hash: a 20 MB checkpoint is not
    read again for each run)."""
    from grace.data.images import sha256_file

    return sha256_file(path)


def model_sha256(path: str | Path) -> str:
    """The SHA-256 that identifies a model: a file's bytes (``.pt``, ``.onnx``, a package zip);
    for a folder (an OpenVINO model, a package folder), the SHA-256 of the ``sha256sum``-style
    lines of every file in it, sorted by relative path (the rule of
    :func:`grace.data.content_hash.manifest_text`), so a copy of the folder has the same hash."""
    p = Path(path)
    if not p.is_dir():
        st = p.stat()
        return _file_sha256(str(p.resolve()), st.st_size, st.st_mtime_ns)
    import hashlib

    from grace.data.content_hash import manifest_text
    from grace.data.images import sha256_file

    entries = [(f.relative_to(p).as_posix(), sha256_file(f)) for f in p.rglob("*") if f.is_file()]
    return hashlib.sha256(manifest_text(entries).encode("utf-8")).hexdigest()


PRECISION_FILE = "grace_precision.json"  # in an OpenVINO folder: {"inference_precision": ...}
PRECISIONS = ("auto", "f32")


def openvino_precision(folder: str | Path) -> str:
    """The inference precision chosen for the OpenVINO model in ``folder`` when it was exported
    (``grace export --precision``): ``f32``, or ``auto`` when none was written."""
    import json

    f = Path(folder) / PRECISION_FILE
    if not f.is_file():
        return "auto"
    try:
        value = json.loads(f.read_text(encoding="utf-8")).get("inference_precision")
    except (ValueError, AttributeError, UnicodeDecodeError):
        value = None
    if value not in PRECISIONS:
        raise GraceError(f"{f}: not a precision file (expected inference_precision "
                         f"{' or '.join(PRECISIONS)})")  # fmt: skip
    return value


def apply_precision(model, ref: ModelRef) -> str:
    """Run an OpenVINO model at the precision chosen at export; return the precision it computes
    in (``f32``, ``bf16``, ``f16``; ``""`` for other formats or a model not set up yet).

    ``auto`` keeps OpenVINO's default for the CPU, as Ultralytics compiles it: bfloat16 on
    processors with AMX or AVX512-BF16 (this machine's Xeon: 3-4x the speed of FP32, boxes
    moved by a fraction of a pixel, mAP within a few hundredths of a point), FP32 on the others
    (most line PCs). ``f32`` recompiles the model, once its predictor is set up, with
    ``INFERENCE_PRECISION_HINT=f32`` (an INT8 model keeps its quantised layers).
    """
    if ref.kind != "openvino":
        return ""
    engine = getattr(model, "predictor", None)
    backend = getattr(getattr(engine, "model", None), "backend", None)
    compiled = getattr(backend, "ov_compiled_model", None)
    if compiled is None:
        return ""
    hint = str(compiled.get_property("INFERENCE_PRECISION_HINT")).lower()
    current = "bf16" if "bf" in hint else "f16" if "16" in hint else "f32"
    if ref.precision != "f32" or current == "f32":
        return current
    if getattr(backend, "read_model", None) is not None:
        return current  # Ultralytics recompiles it per shape itself
    if list(compiled.get_property("EXECUTION_DEVICES")) != ["CPU"]:
        return current
    import openvino as ov

    xml = check_openvino_folder(ref.weights)
    core = ov.Core()
    backend.ov_compiled_model = core.compile_model(
        core.read_model(str(xml), str(xml.with_suffix(".bin"))),
        "CPU",
        {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"},
    )
    return "f32"
