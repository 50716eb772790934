"""Comparison tables in the layout of the paper's Tables 1 and 2 (pure: no I/O).

Figures are shown in percent with two decimals, as the paper; Δ columns are differences
against a reference run (the first unless chosen) in percentage points (computed from the
unrounded figures), and only for runs measured with the reference's protocol: a Δ across
protocols is "—" (see :func:`deltas`). Where the runs have ``predictions.npz``, a further table
gives each Δ of mAP@0.5:0.95, mAP@0.5 and F1 dataset with its 95 % paired-bootstrap interval and
says "not distinguishable" when the interval contains 0; seeds of one variant get a table of
mean ± sd (n) with the same intervals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from grace.eval.runs import METRIC_KEYS, SIZE_KEYS, RunSummary

Intervals = Sequence[dict[str, dict] | None]

DASH = "—"
MAIN_HEADERS = ("mAP@0.5:0.95 (%)", "mAP@0.5 (%)", "P (%)", "R (%)", "F1 dataset (%)",
                "F1 mean over classes (%)")  # fmt: skip
DELTA_HEADERS = ("Δ mAP@0.5:0.95 (pp)", "Δ mAP@0.5 (pp)", "Δ P (pp)", "Δ R (pp)",
                 "Δ F1 dataset (pp)", "Δ F1 mean over classes (pp)")  # fmt: skip
SIZE_HEADERS = ("AP_S (%)", "AP_M (%)", "AP_L (%)")
SIZE_DELTA_HEADERS = ("Δ AP_S (pp)", "Δ AP_M (pp)", "Δ AP_L (pp)")
INTERVAL_NAMES = {"mAP50-95": "mAP@0.5:0.95", "mAP50": "mAP@0.5", "f1_dataset": "F1 dataset"}
METRIC_NAMES = dict(zip(METRIC_KEYS, (h.removesuffix(" (%)") for h in MAIN_HEADERS), strict=True))


def pp(a: float | None, b: float | None) -> float | None:
    """``a - b`` in percentage points (both fractions); None if either is unknown."""
    return None if a is None or b is None else 100.0 * (a - b)


def pct(x: float | None) -> str:
    return DASH if x is None else f"{100.0 * x:.2f}"


def signed(x: float | None) -> str:
    return DASH if x is None else f"{round(x, 2) + 0.0:+.2f}"  # + 0.0: no "-0.00"


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


def interval_text(iv: dict | None) -> str:
    """``+1.00 [+0.20, +1.80]``, followed by ``not distinguishable`` when the interval holds 0;
    a dash without an interval."""
    if iv is None:
        return DASH
    text = f"{signed(iv['delta'])} [{signed(iv['low'])}, {signed(iv['high'])}]"
    return f"{text} {iv['verdict']}" if iv["verdict"] == "not distinguishable" else text


def intervals_markdown(
    runs: Sequence[RunSummary], intervals: Intervals, bootstrap: dict | None, reference: int = 0
) -> str:
    """The Δ of each run against ``runs[reference]`` with its 95 % interval (markdown); a run
    without one (no predictions.npz, or another protocol than the reference's) has "—"."""
    if bootstrap is None:
        return "No confidence intervals: the reference and at least one other run need grace " \
               "val's predictions.npz."  # fmt: skip
    headers = ["Model"] + [f"Δ {n} (pp) [95 % CI]" for n in INTERVAL_NAMES.values()]
    rows = [
        [model_label(r)]
        + (["ref"] * len(INTERVAL_NAMES) if i == reference else
           [interval_text((iv or {}).get(k)) for k in INTERVAL_NAMES])
        for i, (r, iv) in enumerate(zip(runs, intervals, strict=True))
    ]  # fmt: skip
    return "\n".join([_md_table(headers, rows), "", f"Intervals: {bootstrap['rule']}."])


def _mean_sd(a: dict) -> str:
    if a["mean"] is None:
        return DASH
    sd = DASH if a["sd"] is None else f"{100 * a['sd']:.2f}"
    return f"{100 * a['mean']:.2f} ± {sd} (n={a['n']})"


def aggregates_markdown(aggregates: Sequence[dict], show_protocol: bool = False) -> str:
    """Seeds of one variant: mean ± sd (n) of each headline figure, and the Δ of the means
    against the reference's seeds with its interval (markdown); "—" for seeds of another
    protocol than the reference's. ``show_protocol``: name each group's protocol (when the
    compared runs are of more than one)."""
    headers = ["Variant (seeds)"] + [f"{n} (%)" for n in METRIC_NAMES.values()]
    headers += [f"Δ {n} (pp) [95 % CI]" for n in INTERVAL_NAMES.values()]
    rows = []
    for a in aggregates:
        protocol = f"; protocol {a['protocol']}" if show_protocol and a.get("protocol") else ""
        row = [f"{a['label']} (seeds {', '.join(map(str, a['seeds']))}{protocol})"]
        row += [_mean_sd(a["metrics"][k]) for k in METRIC_KEYS]
        if a["reference"]:
            row += ["ref"] * len(INTERVAL_NAMES)
        else:
            ivs = a["intervals"] or {}
            row += [
                interval_text(ivs.get(k)) if ivs else signed(a["delta"].get(k))
                for k in INTERVAL_NAMES
            ]
        rows.append(row)
    note = (
        "Mean ± sample standard deviation over seeds (n: runs with that figure); Δ: mean over "
        "these seeds minus the mean over the reference's seeds (the reference's variant, or the "
        "reference alone), only for seeds of the reference's protocol; its interval from the "
        "bootstrap of the mean over seeds."
    )
    return "\n".join([_md_table(headers, rows), "", note])


def markdown(
    runs: Sequence[RunSummary],
    intervals: Intervals | None = None,
    aggregates: Sequence[dict] | None = None,
    bootstrap: dict | None = None,
    reference: int = 0,
) -> str:
    """Three markdown tables (headline as Tables 1/2, COCO size buckets, AP per class), the Δs
    with their intervals, the seeds aggregated, and notes on the sources and protocols of the
    figures; every Δ against ``runs[reference]``."""
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
    intervals = intervals or [None] * len(runs)
    parts = [main, "", intervals_markdown(runs, intervals, bootstrap, reference), ""]
    if aggregates:
        mixed = len({r.protocol for r in runs}) > 1
        parts += [aggregates_markdown(aggregates, show_protocol=mixed), ""]
    parts += [size, ""]
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
        "metrics.json: `grace val` (COCO 101-point AP; F1 dataset = the paper's equation 5, "
        "2TP/(2TP+FP+FN) on TP, FP, FN pooled over all classes at the confidence maximising it; "
        "F1 mean over classes = the mean of the per-class F1 at the confidence maximising that "
        "mean, where P and R are the means over classes; AP_S/M/L by pycocotools; Param as "
        "stored; latency per image). events.jsonl: Ultralytics' validation during training (its "
        "P and R; no F1 of either kind, no size buckets, per-class AP or latency)."
    )
    return "\n".join(parts) + "\n"


