"""A run's events turned into plot series and progress (pure: no I/O, no Qt).

The GUI, a notebook or a terminal dashboard feed :meth:`RunSeries.add` with the events of a run
directory's ``events.jsonl`` (all at once, or as they arrive) and read plain lists back:

* losses as Ultralytics prints them: its ``tloss`` is a running mean over the batches of the
  current epoch, restarted at each epoch (so its first batches are single, noisy values). One
  point per finished epoch at ``x = epoch + 1``, the epoch's final running mean (the ``epoch``
  event's ``losses``, else the epoch's last ``batch`` event); the epoch in progress is a
  separate series of its ``batch`` events at ``x = epoch + (batch + 1) / batches``, dropped when
  the epoch ends (or is redone after a resume). A curve through all batch events would fall
  at every epoch start, where the mean restarts;
* ``mAP50`` and ``mAP50-95`` per ``epoch`` event at ``x = epoch + 1`` (the end of that epoch);
* the sampler's per-class series (``w_final``, ``w_dyn``, ``w_base``, ``g_ema``, ``c_ema``) per
  ``sampler`` event at ``x = epoch + batch / batches``;
* γ_e and ŝ_e per epoch; the current epoch/batch and an ETA from the events' own times.

A resumed run appends a second ``start`` event: the series continue (epochs keep counting), the
ETA restarts from the new start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SAMPLER_KEYS = ("w_final", "w_dyn", "w_base", "g_ema", "c_ema")
LOSS_KEYS = ("box_loss", "cls_loss", "dfl_loss")
MAP_KEYS = ("mAP50", "mAP50-95")


def batch_x(epoch: int, batch: int, batches: int) -> float:
    """Fractional epoch of a batch position: ``epoch + batch / batches`` (batches >= 1)."""
    return epoch + batch / max(batches, 1)


def eta_seconds(done: float, total: float, elapsed: float) -> float | None:
    """Remaining seconds at the average pace so far; None before any progress."""
    if done <= 0 or elapsed <= 0 or total <= 0:
        return None
    return max(total - done, 0.0) * elapsed / done


def format_duration(seconds: float | None) -> str:
    """``1h 02m``, ``3m 05s``, ``42s``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def _append_losses(into: dict[str, list[float]], losses: dict | None) -> None:
    losses = losses or {}
    for k in LOSS_KEYS:
        v = losses.get(k)
        into[k].append(float("nan") if v is None else float(v))


#: The settings a run shows when opened: label -> key of the start event's ``config``.
SETTING_KEYS = {
    "model": "model", "epochs": "epochs", "image size": "imgsz", "batch": "batch",
    "device": "device", "optimizer": "optimizer", "lr0": "lr0", "workers": "workers",
    "pretrained": "pretrained", "seed": "seed",
}  # fmt: skip


def run_settings(start: dict) -> dict[str, object]:
    """What a run was started with (label -> value), from its ``start`` event: variant, the
    dataset and its sizes, the Ultralytics settings of :data:`SETTING_KEYS`, weights."""
    config = start.get("config") or {}
    out: dict[str, object] = {"variant": start.get("variant")}
    out["dataset"] = start.get("data") or config.get("data")
    sizes = start.get("dataset") or {}
    if sizes:
        out["images"] = ", ".join(f"{n} {split}" for split, n in sizes.items())
    for label, key in SETTING_KEYS.items():
        if key in config:
            out[label] = config[key]
    if start.get("weights"):
        out["weights"] = start["weights"]
    out["classes"] = ", ".join(str(c) for c in start.get("classes") or [])
    return {k: v for k, v in out.items() if v not in (None, "")}


