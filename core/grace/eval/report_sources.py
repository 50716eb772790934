"""What ``grace report`` reads: the run or checkpoint, its evaluation, its identity, thresholds.

- A run directory ``RUN``: its ``weights/best.pt`` (else ``last.pt``, said so). Its ``val/``
  evaluation is reused when it holds all four files of ``grace val`` (``metrics.json``,
  ``pr_curves.json``, ``errors.json``, ``predictions.npz``) for that checkpoint (the recorded
  weights are that file, or ``weights/best.pt`` of a run that was moved), under the deployed
  protocol, written after the checkpoint, on the same data and ``--imgsz`` when those are given;
  otherwise ``grace val`` runs into ``RUN/val`` and the report says why.
- ``--weights W --data D``: ``grace val`` runs into ``--val-out`` or a temporary folder.
- Model identity: path, SHA-256, variant (``grace.json`` of the run), training settings
  (``args.yaml``, else the ``start`` event of ``events.jsonl``, else the checkpoint's
  ``train_args``).
- Thresholds: ``--thresholds FILE``, else ``thresholds.json`` beside the weights, else none
  (the global operating point). A file given with ``--thresholds`` that cannot be used is an
  error; one found beside the weights is a problem line and the report goes on without it.

Every file that cannot be read is one line in ``problems`` naming it; nothing is skipped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.eval.validate import ERRORS_FILE, METRICS_FILE, PR_CURVES_FILE, PREDICTIONS_FILE

VAL_FILES = (METRICS_FILE, PR_CURVES_FILE, ERRORS_FILE, PREDICTIONS_FILE)
#: training settings shown first (the rest is in a collapsed table)
KEY_SETTINGS = (
    "model",
    "data",
    "epochs",
    "imgsz",
    "batch",
    "optimizer",
    "lr0",
    "seed",
    "device",
    "cls_pw",
    "pretrained",
)


def read_json(path: Path) -> Any:
    """JSON of ``path`` or a one-line :class:`GraceError` naming it."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as e:
        raise GraceError(f"{path}: not readable ({e.strerror or type(e).__name__})") from None
    except UnicodeDecodeError as e:
        raise GraceError(f"{path}: not UTF-8 text (byte at offset {e.start})") from None
    except json.JSONDecodeError as e:
        raise GraceError(f"{path}: not readable JSON ({e.msg}, line {e.lineno})") from None


@dataclass
class ReportInputs:
    """The checkpoint, the dataset and how the evaluation is obtained."""

    weights: Path
    data: str | None
    run: Path | None
    val_dir: Path | None  # where the evaluation is or goes (None: a temporary folder)
    reuse: bool
    why: str  # why the evaluation is reused or (re-)run
    notes: list[str] = field(default_factory=list)


def _same_checkpoint(recorded: str, best: Path) -> bool:
    p = Path(recorded)
    if p.resolve() == best.resolve():
        return True
    return p.parts[-2:] == ("weights", best.name)  # the run's own checkpoint, the run moved


def _reuse_reason(val: Path, weights: Path, data: str | None, imgsz: int | None) -> str | None:
    """None when ``val`` holds a usable evaluation of ``weights``, else why not (words)."""
    missing = [f for f in VAL_FILES if not (val / f).is_file()]
    if missing:
        return f"{val} has no {', '.join(missing)}"
    try:
        m = read_json(val / METRICS_FILE)
    except GraceError as e:
        return str(e)
    if not isinstance(m, dict) or not isinstance(m.get("metrics"), dict):
        return f"{val / METRICS_FILE} was not written by grace val"
    if not _same_checkpoint(str(m.get("weights", "")), weights):
        return f"{val / METRICS_FILE} evaluates {m.get('weights')}, not {weights}"
    if m.get("protocol") != "deployed":
        return f"{val / METRICS_FILE} is under the {m.get('protocol') or 'ultralytics'} protocol"
    if weights.stat().st_mtime > (val / METRICS_FILE).stat().st_mtime:
        return f"{weights} is newer than {val / METRICS_FILE}"
    if data is not None and Path(str(m.get("data"))).resolve() != Path(data).resolve():
        return f"{val / METRICS_FILE} is on {m.get('data')}, not {data}"
    got = (m.get("settings") or {}).get("imgsz")
    if imgsz is not None and got != imgsz:
        return f"{val / METRICS_FILE} is at imgsz {got}, not {imgsz}"
    return None


def _run_data(run: Path) -> str | None:
    """The data.yaml a run was trained on (``args.yaml``), if it still exists."""
    settings, _, _ = training_settings(run, None)
    d = settings.get("data")
    return str(d) if d and Path(str(d)).is_file() else None