def _interval_cells(ivs: dict | None) -> list[str]:
    out = []
    for k in INTERVAL_NAMES:
        iv = (ivs or {}).get(k)
        out += ["", "", ""] if iv is None else [f"{iv['low']:.4f}", f"{iv['high']:.4f}",
                                                iv["verdict"]]  # fmt: skip
    return out


def csv_text(
    runs: Sequence[RunSummary],
    intervals: Intervals | None = None,
    aggregates: Sequence[dict] | None = None,
    reference: int = 0,
) -> str:
    """One CSV row per run: protocol, headline figures (%), Param (M), latency, size buckets, AP
    per class, every Δ (pp, against ``runs[reference]``, empty across protocols) and the 95 %
    interval and verdict of the bootstrapped Δs; then one row per group of seeds (``run`` = its
    label, ``n seeds``, figures = means, ``sd`` columns); empty cells where unknown."""
    ds = deltas(runs, reference)
    names = class_names(runs)
    intervals = intervals or [None] * len(runs)
    header = ["Model", "run", "path", "variant", "source", "protocol", *MAIN_HEADERS, "Param (M)"]
    header += ["Latency (ms/img)", *SIZE_HEADERS, *DELTA_HEADERS, *SIZE_DELTA_HEADERS]
    header += [f"AP@0.5:0.95 {c} (%)" for c in names] + [f"Δ AP@0.5:0.95 {c} (pp)" for c in names]
    for n in INTERVAL_NAMES.values():
        header += [f"Δ {n} CI low (pp)", f"Δ {n} CI high (pp)", f"Δ {n} verdict"]
    header += ["n seeds", "seeds"] + [f"{n} sd (pp)" for n in METRIC_NAMES.values()]

    def cell(x: float | None, scale: float = 1.0) -> str:
        return "" if x is None else f"{x * scale:.4f}"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r, d, iv in zip(runs, ds, intervals, strict=True):
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
            + _interval_cells(iv)
            + [""] * (2 + len(METRIC_KEYS))
        )
    for a in aggregates or []:
        m = a["metrics"]
        w.writerow(
            [f"{a['label']} (mean of seeds)", a["label"], "", a["variant"] or "", "seeds"]
            + [a.get("protocol") or ""]
            + [cell(m[k]["mean"], 100) for k in METRIC_KEYS]
            + ["", ""]
            + [""] * len(SIZE_HEADERS)
            + [cell(a["delta"].get(k)) for k in METRIC_KEYS]
            + [""] * len(SIZE_DELTA_HEADERS)
            + [""] * (2 * len(names))
            + _interval_cells(a["intervals"])
            + [str(len(a["seeds"])), " ".join(map(str, a["seeds"]))]
            + [cell(m[k]["sd"], 100) for k in METRIC_KEYS]
        )
    return buf.getvalue()
