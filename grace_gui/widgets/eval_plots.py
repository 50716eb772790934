"""The Evaluate tab's plots (pyqtgraph, class colours of :mod:`grace.colors`): PR curves per
class at IoU 0.5 (the paper's Figure 1), per-class AP bars side by side for the models (Figure 2)
and AP by object size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from grace_gui.widgets.colors import class_qcolor

_FG = "#222222"
MODEL_ALPHA = (255, 150, 80, 40)  # bar fill of model 0, 1, 2, 3: the class colour, lighter
MODEL_GREYS = ("#4d4d4d", "#8c8c8c", "#b3b3b3", "#d9d9d9")


def plot_widget(title: str, left: str, bottom: str, interactive: bool = False) -> pg.PlotWidget:
    """A white plot in the application's style (title, labelled axes, light grid); the mouse
    pans and zooms only when ``interactive``."""
    w = pg.PlotWidget(background="w")
    w.setTitle(title, color=_FG, size="10pt")
    for side, label in (("left", left), ("bottom", bottom)):
        axis = w.getAxis(side)
        axis.setLabel(label, color=_FG)
        axis.setPen(_FG)
        axis.setTextPen(_FG)
        axis.enableAutoSIPrefix(False)
    w.showGrid(x=True, y=True, alpha=0.2)
    w.setMinimumSize(320, 240)
    w.setMouseEnabled(x=interactive, y=interactive)
    return w


def _legend(w: pg.PlotWidget, offset=(-10, 10)) -> pg.LegendItem:
    if w.plotItem.legend is not None:
        w.plotItem.legend.scene().removeItem(w.plotItem.legend)
        w.plotItem.legend = None
    return w.addLegend(offset=offset, labelTextColor=_FG, brush=(255, 255, 255, 215))


class PRPlot:
    """Precision against recall per class at IoU 0.5 for one model, with the mean dashed."""

    def __init__(self) -> None:
        self.widget = plot_widget("Precision-recall at IoU 0.5", "precision", "recall")
        self.widget.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)

    def show(self, curves: Mapping[str, Any] | None, model: str = "") -> None:
        w = self.widget
        w.clear()
        legend = _legend(w, (-10, -10))
        if not curves:
            w.setTitle("Precision-recall at IoU 0.5", color=_FG, size="10pt")
            return
        w.setTitle(f"Precision-recall at IoU 0.5 — {model}", color=_FG, size="10pt")
        x = np.asarray(curves["recall_grid"])
        for c, (name, cls) in enumerate(curves["classes"].items()):
            ap = cls.get("AP50")
            label = f"{name} (AP50 {100 * ap:.1f})" if ap is not None else f"{name} (no GT)"
            w.plot(x, cls["precision_at_recall"], pen=pg.mkPen(class_qcolor(c), width=2),
                   name=label)  # fmt: skip
        mean = curves.get("mean", {}).get("precision_at_recall")
        if mean:
            w.plot(x, mean, name="mean over classes",
                   pen=pg.mkPen(QColor(_FG), width=3, style=Qt.PenStyle.DashLine))  # fmt: skip
        legend.setColumnCount(1)


class BarPlot:
    """Groups of bars (one group per category, one bar per model) with a legend of models."""

    def __init__(self, title: str, left: str, bottom: str) -> None:
        self.title = title
        self.widget = plot_widget(title, left, bottom)
        self.groups: list[str] = []
        self.values: list[list[float | None]] = []  # per model, per group

    def show(
        self,
        groups: Sequence[str],
        models: Sequence[str],
        values: Sequence[Sequence[float | None]],
        by_class: bool,
    ) -> None:
        """``values[m][g]`` (a fraction) drawn in percent; bars in the class colours (lighter
        for each further model) when ``by_class``, else in greys by model."""
        w = self.widget
        w.clear()
        legend = _legend(w)
        self.groups, self.values = list(groups), [list(v) for v in values]
        n = max(len(models), 1)
        width = 0.8 / n
        for m, (model, vals) in enumerate(zip(models, values, strict=True)):
            xs = [g - 0.4 + width * (m + 0.5) for g in range(len(groups))]
            hs = [0.0 if v is None else 100 * float(v) for v in vals]
            if by_class:
                brushes = [class_qcolor(g, MODEL_ALPHA[m % 4]) for g in range(len(groups))]
            else:
                brushes = [QColor(MODEL_GREYS[m % 4])] * len(groups)
            w.addItem(pg.BarGraphItem(x=xs, height=hs, width=width * 0.95, brushes=brushes,
                                      pen=pg.mkPen(_FG, width=0.5)))  # fmt: skip
            grey = QColor(MODEL_GREYS[m % 4])
            swatch = QColor(70, 70, 70, MODEL_ALPHA[m % 4]) if by_class else grey
            legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=1, brush=swatch), model)
        axis = w.getAxis("bottom")
        axis.setTicks([[(g, name) for g, name in enumerate(groups)]])
        w.setRange(xRange=(-0.6, len(groups) - 0.4), yRange=(0, 105), padding=0)
