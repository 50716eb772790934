"""Comparison tables in the layout of the paper's Tables 1 and 2 (pure: no I/O).

Figures are shown in percent with two decimals, as the paper; Δ columns are differences
against a reference run (the first unless chosen) in percentage points (computed from the
unrounded figures), and only for runs measured with the reference's protocol: a Δ across
protocols is "—" (see :func:`deltas`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from grace.eval.runs import METRIC_KEYS, SIZE_KEYS, RunSummary

DASH = "—"
MAIN_HEADERS = ("mAP@0.5:0.95 (%)", "mAP@0.5 (%)", "P (%)", "R (%)", "F1 (%)")
DELTA_HEADERS = ("Δ mAP@0.5:0.95 (pp)", "Δ mAP@0.5 (pp)", "Δ P (pp)", "Δ R (pp)", "Δ F1 (pp)")
SIZE_HEADERS = ("AP_S (%)", "AP_M (%)", "AP_L (%)")
SIZE_DELTA_HEADERS = ("Δ AP_S (pp)", "Δ AP_M (pp)", "Δ AP_L (pp)")


def pp(a: float | None, b: float | None) -> float | None:
    """``a - b`` in percentage points (both fractions); None if either is unknown."""
    return None if a is None or b is None else 100.0 * (a - b)


def pct(x: float | None) -> str:
    return DASH if x is None else f"{100.0 * x:.2f}"


def signed(x: float | None) -> str:
    return DASH if x is None else f"{x:+.2f}"


def _num(x: float | None, fmt: str) -> str:
    return DASH if x is None else format(x, fmt)


def model_label(run: RunSummary) -> str:
    return f"{run.name} ({run.variant})" if run.variant else run.name


def class_names(runs: Sequence[RunSummary]) -> list[str]:
    """Union of the runs' class names, in order of first appearance."""
    seen: dict[str, None] = {}
    for r in runs:
        seen.update(dict.fromkeys(r.per_class))
    return list(seen)


def not_comparable(run: RunSummary, ref: RunSummary) -> str:
    """Why ``run`` has no Δ against ``ref`` (another protocol), or ``""``."""
    if run.protocol == ref.protocol:
        return ""
    return (
        f"no Δ: {run.name} was measured with the {run.protocol} protocol, the reference "
        f"{ref.name} with {ref.protocol}; figures of different protocols are not comparable"
    )


def deltas(runs: Sequence[RunSummary], reference: int = 0) -> list[dict[str, Any]]:
    """Per run: Δ (pp) of each headline metric, size bucket and class AP against
    ``runs[reference]``, for runs of the reference's protocol.

    The reference's entries are empty (it is the reference); a run of another protocol has
    empty entries and ``not_comparable``, the reason in one sentence.
    """
    ref = runs[reference]
    out = []
    for i, r in enumerate(runs):
        if i == reference or not_comparable(r, ref):
            why = {"not_comparable": not_comparable(r, ref)} if i != reference else {}
            out.append({"metrics": {}, "size": {}, "per_class": {}, **why})
            continue
        out.append(
            {
                "metrics": {k: pp(r.metrics.get(k), ref.metrics.get(k)) for k in METRIC_KEYS},
                "size": {k: pp(r.size.get(k), ref.size.get(k)) for k in SIZE_KEYS},
                "per_class": {
                    c: pp(r.per_class.get(c), ref.per_class.get(c)) for c in class_names(runs)
                },
            }
        )
    return out


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _delta_cells(d: dict[str, float | None], keys: Sequence[str], first: bool) -> list[str]:
    return ["ref" if first else signed(d.get(k)) for k in keys]


