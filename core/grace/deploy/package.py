"""Model packages: one folder (or zip) that the line takes and nothing else.

Layout of a package ``PKG/``::

    package.json        the manifest: formats, classes, input size, thresholds, metrics with
                        their protocol, training settings, dataset hash, grace version, and the
                        SHA-256 of every other file
    model.pt            the PyTorch checkpoint (format "pt")
    model_openvino_model/   OpenVINO FP32 (format "openvino"; "openvino-int8": model_int8_...)
    model.onnx          ONNX (format "onnx")
    thresholds.json     the thresholds file (:mod:`grace.infer.threshold_file`'s format:
                        ``conf``, ``per_class`` by class name, and what documents them)
    metrics.json        the run's ``grace val`` metrics, when known
    training/           the run's args.yaml and grace.json, when known
    README.md           for the line

``--weights PKG`` (folder or ``.zip``) works wherever a model is accepted
(:func:`grace.deploy.runtime.resolve_model` calls :func:`open_package`); every file is checked
against its SHA-256 first, and a package's thresholds (its ``thresholds.json``, read by the one
reader :func:`grace.infer.threshold_file.read_thresholds`) apply unless the user sets others.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from grace.data.images import sha256_file
from grace.deploy.runtime import ModelRef, openvino_precision
from grace.errors import GraceError

MANIFEST = "package.json"
THRESHOLDS = "thresholds.json"
FORMAT_ORDER = ("openvino", "onnx", "pt")  # what a package runs by default, fastest first
PACKAGE_FORMATS = ("pt", "openvino", "onnx")
SCHEMA = 1


# ----------------------------------------------------------------------------- opening


_UNPACKED: dict[tuple[str, int, int], Path] = {}


def _cleanup() -> None:
    for folder in _UNPACKED.values():
        shutil.rmtree(folder, ignore_errors=True)


def _unzip(path: Path) -> Path:
    """The package zip unpacked once per process into a temporary folder (removed at exit)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _UNPACKED and _UNPACKED[key].is_dir():
        return _UNPACKED[key]
    folder = Path(tempfile.mkdtemp(prefix="grace-package-"))
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                target = (folder / info.filename).resolve()
                if not target.is_relative_to(folder.resolve()):
                    raise GraceError(f"{path}: unsafe file name in the zip ({info.filename})")
            z.extractall(folder)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise GraceError(f"{path}: not a readable package zip ({type(e).__name__})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not _UNPACKED:
        atexit.register(_cleanup)
    inner = [p for p in folder.iterdir() if p.is_dir()]
    root = folder if (folder / MANIFEST).is_file() else (inner[0] if len(inner) == 1 else folder)
    _UNPACKED[key] = root
    return root


def read_manifest(folder: Path, where: str | Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraceError(f"{where}: not a model package (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GraceError(f"{where}: {MANIFEST} is not readable JSON ({type(e).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise GraceError(f"{where}: {MANIFEST} has no file list; not a grace model package")
    if int(manifest.get("schema", 0)) > SCHEMA:
        raise GraceError(f"{where}: package schema {manifest['schema']} is newer than this grace")
    return manifest


def verify_files(folder: Path, manifest: dict, where: str | Path) -> None:
    """Every file listed in the manifest is there with its SHA-256; one line naming the first
    that is missing or differs."""
    for rel, digest in sorted(manifest["files"].items()):
        f = folder / rel
        if not f.is_file():
            raise GraceError(f"{where}: {rel} is listed in {MANIFEST} but missing")
        if sha256_file(f) != digest:
            raise GraceError(
                f"{where}: {rel} does not match its SHA-256 in {MANIFEST} (changed or damaged)"
            )


def open_package(path: str | Path, prefer: str | None = None) -> ModelRef:
    """Open and verify a package (folder or zip) as a :class:`ModelRef` of one of its formats
    (``prefer`` if it holds it, else OpenVINO, ONNX, PyTorch in that order)."""
    p = Path(path)
    folder = _unzip(p) if p.is_file() else p
    manifest = read_manifest(folder, p)
    verify_files(folder, manifest, p)
    formats: dict = manifest.get("formats") or {}
    order = ([prefer] if prefer else []) + [f for f in FORMAT_ORDER if f != prefer]
    kind = next((f for f in order if f in formats), None)
    if kind is None:
        raise GraceError(f"{p}: the package holds no model ({MANIFEST} lists no format)")
    return ModelRef(
        p,
        kind,
        folder / formats[kind],
        package=folder,
        thresholds=folder / THRESHOLDS if THRESHOLDS in manifest["files"] else None,
        imgsz=manifest.get("imgsz"),
        manifest=manifest,
        precision=openvino_precision(folder / formats[kind]) if kind == "openvino" else "auto",
    )
