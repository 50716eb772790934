"""The Compare table's session (no Qt): which runs, which reference, the rows to show.

:func:`grace.eval.compare.compare` does the work in a thread (a run without
``val/metrics.json`` has its checkpoint opened for the parameter count); :func:`table_rows`
turns its result into cells, each with a sort key and a tooltip. Every row says its protocol,
and a Δ is shown only against a reference of the same protocol ("—" with the reason otherwise).
A comparison the engine refuses (runs evaluated by grace val under different protocols or on
different images: a :class:`~grace.errors.GraceError`) is not an error of the program: the
session keeps the runs as rows without figures and says why in :attr:`CompareSession.error`,
so the user can remove the run at fault.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from psygnal import Signal

from grace.errors import GraceError
from grace.eval.runs import METRIC_KEYS
from grace.eval.tables import DASH, DELTA_HEADERS, MAIN_HEADERS, pct, signed

HEADERS = ("Run", "Variant", "Protocol", *MAIN_HEADERS, "Param (M)", *DELTA_HEADERS[:2], "Source")
DELTA_COLUMNS = (len(HEADERS) - 3, len(HEADERS) - 2)
PROTOCOL_HELP = {
    "deployed": "grace val as deployed: the thresholds and NMS the application uses",
    "ultralytics": "grace val with Ultralytics' validation settings (COCO-style AP)",
    "ultralytics (training)": "Ultralytics' own validation at the end of training (results.csv)",
}


@dataclass(frozen=True)
class Cell:
    text: str
    key: object  # what the column sorts by (numbers as numbers; unknown last)
    tooltip: str = ""


def _num_key(x: float | None) -> tuple[int, float]:
    return (1, 0.0) if x is None else (0, float(x))


def refused_rows(paths: list[str], why: str) -> list[list[Cell]]:
    """One row per run without figures (the comparison was refused), each saying ``why``."""
    rows = []
    for p in paths:
        name = Path(p).name
        rows.append(
            [Cell(name, name.lower(), p)] + [Cell(DASH, (1, 0.0), why) for _ in HEADERS[1:]]
        )
    return rows


def table_rows(result: dict) -> list[list[Cell]]:
    """The cells of :func:`grace.eval.compare.compare`'s ``result``, in :data:`HEADERS` order."""
    ref = result.get("reference_index", 0)
    rows = []
    for i, r in enumerate(result["runs"]):
        params = r.get("parameters")
        delta = r.get("delta", {})
        protocol = r.get("protocol") or DASH
        cells = [
            Cell(r["name"], r["name"].lower(), r.get("path", "")),
            Cell(r.get("variant") or DASH, r.get("variant") or ""),
            Cell(protocol, protocol, PROTOCOL_HELP.get(protocol, "")),
        ]
        for k in METRIC_KEYS:
            v = r["metrics"].get(k)
            cells.append(Cell(pct(v), _num_key(v)))
        m = None if params is None else params / 1e6
        cells.append(Cell(DASH if m is None else f"{m:.2f}", _num_key(m)))
        for k in METRIC_KEYS[:2]:
            if i == ref:
                cells.append(Cell("ref", (0, 0.0), "the reference of every Δ"))
            elif delta.get("not_comparable"):
                cells.append(Cell(DASH, (1, 0.0), delta["not_comparable"]))
            else:
                v = delta.get("metrics", {}).get(k)
                cells.append(Cell(signed(v), _num_key(v), "percentage points against the ref"))
        cells.append(Cell(r.get("source", ""), r.get("source", ""), r.get("source", "")))
        rows.append(cells)
    return rows


class CompareSession:
    """Runs to compare, the reference, and the latest result (computed in a thread)."""

    changed = Signal()  # a new result, a refusal (see `error`) or no runs
    failed = Signal(str, str)  # one line, details: a bug, not a refused comparison

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.reference = 0  # index in `paths`
        self.result: dict | None = None
        self.rows: list[list[Cell]] = []
        self.error = ""  # why the engine refused the comparison of these runs, in one line
        self._lock = threading.Lock()
        self._generation = 0
        self._thread: threading.Thread | None = None

    def set_runs(self, paths: list[str], reference: str | None = None) -> None:
        """Compare ``paths`` (duplicates dropped); ``reference`` a path among them (default:
        the current reference if still there, else the first)."""
        old = self.paths[self.reference] if self.reference < len(self.paths) else None
        self.paths = list(dict.fromkeys(str(p) for p in paths))
        keep = reference if reference in self.paths else old
        self.reference = self.paths.index(keep) if keep in self.paths else 0
        self.refresh()

    def add_run(self, path: str) -> None:
        if str(path) not in self.paths:
            self.set_runs([*self.paths, str(path)])

    def remove(self, indexes: set[int]) -> None:
        self.set_runs([p for i, p in enumerate(self.paths) if i not in indexes])

    def set_reference(self, index: int) -> None:
        if 0 <= index < len(self.paths) and index != self.reference:
            self.reference = index
            self.refresh()

    def refresh(self) -> None:
        """Recompute in a thread; a newer request supersedes an older one still running."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        if not self.paths:
            self.result, self.rows, self.error = None, [], ""
            self.changed.emit()
            return
        paths, reference = list(self.paths), self.reference
        self._thread = threading.Thread(
            target=self._compute, args=(generation, paths, reference), daemon=True
        )
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the latest computation (scripts and tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _compute(self, generation: int, paths: list[str], reference: int) -> None:
        from grace.eval.compare import compare

        try:
            result = compare(paths, reference=reference)
        except GraceError as e:  # refused (or a run unreadable): shown, the runs kept as rows
            with self._lock:
                if generation != self._generation:
                    return
                self.result, self.error = None, str(e)
                self.rows = refused_rows(paths, self.error)
            self.changed.emit()
            return
        except Exception as e:  # a bug: the details go to the notification
            import traceback

            if generation == self._generation:
                self.failed.emit(f"compare: {type(e).__name__}: {e}", traceback.format_exc())
            return
        with self._lock:
            if generation != self._generation:
                return
            self.result, self.rows, self.error = result, table_rows(result), ""
        self.changed.emit()

    @property
    def markdown(self) -> str:
        return "" if self.result is None else self.result["markdown"]

    def names(self) -> list[str]:
        """Run names for the reference chooser (folder names, as the table's)."""
        return [Path(p).name for p in self.paths]