def resolve_inputs(
    run: str | None,
    weights: str | None,
    data: str | None,
    imgsz: int | None,
    val_out: str | None,
) -> ReportInputs:
    """Which checkpoint and data, and whether an existing evaluation is reused (module rules).

    Raises
    ------
    GraceError
        Neither or both of ``RUN`` and ``--weights``; ``--weights`` without ``--data``; a run
        folder without a checkpoint; a run whose dataset is unknown and no ``--data``.
    """
    if (run is None) == (weights is None):
        raise GraceError("report: give a run directory or --weights with --data (not both)")
    if run is None:
        if data is None:
            raise GraceError("--weights needs --data (the dataset to evaluate on)")
        why = f"evaluated now into {val_out}" if val_out else "evaluated now (temporary folder)"
        return ReportInputs(
            Path(weights), data, None, Path(val_out) if val_out else None, False, why
        )
    r = Path(run)
    if not r.is_dir():
        raise GraceError(f"{run}: not a run directory (not found or not a folder)")
    notes = []
    w = r / "weights" / "best.pt"
    if not w.is_file():
        last = r / "weights" / "last.pt"
        if not last.is_file():
            raise GraceError(f"{run}: no weights/best.pt or weights/last.pt (not a trained run?)")
        notes.append(f"{w} not found: the report is on {last} (the last epoch, not the best)")
        w = last
    val = r / "val"
    reason = _reuse_reason(val, w, data, imgsz)
    if reason is None:
        return ReportInputs(w, data, r, val, True, f"reused {val} (grace val)", notes)
    if data is None:
        data = _run_data(r)
        if data is None:
            raise GraceError(
                f"{run}: the dataset it was trained on (args.yaml 'data') is not found; pass --data"
            )
    return ReportInputs(w, data, r, val, False, f"evaluated now into {val}: {reason}", notes)


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        obj = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise GraceError(f"{path}: not readable YAML ({type(e).__name__})") from None
    if not isinstance(obj, dict):
        raise GraceError(f"{path}: not a mapping")
    return obj


def training_settings(run: Path | None, ckpt: dict | None) -> tuple[dict, str, list[str]]:
    """The training arguments, where they came from, and a problem line per unreadable file."""
    problems: list[str] = []
    if run is not None:
        args = run / "args.yaml"
        if args.is_file():
            try:
                return _read_yaml(args), str(args), problems
            except GraceError as e:
                problems.append(str(e))
        events = run / "events.jsonl"
        if events.is_file():
            from grace.eval.runs import read_event_lines

            found, skipped = read_event_lines(events)
            problems += skipped
            start = next((e for e in found if e.get("type") == "start"), None)
            if start and isinstance(start.get("config"), dict):
                return dict(start["config"]), f"{events} (start event)", problems
    args = (ckpt or {}).get("train_args")
    if isinstance(args, dict):
        return dict(args), "the checkpoint's train_args", problems
    return {}, "not recorded", problems


def variant_of(weights: Path, run: Path | None) -> tuple[str | None, dict, list[str]]:
    """The GRACE variant and its module settings from ``grace.json`` of the run (or beside the
    weights); ``(None, {}, [])`` when there is none."""
    for folder in [p for p in (run, weights.parent.parent, weights.parent) if p is not None]:
        cfg = folder / "grace.json"
        if cfg.is_file():
            try:
                obj = read_json(cfg)
            except GraceError as e:
                return None, {}, [str(e)]
            if isinstance(obj, dict):
                return obj.get("variant"), obj, []
            return None, {}, [f"{cfg}: not a JSON object"]
    return None, {}, []


@dataclass
class Thresholds:
    """Per-class confidence thresholds in force for the per-class table."""

    per_class: dict[str, float]
    source: str  # the file, or a description of the global operating point
    calibrated: bool
    from_global: list[str] = field(default_factory=list)  # classes the file left to "conf"


def read_thresholds(path: Path, names: list[str]) -> Thresholds:
    """A thresholds file (what ``grace calibrate`` writes), read by the one reader
    (:func:`grace.infer.threshold_file.read_thresholds`), as the per-class table uses it: a
    class the file does not list takes its ``conf``."""
    from grace.infer.threshold_file import read_thresholds as read_file

    th = read_file(path, names)
    per_class = {n: float(th.per_class.get(i, th.conf)) for i, n in enumerate(names)}
    rest = [n for i, n in enumerate(names) if i not in th.per_class]
    return Thresholds(per_class, str(path), True, rest)


def find_thresholds(
    explicit: str | None, weights: Path, names: list[str], global_conf: float
) -> tuple[Thresholds, list[str]]:
    """The thresholds in force and problem lines (module rules)."""
    if explicit is not None:
        return read_thresholds(Path(explicit), names), []
    from grace.infer.threshold_file import default_path

    beside = default_path(weights)  # <weights stem>.thresholds.json, as grace calibrate writes
    problems = []
    if beside.is_file():
        try:
            return read_thresholds(beside, names), []
        except GraceError as e:
            problems.append(f"{e} (not used: the table is at the global operating point)")
    source = (
        f"global operating point: confidence {global_conf:g} for every class (the one "
        "maximising the mean over classes of F1, grace val); no calibrated thresholds"
    )
    return Thresholds(dict.fromkeys(names, global_conf), source, False), problems