@dataclass
class RunSeries:
    """Everything the Train tab plots, accumulated from a run's events."""

    classes: list[str] = field(default_factory=list)
    variant: str | None = None
    epochs: int = 0  # planned (last start event)
    start_epoch: int = 0
    batches_per_epoch: int = 0
    start_time: float | None = None  # of the last start event
    last_time: float | None = None
    loss_x: list[float] = field(default_factory=list)  # finished epochs: x = epoch + 1
    losses: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LOSS_KEYS})
    live_loss_x: list[float] = field(default_factory=list)  # the epoch in progress, per batch
    live_losses: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in LOSS_KEYS}
    )
    epoch_x: list[float] = field(default_factory=list)
    maps: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in MAP_KEYS})
    sampler_x: list[float] = field(default_factory=list)
    sampler: dict[str, list[list[float]]] = field(
        default_factory=lambda: {k: [] for k in SAMPLER_KEYS}
    )  # key -> one row per sampler event, one value per class
    gamma: list[float | None] = field(default_factory=list)  # per epoch event
    s_e: list[float | None] = field(default_factory=list)
    epoch: int = 0  # where the run is: epoch and batch (0-based) of the latest event
    batch: int = -1
    epochs_done: int = 0  # epoch events seen
    finished: bool = False  # an end or error event
    stopped: bool = False
    best: str | None = None
    last: str | None = None
    error: dict | None = None
    end: dict | None = None  # the end event (epochs_completed, epoch_batches_done, batches)
    config: dict = field(default_factory=dict)  # the first start event's settings
    n_events: int = 0

    def add(self, events: list[dict]) -> None:
        """Take in events in file order (unknown types are ignored)."""
        for e in events:
            self.n_events += 1
            t = e.get("time")
            if isinstance(t, (int, float)):
                self.last_time = float(t)
            handler = getattr(self, f"_on_{e.get('type')}", None)
            if handler is not None:
                handler(e)

    # ---- per type ---------------------------------------------------------------------------
    def _on_start(self, e: dict) -> None:
        self.classes = [str(c) for c in e.get("classes") or self.classes]
        self.variant = e.get("variant", self.variant)
        self.epochs = int(e.get("epochs") or self.epochs)
        self.start_epoch = int(e.get("start_epoch") or 0)
        self.batches_per_epoch = int(e.get("batches_per_epoch") or self.batches_per_epoch)
        self.start_time = e.get("time")
        self.epoch, self.batch = self.start_epoch, -1
        self.finished = self.stopped = False
        self.error = self.end = None
        self._clear_live()  # an interrupted epoch runs again from its first batch
        if not self.config:
            self.config = run_settings(e)

    def _on_batch(self, e: dict) -> None:
        batches = int(e.get("batches") or self.batches_per_epoch or 1)
        self.batches_per_epoch = batches
        epoch = int(e["epoch"])
        if self.live_loss_x and epoch != self.epoch:
            self._clear_live()  # a new epoch without an epoch event for the last one
        self.epoch, self.batch = epoch, int(e["batch"])
        self.live_loss_x.append(batch_x(self.epoch, self.batch + 1, batches))
        _append_losses(self.live_losses, e.get("losses"))

    def _on_sampler(self, e: dict) -> None:
        batches = self.batches_per_epoch or 1
        self.sampler_x.append(batch_x(int(e["epoch"]), int(e.get("batch") or 0), batches))
        for k in SAMPLER_KEYS:
            self.sampler[k].append([float(v) for v in e.get(k) or []])

    def _on_epoch(self, e: dict) -> None:
        self.epoch = int(e["epoch"])
        self.batch = max(self.batches_per_epoch - 1, self.batch)
        self.epochs_done += 1
        self.epochs = int(e.get("epochs") or self.epochs)
        self.epoch_x.append(self.epoch + 1.0)
        losses = e.get("losses") or {k: v[-1] for k, v in self.live_losses.items() if v}
        self.loss_x.append(self.epoch + 1.0)
        _append_losses(self.losses, losses)
        self._clear_live()
        metrics = e.get("metrics") or {}
        for k in MAP_KEYS:
            v = metrics.get(k)
            self.maps[k].append(float("nan") if v is None else float(v))
        self.gamma.append(e.get("gamma"))
        self.s_e.append(e.get("s_e"))

    def _on_end(self, e: dict) -> None:
        self.finished, self.stopped = True, bool(e.get("stopped"))
        self.best, self.last = e.get("best"), e.get("last")
        self.end = e

    def _on_error(self, e: dict) -> None:
        self.finished = True
        self.error = e
        self.last = e.get("last") or self.last

    def _clear_live(self) -> None:
        self.live_loss_x.clear()
        for v in self.live_losses.values():
            v.clear()

    # ---- derived ----------------------------------------------------------------------------
    @property
    def has_sampler(self) -> bool:
        return bool(self.sampler_x)

    def class_series(self, key: str = "w_final") -> list[list[float]]:
        """One list per class: the sampler's ``key`` over the sampler events."""
        rows = self.sampler[key]
        n = max((len(r) for r in rows), default=len(self.classes))
        return [[r[c] if c < len(r) else float("nan") for r in rows] for c in range(n)]

    def progress(self) -> tuple[float, float]:
        """``(done, total)`` in epochs since the last start (fractional), for a progress bar."""
        total = float(max(self.epochs - self.start_epoch, 0))
        if self.finished and not self.stopped and self.error is None:
            return total, total
        batches = max(self.batches_per_epoch, 1)
        done = (self.epoch - self.start_epoch) + (self.batch + 1) / batches
        return min(max(done, 0.0), total), total

    def eta(self) -> float | None:
        """Seconds left at the pace since the last start event; None when unknown or over."""
        if self.finished or self.start_time is None or self.last_time is None:
            return None
        done, total = self.progress()
        return eta_seconds(done, total, self.last_time - self.start_time)

    def stop_text(self) -> str:
        """Where a stopped run stopped: ``stopped in epoch 2 after 1 of 24 batches`` when an epoch
        was interrupted (it is not counted, and a resume runs it again), else ``stopped after
        epoch 1/2``; from the end event's ``epochs_completed`` and ``epoch_batches_done``."""
        end = self.end or {}
        done = end.get("epochs_completed")
        if not isinstance(done, int):  # an end event written before these fields existed
            return f"stopped after epoch {self.epoch + 1}/{self.epochs}"
        in_epoch, batches = end.get("epoch_batches_done"), end.get("batches")
        if isinstance(in_epoch, int) and isinstance(batches, int) and 0 < in_epoch < batches:
            return (
                f"stopped in epoch {done + 1} after {in_epoch} of {batches} batches "
                f"({done}/{self.epochs} epochs complete; Resume runs epoch {done + 1} again)"
            )
        return f"stopped after epoch {done}/{self.epochs}"

    def status(self) -> str:
        """One line: where the run is and what is left."""
        if self.error is not None:
            return f"failed: {self.error.get('message', 'error')}"
        if self.finished and self.stopped:
            return self.stop_text()
        if self.finished:
            return f"finished after epoch {self.epoch + 1}/{self.epochs}"
        if self.start_time is None:
            return "waiting for the run to start"
        shown = max(self.batch + 1, 0)
        return (
            f"epoch {self.epoch + 1}/{self.epochs}, batch {shown}/{self.batches_per_epoch}"
            f", ETA {format_duration(self.eta())}"
        )
