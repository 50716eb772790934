"""The Train tab's plots (pyqtgraph): losses, mAP per epoch, the sampler's per-class series and
γ_e / ŝ_e per epoch, all drawn from a :class:`grace.train.progress.RunSeries`."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from grace.train.progress import LOSS_KEYS, SAMPLER_KEYS, RunSeries
from grace_gui.widgets.colors import class_qcolor
from grace_gui.widgets.eval_plots import plot_widget

SAMPLER_LABELS = {
    "w_final": "w_final (sampling weight)",
    "w_dyn": "w_dyn (dynamic weight)",
    "w_base": "w_base (1/√f weight)",
    "g_ema": "g_ema (gradient EMA)",
    "c_ema": "c_ema (confidence EMA)",
}
_LOSS_COLORS = {"box_loss": "#1f77b4", "cls_loss": "#d62728", "dfl_loss": "#2ca02c"}
_FG = "#222222"
_LEGEND_BRUSH = (255, 255, 255, 215)


def _plot(title: str, left: str, bottom: str = "epoch") -> pg.PlotWidget:
    w = plot_widget(title, left, bottom, interactive=True)
    w.setMinimumSize(220, 160)
    return w


def _pen(color, width: float = 2.0, dashed: bool = False) -> pg.mkPen:
    from PySide6.QtCore import Qt

    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(QColor(color), width=width, style=style)


def _finite(xs: list[float], ys: list) -> tuple[list[float], list[float]]:
    pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class TrainPlots(QWidget):
    """Four plots: :meth:`set_series` then :meth:`draw_next` on a timer (one plot per call), or
    :meth:`show_series` to draw everything at once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot("Training losses (epoch mean, as Ultralytics prints)", "loss")
        self.loss_plot.addLegend(offset=(-10, 10), labelTextColor=_FG, brush=_LEGEND_BRUSH)
        self.loss_curves = {
            k: self.loss_plot.plot(
                [], [], pen=_pen(_LOSS_COLORS[k]), symbol="o", symbolSize=5,
                symbolBrush=QColor(_LOSS_COLORS[k]), name=k,
            )
            for k in LOSS_KEYS
        }  # fmt: skip
        self.live_loss_curves = {  # the epoch in progress: its running mean so far, dashed
            k: self.loss_plot.plot([], [], pen=_pen(_LOSS_COLORS[k], 1.5, dashed=True))
            for k in LOSS_KEYS
        }
        self.loss_plot.setToolTip(
            "Each point is an epoch's mean training loss (Ultralytics' running mean at the end of "
            "the epoch, as in its log and results.csv); the dashed line is the running mean of "
            "the epoch in progress, which restarts at every epoch."
        )
        self.map_plot = _plot("Validation mAP", "mAP")
        self.map_plot.addLegend(offset=(10, 10), labelTextColor=_FG, brush=_LEGEND_BRUSH)
        self.map_curves = {
            "mAP50": self.map_plot.plot(
                [], [], pen=_pen("#1f77b4"), symbol="o", symbolSize=6, name="mAP@0.5"
            ),
            "mAP50-95": self.map_plot.plot(
                [], [], pen=_pen("#ff7f0e"), symbol="s", symbolSize=6, name="mAP@0.5:0.95"
            ),
        }
        self.sampler_plot = _plot("DS-CBSM++ sampler", "w_final")
        self.sampler_legend = self.sampler_plot.addLegend(
            offset=(10, 10), labelTextColor=_FG, brush=_LEGEND_BRUSH, colCount=3
        )
        self.sampler_curves: list[pg.PlotDataItem] = []
        self.sampler_note = pg.TextItem("", color=_FG, anchor=(0.5, 0.5))
        self.sampler_plot.addItem(self.sampler_note, ignoreBounds=True)
        self.sampler_key = QComboBox()
        for k in SAMPLER_KEYS:
            self.sampler_key.addItem(SAMPLER_LABELS[k], k)
        self.sampler_key.setToolTip("which per-class series of the sampler to show")
        self.sampler_key.currentIndexChanged.connect(lambda _i: self._redraw_sampler())
        self.schedule_plot = _plot("Schedules γ_e and ŝ_e", "value")
        self.schedule_plot.addLegend(offset=(10, 10), labelTextColor=_FG, brush=_LEGEND_BRUSH)
        self.gamma_curve = self.schedule_plot.plot(
            [], [], pen=_pen("#9467bd"), symbol="o", symbolSize=5, name="γ_e (sampler mix)"
        )
        self.s_curve = self.schedule_plot.plot(
            [],
            [],
            pen=_pen("#8c564b", dashed=True),
            symbol="t",
            symbolSize=5,
            name="ŝ_e (Lite-FEN)",
        )
        self.series = RunSeries()
        self._drawn = {"loss": -1, "sampler": -1, "map": -1, "schedule": -1}
        self._order = ["loss", "sampler", "map", "schedule"]

        sampler_box = QWidget()
        sb = QVBoxLayout(sampler_box)
        sb.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Sampler series:"))
        row.addWidget(self.sampler_key, 1)
        sb.addLayout(row)
        sb.addWidget(self.sampler_plot, 1)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.map_plot, 0, 1)
        grid.addWidget(sampler_box, 1, 0)
        grid.addWidget(self.schedule_plot, 1, 1)

    # ---- drawing ----------------------------------------------------------------------------
    def show_series(self, series: RunSeries) -> None:
        """Draw ``series`` now, every plot that changed."""
        self.set_series(series)
        while self.draw_next():
            pass

    def set_series(self, series: RunSeries) -> None:
        """Take ``series``; the plots whose data changed are drawn by :meth:`draw_next`."""
        if series is not self.series:
            self._drawn = {k: -1 for k in self._drawn}
        self.series = series

    def _counts(self) -> dict[str, object]:
        s = self.series
        n_sampler = len(s.sampler_x) if s.has_sampler else -2 - len(self.sampler_message(s))
        return {
            "loss": (len(s.loss_x), len(s.live_loss_x)),
            "sampler": n_sampler,
            "map": len(s.epoch_x),
            "schedule": len(s.epoch_x),
        }

    def pending(self) -> bool:
        """Whether some plot still shows older data than the series."""
        return self._counts() != self._drawn

    def draw_next(self) -> bool:
        """Draw one plot whose data changed (in turns, so that frequent loss updates do not
        starve the others); False when all are up to date. Painting one plot instead of four
        keeps each GUI-thread stall short while a run streams in."""
        counts = self._counts()
        for kind in list(self._order):
            if counts[kind] != self._drawn[kind]:
                getattr(self, f"_draw_{kind}")()
                self._drawn[kind] = counts[kind]
                self._order.remove(kind)
                self._order.append(kind)
                return True
        return False

    def _draw_loss(self) -> None:
        s = self.series
        for k, curve in self.loss_curves.items():
            curve.setData(*_finite(s.loss_x, s.losses[k]))
        for k, curve in self.live_loss_curves.items():
            curve.setData(*_finite(s.live_loss_x, s.live_losses[k]))

    def _draw_map(self) -> None:
        s = self.series
        for k, curve in self.map_curves.items():
            curve.setData(*_finite(s.epoch_x, s.maps[k]))

    def _draw_schedule(self) -> None:
        s = self.series
        self.gamma_curve.setData(*_finite(s.epoch_x, s.gamma))
        self.s_curve.setData(*_finite(s.epoch_x, s.s_e))

    def _draw_sampler(self) -> None:
        self._redraw_sampler()

    def _redraw_sampler(self) -> None:
        s = self.series
        key = self.sampler_key.currentData() or "w_final"
        self.sampler_plot.getAxis("left").setLabel(key, color=_FG)
        per_class = s.class_series(key) if s.has_sampler else []
        while len(self.sampler_curves) > len(per_class):
            curve = self.sampler_curves.pop()
            self.sampler_plot.removeItem(curve)
            self.sampler_legend.removeItem(curve)
        for c, ys in enumerate(per_class):
            name = s.classes[c] if c < len(s.classes) else f"class {c}"
            if c == len(self.sampler_curves):
                curve = self.sampler_plot.plot(
                    [], [], pen=_pen(class_qcolor(c)), symbol="o", symbolSize=4, name=name
                )
                curve.setSymbolBrush(class_qcolor(c))
                curve.setSymbolPen(class_qcolor(c))
                self.sampler_curves.append(curve)
            curve = self.sampler_curves[c]
            if curve.name() != name:
                self.sampler_legend.removeItem(curve)
                curve.opts["name"] = name
                self.sampler_legend.addItem(curve, name)
            curve.setData(*_finite(s.sampler_x, ys))
        self._leave_room_for_legend(per_class)
        self.sampler_note.setText(self.sampler_message(s))
        if self.sampler_note.textItem.toPlainText():
            vb = self.sampler_plot.getViewBox()
            (x0, x1), (y0, y1) = vb.viewRange()
            self.sampler_note.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _leave_room_for_legend(self, per_class: list[list]) -> None:
        """Keep the curves under the legend (two rows of class names at the top), not behind it."""
        values = [y for ys in per_class for y in ys if y is not None and math.isfinite(y)]
        if not values:
            self.sampler_plot.enableAutoRange(axis="y")
            return
        lo, hi = min(values), max(values)
        span = max(hi - lo, 1e-3)
        self.sampler_plot.setYRange(lo - 0.05 * span, hi + 0.55 * span, padding=0)

    @staticmethod
    def sampler_message(s: RunSeries) -> str:
        """What the sampler plot says instead of staying empty."""
        if s.has_sampler:
            return ""
        if s.variant in ("baseline", "fen"):
            return f"No DS-CBSM++ sampler in the {s.variant} variant"
        if s.start_time is None:
            return "No run opened yet"
        return "Waiting for the first sampler update…"
