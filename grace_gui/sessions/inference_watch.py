"""The Inference tab's "Watch folder" source, off the GUI thread (no Qt here).

The job is the engine's :func:`grace.deploy.inspect.run_inspect` — what ``grace inspect`` runs —
with the session's model (from the predictor cache), device and thresholds (the tab's sliders
decide the verdict, exactly as ``--conf``/``--class-conf`` do on the command line). Each decoded
image goes into the session's :class:`~grace_gui.sessions.inference_job.ResultBuffer` (so the
view and the table work as for a folder), each committed record into a :class:`VerdictTally`
(the OK/NG counters). The records, the NG verdicts and the uncertain detections land in the
results store beside the folder (``<folder>.inspect.sqlite``), which the Review tab opens.
Pausing holds the watch after the current image: files dropped meanwhile are taken on resume;
Stop ends it after the current image, and a later start takes only what is new.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grace.infer.stamp import make_stamp
from grace.infer.thresholds import ClassThresholds
from grace_gui.sessions.inference_job import (
    PREDICTORS,
    PredictorCache,
    ResultBuffer,
    hold_while_paused,
)

WATCH = "Watch folder"  # the source kind
STATUSES = ("OK", "NG", "corrupt", "vanished")


@dataclass(frozen=True)
class Tally:
    """The counters at one moment: files per status, the latest file's name, status and
    latency (ms), and the files that could not be inspected (``file``, ``reason``)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    last: tuple[str, str, float | None] | None = None
    problems: tuple[dict, ...] = ()

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    def text(self) -> str:
        """``OK 9 · NG 3`` and, when any, ``· 1 corrupt · 1 vanished``.

        >>> Tally({"OK": 9, "NG": 3, "corrupt": 1, "vanished": 0}).text()
        'OK 9 · NG 3 · 1 corrupt'
        """
        c = self.counts
        bad = [f"{c[s]} {s}" for s in ("corrupt", "vanished") if c[s]]
        return " · ".join([f"OK {c['OK']}", f"NG {c['NG']}", *bad])


class VerdictTally:
    """Counts the job's records (worker thread: :meth:`add`; GUI thread: :meth:`snapshot`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally = Tally()

    def add(self, row) -> None:
        """Count one :class:`grace.deploy.results.Inspection`."""
        with self._lock:
            t = self._tally
            counts = dict(t.counts, **{row.status: t.counts[row.status] + 1})
            problems = t.problems
            if row.status in ("corrupt", "vanished"):
                problems = (*problems, {"file": row.path, "reason": row.detail or row.status})
            self._tally = Tally(counts, (row.name, row.status, row.latency_ms), problems)

    def snapshot(self) -> Tally:
        with self._lock:
            return self._tally


@dataclass(frozen=True)
class WatchSummary:
    """How a watch ended: the engine's summary and the files it could not inspect (shown like a
    folder run's skipped files)."""

    inspect: object  # grace.deploy.inspect.InspectSummary
    skipped: tuple[dict, ...]

    def counts(self) -> str:
        """``stopped · 8 files in 25.4 s · OK 3 · NG 4 · 1 corrupt``."""
        s = self.inspect
        c = s.counts
        bad = "".join(f" · {c[k]} {k}" for k in ("corrupt", "vanished") if c[k])
        return (f"{s.stop_reason} · {s.taken} files in {s.elapsed_s:.1f} s · OK {c['OK']} · "
                f"NG {c['NG']}{bad}")  # fmt: skip

    def line(self) -> str:
        """:meth:`counts` and the results store's file name."""
        return f"{self.counts()} · results in {Path(self.inspect.store).name}"


def by_name(thresholds: ClassThresholds, names: list[str]) -> dict[str, float]:
    """The per-class thresholds as ``{class name: value}`` (what ``--class-conf`` takes).

    >>> by_name(ClassThresholds(0.3, {1: 0.6}), ["crack", "pit"])
    {'pit': 0.6}
    """
    return {names[c]: float(v) for c, v in thresholds.per_class.items() if 0 <= c < len(names)}


def make_watch_job(
    weights: str,
    folder: str,
    device: str,
    thresholds: ClassThresholds,
    buffer: ResultBuffer,
    tally: VerdictTally,
    resume: threading.Event,
    stop: threading.Event,
    cache: PredictorCache = PREDICTORS,
    held: threading.Event | None = None,
    band: float = 0.1,
) -> Callable[[], WatchSummary]:
    """``job() -> WatchSummary``: watch ``folder`` until ``stop`` (module docstring).

    The folder is checked before the model loads; ``held`` is set while a pause holds the job
    (its last image delivered), as in :func:`~grace_gui.sessions.inference_job.make_job`.
    """

    def job() -> WatchSummary:
        from grace.deploy.inspect import InspectRequest, run_inspect
        from grace.errors import GraceError

        if not Path(folder).is_dir():
            raise GraceError(f"{folder}: not a folder (Watch folder needs the folder the line "
                             "writes its images into)")  # fmt: skip
        predictor = cache.get(weights, device)
        names = list(predictor.names)
        req = InspectRequest(weights, folder, review_band=band, device=device,
                             conf=thresholds.conf,
                             class_conf=by_name(thresholds, names))  # fmt: skip
        buffer.stamp = make_stamp(weights, thresholds, time.time())
        buffer.names = names

        def on_result(row) -> None:
            tally.add(row)
            hold_while_paused(resume, stop, held)

        summary = run_inspect(req, predictor, on_result=on_result, stop=stop, log=None,
                              on_frame=lambda r: buffer.push([r]))  # fmt: skip
        return WatchSummary(summary, tally.snapshot().problems)

    return job
