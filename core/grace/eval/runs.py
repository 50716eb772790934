"""Reading what ``grace compare`` needs from run directories (the I/O side of the comparison).

A run's figures come from ``<run>/val/metrics.json`` (written by ``grace val``) when present,
else from the ``end`` event of ``<run>/events.jsonl`` (Ultralytics' own validation at the end of
training: no size buckets, no per-class AP, no latency), else from its last ``epoch`` event.

Each row says its **protocol**, and :func:`grace.eval.tables.deltas` compares only rows of one
protocol: ``metrics.json``'s own ``"protocol"`` (``deployed`` or ``ultralytics``; files written
before the field existed are ``ultralytics``), and :data:`PROTOCOL_TRAINING` for figures from
Ultralytics' validation during training (``events.jsonl``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError

METRIC_KEYS = ("mAP50-95", "mAP50", "precision", "recall", "f1")
SIZE_KEYS = ("AP_small", "AP_medium", "AP_large")
SOURCE_VAL = "val/metrics.json"
SOURCE_END = "events.jsonl end (Ultralytics)"
PROTOCOL_VAL_DEFAULT = "ultralytics"  # metrics.json without "protocol" (older grace val)
PROTOCOL_TRAINING = "ultralytics (training)"  # Ultralytics' end-of-training figures


@dataclass
class RunSummary:
    """One row of the comparison; figures are fractions (0..1), None where unknown."""

    name: str
    path: str
    variant: str | None
    source: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    size: dict[str, float | None] = field(default_factory=dict)
    per_class: dict[str, float | None] = field(default_factory=dict)  # AP@0.5:0.95
    parameters: int | None = None
    latency_ms: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # lines of its files that were skipped
    protocol: str = PROTOCOL_TRAINING  # how the figures were measured (Δ only within one)


def _not_utf8(raw: bytes, e: UnicodeDecodeError, at: str = "offset") -> str:
    pos = e.start if at == "offset" else e.start + 1
    return f"not UTF-8 text (byte 0x{raw[e.start]:02x} at {at} {pos})"


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise GraceError(f"{path}: {_not_utf8(raw, e)}") from None
    except OSError as e:
        raise GraceError(f"{path}: not readable ({e.strerror or type(e).__name__})") from None
    except json.JSONDecodeError as e:
        raise GraceError(f"{path}: not readable JSON ({e.msg}, line {e.lineno})") from None


def read_event_lines(path: Path) -> tuple[list[dict], list[str]]:
    """The events of an ``events.jsonl`` and one problem line per line that is not a UTF-8 JSON
    object (skipped, never silently); an unfinished last line (a run being written) is left."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise GraceError(f"{path}: not readable ({e.strerror or type(e).__name__})") from None
    events: list[dict] = []
    problems: list[str] = []
    for n, raw in enumerate(data.splitlines(keepends=True), 1):
        if not raw.endswith(b"\n") or not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.append(f"{path}: line {n} skipped: {_not_utf8(raw, e, 'column')}")
            continue
        except json.JSONDecodeError as e:
            problems.append(f"{path}: line {n} skipped: not valid JSON ({e.msg})")
            continue
        if isinstance(obj, dict):
            events.append(obj)
        else:
            problems.append(f"{path}: line {n} skipped: not a JSON object")
    return events, problems


