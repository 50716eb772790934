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


def compare(paths: list[str | Path], out: str | Path | None = None) -> dict[str, Any]:
    """Compare runs; the first is the reference of every Δ.

    Parameters
    ----------
    paths
        Run directories (``grace train`` output), or ``grace val --out`` directories.
    out
        If given, ``compare.md`` and ``compare.csv`` are written there.

    Returns
    -------
    dict
        ``reference`` (first run's name), ``runs`` (each with ``metrics``, ``size``,
        ``per_class`` as fractions, ``parameters``, ``latency_ms``, ``source``, ``problems``
        and ``delta`` in percentage points), ``markdown``, ``csv``, ``files`` (paths written)
        and ``problems`` (every line of the runs' files that was skipped, naming file and line).
    """
    if not paths:
        raise GraceError("compare: give at least one run directory")
    runs = load_runs(list(paths))
    md, table = markdown(runs), csv_text(runs)
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
        "reference": runs[0].name,
        "runs": [{**asdict(r), "delta": d} for r, d in zip(runs, deltas(runs), strict=True)],
        "markdown": md,
        "csv": table,
        "files": files,
        "problems": [p for r in runs for p in r.problems],
    }
