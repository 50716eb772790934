"""``grace package``: build a model package (layout in :mod:`grace.deploy.package`)."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from grace.data.images import sha256_file
from grace.deploy.files import replace_path, staging_dir
from grace.deploy.package import MANIFEST, PACKAGE_FORMATS, SCHEMA, THRESHOLDS
from grace.errors import GraceError

METRIC_KEYS = ("mAP50-95", "mAP50", "precision", "recall", "f1_dataset", "f1_mean_over_classes")


def grace_version() -> str:
    """The installed grace-inspector version (``unknown`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("grace-inspector")
    except PackageNotFoundError:
        return "unknown"


def parse_formats(text: str | list[str]) -> list[str]:
    """``"pt,openvino"`` → ``["pt", "openvino"]``, each checked."""
    items = text if isinstance(text, list) else str(text).split(",")
    out = [f.strip().lower() for f in items if f.strip()]
    for f in out:
        if f not in PACKAGE_FORMATS:
            raise GraceError(f"--formats {f}: must be among {', '.join(PACKAGE_FORMATS)}")
    if not out:
        raise GraceError("--formats: name at least one of pt, openvino, onnx")
    return list(dict.fromkeys(out))


def _run_dir(pt: Path) -> Path | None:
    run = pt.parent.parent
    if pt.parent.name == "weights" and any(
        (run / f).is_file() for f in ("args.yaml", "grace.json", "events.jsonl")
    ):
        return run
    return None


def _metrics_file(pt: Path, run: Path | None) -> Path | None:
    for f in ([run / "val" / "metrics.json"] if run else []) + [
        pt.with_name(f"{pt.stem}.metrics.json")
    ]:
        if f.is_file():
            return f
    return None


def _metrics_summary(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GraceError(f"{path}: unreadable metrics ({type(e).__name__})") from None
    metrics = m.get("metrics") or {}
    return {
        "file": "metrics.json",
        "protocol": m.get("protocol"),
        "protocol_rule": m.get("protocol_rule"),
        "data": m.get("data"),
        "images": m.get("images"),
        "imgsz": (m.get("settings") or {}).get("imgsz"),
        "format": m.get("format", "pt"),
        **{k: metrics.get(k) for k in METRIC_KEYS},
    }


def _training(run: Path | None) -> tuple[dict, list[Path]]:
    if run is None:
        return {}, []
    import yaml

    files = [run / f for f in ("args.yaml", "grace.json") if (run / f).is_file()]
    out: dict = {}
    if (run / "args.yaml").is_file():
        args = yaml.safe_load((run / "args.yaml").read_text(encoding="utf-8")) or {}
        keep = ("model", "data", "epochs", "batch", "imgsz", "optimizer", "lr0", "seed")
        out["args"] = {k: args.get(k) for k in keep if k in args}
    if (run / "grace.json").is_file():
        out["variant"] = json.loads((run / "grace.json").read_text(encoding="utf-8")).get("variant")
    return out, files


def dataset_hashes(data: str | Path) -> tuple[dict, list[str]]:
    """The content hash of every split of ``data`` by the one rule,
    :func:`grace.data.content_hash.split_content_hash` (the hash ``grace report`` shows for the
    val split): ``{split: {"sha256", "images", "labels"}}``, and a line for each file that could
    not be read (left out of its split's hash)."""
    from grace.data.content_hash import split_content_hash
    from grace.data.yolo_layout import read_yolo_dataset

    ds = read_yolo_dataset(data)
    hashes, problems = {}, []
    for split in sorted(ds.splits):
        h = split_content_hash(ds, split)
        hashes[split] = {"sha256": h.sha256, "images": h.images, "labels": h.labels}
        problems += [p.line() for p in h.problems]
    return hashes, problems


def _dataset_hash(data: str | None, training: dict) -> tuple[dict | None, str | None, list[str]]:
    src = data or (training.get("args") or {}).get("data")
    if not src or not Path(src).is_file():
        return None, None, []
    hashes, problems = dataset_hashes(src)
    return hashes, str(src), problems


def _thresholds(path: str | Path | None, names: list[str], pt: Path) -> tuple[dict, list[str]]:
    """The package's thresholds document: the file given (read by the one reader,
    :mod:`grace.infer.threshold_file`, against the model's classes; its documenting fields kept),
    else ``conf`` :data:`~grace.infer.threshold_file.DEFAULT_CONF` for every class; and warnings
    (a file calibrated for another model)."""
    from grace.infer.threshold_file import (
        DEFAULT_CONF,
        read_document,
        read_thresholds,
        thresholds_json,
    )

    if path is None:
        return {"conf": DEFAULT_CONF, "per_class": {}}, []
    warnings: list[str] = []
    th = read_thresholds(path, names, pt, warnings.append)
    doc = {k: v for k, v in read_document(path).items() if k != "format"}  # the writer sets it
    return {**doc, **thresholds_json(th, names)}, warnings


def _readme(m: dict) -> str:
    th = m["thresholds"]
    per = ", ".join(f"{k} {v:g}" for k, v in th["per_class"].items())
    per = per or "none (every class uses conf)"
    met = m.get("metrics") or {}
    mline = (
        f"mAP@0.5:0.95 {100 * met['mAP50-95']:.2f}%, mAP@0.5 {100 * met['mAP50']:.2f}% on "
        f"{met.get('images')} images of {met.get('data')} (protocol {met.get('protocol')}, "
        f"imgsz {met.get('imgsz')})"
        if met.get("mAP50-95") is not None
        else "not known (the checkpoint had no grace val metrics beside it)"
    )
    fmts = "\n".join(f"- {k}: `{v}`" for k, v in m["formats"].items())
    hashes = (
        "\n".join(
            f"  - {k}: {v['sha256']} ({v['images']} images, {v['labels']} labels)"
            for k, v in (m.get("dataset_hash") or {}).items()
        )
        or "  - not known"
    )
    return f"""# Model package {m["name"]}

Built by grace {m["grace_version"]} on {m["created"]} from `{m["source"]}`.

## Run it
    grace predict --weights {m["name"]} IMAGES/ --save-csv
The package's thresholds apply unless you pass --conf, --class-conf or --thresholds.

## Contents
{fmts}
- classes ({len(m["classes"])}): {", ".join(m["classes"])}
- input size: {m["imgsz"]}x{m["imgsz"]} (letterboxed, batch 1)
- thresholds: conf {th["conf"]:g}; per class: {per}
- accuracy: {mline}
- dataset content hash per split (sorted sha256sum lines of its images and labels):
{hashes}
- every file's SHA-256 is in package.json; a changed file is refused at load.
"""


def build_package(
    weights: str | Path,
    out: str | Path,
    thresholds: str | Path | None = None,
    formats: str | list[str] = "pt,openvino",
    zip_output: bool = False,
    data: str | None = None,
    imgsz: int | None = None,
    precision: str = "auto",
) -> dict:
    """Build a package from a PyTorch checkpoint; returns the manifest plus ``path`` and
    ``warnings`` (e.g. a thresholds file calibrated for another model).

    Parameters
    ----------
    weights
        The ``.pt`` (run checkpoints bring their run's metrics and training settings).
    out
        The package folder (or, with ``zip_output``, the ``.zip`` file; ``.zip`` is added).
    thresholds
        A thresholds file (what ``grace calibrate`` writes, or ``{"conf": 0.25, "per_class":
        {"name": t}}``; :mod:`grace.infer.threshold_file`); default conf 0.25 for every class.
    formats
        Comma-separated among ``pt``, ``openvino``, ``onnx``.
    data
        The dataset whose content hash is recorded (default: the run's, when it exists here).
    imgsz
        Input size of the exports (default: the checkpoint's training size).
    precision
        The OpenVINO export's inference precision (``auto`` or ``f32``, see
        :func:`grace.deploy.export.export_model`), recorded in the manifest.
    """
    from grace.deploy.export import default_imgsz, export_model, exported_name
    from grace.deploy.runtime import load_model, require_pytorch
    from grace.infer.predictor import _names
    from grace.infer.threshold_file import write_thresholds

    fmts = parse_formats(formats)
    pt = require_pytorch(weights)
    out = Path(out)
    if zip_output and out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    model, _ = load_model(pt)
    names = _names(model)
    size = int(imgsz or default_imgsz(model))
    th_doc, warnings = _thresholds(thresholds, names, pt)
    th = {"conf": th_doc["conf"], "per_class": th_doc["per_class"]}
    run = _run_dir(pt)
    metrics_path = _metrics_file(pt, run)
    training, training_files = _training(run)
    dataset_hash, dataset_src, dataset_problems = _dataset_hash(data, training)
    manifest: dict = {
        "schema": SCHEMA,
        "name": out.stem if zip_output else out.name,
        "grace_version": grace_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(pt),
        "task": "detect",
        "classes": names,
        "imgsz": size,
        "formats": {},
        "openvino_precision": precision if "openvino" in fmts else None,
        "thresholds": th,
        "metrics": _metrics_summary(metrics_path),
        "training": training,
        "dataset_hash": dataset_hash,
        "dataset": dataset_src,
        "dataset_problems": dataset_problems,
    }
    with staging_dir(out.parent, out.name) as staging:
        root = staging / "pkg"
        root.mkdir()
        shutil.copy2(pt, root / "model.pt")
        for f in fmts:
            if f == "pt":
                manifest["formats"]["pt"] = "model.pt"
                continue
            e = export_model(root / "model.pt", f, imgsz=size, out=root,
                             precision=precision if f == "openvino" else "auto")  # fmt: skip
            manifest["formats"][f] = Path(e.path).name
            assert Path(e.path).name == exported_name("model", f, False)
        if "pt" not in fmts:
            (root / "model.pt").unlink()
        write_thresholds(root / THRESHOLDS, th_doc)  # the one writer of the format
        if metrics_path is not None:
            shutil.copy2(metrics_path, root / "metrics.json")
        if training_files:
            (root / "training").mkdir()
            for f in training_files:
                shutil.copy2(f, root / "training" / f.name)
        (root / "README.md").write_text(_readme(manifest), encoding="utf-8")
        manifest["files"] = {
            p.relative_to(root).as_posix(): sha256_file(p)
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if zip_output:
            archive = staging / out.name
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                for p in sorted(root.rglob("*")):
                    if p.is_file():
                        z.write(p, p.relative_to(root).as_posix())
            replace_path(archive, out)
        else:
            replace_path(root, out)
    return {"path": str(out), **manifest, "warnings": warnings}
