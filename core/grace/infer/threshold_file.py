"""The calibrated-thresholds file (``grace calibrate`` writes it; ``grace predict --thresholds``,
``grace val --thresholds`` and the GUI read it): the one reader and writer of its format.

Format (JSON)::

    {"format": "grace thresholds 1",
     "conf": <global threshold>, "per_class": {<class name>: <threshold>, ...},
     "target": {"default": "f1", "per_class": {"scratches": "recall=0.98"}},
     "per_class_metrics": {...}, "global_metrics": {...}, "warnings": [...],
     "model": <weights path>, "model_sha256": <hex>, "data": <data.yaml>,
     "protocol": "deployed", "imgsz": <int>, "rule": <how the thresholds were chosen>}

Only ``conf`` and ``per_class`` decide what is kept (:class:`~grace.infer.thresholds.
ClassThresholds`); the rest documents them. By default it lies beside the weights as
``<weights stem>.thresholds.json`` (one per checkpoint: ``best.pt`` and ``last.pt`` of a run, or
two models in one folder, each keep their own).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.fileio import atomic_write_json
from grace.infer.thresholds import ClassThresholds, make_thresholds

FORMAT = "grace thresholds 1"
SUFFIX = ".thresholds.json"
AUTO = "auto"
DEFAULT_CONF = 0.25  # grace predict's default global threshold


def default_path(weights: str | Path) -> Path:
    """``<dir>/<stem>.thresholds.json`` beside ``weights``."""
    w = Path(weights)
    return w.with_name(w.stem + SUFFIX)


def write_thresholds(path: str | Path, doc: Mapping[str, Any]) -> Path:
    """Write ``doc`` (``conf``, ``per_class`` and the documenting fields) atomically."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise GraceError(f"{path}: is a folder; give a file name for the thresholds")
    atomic_write_json(path, {"format": FORMAT, **doc}, indent=1)
    return path


def resolve_path(spec: str | Path, weights: str | Path) -> Path:
    """``auto`` → :func:`default_path` of ``weights`` (which must exist); else ``spec``."""
    if str(spec) == AUTO:
        path = default_path(weights)
        if not path.is_file():
            raise GraceError(
                f"--thresholds auto: no {path.name} beside {weights}; run grace calibrate "
                f"--weights {weights} --data DATA first, or give --thresholds FILE"
            )
        return path
    return Path(spec)


def read_document(path: str | Path) -> dict[str, Any]:
    """The JSON object of a thresholds file; one :class:`GraceError` line naming the file when it
    is missing or unreadable, or its ``conf`` (default 0.25) or ``per_class`` is not numbers."""
    p = Path(path)
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise GraceError(f"{p}: thresholds file not found") from None
    except OSError as e:
        raise GraceError(f"{p}: not readable ({e.strerror or type(e).__name__})") from None
    except UnicodeDecodeError:
        raise GraceError(f"{p}: not UTF-8 text (not a thresholds file)") from None
    except json.JSONDecodeError as e:
        raise GraceError(f"{p}: not readable JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(doc, dict):
        raise GraceError(f"{p}: not a thresholds file (expected a JSON object)")
    conf = doc.setdefault("conf", DEFAULT_CONF)  # a hand-written file may give classes only
    if isinstance(conf, bool) or not isinstance(conf, (int, float)):
        raise GraceError(f"{p}: 'conf' must be a number, got {conf!r}")
    per_class = doc.get("per_class", {})
    if not isinstance(per_class, dict) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) for v in per_class.values()
    ):
        raise GraceError(f"{p}: 'per_class' must map class names to numbers")
    return doc


def read_thresholds(
    path: str | Path,
    names: list[str],
    weights: str | Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> ClassThresholds:
    """:class:`ClassThresholds` of a thresholds file, against the model's class ``names``.

    Parameters
    ----------
    path
        The file.
    names
        The model's classes; a class of the file that the model lacks is a :class:`GraceError`.
    weights
        The model the thresholds will be used with (a checkpoint, an exported model or a
        package, as given to ``--weights``): when the file records another
        ``model_sha256``, ``warn`` is told (thresholds calibrated for another model).
    warn
        Receives warning lines.
    """
    doc = read_document(path)
    try:
        th = make_thresholds(float(doc["conf"]), dict(doc.get("per_class") or {}), names)
    except GraceError as e:
        raise GraceError(f"{path}: {e}") from None
    recorded = doc.get("model_sha256")
    if weights is not None and warn is not None and recorded and Path(weights).exists():
        from grace.deploy.runtime import model_sha256

        if model_sha256(weights) != recorded:
            warn(
                f"{path}: calibrated for another model ({doc.get('model')}, sha256 "
                f"{str(recorded)[:12]}...) than {weights}; re-run grace calibrate"
            )
    return th


def thresholds_json(th: ClassThresholds, names: list[str]) -> dict[str, Any]:
    """``th`` in this file's format (``conf`` and ``per_class`` by class name)."""
    return {"conf": float(th.conf), "per_class": th.describe(names)}
