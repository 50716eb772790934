"""``grace compare``: one table across run directories (paper Tables 1 and 2 layout)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.eval.runs import load_runs
from grace.eval.tables import csv_text, deltas, markdown
from grace.fileio import atomic_write_text

MARKDOWN_FILE = "compare.md"
CSV_FILE = "compare.csv"


def compare(
    paths: list[str | Path], out: str | Path | None = None, reference: int = 0
) -> dict[str, Any]:
    """Compare runs against ``paths[reference]`` (the first unless chosen); a Δ only between
    runs of one protocol (:func:`grace.eval.tables.deltas`).

    Parameters
    ----------
    paths
        Run directories (``grace train`` output), or ``grace val --out`` directories.
    out
        If given, ``compare.md`` and ``compare.csv`` are written there.
    reference
        Index in ``paths`` of the run every Δ is taken against.

    Returns
    -------
    dict
        ``reference`` (its name), ``reference_index``, ``runs`` (each with ``metrics``,
        ``size``, ``per_class`` as fractions, ``parameters``, ``latency_ms``, ``source``,
        ``protocol``, ``problems`` and ``delta`` in percentage points, with
        ``delta["not_comparable"]`` saying why when the protocols differ), ``markdown``, ``csv``,
        ``files`` (paths written)
        and ``problems`` (every line of the runs' files that was skipped, naming file and line).
    """
    if not paths:
        raise GraceError("compare: give at least one run directory")
    if not 0 <= reference < len(paths):
        raise GraceError(f"compare: reference {reference} is not one of the {len(paths)} runs")
    runs = load_runs(list(paths))
    md, table = markdown(runs, reference), csv_text(runs, reference)
    files: dict[str, str] = {}
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise GraceError(f"{out}: output path exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / MARKDOWN_FILE, md)
        atomic_write_text(out / CSV_FILE, table)
        files = {"markdown": str(out / MARKDOWN_FILE), "csv": str(out / CSV_FILE)}
    return {
        "reference": runs[reference].name,
        "reference_index": reference,
        "runs": [
            {**asdict(r), "delta": d} for r, d in zip(runs, deltas(runs, reference), strict=True)
        ],
        "markdown": md,
        "csv": table,
        "files": files,
        "problems": [p for r in runs for p in r.problems],
    }
