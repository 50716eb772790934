"""Reading what ``grace compare`` needs from run directories (the I/O side of the comparison).

A run's figures come from ``<run>/val/metrics.json`` (written by ``grace val``) when present,
else from the ``end`` event of ``<run>/events.jsonl`` (Ultralytics' own validation at the end of
training: no size buckets, no per-class AP, no latency), else from its last ``epoch`` event.

Each row says its **protocol**, and :func:`grace.eval.tables.deltas` compares only rows of one
protocol: ``metrics.json``'s own ``"protocol"`` (``deployed`` or ``ultralytics``; files written
before the field existed are ``ultralytics``), and :data:`PROTOCOL_TRAINING` for figures from
Ultralytics' validation during training (``events.jsonl``). Runs evaluated by ``grace val``
under different protocols are refused (:func:`load_runs`); training-log rows never are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError

METRIC_KEYS = ("mAP50-95", "mAP50", "precision", "recall", "f1_dataset", "f1_mean_over_classes")
SIZE_KEYS = ("AP_small", "AP_medium", "AP_large")
SOURCE_VAL = "val/metrics.json"
SOURCE_END = "events.jsonl end (Ultralytics)"
SOURCE_OWN = "metrics.json"  # a grace val --out folder given itself
PREDICTIONS_FILE = "predictions.npz"
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
    # how the figures were measured (Δ only within one): grace val's, or PROTOCOL_TRAINING
    protocol: str = PROTOCOL_TRAINING
    problems: list[str] = field(default_factory=list)  # lines of its files that were skipped
    predictions: str | None = None  # grace val's predictions.npz beside the metrics.json read
    args: dict[str, Any] = field(default_factory=dict)  # the run's args.yaml (training settings)


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
    run.source = SOURCE_VAL if metrics_file.parent.name == "val" else SOURCE_OWN
    run.metrics = {k: _float(m["metrics"].get(k)) for k in METRIC_KEYS}
    if "f1_mean_over_classes" not in m["metrics"]:  # written before both F1s were reported
        run.metrics["f1_mean_over_classes"] = _float(m.get("f1_mean_over_classes"))
    # grace val used Ultralytics' validator before the protocol was recorded
    run.protocol = str(m.get("protocol") or PROTOCOL_VAL_DEFAULT)
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
    # Ultralytics logs P and R (means over classes) but neither F1 reading: 2PR/(P+R) of those
    # means is neither the pooled F1 nor the mean of the per-class F1s, so none is shown
    run.metrics = {
        "mAP50-95": raw.get("mAP50-95"),
        "mAP50": raw.get("mAP50"),
        "precision": raw.get("precision"),
        "recall": raw.get("recall"),
        "f1_dataset": None,
        "f1_mean_over_classes": None,
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


def _read_args(run_dir: Path) -> dict[str, Any]:
    """The training settings of ``args.yaml`` in the run (or, for ``<run>/val``, its parent);
    empty when there is none. A file that is not a YAML mapping is a :class:`GraceError`."""
    for f in (run_dir / "args.yaml", run_dir.parent / "args.yaml"):
        if f.is_file():
            import yaml

            try:
                doc = yaml.safe_load(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
                raise GraceError(f"{f}: not readable YAML ({type(e).__name__})") from None
            if not isinstance(doc, dict):
                raise GraceError(f"{f}: not a YAML mapping of training settings")
            return doc
    return {}


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
    run.args = _read_args(p)
    for metrics_file in (val_metrics, own_metrics):
        if metrics_file.is_file():
            _from_metrics_json(run, metrics_file)
            npz = metrics_file.parent / PREDICTIONS_FILE
            run.predictions = str(npz) if npz.is_file() else None
            break
    else:
        _from_events(run, events)
        run.parameters = _checkpoint_parameters(p)
    return run


def val_evaluated(run: RunSummary) -> bool:
    """Whether ``run``'s figures are ``grace val``'s (a ``metrics.json``), not a training log's."""
    return run.source in (SOURCE_VAL, SOURCE_OWN)


def load_runs(paths: list[str | Path]) -> list[RunSummary]:
    """:func:`load_run` for each path; names made unique with their parent folder.

    Raises
    ------
    GraceError
        When the runs evaluated by ``grace val`` (:func:`val_evaluated`) were evaluated under
        different protocols. Rows from a training log are not refused: they keep their protocol
        (:data:`PROTOCOL_TRAINING`) and get no Δ against a reference of another.
    """
    runs = [load_run(p) for p in paths]
    evaluated = [r for r in runs if val_evaluated(r)]
    protocols = sorted({r.protocol for r in evaluated})
    if len(protocols) > 1:
        listed = ", ".join(f"{r.name}: {r.protocol}" for r in evaluated)
        raise GraceError(
            f"runs evaluated under different grace val protocols ({listed}): their figures are "
            "not comparable; re-run grace val with one --protocol"
        )
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1:
            r.name = f"{Path(r.path).resolve().parent.name}/{r.name}"
    return runs
