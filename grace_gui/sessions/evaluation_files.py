"""What the Evaluate tab reads and reuses (Qt-free): which model a choice means, where its
evaluation lives, whether an evaluation on disk is still up to date, and one model's results.

A model is a PyTorch checkpoint (a ``.pt``, or a run folder's), an exported model (an OpenVINO
folder, an ``.onnx``) or a model package (its folder or ``.zip``), as
:func:`grace.deploy.runtime.resolve_model` accepts them; an export or a package runs at its own
input size. An evaluation is a ``grace val`` output folder (``metrics.json``,
``pr_curves.json``, ``errors.json``, ``predictions.npz``). It is up to date for a model, a
dataset and an image size when its ``metrics.json`` names that model and that ``data.yaml``, was
made under the deployed protocol at that size, all four files are there, and it was written
after the model (every file of a folder model), the ``data.yaml`` and every val image and label
file last changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError

VAL_FILES = ("metrics.json", "pr_curves.json", "errors.json", "predictions.npz")
PROTOCOL = "deployed"


@dataclass(frozen=True)
class ModelChoice:
    """A model to evaluate: ``weights`` (what the engine is given: the checkpoint file, the
    OpenVINO folder, the ``.onnx``, the package), ``label`` (its run and name, what the tables
    show), ``chosen`` (what the user picked: the file or its run folder), ``kind`` (the format
    that runs: ``pt``, ``openvino`` or ``onnx``), ``imgsz`` (an export's or a package's own input
    size; ``None`` for a checkpoint) and ``package`` (a model package)."""

    weights: str
    label: str
    chosen: str
    kind: str = "pt"
    imgsz: int | None = None
    package: bool = False

    @property
    def exported(self) -> bool:
        """An exported model runs at its own input size only."""
        return self.kind != "pt"


def _run_of(weights: Path) -> Path | None:
    run = weights.parent.parent
    if weights.parent.name == "weights" and any(
        (run / f).exists() for f in ("events.jsonl", "args.yaml", "grace.json")
    ):
        return run
    return None


def _exported_choice(p: Path, kind: str) -> ModelChoice:
    """An OpenVINO folder (or its ``.xml``/``.bin``), an ``.onnx`` or a package, checked on disk
    by the engine (a broken one is its :class:`GraceError` line)."""
    from grace.deploy.runtime import resolve_model

    if kind == "openvino" and p.is_file():
        p = p.parent  # the folder is the model
    ref = resolve_model(p)
    w = p.resolve()
    name = f"{w.name} (package)" if kind == "package" else w.name
    run = _run_of(w)
    label = f"{run.name}/{name}" if run else name
    return ModelChoice(str(w), label, str(p), ref.kind, ref.imgsz, ref.package is not None)


def model_choice(path: str | Path) -> ModelChoice:
    """The model that ``path`` means: an OpenVINO folder, an ``.onnx`` or a package (as
    :func:`grace.deploy.runtime.model_kind` tells them), a ``.pt`` file, or a run folder's
    ``weights/best.pt`` (else ``last.pt``); a :class:`GraceError` line otherwise."""
    from grace.deploy.runtime import model_kind

    p = Path(path)
    kind = model_kind(p)
    if kind is not None and kind != "pt":
        return _exported_choice(p, kind)
    if p.is_dir():
        for name in ("best.pt", "last.pt"):
            if (p / "weights" / name).is_file():
                w = (p / "weights" / name).resolve()
                return ModelChoice(str(w), f"{p.resolve().name}/{name}", str(p))
        raise GraceError(f"{p}: no weights/best.pt or weights/last.pt (not a finished run?)")
    if not p.is_file():
        raise GraceError(f"{p}: not found")
    if p.suffix.lower() != ".pt":
        raise GraceError(f"{p}: not a model (a .pt, an OpenVINO folder, an .onnx, a package) "
                         "or a run folder")  # fmt: skip
    w = p.resolve()
    run = _run_of(w)
    return ModelChoice(str(w), f"{run.name}/{w.name}" if run else w.stem, str(p))


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def evaluation_dir(root: str | Path, data_yaml: str | Path, weights: str | Path, imgsz) -> Path:
    """Where the Evaluate tab writes the evaluation of ``weights`` on ``data_yaml``:
    ``root/<dataset folder>-<hash>/<model>-<hash>-<imgsz>``, one folder per model, dataset and
    size (the hashes tell apart two ``best.pt`` or two ``data.yaml`` of the same name)."""
    d, w = Path(data_yaml).resolve(), Path(weights).resolve()
    size = "own" if imgsz is None else str(int(imgsz))
    run = f"{w.parent.parent.name}_" if w.parent.name == "weights" else ""
    model = f"{run}{w.stem}-{_short_hash(str(w))}-{size}"
    return Path(root) / f"{d.parent.name}-{_short_hash(str(d))}" / model


def reusable_dirs(weights: str | Path, own: Path) -> list[Path]:
    """The folders that may already hold the evaluation: ``<run>/val`` (``grace val``'s default
    for a run's checkpoint) and the tab's own folder."""
    run = _run_of(Path(weights).resolve())
    return ([run / "val"] if run is not None else []) + [own]


def _newest_mtime(paths) -> float:
    newest = 0.0
    for p in paths:
        try:
            newest = max(newest, p.stat().st_mtime)
        except OSError:
            continue
    return newest


def model_mtime(weights: str | Path) -> float:
    """The latest change of a model: its file, or a folder model (OpenVINO, package) and every
    file in it."""
    w = Path(weights)
    return _newest_mtime([w, *(w.rglob("*") if w.is_dir() else ())])


def dataset_mtime(data_yaml: str | Path) -> float:
    """The latest change of the ``data.yaml``, its val images and their label files."""
    from grace.data.yolo_layout import find_label, read_yolo_dataset

    ds = read_yolo_dataset(data_yaml)
    images = ds.splits["val"][1]
    labels = [lab for lab in (find_label(p) for p in images) if lab is not None]
    return _newest_mtime([ds.yaml_path, *images, *labels])


def stale_reason(
    val_dir: str | Path, weights: str | Path, data_yaml: str | Path, imgsz: int | None,
    data_changed: float,
) -> str:  # fmt: skip
    """Why the evaluation in ``val_dir`` cannot be reused (module rules); ``""`` when it can.

    Parameters
    ----------
    val_dir
        A ``grace val`` output folder (or a folder that may not exist).
    weights, data_yaml
        The checkpoint and dataset to evaluate.
    imgsz
        The network size asked for (``None``: any).
    data_changed
        :func:`dataset_mtime` of the dataset.
    """
    d = Path(val_dir)
    missing = [f for f in VAL_FILES if not (d / f).is_file()]
    if missing:
        return f"{d}: no {missing[0]}"
    try:
        m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"{d / 'metrics.json'}: not readable"
    if not isinstance(m, dict):
        return f"{d / 'metrics.json'}: not a grace val result"
    if Path(str(m.get("weights", ""))).resolve() != Path(weights).resolve():
        return f"{d}: holds the evaluation of another checkpoint"
    if Path(str(m.get("data", ""))).resolve() != Path(data_yaml).resolve():
        return f"{d}: holds an evaluation on another dataset"
    if m.get("protocol") != PROTOCOL:
        return f"{d}: evaluated under protocol {m.get('protocol') or 'ultralytics'}"
    size = (m.get("settings") or {}).get("imgsz")
    if imgsz is not None and size != imgsz:
        return f"{d}: evaluated at image size {size}, not {imgsz}"
    written = (d / "metrics.json").stat().st_mtime
    if written < model_mtime(weights):
        return f"{d}: the model changed after this evaluation"
    if written < data_changed:
        return f"{d}: the dataset changed after this evaluation"
    return ""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise GraceError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GraceError(f"{path}: not readable ({type(e).__name__})") from None


@dataclass
class ModelResult:
    """One model's evaluation as shown: ``metrics`` (``metrics.json``), ``curves``
    (``pr_curves.json``), ``errors`` (``errors.json``), where they were read, and whether they
    were reused (up to date) rather than computed now."""

    model: ModelChoice
    val_dir: str
    metrics: dict[str, Any]
    curves: dict[str, Any]
    errors: dict[str, Any]
    reused: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.errors.get("classes") or self.metrics.get("per_class", {}))


def read_result(model: ModelChoice, val_dir: str | Path, reused: bool) -> ModelResult:
    """The three JSON files of ``val_dir`` (a :class:`GraceError` line for a bad one)."""
    d = Path(val_dir)
    metrics = _read_json(d / "metrics.json")
    problems = [f"{p.get('file')}: {p.get('kind')}: {p.get('detail')}"
                for p in metrics.get("problems") or []]  # fmt: skip
    return ModelResult(model, str(d), metrics, _read_json(d / "pr_curves.json"),
                       _read_json(d / "errors.json"), reused, problems)  # fmt: skip