def markdown(runs: Sequence[RunSummary], reference: int = 0) -> str:
    """Three markdown tables (headline as Tables 1/2, COCO size buckets, AP per class) and
    notes on the sources and protocols of the figures."""
    ds = deltas(runs, reference)
    main_rows, size_rows = [], []
    for i, (r, d) in enumerate(zip(runs, ds, strict=True)):
        main_rows.append(
            [model_label(r)]
            + [pct(r.metrics.get(k)) for k in METRIC_KEYS]
            + [_num(None if r.parameters is None else r.parameters / 1e6, ".2f")]
            + [_num(r.latency_ms, ".2f")]
            + _delta_cells(d["metrics"], METRIC_KEYS, i == reference)
        )
        size_rows.append(
            [model_label(r)]
            + [pct(r.size.get(k)) for k in SIZE_KEYS]
            + _delta_cells(d["size"], SIZE_KEYS, i == reference)
        )
    names = class_names(runs)
    class_headers = ["Class"]
    for i, r in enumerate(runs):
        class_headers.append(f"{r.name} AP@0.5:0.95 (%)")
        if i != reference:
            class_headers.append(f"Δ {r.name} (pp)")
    class_rows = []
    for c in names:
        row = [c]
        for i, (r, d) in enumerate(zip(runs, ds, strict=True)):
            row.append(pct(r.per_class.get(c)))
            if i != reference:
                row.append(signed(d["per_class"].get(c)))
        class_rows.append(row)

    main = _md_table(
        ["Model", *MAIN_HEADERS, "Param (M)", "Latency (ms/img)", *DELTA_HEADERS], main_rows
    )
    size = _md_table(["Model", *SIZE_HEADERS, *SIZE_DELTA_HEADERS], size_rows)
    parts = [main, "", size, ""]
    if names:
        parts += [_md_table(class_headers, class_rows), ""]
    else:
        parts += ["No per-class AP (no run has val/metrics.json).", ""]
    ref = runs[reference]
    parts += [
        f"Δ: percentage points against {model_label(ref)}, only for runs of its protocol "
        f"({ref.protocol}); — where the protocols differ.",
        "",
    ]
    parts += ["Sources:", *(f"- {r.name}: {r.source} (protocol {r.protocol})" for r in runs), ""]
    parts.append(
        "metrics.json: `grace val` (COCO 101-point AP; P, R at the confidence maximising the "
        "mean F1; AP_S/M/L by pycocotools; Param as stored; latency = pre-process + inference + "
        "post-process per image). events.jsonl: Ultralytics' validation during training "
        "(F1 = 2PR/(P+R) of its P and R; no size buckets, per-class AP or latency)."
    )
    return "\n".join(parts) + "\n"


def csv_text(runs: Sequence[RunSummary], reference: int = 0) -> str:
    """One CSV row per run: headline figures (%), Param (M), latency, size buckets, AP per class
    and every Δ (pp); empty cells where unknown."""
    ds = deltas(runs, reference)
    names = class_names(runs)
    header = ["Model", "run", "path", "variant", "source", "protocol", *MAIN_HEADERS, "Param (M)"]
    header += ["Latency (ms/img)", *SIZE_HEADERS, *DELTA_HEADERS, *SIZE_DELTA_HEADERS]
    header += [f"AP@0.5:0.95 {c} (%)" for c in names] + [f"Δ AP@0.5:0.95 {c} (pp)" for c in names]

    def cell(x: float | None, scale: float = 1.0) -> str:
        return "" if x is None else f"{x * scale:.4f}"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r, d in zip(runs, ds, strict=True):
        w.writerow(
            [model_label(r), r.name, r.path, r.variant or "", r.source, r.protocol]
            + [cell(r.metrics.get(k), 100) for k in METRIC_KEYS]
            + [cell(None if r.parameters is None else r.parameters / 1e6)]
            + [cell(r.latency_ms)]
            + [cell(r.size.get(k), 100) for k in SIZE_KEYS]
            + [cell(d["metrics"].get(k)) for k in METRIC_KEYS]
            + [cell(d["size"].get(k)) for k in SIZE_KEYS]
            + [cell(r.per_class.get(c), 100) for c in names]
            + [cell(d["per_class"].get(c)) for c in names]
        )
    return buf.getvalue()
