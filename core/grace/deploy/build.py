"""``grace package``: build a model package (layout in :mod:`grace.deploy.package`)."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from grace.deploy.files import replace_path, sha256_of, staging_dir
from grace.deploy.package import (
    MANIFEST,
    PACKAGE_FORMATS,
    SCHEMA,
    THRESHOLDS,
    check_thresholds,
    read_thresholds,
)
from grace.errors import GraceError

DEFAULT_THRESHOLDS = {"conf": 0.25, "per_class": {}}
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


def _dataset_hash(data: str | None, training: dict) -> tuple[str | None, str | None]:
    from grace.data.content_hash import dataset_content_hash

    src = data or (training.get("args") or {}).get("data")
    if not src or not Path(src).is_file():
        return None, None
    return dataset_content_hash(src), str(src)


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
    return f"""# Model package {m["name"]}

Built by grace {m["grace_version"]} on {m["created"]} from `{m["source"]}`.

## Run it
    grace predict --weights {m["name"]} IMAGES/ --save-csv
The package's thresholds apply unless you pass --conf or --class-conf.

## Contents
{fmts}
- classes ({len(m["classes"])}): {", ".join(m["classes"])}
- input size: {m["imgsz"]}x{m["imgsz"]} (letterboxed, batch 1)
- thresholds: conf {th["conf"]:g}; per class: {per}
- accuracy: {mline}
- dataset content hash: {m.get("dataset_hash") or "not known"}
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
) -> dict:
    """Build a package from a PyTorch checkpoint; returns the manifest plus ``path``.

    Parameters
    ----------
    weights
        The ``.pt`` (run checkpoints bring their run's metrics and training settings).
    out
        The package folder (or, with ``zip_output``, the ``.zip`` file; ``.zip`` is added).
    thresholds
        A thresholds file (``{"conf": 0.25, "per_class": {"name": t}}``); default conf 0.25.
    formats
        Comma-separated among ``pt``, ``openvino``, ``onnx``.
    data
        The dataset whose content hash is recorded (default: the run's, when it exists here).
    imgsz
        Input size of the exports (default: the checkpoint's training size).
    """
    from grace.deploy.export import default_imgsz, export_model, exported_name
    from grace.deploy.runtime import load_model, require_pytorch
    from grace.infer.predictor import _names

    fmts = parse_formats(formats)
    pt = require_pytorch(weights)
    out = Path(out)
    if zip_output and out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    model, _ = load_model(pt)
    names = _names(model)
    size = int(imgsz or default_imgsz(model))
    th = read_thresholds(thresholds, names) if thresholds else dict(DEFAULT_THRESHOLDS)
    th = check_thresholds(th, names, str(thresholds or "thresholds"))
    run = _run_dir(pt)
    metrics_path = _metrics_file(pt, run)
    training, training_files = _training(run)
    dataset_hash, dataset_src = _dataset_hash(data, training)
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
        "thresholds": th,
        "metrics": _metrics_summary(metrics_path),
        "training": training,
        "dataset_hash": dataset_hash,
        "dataset": dataset_src,
    }
    with staging_dir(out.parent, out.name) as staging:
        root = staging / "pkg"
        root.mkdir()
        shutil.copy2(pt, root / "model.pt")
        for f in fmts:
            if f == "pt":
                manifest["formats"]["pt"] = "model.pt"
                continue
            e = export_model(root / "model.pt", f, imgsz=size, out=root)
            manifest["formats"][f] = Path(e.path).name
            assert Path(e.path).name == exported_name("model", f, False)
        if "pt" not in fmts:
            (root / "model.pt").unlink()
        (root / THRESHOLDS).write_text(json.dumps(th, indent=1) + "\n", encoding="utf-8")
        if metrics_path is not None:
            shutil.copy2(metrics_path, root / "metrics.json")
        if training_files:
            (root / "training").mkdir()
            for f in training_files:
                shutil.copy2(f, root / "training" / f.name)
        (root / "README.md").write_text(_readme(manifest), encoding="utf-8")
        manifest["files"] = {
            p.relative_to(root).as_posix(): sha256_of(p)
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
    return {"path": str(out), **manifest}