def _float(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def _clean_key(k: str) -> str:
    return str(k).removeprefix("metrics/").removesuffix("(B)")


def _from_metrics_json(run: RunSummary, metrics_file: Path) -> None:
    m = _read_json(metrics_file)
    if not isinstance(m, dict) or not isinstance(m.get("metrics"), dict):
        raise GraceError(f"{metrics_file}: no 'metrics' object (not written by grace val?)")
    run.source = SOURCE_VAL if metrics_file.parent.name == "val" else "metrics.json"
    run.protocol = str(m.get("protocol") or PROTOCOL_VAL_DEFAULT)
    run.metrics = {k: _float(m["metrics"].get(k)) for k in METRIC_KEYS}
    coco = m.get("coco") or {}
    run.size = {k: _float(coco.get(k)) for k in SIZE_KEYS}
    run.per_class = {
        str(name): _float(v.get("AP50-95")) for name, v in (m.get("per_class") or {}).items()
    }
    cost = m.get("cost") or {}
    run.parameters = cost.get("parameters")
    run.latency_ms = _float(m.get("latency_ms"))
    run.settings = dict(m.get("settings") or {})


def _from_events(run: RunSummary, events_file: Path) -> None:
    events, run.problems = read_event_lines(events_file)
    end = next((e for e in reversed(events) if e.get("type") == "end"), None)
    epoch = next((e for e in reversed(events) if e.get("type") == "epoch"), None)
    if end is not None and end.get("metrics"):
        chosen, run.source = end, SOURCE_END
    elif epoch is not None:
        chosen = epoch
        run.source = f"events.jsonl epoch {epoch.get('epoch')} (Ultralytics; unfinished)"
    else:
        run.source = "no metrics yet"
        return
    raw = {_clean_key(k): _float(v) for k, v in (chosen.get("metrics") or {}).items()}
    p, r = raw.get("precision"), raw.get("recall")
    f1 = None if p is None or r is None else (2 * p * r / (p + r) if p + r > 0 else 0.0)
    run.metrics = {
        "mAP50-95": raw.get("mAP50-95"),
        "mAP50": raw.get("mAP50"),
        "precision": p,
        "recall": r,
        "f1": f1,
    }
    run.size = {k: None for k in SIZE_KEYS}


def _checkpoint_parameters(run_dir: Path) -> int | None:
    """Parameters of ``weights/best.pt`` (else ``last.pt``), as stored; None if unreadable."""
    for name in ("best.pt", "last.pt"):
        ckpt = run_dir / "weights" / name
        if ckpt.is_file():
            try:
                import torch

                import grace.nn  # noqa: F401  (Lite-FEN classes in the pickle)

                obj = torch.load(ckpt, map_location="cpu", weights_only=False)
                model = obj
                if isinstance(obj, dict):
                    model = obj["model"] if obj.get("model") is not None else obj.get("ema")
                return int(sum(p.numel() for p in model.parameters()))
            except Exception:
                return None
    return None


def load_run(path: str | Path) -> RunSummary:
    """Read one run directory (or a ``grace val --out`` directory holding ``metrics.json``).

    Raises
    ------
    GraceError
        When ``path`` is missing or holds neither ``events.jsonl`` nor a ``metrics.json``.
    """
    p = Path(path)
    if not p.exists():
        raise GraceError(f"{p}: not found")
    if not p.is_dir():
        raise GraceError(f"{p}: not a run directory (expected a folder)")
    val_metrics, own_metrics, events = (
        p / "val" / "metrics.json",
        p / "metrics.json",
        p / "events.jsonl",
    )
    if not (val_metrics.is_file() or own_metrics.is_file() or events.is_file()):
        raise GraceError(
            f"{p}: not a run directory (no events.jsonl, val/metrics.json or metrics.json)"
        )
    variant = None
    for cfg in (p / "grace.json", p.parent / "grace.json"):
        if cfg.is_file():
            variant = (_read_json(cfg) or {}).get("variant")
            break
    run = RunSummary(name=p.resolve().name, path=str(p), variant=variant, source="")
    if val_metrics.is_file():
        _from_metrics_json(run, val_metrics)
    elif own_metrics.is_file():
        _from_metrics_json(run, own_metrics)
    else:
        _from_events(run, events)
        run.parameters = _checkpoint_parameters(p)
    return run


def load_runs(paths: list[str | Path]) -> list[RunSummary]:
    """:func:`load_run` for each path; names made unique with their parent folder."""
    runs = [load_run(p) for p in paths]
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1:
            r.name = f"{Path(r.path).resolve().parent.name}/{r.name}"
    return runs
